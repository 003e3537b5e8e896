//! Deactivating a user while their work is in the outbox, over HTTP against the sandbox, on every
//! backend. What `user_admin::deactivate_user` and `outbox::hold_for_user` promise: their
//! `Queued` and `Retrying` submissions wait as `Pending approval` for an admin (with the hold
//! message), in the same transaction; a `Sending` one is in a call already and is left to finish.
//! Nothing of theirs is sent after that: other users' later work at the same facilities goes
//! through, theirs stays.

use crate::support;

use app::error::AppError;
use app::ssr::outbox::HELD_MESSAGE;
use app::ssr::user_admin;
use app::types::submissions::{
    SubmissionDetail, SubmissionFilter, SubmissionRow, SubmissionStatus, SubmissionTab,
};
use app::types::users::UserDetail;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;
use support::Backend;
use support::facility_keys::{CULTIVATION, RETAIL, add_fault, clear_faults, sandbox_package};
use support::submissions::{
    Employee, OWNER, World, adjust, finish, keyed_user, keyless_user, listed, packages_permission,
    row, submit, submitted, wait_for, with_id, world, writes,
};
use support::user_keys::audited;

/// `(license, employee name, status)` of each write to `path` in the sandbox's log.
async fn calls(w: &World, path: &str) -> Vec<(String, String, u64)> {
    writes(&w.server, path)
        .await
        .iter()
        .map(|e: &Value| {
            (
                e["license"].as_str().unwrap_or_default().to_owned(),
                e["employee_name"].as_str().unwrap_or_default().to_owned(),
                e["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// A submission of Dana's (she has no key: she confirms the facility-key warning).
async fn dana_submits(w: &World, dana: &Employee, license: &str, input: Value) -> SubmissionRow {
    submitted(&w.server, &dana.client, license, input, true).await
}

each_backend!(
    deactivating_a_user_holds_their_queued_and_retrying_work_and_lets_a_sending_call_finish
);
async fn deactivating_a_user_holds_their_queued_and_retrying_work_and_lets_a_sending_call_finish(
    backend: Backend,
) {
    let w = world(&backend).await;
    // A retry waits a minute: only an admin's decision could move it sooner.
    w.server
        .state
        .outbox
        .update(|s| s.backoff_base = Duration::from_secs(60));
    // Dana has no key of her own: the facility key carries her work, so the call under way does
    // not need her key (which deactivation deletes).
    let dana = keyless_user(&w, "dana@example.test", "Dana Departing").await;
    let ed = keyed_user(&w, "ed@example.test", "Ed Employee", packages_permission()).await;
    let cultivation = w.packages(CULTIVATION).await;
    let retail = w.packages(RETAIL).await;

    // Retrying: Metrc fails her adjustment once, and the retry waits.
    add_fault(
        &w.server,
        json!({"status": 503, "count": 1, "path_prefix": "/packages/v2/adjust"}),
    )
    .await;
    let (label, before, unit) = &cultivation[0];
    let retrying = dana_submits(&w, &dana, CULTIVATION, adjust(label, -1.0, unit)).await;
    wait_for(&w.server, retrying.id, SubmissionStatus::Retrying).await;
    // Queued behind it: a head waiting for its backoff holds its facility back.
    let queued = dana_submits(&w, &dana, CULTIVATION, finish(&cultivation[1].0)).await;
    assert_eq!(queued.status, SubmissionStatus::Queued);
    // Sending: Metrc is slow, her finish at the retail license is in its call.
    add_fault(&w.server, json!({"latency_ms": 2000})).await;
    let sending = dana_submits(&w, &dana, RETAIL, finish(&retail[0].0)).await;
    wait_for(&w.server, sending.id, SubmissionStatus::Sending).await;

    let _: UserDetail = with_id(&w.server, &w.admin, "deactivate_user", dana.id)
        .await
        .ok();
    for id in [retrying.id, queued.id] {
        let held = row(&w.server, id).await;
        assert_eq!(held.status, "pending_approval", "submission {id}");
        assert_eq!(
            held.message.as_deref(),
            Some(HELD_MESSAGE),
            "submission {id}"
        );
    }
    assert_ne!(
        row(&w.server, sending.id).await.status,
        "pending_approval",
        "a call under way is not held"
    );
    let events = audited(&w.server, user_admin::AUDIT_USER_DEACTIVATED).await;
    let detail: Value = serde_json::from_str(&events[0].detail).expect("json");
    assert_eq!(detail["submissions_held"], 2);

    // The admin finds them under "Pending approval", to approve or deny.
    let pending = listed(
        &w.server,
        &w.admin,
        &SubmissionFilter {
            tab: SubmissionTab::PendingApproval,
            ..Default::default()
        },
    )
    .await;
    let ids: BTreeSet<i64> = pending.iter().map(|r| r.id).collect();
    assert_eq!(ids, BTreeSet::from([retrying.id, queued.id]));
    assert!(
        pending
            .iter()
            .all(|r| r.metrc_answer.as_deref() == Some(HELD_MESSAGE))
    );
    let shown: SubmissionDetail = with_id(&w.server, &w.admin, "submission_detail", queued.id)
        .await
        .ok();
    assert!(shown.can_approve && shown.can_deny && !shown.can_retry);
    // Dana is signed out and submits nothing more.
    let after = submit(&w.server, &dana.client, RETAIL, finish(&retail[2].0), true).await;
    assert_eq!(after.err(), AppError::Unauthenticated);

    // The call under way finishes.
    clear_faults(&w.server).await;
    wait_for(&w.server, sending.id, SubmissionStatus::Accepted).await;
    assert!(sandbox_package(&w.server, RETAIL, &retail[0].0).await["FinishedDate"].is_string());

    // Ed's later work at both facilities goes through: the queues have moved past Dana's rows.
    let ed_cultivation = submitted(
        &w.server,
        &ed.client,
        CULTIVATION,
        finish(&cultivation[2].0),
        false,
    )
    .await;
    let ed_retail = submitted(&w.server, &ed.client, RETAIL, finish(&retail[1].0), false).await;
    wait_for(&w.server, ed_cultivation.id, SubmissionStatus::Accepted).await;
    wait_for(&w.server, ed_retail.id, SubmissionStatus::Accepted).await;

    // Nothing of Dana's went out after her deactivation: the failed try before it, the call
    // that was under way, and Ed's two.
    let ed_name = "Ed Employee".to_owned();
    assert_eq!(
        calls(&w, "/packages/v2/adjust").await,
        vec![(CULTIVATION.to_owned(), OWNER.to_owned(), 503)]
    );
    let mut finishes = calls(&w, "/packages/v2/finish").await;
    let mut expected = vec![
        (RETAIL.to_owned(), OWNER.to_owned(), 200),
        (RETAIL.to_owned(), ed_name.clone(), 200),
        (CULTIVATION.to_owned(), ed_name, 200),
    ];
    finishes.sort();
    expected.sort();
    assert_eq!(finishes, expected);
    assert_eq!(row(&w.server, retrying.id).await.attempts, 1);
    assert_eq!(row(&w.server, queued.id).await.attempts, 0);
    assert!(
        sandbox_package(&w.server, CULTIVATION, &cultivation[1].0).await["FinishedDate"].is_null()
    );
    let now = sandbox_package(&w.server, CULTIVATION, label).await["Quantity"]
        .as_f64()
        .expect("quantity");
    assert!((now - before).abs() < 1e-9, "{before} → {now}");
}

each_backend!(
    rows_of_a_call_under_way_that_must_go_again_wait_for_an_admin_once_their_user_is_gone
);
/// A call under way at deactivation that Metrc refuses for one bad row: the other rows were not
/// recorded and would go again at once. Their user is gone by then, so they wait for an admin
/// like the rest of that user's work instead of going out under the facility key.
async fn rows_of_a_call_under_way_that_must_go_again_wait_for_an_admin_once_their_user_is_gone(
    backend: Backend,
) {
    let w = world(&backend).await;
    let dana = keyless_user(&w, "dana@example.test", "Dana Departing").await;
    let retail = w.packages(RETAIL).await;
    w.server.state.outbox.update(|s| s.paused = true);
    let (a, a_before, unit) = &retail[0];
    let good = dana_submits(&w, &dana, RETAIL, adjust(a, -1.0, unit)).await;
    let bad = dana_submits(
        &w,
        &dana,
        RETAIL,
        adjust("1A4NOPE0000000000000001", -1.0, unit),
    )
    .await;
    let (c, c_before, c_unit) = &retail[1];
    let other = dana_submits(&w, &dana, RETAIL, adjust(c, -1.0, c_unit)).await;
    add_fault(&w.server, json!({"latency_ms": 1500})).await;
    w.server.state.outbox.update(|s| s.paused = false);
    wait_for(&w.server, good.id, SubmissionStatus::Sending).await;
    let _: UserDetail = with_id(&w.server, &w.admin, "deactivate_user", dana.id)
        .await
        .ok();

    wait_for(&w.server, bad.id, SubmissionStatus::Rejected).await;
    for id in [good.id, other.id] {
        let held = wait_for(&w.server, id, SubmissionStatus::PendingApproval).await;
        assert_eq!(
            held.message.as_deref(),
            Some(HELD_MESSAGE),
            "submission {id}"
        );
    }
    clear_faults(&w.server).await;
    assert_eq!(
        calls(&w, "/packages/v2/adjust").await,
        vec![(RETAIL.to_owned(), OWNER.to_owned(), 400)],
        "only the call under way at deactivation"
    );
    for (label, before) in [(a, a_before), (c, c_before)] {
        let now = sandbox_package(&w.server, RETAIL, label).await["Quantity"]
            .as_f64()
            .expect("quantity");
        assert!((now - before).abs() < 1e-9, "{label}: {before} → {now}");
    }

    // An admin's approval sends one after all (under the facility key: she has none).
    let approved: SubmissionDetail = with_id(&w.server, &w.admin, "approve_submission", good.id)
        .await
        .ok();
    assert!(approved.decision.is_some());
    wait_for(&w.server, good.id, SubmissionStatus::Accepted).await;
    let now = sandbox_package(&w.server, RETAIL, a).await["Quantity"]
        .as_f64()
        .expect("quantity");
    assert!(
        (now - (a_before - 1.0)).abs() < 1e-9,
        "{a}: {a_before} → {now}"
    );
    assert_eq!(row(&w.server, other.id).await.status, "pending_approval");
}
