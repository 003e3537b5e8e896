//! Deactivating a user while their work is in the outbox, over HTTP against the sandbox, on every
//! backend. What `user_admin::deactivate_user` and `outbox::hold_for_user` promise: their
//! `Queued` and `Retrying` submissions wait as `Pending approval` for an admin (with the hold
//! message), in the same transaction; a `Sending` one is in a call already and is left to finish.
//! Nothing of theirs is sent after that: other users' later work at the same facilities goes
//! through, theirs stays.

use crate::support;

use app::error::AppError;
use app::ssr::config::OutboxSettings;
use app::ssr::entities::audit_events::AuditAction;
use app::ssr::outbox::{self, HELD_MESSAGE};
use app::types::submissions::{
    SubmissionDetail, SubmissionFilter, SubmissionRow, SubmissionStatus, SubmissionTab,
};
use app::types::users::UserDetail;
use metrc::sandbox::Loss;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;
use support::facility_keys::{CULTIVATION, RETAIL, sandbox_package};
use support::submissions::{
    Employee, OWNER, World, adjust, finish, keyed_user, keyless_user, listed, packages_permission,
    row, submit, submitted, wait_for, with_id, world, writes,
};
use support::user_keys::audited;
use support::{Backend, HasSandbox};

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

/// Makes a failed call's retry wait a minute (at least half of it, with the jitter), so that no
/// drain sends it while a test looks. The test world caps every backoff at a second
/// (`support::submissions::world_with`): the base alone stays capped, which let a slow run send
/// the retry before the user was deactivated.
fn retries_wait_a_minute(s: &mut OutboxSettings) {
    s.backoff_base = Duration::from_secs(60);
    s.backoff_max = Duration::from_secs(60);
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
    w.server.state.outbox.update(retries_wait_a_minute);
    // Dana has no key of her own: the facility key carries her work, so the call under way does
    // not need her key (which deactivation deletes).
    let dana = keyless_user(&w, "dana@example.test", "Dana Departing").await;
    let ed = keyed_user(&w, "ed@example.test", "Ed Employee", packages_permission()).await;
    let cultivation = w.packages(CULTIVATION).await;
    let retail = w.packages(RETAIL).await;

    // Retrying: Metrc fails her adjustment once, and the retry waits.
    let fault =
        w.server
            .sandbox()
            .fail_next("/packages/v2/adjust", StatusCode::SERVICE_UNAVAILABLE, 1);
    let (label, before, unit) = &cultivation[0];
    let retrying = dana_submits(&w, &dana, CULTIVATION, adjust(label, -1.0, unit)).await;
    wait_for(&w.server, retrying.id, SubmissionStatus::Retrying).await;
    // Queued behind it: a head waiting for its backoff holds its facility back.
    let queued = dana_submits(&w, &dana, CULTIVATION, finish(&cultivation[1].0)).await;
    assert_eq!(queued.status, SubmissionStatus::Queued);
    // Sending: Metrc is slow, her finish at the retail license is in its call.
    let slow = w.server.sandbox().slow_down(Duration::from_millis(2000));
    let sending = dana_submits(&w, &dana, RETAIL, finish(&retail[0].0)).await;
    wait_for(&w.server, sending.id, SubmissionStatus::Sending).await;

    let _: UserDetail = with_id(&w.server, &w.admin, "deactivate_user", dana.id)
        .await
        .ok();
    for id in [retrying.id, queued.id] {
        let held = row(&w.server, id).await;
        assert_eq!(
            held.status,
            SubmissionStatus::PendingApproval,
            "submission {id}"
        );
        assert_eq!(
            held.message.as_deref(),
            Some(HELD_MESSAGE),
            "submission {id}"
        );
    }
    assert_ne!(
        row(&w.server, sending.id).await.status,
        SubmissionStatus::PendingApproval,
        "a call under way is not held"
    );
    let events = audited(&w.server, AuditAction::UserDeactivated).await;
    let detail: Value = serde_json::from_str(&events[0].detail).expect("json");
    assert_eq!(detail["submissions_held"], 2);

    // The admin finds them under "Pending approval", to approve or deny.
    let pending = pending_approval(&w).await;
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
    drop((fault, slow));
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
    let slow = w.server.sandbox().slow_down(Duration::from_millis(1500));
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
    drop(slow);
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
    assert_eq!(
        row(&w.server, other.id).await.status,
        SubmissionStatus::PendingApproval
    );
}

each_backend!(an_unknown_outcome_found_not_recorded_waits_for_an_admin_once_its_user_is_gone);
/// Two writes of Dana's whose calls got no answer (Metrc never carried them out): one an admin
/// had retried after a failure, one nobody decided on. She is deactivated; reconciliation then
/// finds them not recorded and queues them again. Neither goes out under the facility key: both
/// wait for an admin, shown under "Pending approval" with the hold message, and an admin's
/// approval sends one after all. The worker is paused: the test sends and reconciles as it does
/// (`outbox::drain`, `outbox::reconcile_due`), so nothing moves before it looks.
async fn an_unknown_outcome_found_not_recorded_waits_for_an_admin_once_its_user_is_gone(
    backend: Backend,
) {
    let w = world(&backend).await;
    let state = &w.server.state;
    state.outbox.update(|s| {
        s.paused = true;
        s.write_timeout = Duration::from_millis(500);
        s.reconcile_after = Duration::ZERO;
        // With the test world's second, a slow machine's drain found the failed call's retry
        // due already and sent it within the same drain.
        retries_wait_a_minute(s);
    });
    let dana = keyless_user(&w, "dana@example.test", "Dana Departing").await;
    let retail = w.packages(RETAIL).await;
    let (first_label, second_label) = (&retail[0].0, &retail[1].0);

    // An admin's decision on the first: Metrc fails it once, the admin retries it.
    let _unavailable =
        w.server
            .sandbox()
            .fail_next("/packages/v2/finish", StatusCode::SERVICE_UNAVAILABLE, 1);
    let retried = dana_submits(&w, &dana, RETAIL, finish(first_label)).await;
    outbox::drain(state, RETAIL).await.expect("drain");
    assert_eq!(
        row(&w.server, retried.id).await.status,
        SubmissionStatus::Retrying
    );
    let _: SubmissionDetail = with_id(&w.server, &w.admin, "retry_submission", retried.id)
        .await
        .ok();
    let undecided = dana_submits(&w, &dana, RETAIL, finish(second_label)).await;

    // Both go in one call that Metrc never carries out: Unknown.
    let _lost = w
        .server
        .sandbox()
        .lose_next(Loss::Request, "/packages/v2/finish", None, 1);
    outbox::drain(state, RETAIL).await.expect("drain");
    for id in [retried.id, undecided.id] {
        assert_eq!(
            row(&w.server, id).await.status,
            SubmissionStatus::Unknown,
            "submission {id}"
        );
    }

    let _: UserDetail = with_id(&w.server, &w.admin, "deactivate_user", dana.id)
        .await
        .ok();
    // Metrc's data says "not recorded": queued again, then held when they come up to be sent.
    assert_eq!(outbox::reconcile_due(state).await.expect("reconcile"), 2);
    outbox::drain(state, RETAIL).await.expect("drain");
    for id in [retried.id, undecided.id] {
        let held = row(&w.server, id).await;
        assert_eq!(
            (held.status, held.message.as_deref()),
            (SubmissionStatus::PendingApproval, Some(HELD_MESSAGE)),
            "submission {id}"
        );
    }
    let pending = pending_approval(&w).await;
    assert_eq!(
        pending.iter().map(|r| r.id).collect::<BTreeSet<_>>(),
        BTreeSet::from([retried.id, undecided.id])
    );
    let sent = support::eventually("the lost call logged", Duration::from_secs(30), || async {
        let sent = calls(&w, "/packages/v2/finish").await;
        if sent.len() >= 2 {
            Ok(sent)
        } else {
            Err(format!("{sent:?}"))
        }
    })
    .await;
    assert_eq!(
        sent,
        vec![
            (RETAIL.to_owned(), OWNER.to_owned(), 503),
            (RETAIL.to_owned(), OWNER.to_owned(), 499),
        ],
        "nothing sent after the deactivation"
    );
    for label in [first_label, second_label] {
        assert!(sandbox_package(&w.server, RETAIL, label).await["FinishedDate"].is_null());
    }

    // The hold is an admin's to lift: approved, it is sent.
    let _: SubmissionDetail = with_id(&w.server, &w.admin, "approve_submission", undecided.id)
        .await
        .ok();
    outbox::drain(state, RETAIL).await.expect("drain");
    assert_eq!(
        row(&w.server, undecided.id).await.status,
        SubmissionStatus::Accepted
    );
    assert_eq!(
        row(&w.server, retried.id).await.status,
        SubmissionStatus::PendingApproval
    );
}

/// The rows an admin sees under "Pending approval".
async fn pending_approval(w: &World) -> Vec<SubmissionRow> {
    listed(
        &w.server,
        &w.admin,
        &SubmissionFilter {
            tab: SubmissionTab::PendingApproval,
            ..Default::default()
        },
    )
    .await
}
