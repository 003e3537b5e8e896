//! The outbox and Metrc Submissions over HTTP against the Metrc sandbox, on every backend: every
//! status a submission can take and how it gets there, who Metrc says made it (the sandbox's
//! request log names the employee whose key made each call), batching and order, the pre-flight
//! check, the admin decisions (audited), the CSV export, and who may do what.

use crate::support;

use app::error::AppError;
use app::ssr::entities::audit_events::AuditAction;
use app::ssr::entities::submissions::Model as Stored;
use app::ssr::outbox;
use app::ssr::queries::leases;
use app::ssr::queries::submissions::{self, Selection};
use app::types::inventory::Page;
use app::types::keys::KeyStatus;
use app::types::submissions::{
    KeyUsed, Preflight, SubmissionDetail, SubmissionRow, SubmissionStatus,
};
use app::types::users::UserDetail;
use metrc::sandbox::{FaultGuard, Loss};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::facility_keys::{Answer, RETAIL, regenerate_key, sandbox_package, sandbox_requests};
use support::submissions::{
    self as submissions_world, OWNER, World, adjust, finish, packages_permission, world,
    world_with, yesterday,
};
use support::user_keys::{audited, stored};
use support::{Backend, HasSandbox, TestServer, VENDOR_KEY};

/// A Tracekeeper employee with a Metrc key of their own (a sandbox employee with `permissions`):
/// `(user id, sandbox employee id, key, signed-in client)`.
async fn keyed_user(
    w: &World,
    email: &str,
    name: &str,
    permissions: Value,
) -> (i32, u64, String, reqwest::Client) {
    let e = submissions_world::keyed_user(w, email, name, permissions).await;
    let (sandbox_id, key) = (e.sandbox_id.expect("keyed"), e.key.expect("keyed"));
    (e.id, sandbox_id, key, e.client)
}

async fn uma(w: &World) -> (i32, u64, String, reqwest::Client) {
    keyed_user(w, "uma@example.test", "Uma Employee", packages_permission()).await
}

/// A Tracekeeper employee without a Metrc key: `(user id, signed-in client)`.
async fn keyless_user(w: &World, email: &str, name: &str) -> (i32, reqwest::Client) {
    let e = submissions_world::keyless_user(w, email, name).await;
    (e.id, e.client)
}

async fn packages(w: &World, license: &str) -> Vec<(String, f64, String)> {
    w.packages(license).await
}

/// A package as the sandbox holds it now.
async fn package(w: &World, license: &str, label: &str) -> Value {
    sandbox_package(&w.server, license, label).await
}

async fn quantity(w: &World, label: &str) -> f64 {
    package(w, RETAIL, label).await["Quantity"]
        .as_f64()
        .expect("quantity")
}

async fn submit(
    w: &World,
    client: &reqwest::Client,
    license: &str,
    input: Value,
    confirm: bool,
) -> Answer {
    submissions_world::submit(&w.server, client, license, input, confirm).await
}

async fn submitted(
    w: &World,
    client: &reqwest::Client,
    license: &str,
    input: Value,
) -> SubmissionRow {
    submissions_world::submitted(&w.server, client, license, input, false).await
}

async fn preflight(w: &World, client: &reqwest::Client, license: &str, action: &str) -> Answer {
    submissions_world::preflight(&w.server, client, license, action).await
}

async fn call(w: &World, client: &reqwest::Client, name: &str, form: &[(&str, &str)]) -> Answer {
    Answer::of(w.server.call(client, name, form).await).await
}

/// An admin's Retry of submission `id`.
async fn retry(w: &World, id: i64) -> SubmissionDetail {
    call(w, &w.admin, "retry_submission", &[("id", &id.to_string())])
        .await
        .ok()
}

async fn detail(w: &World, id: i64) -> SubmissionDetail {
    call(w, &w.admin, "submission_detail", &[("id", &id.to_string())])
        .await
        .ok()
}

async fn list(w: &World, client: &reqwest::Client, filter: Value) -> Answer {
    let response = w
        .server
        .post(client, "/api/list_submissions")
        .header("Accept", "application/json")
        .json(&json!({ "filter": filter }))
        .send()
        .await
        .expect("list");
    Answer::of(response).await
}

fn filter(tab: &str) -> Value {
    json!({ "tab": tab, "user_id": null, "license": null, "status": null, "compliant": null, "page": 0 })
}

async fn row(w: &World, id: i64) -> Stored {
    submissions::find(&w.server.state.db, id)
        .await
        .expect("db")
        .expect("stored")
}

/// Waits until submission `id` is as `wanted` says (30 s at most; `what` names it).
async fn wait_until(w: &World, id: i64, what: &str, wanted: impl Fn(&Stored) -> bool) -> Stored {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = row(w, id).await;
        if wanted(&now) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "submission {id} is {} ({:?}, next look {:?}), not {what}",
            now.status.as_str(),
            now.message,
            now.next_attempt_at
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until submission `id` has `status` (30 s at most).
async fn wait_for(w: &World, id: i64, status: SubmissionStatus) -> Stored {
    wait_until(w, id, status.as_str(), |row| row.status == status).await
}

/// The positive witness that the worker has gone past every row of RETAIL stored before now:
/// `input`, submitted now by `client` (someone who needs no approval), must be accepted. Rows of
/// one facility go in id order, so a row before it that the worker would send goes first.
async fn passed(w: &World, client: &reqwest::Client, input: Value) -> Stored {
    let witness: SubmissionRow = submit(w, client, RETAIL, input, true).await.ok();
    wait_for(w, witness.id, SubmissionStatus::Accepted).await
}

/// The sandbox's log entries of writes (not GETs) to `path`.
async fn writes(w: &World, path: &str) -> Vec<Value> {
    sandbox_requests(&w.server)
        .await
        .into_iter()
        .filter(|e| e["method"] != "GET" && e["path"] == path)
        .collect()
}

/// Waits until the sandbox has logged `n` writes to `path` (10 s at most); returns them.
async fn until_written(w: &World, path: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logged = writes(w, path).await;
        if logged.len() >= n {
            return logged;
        }
        assert!(Instant::now() < deadline, "{path}: {logged:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `(status, answer_lost)` of each logged write.
fn fates(logged: &[Value]) -> Vec<(u64, bool)> {
    logged
        .iter()
        .map(|e| {
            (
                e["status"].as_u64().unwrap_or_default(),
                e["answer_lost"] == true,
            )
        })
        .collect()
}

/// The outcomes of a submission's attempts, oldest first.
async fn outcomes(w: &World, id: i64) -> Vec<String> {
    detail(w, id)
        .await
        .attempts
        .into_iter()
        .map(|a| a.outcome)
        .collect()
}

fn no_key_in(text: &str, keys: &[&str]) {
    for key in keys {
        assert!(!text.contains(key), "a key leaked: {text}");
    }
}

fn bad_input(answer: Answer) -> String {
    match answer.err() {
        AppError::BadInput(text) => text,
        other => panic!("expected BadInput, got {other:?}"),
    }
}

each_backend!(a_users_own_key_carries_it_metrc_attributes_it_to_them_and_the_package_changes);
async fn a_users_own_key_carries_it_metrc_attributes_it_to_them_and_the_package_changes(
    backend: Backend,
) {
    let w = world(&backend).await;
    let (uma, _, uma_key, client) = uma(&w).await;
    let (label, before, unit) = packages(&w, RETAIL).await.remove(0);

    let check: Preflight = preflight(&w, &client, RETAIL, "AdjustPackage").await.ok();
    assert_eq!(check.key_used, Some(KeyUsed::UserKey));
    assert_eq!((check.blocked, check.warning), (None, None));
    assert!(!check.needs_approval);

    let queued = submitted(&w, &client, RETAIL, adjust(&label, -2.0, &unit)).await;
    assert_eq!(queued.user_id, uma);
    assert_eq!(queued.subject, label);
    assert!(queued.compliant);
    assert_eq!(queued.key_used.label(), "User key");
    let done = wait_for(&w, queued.id, SubmissionStatus::Accepted).await;
    assert_eq!(done.metrc_status, Some(200));
    assert_eq!(done.attempts, 1);

    let log = writes(&w, "/packages/v2/adjust").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        log[0]["employee_name"], "Uma Employee",
        "Metrc shows who made it"
    );
    assert_eq!(log[0]["status"], 200);
    let after = quantity(&w, &label).await;
    assert!((after - (before - 2.0)).abs() < 1e-9, "{before} → {after}");

    let shown = call(
        &w,
        &w.admin,
        "submission_detail",
        &[("id", &queued.id.to_string())],
    )
    .await;
    no_key_in(&shown.body, &[&uma_key, &w.owner_key]);
    let shown: SubmissionDetail = shown.ok();
    assert!(shown.request.contains(&label), "{}", shown.request);
    assert!(shown.response.as_deref().is_some_and(|r| r.contains("Ids")));
    assert_eq!(shown.attempts.len(), 1);
    assert_eq!(shown.attempts[0].http_status, Some(200));
    assert_eq!(shown.row.status, SubmissionStatus::Accepted);
    assert!(!shown.can_retry && !shown.can_cancel && !shown.can_reconcile);

    let mine = call(&w, &client, "my_submissions", &[("page", "0")]).await;
    no_key_in(&mine.body, &[&uma_key, &w.owner_key]);
    let mine: Page<SubmissionRow> = mine.ok();
    assert_eq!(mine.total, 1);
    assert_eq!(mine.rows[0].status, SubmissionStatus::Accepted);
    assert!(
        mine.rows[0]
            .metrc_answer
            .as_deref()
            .is_some_and(|a| a.contains("Accepted"))
    );
}

each_backend!(without_a_key_of_their_own_the_facility_key_carries_it_once_confirmed_not_compliant);
async fn without_a_key_of_their_own_the_facility_key_carries_it_once_confirmed_not_compliant(
    backend: Backend,
) {
    let w = world(&backend).await;
    let (ned, client) = keyless_user(&w, "ned@example.test", "Ned Nokey").await;
    let (label, _, _) = packages(&w, RETAIL).await.remove(0);

    let check: Preflight = preflight(&w, &client, RETAIL, "FinishPackage").await.ok();
    let warning =
        format!("You have no Metrc API key: this will show in Metrc under {OWNER}'s name.");
    assert_eq!(check.warning.as_deref(), Some(warning.as_str()));
    assert_eq!(
        check.key_used,
        Some(KeyUsed::FacilityKey {
            owner: OWNER.into()
        })
    );
    assert_eq!(check.blocked, None);

    let text = bad_input(submit(&w, &client, RETAIL, finish(&label), false).await);
    assert!(text.contains(&warning), "{text}");
    let (none, total) = submissions::page(&w.server.state.db, &Selection::default(), 0, 10)
        .await
        .expect("db");
    assert!(
        none.is_empty() && total.rows == 0,
        "nothing is stored unconfirmed"
    );

    let queued: SubmissionRow = submit(&w, &client, RETAIL, finish(&label), true).await.ok();
    assert_eq!(queued.user_id, ned);
    assert!(!queued.compliant);
    assert_eq!(queued.key_used.label(), format!("Facility key ({OWNER})"));
    wait_for(&w, queued.id, SubmissionStatus::Accepted).await;
    let log = writes(&w, "/packages/v2/finish").await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0]["employee_name"], OWNER,
        "Metrc shows the key owner, not Ned"
    );
    assert!(package(&w, RETAIL, &label).await["FinishedDate"].is_string());

    let not_compliant: Page<SubmissionRow> = list(&w, &w.admin, filter("NotCompliant")).await.ok();
    assert_eq!(not_compliant.total, 1);
    assert_eq!(not_compliant.rows[0].id, queued.id);
    let compliant_only: Page<SubmissionRow> = list(
        &w,
        &w.admin,
        json!({ "tab": "All", "user_id": null, "license": null, "status": null, "compliant": true, "page": 0 }),
    )
    .await
    .ok();
    assert_eq!(compliant_only.total, 0);
}

each_backend!(the_require_a_personal_key_setting_blocks_the_facility_key_fallback);
async fn the_require_a_personal_key_setting_blocks_the_facility_key_fallback(backend: Backend) {
    let server = TestServer::start_with(&backend, |c| c.outbox.require_personal_key = true).await;
    let w = world_with(server).await;
    let (_, client) = keyless_user(&w, "ned@example.test", "Ned Nokey").await;
    let (label, _, _) = packages(&w, RETAIL).await.remove(0);

    let check: Preflight = preflight(&w, &client, RETAIL, "FinishPackage").await.ok();
    let why = check.blocked.expect("blocked");
    assert!(
        why.contains("Require a personal Metrc key to submit"),
        "{why}"
    );
    assert_eq!(check.key_used, None);
    let text = bad_input(submit(&w, &client, RETAIL, finish(&label), true).await);
    assert!(text.contains("personal Metrc key is required"), "{text}");
    assert!(writes(&w, "/packages/v2/finish").await.is_empty());

    // Someone with a key of their own still submits.
    let (_, _, _, uma) = uma(&w).await;
    let queued = submitted(&w, &uma, RETAIL, finish(&label)).await;
    wait_for(&w, queued.id, SubmissionStatus::Accepted).await;
}

each_backend!(a_reviewed_users_work_waits_for_approval_then_is_sent_or_denied_with_a_reason);
// `w` and the packages `a` to `d`, in the order the story uses them.
#[allow(clippy::many_single_char_names)]
async fn a_reviewed_users_work_waits_for_approval_then_is_sent_or_denied_with_a_reason(
    backend: Backend,
) {
    let w = world(&backend).await;
    let (rita, _, _, client) = keyed_user(
        &w,
        "rita@example.test",
        "Rita Review",
        packages_permission(),
    )
    .await;
    let mut user: app::ssr::entities::users::ActiveModel =
        app::ssr::entities::users::Entity::find_by_id(rita)
            .one(&w.server.state.db)
            .await
            .expect("db")
            .expect("user")
            .into();
    user.requires_review = Set(true);
    user.update(&w.server.state.db).await.expect("update");
    let mut all = packages(&w, RETAIL).await;
    let (a, before, unit) = all.remove(0);
    let (b, _, _) = all.remove(0);
    let (c, _, _) = all.remove(0);
    let (d, _, _) = all.remove(0);
    // Uma needs no approval: her finishes (another Metrc path) witness the worker's passes.
    let (_, _, _, uma) = uma(&w).await;

    let check: Preflight = preflight(&w, &client, RETAIL, "AdjustPackage").await.ok();
    assert!(check.needs_approval);
    let first = submitted(&w, &client, RETAIL, adjust(&a, -1.0, &unit)).await;
    let second = submitted(&w, &client, RETAIL, adjust(&b, -1.0, &unit)).await;
    assert_eq!(first.status, SubmissionStatus::PendingApproval);
    passed(&w, &uma, finish(&c)).await;
    assert_eq!(
        row(&w, first.id).await.status,
        SubmissionStatus::PendingApproval
    );
    assert!(
        writes(&w, "/packages/v2/adjust").await.is_empty(),
        "nothing is sent unapproved"
    );

    let pending: Page<SubmissionRow> = list(&w, &w.admin, filter("PendingApproval")).await.ok();
    assert_eq!(pending.total, 2);
    let shown = detail(&w, first.id).await;
    assert!(shown.can_approve && shown.can_deny && shown.can_cancel);

    // Employees decide nothing.
    let id = first.id.to_string();
    assert_eq!(
        call(&w, &client, "approve_submission", &[("id", &id)])
            .await
            .err(),
        AppError::Forbidden
    );

    let approved: SubmissionDetail = call(&w, &w.admin, "approve_submission", &[("id", &id)])
        .await
        .ok();
    assert!(
        approved
            .decision
            .as_deref()
            .is_some_and(|d| d.contains("Approved by"))
    );
    wait_for(&w, first.id, SubmissionStatus::Accepted).await;
    let after = quantity(&w, &a).await;
    assert!((after - (before - 1.0)).abs() < 1e-9);
    let events = audited(&w.server, AuditAction::SubmissionApprove).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject, format!("submission:{}", first.id));

    let id2 = second.id.to_string();
    let text = bad_input(
        call(
            &w,
            &w.admin,
            "deny_submission",
            &[("id", &id2), ("reason", "  ")],
        )
        .await,
    );
    assert!(text.contains("reason"), "{text}");
    let denied: SubmissionDetail = call(
        &w,
        &w.admin,
        "deny_submission",
        &[("id", &id2), ("reason", "Wrong package: count it again")],
    )
    .await
    .ok();
    assert_eq!(denied.row.status, SubmissionStatus::Denied);
    assert!(
        denied
            .decision
            .as_deref()
            .is_some_and(|d| d.contains("Wrong package: count it again"))
    );
    assert!(
        denied
            .row
            .metrc_answer
            .as_deref()
            .is_some_and(|d| d.contains("Wrong package"))
    );
    let events = audited(&w.server, AuditAction::SubmissionDeny).await;
    assert!(events[0].detail.contains("Wrong package"));
    // A decision is final.
    let text = bad_input(call(&w, &w.admin, "approve_submission", &[("id", &id2)]).await);
    assert!(text.contains("Denied"), "{text}");
    passed(&w, &uma, finish(&d)).await;
    assert_eq!(writes(&w, "/packages/v2/adjust").await.len(), 1);
    assert_eq!(row(&w, second.id).await.status, SubmissionStatus::Denied);
}

each_backend!(a_400_is_rejected_with_metrcs_message_and_the_innocent_rows_of_its_call_go_through);
async fn a_400_is_rejected_with_metrcs_message_and_the_innocent_rows_of_its_call_go_through(
    backend: Backend,
) {
    let w = world(&backend).await;
    let (_, _, _, client) = uma(&w).await;
    let mut all = packages(&w, RETAIL).await;
    let (a, a_before, unit) = all.remove(0);
    let (c, c_before, c_unit) = all.remove(0);

    let lone = submitted(
        &w,
        &client,
        RETAIL,
        adjust("1A4NOPE0000000000000000", -1.0, &unit),
    )
    .await;
    let rejected = wait_for(&w, lone.id, SubmissionStatus::Rejected).await;
    let answer = rejected.message.expect("message");
    assert!(
        answer.contains("Package 1A4NOPE0000000000000000 does not exist in the current Facility."),
        "{answer}"
    );
    assert_eq!(rejected.metrc_status, Some(400));

    // Three in one call, the middle one bad: Metrc records none of them; the bad one is
    // rejected, the other two are sent again.
    w.server.state.outbox.update(|s| s.paused = true);
    let good1 = submitted(&w, &client, RETAIL, adjust(&a, -1.0, &unit)).await;
    let bad = submitted(
        &w,
        &client,
        RETAIL,
        adjust("1A4NOPE0000000000000001", -1.0, &unit),
    )
    .await;
    let good2 = submitted(&w, &client, RETAIL, adjust(&c, -1.0, &c_unit)).await;
    w.server.state.outbox.update(|s| s.paused = false);
    wait_for(&w, good1.id, SubmissionStatus::Accepted).await;
    wait_for(&w, good2.id, SubmissionStatus::Accepted).await;
    let bad = wait_for(&w, bad.id, SubmissionStatus::Rejected).await;
    assert!(
        bad.message
            .unwrap_or_default()
            .contains("1A4NOPE0000000000000001 does not exist")
    );
    let log = writes(&w, "/packages/v2/adjust").await;
    let statuses: Vec<u64> = log
        .iter()
        .map(|e| e["status"].as_u64().unwrap_or_default())
        .collect();
    assert_eq!(
        statuses,
        vec![400, 400, 200],
        "the lone reject, the batch of 3, the two sent again"
    );
    for (label, before) in [(&a, a_before), (&c, c_before)] {
        let after = quantity(&w, label).await;
        assert!(
            (after - (before - 1.0)).abs() < 1e-9,
            "{label}: applied exactly once"
        );
    }
    let shown = detail(&w, good1.id).await;
    assert_eq!(shown.attempts.len(), 2);
    assert_eq!(shown.attempts[0].http_status, Some(400));
    assert!(shown.attempts[0].outcome.contains("another row"));
    assert_eq!(row(&w, good1.id).await.attempts, 2);
}

each_backend!(a_regenerated_user_key_fails_the_submission_and_is_marked_invalid);
async fn a_regenerated_user_key_fails_the_submission_and_is_marked_invalid(backend: Backend) {
    let w = world(&backend).await;
    let (uma, sandbox_id, _, client) = uma(&w).await;
    let (label, _, _) = packages(&w, RETAIL).await.remove(0);
    regenerate_key(&w.server, sandbox_id).await;

    let queued = submitted(&w, &client, RETAIL, finish(&label)).await;
    let failed = wait_for(&w, queued.id, SubmissionStatus::Failed).await;
    let why = failed.message.expect("message");
    assert!(why.contains("Uma Employee's Metrc API key"), "{why}");
    assert!(why.contains("revoked or regenerated"), "{why}");
    assert!(why.contains("Nothing was recorded"), "{why}");
    assert_eq!(failed.metrc_status, Some(401));
    assert_eq!(
        stored(&w.server, uma).await.expect("key").status,
        KeyStatus::Invalid
    );
    assert!(package(&w, RETAIL, &label).await["FinishedDate"].is_null());
    let shown = detail(&w, queued.id).await;
    assert!(shown.can_retry && shown.can_cancel);

    // Now the pre-flight says so, and offers the facility key with a warning.
    let check: Preflight = preflight(&w, &client, RETAIL, "FinishPackage").await.ok();
    assert!(
        check
            .warning
            .as_deref()
            .is_some_and(|t| t.contains("Your Metrc API key is invalid"))
    );
    // Retrying with the key still invalid fails at once, without calling Metrc.
    let calls = writes(&w, "/packages/v2/finish").await.len();
    let retried: SubmissionDetail = retry(&w, queued.id).await;
    assert!(matches!(
        retried.row.status,
        SubmissionStatus::Queued | SubmissionStatus::Sending | SubmissionStatus::Failed
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    while detail(&w, queued.id).await.attempts.len() < 2 {
        assert!(Instant::now() < deadline, "not retried");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = wait_for(&w, queued.id, SubmissionStatus::Failed).await;
    assert!(again.message.unwrap_or_default().contains("invalid"));
    assert_eq!(writes(&w, "/packages/v2/finish").await.len(), calls);
    assert_eq!(
        audited(&w.server, AuditAction::SubmissionRetry).await.len(),
        1
    );
}

each_backend!(rate_limits_and_server_errors_are_retried_with_backoff_then_accepted);
async fn rate_limits_and_server_errors_are_retried_with_backoff_then_accepted(backend: Backend) {
    let w = world(&backend).await;
    let (_, _, _, client) = uma(&w).await;
    let (label, before, unit) = packages(&w, RETAIL).await.remove(0);
    let _rate_limited =
        w.server
            .sandbox()
            .fail_next("/packages/v2/adjust", StatusCode::TOO_MANY_REQUESTS, 1);
    let _unavailable =
        w.server
            .sandbox()
            .fail_next("/packages/v2/adjust", StatusCode::SERVICE_UNAVAILABLE, 1);

    // The first try as the worker makes it (its own `drain`, the worker paused): the 429 leaves
    // the row waiting for its backoff.
    w.server.state.outbox.update(|s| s.paused = true);
    let queued = submitted(&w, &client, RETAIL, adjust(&label, -1.0, &unit)).await;
    outbox::drain(&w.server.state, RETAIL).await.expect("drain");
    let retrying = row(&w, queued.id).await;
    assert_eq!(retrying.status, SubmissionStatus::Retrying);
    w.server.state.outbox.update(|s| s.paused = false);
    assert!(
        retrying
            .message
            .unwrap_or_default()
            .contains("nothing recorded")
    );
    let done = wait_for(&w, queued.id, SubmissionStatus::Accepted).await;
    assert_eq!(done.attempts, 3);
    let shown = detail(&w, queued.id).await;
    let statuses: Vec<Option<u16>> = shown.attempts.iter().map(|a| a.http_status).collect();
    assert_eq!(statuses, vec![Some(429), Some(503), Some(200)]);
    assert!(shown.attempts[0].outcome.starts_with("Retrying"));
    let log = writes(&w, "/packages/v2/adjust").await;
    assert_eq!(log.iter().filter(|e| e["status"] == 200).count(), 1);
    let after = quantity(&w, &label).await;
    assert!((after - (before - 1.0)).abs() < 1e-9, "recorded once");
}

/// Field case-10: the next `count` adjustments get a server fault Metrc answered with 400.
fn case_10_fault(w: &World, count: u32) -> FaultGuard {
    w.server.sandbox().fail_next_with_body(
        "/packages/v2/adjust",
        StatusCode::BAD_REQUEST,
        json!({"Message": "Could not load file or assembly 'System.Data.SqlClient, Version=0.0.0.0'. The system cannot find the file specified."}),
        count,
    )
}

each_backend!(case_10_server_fault_sent_as_400_is_retried_as_one_batch_then_accepted);
async fn case_10_server_fault_sent_as_400_is_retried_as_one_batch_then_accepted(backend: Backend) {
    let w = world(&backend).await;
    let (_, _, _, client) = uma(&w).await;
    let all = packages(&w, RETAIL).await;
    w.server.state.outbox.update(|s| s.paused = true);
    let mut queued = Vec::new();
    for (label, before, unit) in all.iter().take(3) {
        let id = submitted(&w, &client, RETAIL, adjust(label, -1.0, unit))
            .await
            .id;
        queued.push((id, label.clone(), *before));
    }
    // Metrc fails the next two calls with the fault, then the fault clears.
    let _fault = case_10_fault(&w, 2);
    w.server.state.outbox.update(|s| s.paused = false);
    for (id, _, _) in &queued {
        let done = wait_for(&w, *id, SubmissionStatus::Accepted).await;
        assert_eq!(done.attempts, 3, "two faults, then accepted");
        let shown = detail(&w, *id).await;
        let statuses: Vec<Option<u16>> = shown.attempts.iter().map(|a| a.http_status).collect();
        assert_eq!(statuses, vec![Some(400), Some(400), Some(200)]);
        assert!(
            shown.attempts[0]
                .outcome
                .starts_with("Retrying: Metrc failed inside (HTTP 400"),
            "{}",
            shown.attempts[0].outcome
        );
        assert!(
            shown.attempts[0]
                .outcome
                .contains("Could not load file or assembly")
        );
        assert_eq!(shown.attempts[2].outcome, "Accepted (one call of 3 rows)");
    }
    // Three calls in all, each of the three rows: no one-row resends.
    let log = writes(&w, "/packages/v2/adjust").await;
    assert_eq!(
        fates(&log),
        vec![(400, false), (400, false), (200, false)],
        "{log:?}"
    );
    for (_, label, before) in &queued {
        let after = quantity(&w, label).await;
        assert!(
            (after - (before - 1.0)).abs() < 1e-9,
            "{label}: recorded once"
        );
    }
}

each_backend!(case_10_a_lasting_server_fault_fails_with_metrcs_text_and_an_admin_retries_it);
async fn case_10_a_lasting_server_fault_fails_with_metrcs_text_and_an_admin_retries_it(
    backend: Backend,
) {
    let w = world(&backend).await;
    let (_, _, _, client) = uma(&w).await;
    let (label, before, unit) = packages(&w, RETAIL).await.remove(0);
    w.server.state.outbox.update(|s| s.max_attempts = 3);
    let fault = case_10_fault(&w, 100);
    let queued = submitted(&w, &client, RETAIL, adjust(&label, -1.0, &unit)).await;
    let failed = wait_for(&w, queued.id, SubmissionStatus::Failed).await;
    assert_eq!(failed.attempts, 3, "bounded: max_attempts tries");
    assert_eq!(failed.metrc_status, Some(400));
    let why = failed.message.expect("message");
    assert!(why.contains("Could not load file or assembly"), "{why}");
    assert!(
        why.contains("nothing recorded") && why.contains("3 tries"),
        "{why}"
    );
    assert!(
        failed
            .metrc_response
            .as_deref()
            .is_some_and(|r| r.contains("Could not load file or assembly"))
    );
    let shown = detail(&w, queued.id).await;
    assert!(shown.can_retry, "an admin may retry it");
    assert_eq!(writes(&w, "/packages/v2/adjust").await.len(), 3);

    // The fault clears; the admin's Retry is accepted.
    drop(fault);
    retry(&w, queued.id).await;
    wait_for(&w, queued.id, SubmissionStatus::Accepted).await;
    let after = quantity(&w, &label).await;
    assert!((after - (before - 1.0)).abs() < 1e-9, "recorded once");
}

each_backend!(twelve_adjustments_of_one_user_go_in_two_calls_in_order);
async fn twelve_adjustments_of_one_user_go_in_two_calls_in_order(backend: Backend) {
    let w = world(&backend).await;
    let (_, _, _, client) = uma(&w).await;
    let all = packages(&w, RETAIL).await;
    assert!(all.len() >= 6, "enough packages");
    w.server.state.outbox.update(|s| s.paused = true);
    let mut ids = Vec::new();
    for i in 0..12 {
        let (label, _, unit) = &all[i % 6];
        ids.push(
            submitted(&w, &client, RETAIL, adjust(label, -0.5, unit))
                .await
                .id,
        );
    }
    w.server.state.outbox.update(|s| s.paused = false);
    let mut metrc_ids = Vec::new();
    for id in &ids {
        let done = wait_for(&w, *id, SubmissionStatus::Accepted).await;
        let message = done.message.unwrap_or_default();
        let metrc_id: u64 = message
            .trim_start_matches("Accepted by Metrc (Id ")
            .trim_end_matches(").")
            .parse()
            .unwrap_or_else(|_| panic!("{message}"));
        metrc_ids.push(metrc_id);
    }
    let log = writes(&w, "/packages/v2/adjust").await;
    assert_eq!(log.len(), 2, "10 + 2 rows: {log:?}");
    let mut sorted = metrc_ids.clone();
    sorted.sort_unstable();
    assert_eq!(metrc_ids, sorted, "recorded in the order they were made");
    let first = detail(&w, ids[0]).await;
    assert_eq!(first.attempts[0].outcome, "Accepted (one call of 10 rows)");
    let last = detail(&w, ids[11]).await;
    assert_eq!(last.attempts[0].outcome, "Accepted (one call of 2 rows)");
    for (label, before, _) in all.iter().take(6) {
        let after = quantity(&w, label).await;
        assert!(
            (after - (before - 1.0)).abs() < 1e-9,
            "{label}: two halves, once each"
        );
    }
}

/// How long the outbox waits for an answer while a test makes Metrc lose one.
const LOST_AFTER: Duration = Duration::from_millis(500);

/// Another active location of RETAIL than the package's own.
async fn another_location(w: &World, label: &str) -> String {
    let here = package(w, RETAIL, label).await["LocationName"]
        .as_str()
        .expect("location")
        .to_owned();
    let locations: Value = reqwest::Client::new()
        .get(format!(
            "{}/locations/v2/active?licenseNumber={RETAIL}&pageNumber=1&pageSize=20&{}",
            w.server.sandbox_url,
            support::facility_keys::whole_history()
        ))
        .basic_auth(VENDOR_KEY, Some(&w.owner_key))
        .send()
        .await
        .expect("locations")
        .json()
        .await
        .expect("json");
    locations["Data"]
        .as_array()
        .expect("Data")
        .iter()
        .filter_map(|l| l["Name"].as_str())
        .find(|name| *name != here)
        .expect("another location")
        .to_owned()
}

fn move_to(label: &str, location: &str) -> Value {
    json!({ "ChangePackageLocation": { "label": label, "location": location, "date": yesterday() } })
}

/// Arms the sandbox `fault` (a lost request or answer) with the worker paused and the outbox
/// waiting [`LOST_AFTER`] for answers and `reconcile_after` before "not recorded". Returns the
/// write timeout [`resume`] puts back.
fn lose(
    w: &World,
    reconcile_after: Duration,
    loss: Loss,
    path_prefix: &str,
    count: u32,
) -> (Duration, FaultGuard) {
    let normal = w.server.state.outbox.settings().write_timeout;
    w.server.state.outbox.update(|s| {
        s.write_timeout = LOST_AFTER;
        s.reconcile_after = reconcile_after;
        s.paused = true;
    });
    let fault = w.server.sandbox().lose_next(loss, path_prefix, None, count);
    (normal, fault)
}

/// Sends RETAIL's queue as the worker does (its own `drain`) while the worker is paused, so
/// nothing reconciles before the test looks: submission `id` comes out Unknown.
async fn send_unanswered(w: &World, id: i64) -> Stored {
    outbox::drain(&w.server.state, RETAIL).await.expect("drain");
    let unknown = row(w, id).await;
    assert_eq!(unknown.status, SubmissionStatus::Unknown);
    assert!(
        unknown
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("answer never came"),
        "{unknown:?}"
    );
    unknown
}

/// The worker runs again, waiting `write_timeout` for answers.
fn resume(w: &World, write_timeout: Duration) {
    w.server.state.outbox.update(|s| {
        s.write_timeout = write_timeout;
        s.paused = false;
    });
}

each_backend!(an_unanswered_write_is_unknown_never_resent_blindly_and_is_reconciled);
async fn an_unanswered_write_is_unknown_never_resent_blindly_and_is_reconciled(backend: Backend) {
    let w = world(&backend).await;
    let (_, _, _, client) = uma(&w).await;
    let mut all = packages(&w, RETAIL).await;
    let (to_finish, _, _) = all.remove(0);
    let (to_adjust, before, unit) = all.remove(0);
    let (to_move, _, _) = all.remove(0);
    let (witness, _, _) = all.remove(0);
    let there = another_location(&w, &to_move).await;

    // A finish and a move Metrc records, whose answers never come: Unknown, not sent again,
    // then settled from Metrc's data as recorded.
    let (normal, _lost) = lose(&w, Duration::from_secs(3), Loss::Answer, "/packages/v2/", 2);
    let queued = submitted(&w, &client, RETAIL, finish(&to_finish)).await;
    let moving = submitted(&w, &client, RETAIL, move_to(&to_move, &there)).await;
    send_unanswered(&w, queued.id).await;
    assert_eq!(row(&w, moving.id).await.status, SubmissionStatus::Unknown);
    // Landed all the same: logged with the status Metrc would have answered, data changed.
    let finishes = writes(&w, "/packages/v2/finish").await;
    assert_eq!(fates(&finishes), vec![(200, true)]);
    let moves = writes(&w, "/packages/v2/location").await;
    assert_eq!(fates(&moves), vec![(200, true)]);
    assert_eq!(
        package(&w, RETAIL, &to_finish).await["FinishedDate"],
        yesterday()
    );
    assert_eq!(package(&w, RETAIL, &to_move).await["LocationName"], there);

    resume(&w, normal);
    let done = wait_for(&w, queued.id, SubmissionStatus::Accepted).await;
    assert!(
        done.decision
            .unwrap_or_default()
            .contains("Reconciled automatically")
    );
    assert!(package(&w, RETAIL, &to_finish).await["FinishedDate"].is_string());
    let moved = wait_for(&w, moving.id, SubmissionStatus::Accepted).await;
    assert!(
        moved
            .message
            .unwrap_or_default()
            .contains(&format!("is at {there}"))
    );
    for (id, evidence) in [
        (queued.id, format!("package {to_finish} is finished")),
        (moving.id, format!("package {to_move} is at {there}")),
    ] {
        assert_eq!(row(&w, id).await.attempts, 1, "sent once");
        let outcomes = outcomes(&w, id).await;
        assert_eq!(outcomes.len(), 2, "{outcomes:?}");
        assert!(outcomes[0].starts_with("No answer"), "{outcomes:?}");
        assert_eq!(outcomes[1], format!("Reconciled: recorded ({evidence})"));
    }
    let finishes = writes(&w, "/packages/v2/finish").await;
    assert_eq!(
        finishes.iter().filter(|e| e["status"] == 200).count(),
        1,
        "finished once: {finishes:?}"
    );
    assert!(
        finishes.iter().all(|e| e["status"] == 200),
        "never refused as a duplicate"
    );
    assert_eq!(writes(&w, "/packages/v2/location").await.len(), 1);

    // An adjustment Metrc records, whose answer never comes: Metrc's data cannot tell (the
    // package changed after the send), so it waits for an admin, who looks in Metrc and decides.
    w.server.state.outbox.update(|s| {
        s.write_timeout = LOST_AFTER;
        s.reconcile_after = Duration::from_secs(600);
    });
    let _lost_too = w
        .server
        .sandbox()
        .lose_next(Loss::Answer, "/packages/v2/adjust", None, 1);
    let queued = submitted(&w, &client, RETAIL, adjust(&to_adjust, -1.0, &unit)).await;
    wait_for(&w, queued.id, SubmissionStatus::Unknown).await;
    w.server.state.outbox.update(|s| s.write_timeout = normal);
    // Witnesses: reconciliation looked at it and left it Unknown (its next look is ahead), and
    // a later submission of the facility went through.
    wait_until(&w, queued.id, "looked at and left Unknown", |row| {
        row.status == SubmissionStatus::Unknown && row.next_attempt_at > Some(chrono::Utc::now())
    })
    .await;
    passed(&w, &client, finish(&witness)).await;
    assert_eq!(
        row(&w, queued.id).await.status,
        SubmissionStatus::Unknown,
        "not resent blindly"
    );
    let adjusts = writes(&w, "/packages/v2/adjust").await;
    assert_eq!(fates(&adjusts), vec![(200, true)], "sent once");
    let shown = detail(&w, queued.id).await;
    assert!(shown.can_reconcile && !shown.can_retry && !shown.can_cancel);
    let id = queued.id.to_string();
    assert_eq!(
        call(
            &w,
            &client,
            "reconcile_submission",
            &[("id", &id), ("accepted", "true")]
        )
        .await
        .err(),
        AppError::Forbidden
    );
    let now = quantity(&w, &to_adjust).await;
    assert!(
        (now - (before - 1.0)).abs() < 1e-9,
        "Metrc recorded it: {before} → {now}"
    );
    let _: SubmissionDetail = call(
        &w,
        &w.admin,
        "reconcile_submission",
        &[("id", &id), ("accepted", "true")],
    )
    .await
    .ok();
    wait_for(&w, queued.id, SubmissionStatus::Accepted).await;
    let after = quantity(&w, &to_adjust).await;
    assert!(
        (after - (before - 1.0)).abs() < 1e-9,
        "recorded exactly once ({before} → {after})"
    );
    assert_eq!(writes(&w, "/packages/v2/adjust").await.len(), 1);
    let events = audited(&w.server, AuditAction::SubmissionReconcile).await;
    assert_eq!(events.len(), 1);
}

each_backend!(an_unanswered_write_that_never_landed_is_settled_not_recorded_and_sent_once_more);
async fn an_unanswered_write_that_never_landed_is_settled_not_recorded_and_sent_once_more(
    backend: Backend,
) {
    let w = world(&backend).await;
    let (_, _, _, client) = uma(&w).await;
    let (label, _, _) = packages(&w, RETAIL).await.remove(0);

    // Metrc never carries the finish out (the request is held before it, and dropped once the
    // outbox gives up on it): Unknown, like a lost answer from the outside.
    let (normal, _lost) = lose(
        &w,
        Duration::from_secs(1),
        Loss::Request,
        "/packages/v2/finish",
        1,
    );
    let queued = submitted(&w, &client, RETAIL, finish(&label)).await;
    send_unanswered(&w, queued.id).await;
    let dropped = until_written(&w, "/packages/v2/finish", 1).await;
    assert_eq!(
        fates(&dropped),
        vec![(499, false)],
        "dropped, never carried out"
    );
    assert!(package(&w, RETAIL, &label).await["FinishedDate"].is_null());

    // Once `reconcile_after` has passed, the untouched package says "not recorded": queued
    // again in its place and sent once more.
    resume(&w, normal);
    let done = wait_for(&w, queued.id, SubmissionStatus::Accepted).await;
    assert_eq!(done.attempts, 2, "sent again once");
    assert!(
        done.decision
            .unwrap_or_default()
            .contains("Reconciled automatically from Metrc's data: not recorded")
    );
    let outcomes = outcomes(&w, queued.id).await;
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    assert!(outcomes[0].starts_with("No answer"), "{outcomes:?}");
    assert!(
        outcomes[1].starts_with(&format!(
            "Reconciled: not recorded (package {label} unchanged since before it was sent"
        )),
        "{outcomes:?}"
    );
    assert_eq!(outcomes[2], "Accepted");
    let finishes = writes(&w, "/packages/v2/finish").await;
    assert_eq!(fates(&finishes), vec![(499, false), (200, false)]);
    assert_eq!(
        package(&w, RETAIL, &label).await["FinishedDate"],
        yesterday()
    );
}

each_backend!(the_preflight_names_the_missing_metrc_permission_exactly);
async fn the_preflight_names_the_missing_metrc_permission_exactly(backend: Backend) {
    let w = world(&backend).await;
    let (_, _, _, client) = keyed_user(
        &w,
        "vic@example.test",
        "Vic Viewer",
        json!({ RETAIL: ["View Packages"] }),
    )
    .await;
    let (label, _, unit) = packages(&w, RETAIL).await.remove(0);
    let check: Preflight = preflight(&w, &client, RETAIL, "AdjustPackage").await.ok();
    let why = check.blocked.expect("blocked");
    assert!(
        why.contains("your Metrc user lacks Manage Packages Inventory"),
        "{why}"
    );
    let text = bad_input(submit(&w, &client, RETAIL, adjust(&label, -1.0, &unit), false).await);
    assert!(text.contains("lacks Manage Packages Inventory"), "{text}");
    let (rows, _) = submissions::page(&w.server.state.db, &Selection::default(), 0, 10)
        .await
        .expect("db");
    assert!(rows.is_empty());
    // Plant waste at a retail license: no plants there.
    let check: Preflight = preflight(&w, &client, RETAIL, "RecordPlantWaste")
        .await
        .ok();
    assert!(check.blocked.unwrap_or_default().contains("no plants"));
}

each_backend!(bad_input_is_refused_with_what_to_fix);
async fn bad_input_is_refused_with_what_to_fix(backend: Backend) {
    let w = world(&backend).await;
    let (_, _, _, client) = uma(&w).await;
    let tomorrow = (chrono::Utc::now().date_naive() + chrono::Duration::days(1)).to_string();
    let label = "1A4000000000000000000123";
    let cases = [
        (adjust("", -1.0, "Grams"), "Enter the package label"),
        (adjust(label, 0.0, "Grams"), "other than zero"),
        (
            json!({ "FinishPackage": { "label": label, "date": tomorrow } }),
            "in the future",
        ),
        (
            json!({ "ChangePackageLocation": { "label": label, "location": "", "date": yesterday() } }),
            "new location",
        ),
    ];
    for (input, wanted) in cases {
        let text = bad_input(submit(&w, &client, RETAIL, input, false).await);
        assert!(text.contains(wanted), "{text}");
    }
    let text = bad_input(submit(&w, &client, "C99-NOWHERE", finish(label), false).await);
    assert!(text.contains("does not know the facility"), "{text}");
    let anonymous = w.server.client();
    assert_eq!(
        submit(&w, &anonymous, RETAIL, finish(label), false)
            .await
            .err(),
        AppError::Unauthenticated
    );
    let (rows, _) = submissions::page(&w.server.state.db, &Selection::default(), 0, 10)
        .await
        .expect("db");
    assert!(rows.is_empty());
}

each_backend!(cancelled_and_held_submissions_are_never_sent);
async fn cancelled_and_held_submissions_are_never_sent(backend: Backend) {
    let w = world(&backend).await;
    let (uma, _, _, client) = uma(&w).await;
    let all = packages(&w, RETAIL).await;
    w.server.state.outbox.update(|s| s.paused = true);
    let cancel = submitted(&w, &client, RETAIL, finish(&all[0].0)).await;
    let held = submitted(&w, &client, RETAIL, finish(&all[1].0)).await;
    let id = cancel.id.to_string();
    let cancelled: SubmissionDetail = call(&w, &w.admin, "cancel_submission", &[("id", &id)])
        .await
        .ok();
    assert_eq!(cancelled.row.status, SubmissionStatus::Cancelled);
    // Deactivating Uma holds her queued work for an admin.
    let uma_id = uma.to_string();
    let _: UserDetail = call(&w, &w.admin, "deactivate_user", &[("id", &uma_id)])
        .await
        .ok();
    let waiting = row(&w, held.id).await;
    assert_eq!(waiting.status, SubmissionStatus::PendingApproval);
    assert_eq!(waiting.message.as_deref(), Some(outbox::HELD_MESSAGE));
    assert_eq!(row(&w, cancel.id).await.status, SubmissionStatus::Cancelled);
    w.server.state.outbox.update(|s| s.paused = false);
    // Sam, who submits with the facility key, adjusts (another Metrc path) after them.
    let (_, sam) = keyless_user(&w, "sam@example.test", "Sam Sentinel").await;
    let (label, _, unit) = &all[2];
    passed(&w, &sam, adjust(label, -1.0, unit)).await;
    assert!(writes(&w, "/packages/v2/finish").await.is_empty());
    assert_eq!(
        row(&w, held.id).await.status,
        SubmissionStatus::PendingApproval
    );
    let text = bad_input(call(&w, &w.admin, "cancel_submission", &[("id", &id)]).await);
    assert!(text.contains("Cancelled"), "{text}");
    assert_eq!(
        call(&w, &w.admin, "submission_detail", &[("id", "999999")])
            .await
            .err(),
        AppError::NotFound
    );
    assert_eq!(
        audited(&w.server, AuditAction::SubmissionCancel)
            .await
            .len(),
        1
    );
}

each_backend!(admin_functions_and_the_csv_export_are_for_admins_only);
async fn admin_functions_and_the_csv_export_are_for_admins_only(backend: Backend) {
    let w = world(&backend).await;
    let (uma, _, _, client) = uma(&w).await;
    let (_, quinn) = keyless_user(&w, "quinn@example.test", "Quinn \"Q\" Smith, Jr.").await;
    let all = packages(&w, RETAIL).await;
    let mine = submitted(&w, &client, RETAIL, finish(&all[0].0)).await;
    let theirs: SubmissionRow = submit(&w, &quinn, RETAIL, finish(&all[1].0), true)
        .await
        .ok();
    let bad = submitted(
        &w,
        &client,
        RETAIL,
        adjust("1A4NOPE0000000000000000", -1.0, &all[2].2),
    )
    .await;
    wait_for(&w, mine.id, SubmissionStatus::Accepted).await;
    wait_for(&w, theirs.id, SubmissionStatus::Accepted).await;
    wait_for(&w, bad.id, SubmissionStatus::Rejected).await;

    let id = mine.id.to_string();
    let calls: [(&str, Vec<(&str, &str)>); 6] = [
        ("submission_detail", vec![("id", &id)]),
        ("retry_submission", vec![("id", &id)]),
        ("cancel_submission", vec![("id", &id)]),
        ("approve_submission", vec![("id", &id)]),
        ("deny_submission", vec![("id", &id), ("reason", "no")]),
        (
            "reconcile_submission",
            vec![("id", &id), ("accepted", "true")],
        ),
    ];
    for (name, form) in calls {
        assert_eq!(
            call(&w, &client, name, &form).await.err(),
            AppError::Forbidden,
            "{name}"
        );
        assert_eq!(
            call(&w, &w.server.client(), name, &form).await.err(),
            AppError::Unauthenticated,
            "{name}"
        );
    }
    assert_eq!(
        list(&w, &client, filter("All")).await.err(),
        AppError::Forbidden
    );

    // Tabs and filters.
    let everything: Page<SubmissionRow> = list(&w, &w.admin, filter("All")).await.ok();
    assert_eq!(everything.total, 3);
    assert_eq!(everything.rows[0].id, bad.id, "newest first");
    let failed: Page<SubmissionRow> = list(&w, &w.admin, filter("Failed")).await.ok();
    assert_eq!(
        failed.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![bad.id]
    );
    let by_user: Page<SubmissionRow> = list(
        &w,
        &w.admin,
        json!({ "tab": "All", "user_id": uma, "license": RETAIL, "status": "Accepted", "compliant": null, "page": 0 }),
    )
    .await
    .ok();
    assert_eq!(
        by_user.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![mine.id]
    );
    let beyond: Page<SubmissionRow> = list(
        &w,
        &w.admin,
        json!({ "tab": "All", "user_id": null, "license": null, "status": null, "compliant": null, "page": 1 }),
    )
    .await
    .ok();
    assert!(beyond.rows.is_empty() && beyond.total == 3);

    // The CSV: everything the filter selects, quoted properly; admins only.
    let export = |client: reqwest::Client, query: &'static str| {
        let url = w
            .server
            .url(&format!("{}?{query}", outbox::csv::EXPORT_PATH));
        async move { client.get(url).send().await.expect("export") }
    };
    let response = export(w.admin.clone(), "tab=all").await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert!(
        headers[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(
        headers[reqwest::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=")
    );
    let body = response.text().await.expect("csv");
    let lines: Vec<&str> = body.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 4, "{body}");
    assert!(lines[0].starts_with("Time (UTC),ID,User,Facility,Action"));
    let quinn_line = lines
        .iter()
        .find(|l| l.contains(&format!(",{},", theirs.id)))
        .expect("Quinn's row");
    assert!(
        quinn_line.contains("\"Quinn \"\"Q\"\" Smith, Jr.\""),
        "quotes doubled, field quoted: {quinn_line}"
    );
    assert!(quinn_line.contains(&format!("Facility key ({OWNER})")));
    assert!(quinn_line.contains("Not compliant"));
    assert!(body.contains("does not exist in the current Facility"));

    let count = |text: String| text.split("\r\n").filter(|l| !l.is_empty()).count();
    let failed = export(w.admin.clone(), "tab=failed").await.text().await;
    assert_eq!(count(failed.expect("csv")), 2);
    let not_compliant = export(w.admin.clone(), "tab=all&compliant=no")
        .await
        .text()
        .await;
    assert_eq!(count(not_compliant.expect("csv")), 2);

    assert_eq!(
        export(client.clone(), "tab=all").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        export(w.server.client(), "tab=all").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// A write of this body to `path` (PUT or POST), straight to Metrc with `key`: as if the outbox's
/// call had landed and only its answer was lost.
async fn write_directly(w: &World, key: &str, method: reqwest::Method, path: &str, body: Value) {
    let response = reqwest::Client::new()
        .request(
            method,
            format!("{}{path}?licenseNumber={RETAIL}", w.server.sandbox_url),
        )
        .basic_auth(VENDOR_KEY, Some(key))
        .json(&body)
        .send()
        .await
        .expect("write");
    assert!(response.status().is_success(), "{}", response.status());
}

each_backend!(after_a_crash_unknown_outcomes_are_settled_from_metrcs_data_where_it_tells);
async fn after_a_crash_unknown_outcomes_are_settled_from_metrcs_data_where_it_tells(
    backend: Backend,
) {
    let w = world(&backend).await;
    let (_, _, uma_key, client) = uma(&w).await;
    let all = packages(&w, RETAIL).await;
    let (finished, moved, adjusted, lost) = (&all[0].0, &all[1].0, &all[2], &all[3].0);
    let there = another_location(&w, moved).await;

    // Four submissions are being sent when a server dies (its lease on RETAIL's queue has just
    // expired): three of the calls landed.
    w.server.state.outbox.update(|s| s.paused = true);
    let ids = [
        submitted(&w, &client, RETAIL, finish(finished)).await.id,
        submitted(&w, &client, RETAIL, move_to(moved, &there))
            .await
            .id,
        submitted(&w, &client, RETAIL, adjust(&adjusted.0, -1.0, &adjusted.2))
            .await
            .id,
        submitted(&w, &client, RETAIL, finish(lost)).await.id,
    ];
    let db = &w.server.state.db;
    let sent_at = chrono::Utc::now() - chrono::Duration::seconds(1);
    let dead = leases::acquire(
        db,
        &outbox::send::lease_name(RETAIL),
        "dead",
        Duration::from_millis(500),
        sent_at,
    )
    .await
    .expect("db")
    .expect("a free lease");
    assert_eq!(
        submissions::mark_sending(db, &ids, sent_at, &dead)
            .await
            .expect("db"),
        4
    );
    let put = reqwest::Method::PUT;
    write_directly(
        &w,
        &uma_key,
        put.clone(),
        "/packages/v2/finish",
        json!([{"Label": finished, "ActualDate": yesterday()}]),
    )
    .await;
    write_directly(
        &w,
        &uma_key,
        put,
        "/packages/v2/location",
        json!([{"Label": moved, "Location": there, "MoveDate": yesterday()}]),
    )
    .await;
    write_directly(
        &w,
        &uma_key,
        reqwest::Method::POST,
        "/packages/v2/adjust",
        json!([{"Label": adjusted.0, "Quantity": -1.0, "UnitOfMeasure": adjusted.2, "AdjustmentReason": "Drying", "AdjustmentDate": yesterday(), "ReasonNote": null}]),
    )
    .await;

    // The next drain of RETAIL (any server's) takes the expired lease over: Sending becomes
    // Unknown, with the lost answer recorded, and nothing is sent.
    assert_eq!(
        outbox::drain(&w.server.state, RETAIL).await.expect("drain"),
        0
    );
    for id in ids {
        let shown = detail(&w, id).await;
        assert_eq!(shown.row.status, SubmissionStatus::Unknown);
        assert!(shown.can_reconcile);
        assert!(
            shown.attempts[0].outcome.contains("server stopped"),
            "{:?}",
            shown.attempts
        );
    }

    // At once, the finished and the moved packages say "recorded"; "not recorded" can only be
    // said once `reconcile_after` has passed (a call still inside Metrc could land until then).
    w.server
        .state
        .outbox
        .update(|s| s.reconcile_after = Duration::from_secs(3));
    outbox::reconcile_due(&w.server.state)
        .await
        .expect("reconcile");
    assert_eq!(
        row(&w, ids[3]).await.status,
        SubmissionStatus::Unknown,
        "too early to say not recorded"
    );
    let finished_row = row(&w, ids[0]).await;
    assert_eq!(finished_row.status, SubmissionStatus::Accepted);
    assert!(
        finished_row
            .message
            .unwrap_or_default()
            .contains("is finished")
    );
    let moved_row = row(&w, ids[1]).await;
    assert_eq!(moved_row.status, SubmissionStatus::Accepted);
    assert!(
        moved_row
            .message
            .unwrap_or_default()
            .contains(&format!("is at {there}"))
    );
    // The lost finish: the package is untouched since before the send, so it goes again once
    // `reconcile_after` has passed.
    let deadline = Instant::now() + Duration::from_secs(10);
    let lost_row = loop {
        outbox::reconcile_due(&w.server.state)
            .await
            .expect("reconcile");
        let now = row(&w, ids[3]).await;
        if now.status != SubmissionStatus::Unknown {
            break now;
        }
        assert!(Instant::now() < deadline, "never settled: {now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The adjusted package changed after the send: only an admin can tell.
    assert_eq!(row(&w, ids[2]).await.status, SubmissionStatus::Unknown);
    assert_eq!(lost_row.status, SubmissionStatus::Queued);
    assert!(
        lost_row
            .message
            .unwrap_or_default()
            .contains("Not recorded")
    );

    w.server.state.outbox.update(|s| s.paused = false);
    wait_for(&w, ids[3], SubmissionStatus::Accepted).await;
    assert!(package(&w, RETAIL, lost).await["FinishedDate"].is_string());
    let _: SubmissionDetail = call(
        &w,
        &w.admin,
        "reconcile_submission",
        &[("id", &ids[2].to_string()), ("accepted", "true")],
    )
    .await
    .ok();
    assert_eq!(row(&w, ids[2]).await.status, SubmissionStatus::Accepted);
    let after = quantity(&w, &adjusted.0).await;
    assert!((after - (adjusted.1 - 1.0)).abs() < 1e-9, "adjusted once");
    // Only the lost finish was sent (again) by the outbox.
    let finishes = writes(&w, "/packages/v2/finish").await;
    assert_eq!(finishes.len(), 2, "the direct one and the resent lost one");
    assert!(finishes.iter().all(|e| e["status"] == 200));
    assert_eq!(writes(&w, "/packages/v2/location").await.len(), 1);
    assert_eq!(writes(&w, "/packages/v2/adjust").await.len(), 1);
}

each_backend!(a_row_whose_answer_could_not_be_stored_becomes_unknown_and_later_rows_wait_for_it);
async fn a_row_whose_answer_could_not_be_stored_becomes_unknown_and_later_rows_wait_for_it(
    backend: Backend,
) {
    let w = world(&backend).await;
    let (_, _, _, client) = uma(&w).await;
    let all = packages(&w, RETAIL).await;
    let state = &w.server.state;
    // Reconciliation waits an hour: within the test, nothing but the takeover settles the row.
    state.outbox.update(|s| {
        s.paused = true;
        s.reconcile_after = Duration::from_secs(3600);
    });
    // This server's drain claimed a row under RETAIL's lease and sent it, and storing Metrc's
    // answer failed: it is still `Sending`.
    let stuck = submitted(&w, &client, RETAIL, finish(&all[0].0)).await.id;
    let now = chrono::Utc::now();
    let lease = leases::acquire(
        &state.db,
        &outbox::send::lease_name(RETAIL),
        &state.server_id,
        Duration::from_secs(60),
        now,
    )
    .await
    .expect("db")
    .expect("a free lease");
    assert_eq!(
        submissions::mark_sending(&state.db, &[stuck], now, &lease)
            .await
            .expect("db"),
        1
    );
    let later = submitted(&w, &client, RETAIL, finish(&all[1].0)).await.id;

    // While the lease stands, nothing moves: the later row does not overtake it.
    let due = outbox::due_facilities(state).await.expect("due");
    assert!(!due.iter().any(|l| l == RETAIL), "{due:?}");
    assert_eq!(outbox::drain(state, RETAIL).await.expect("drain"), 0);
    assert_eq!(row(&w, later).await.status, SubmissionStatus::Queued);
    assert_eq!(row(&w, stuck).await.status, SubmissionStatus::Sending);

    // Its drain gave the lease up on the error: the next drain takes over and makes the row
    // Unknown (never resent blindly); then the later row goes.
    leases::release(&state.db, &lease).await.expect("db");
    let due = outbox::due_facilities(state).await.expect("due");
    assert!(
        due.iter().any(|l| l == RETAIL),
        "a takeover is due: {due:?}"
    );
    state.outbox.update(|s| s.paused = false);
    let unknown = wait_for(&w, stuck, SubmissionStatus::Unknown).await;
    assert_eq!(unknown.message.as_deref(), Some(outbox::stuck::INTERRUPTED));
    assert_eq!(unknown.attempts, 1);
    assert_eq!(
        outcomes(&w, stuck).await,
        vec![outbox::stuck::INTERRUPTED_OUTCOME.to_owned()]
    );
    wait_for(&w, later, SubmissionStatus::Accepted).await;
    assert_eq!(
        writes(&w, "/packages/v2/finish").await.len(),
        1,
        "sent once: the later row"
    );
}

each_backend!(a_stopping_server_finishes_the_call_under_way_and_claims_nothing_more);
async fn a_stopping_server_finishes_the_call_under_way_and_claims_nothing_more(backend: Backend) {
    let mut w = world(&backend).await;
    let (_, _, _, client) = uma(&w).await;
    let all = packages(&w, RETAIL).await;
    w.server.state.outbox.update(|s| s.paused = true);
    let under_way = submitted(&w, &client, RETAIL, finish(&all[0].0)).await.id;
    let next = submitted(&w, &client, RETAIL, adjust(&all[1].0, -1.0, &all[1].2))
        .await
        .id;
    // Every Metrc call now takes two seconds: the server is asked to stop during the first.
    let _slow = w.server.sandbox().slow_down(Duration::from_secs(2));
    w.server.state.outbox.update(|s| s.paused = false);
    wait_for(&w, under_way, SubmissionStatus::Sending).await;

    w.server.stop().await;
    let done = row(&w, under_way).await;
    assert_eq!(
        done.status,
        SubmissionStatus::Accepted,
        "the call under way finished: {done:?}"
    );
    assert_eq!(
        row(&w, next).await.status,
        SubmissionStatus::Queued,
        "nothing more claimed"
    );
    assert_eq!(writes(&w, "/packages/v2/adjust").await.len(), 0);
}

each_backend!(a_502_or_504_from_a_gateway_is_unknown_never_resent_blindly);
async fn a_502_or_504_from_a_gateway_is_unknown_never_resent_blindly(backend: Backend) {
    let w = world(&backend).await;
    let (_, _, _, client) = uma(&w).await;
    let all = packages(&w, RETAIL).await;
    // The worker paused (this test sends as it does), nothing reconciled for ten minutes.
    w.server.state.outbox.update(|s| {
        s.paused = true;
        s.reconcile_after = Duration::from_secs(600);
    });
    for (status, (label, _, _)) in [502, 504].into_iter().zip(&all) {
        let _gateway = w.server.sandbox().fail_next(
            "/packages/v2/finish",
            StatusCode::from_u16(status).unwrap(),
            1,
        );
        let queued = submitted(&w, &client, RETAIL, finish(label)).await;
        outbox::drain(&w.server.state, RETAIL).await.expect("drain");
        let after = row(&w, queued.id).await;
        assert_eq!(
            after.status,
            SubmissionStatus::Unknown,
            "{status}: {:?}",
            after.message
        );
        assert!(
            after
                .message
                .as_deref()
                .unwrap_or_default()
                .contains(&format!("HTTP {status} from a gateway")),
            "{after:?}"
        );
        // Not sent again by the worker: the gateway may have passed it on to Metrc.
        outbox::drain(&w.server.state, RETAIL).await.expect("drain");
        assert_eq!(row(&w, queued.id).await.status, SubmissionStatus::Unknown);
        assert_eq!(row(&w, queued.id).await.attempts, 1);
    }
    let finishes = writes(&w, "/packages/v2/finish").await;
    assert_eq!(fates(&finishes), vec![(502, false), (504, false)]);
}

each_backend!(a_404_without_metrcs_body_while_reconciling_is_not_taken_for_no_such_package);
async fn a_404_without_metrcs_body_while_reconciling_is_not_taken_for_no_such_package(
    backend: Backend,
) {
    let w = world(&backend).await;
    let (_, _, _, client) = uma(&w).await;
    let (label, _, _) = packages(&w, RETAIL).await.remove(0);
    // The finish lands, its answer is lost; "not recorded" may be said at once.
    let (normal, _lost) = lose(&w, Duration::ZERO, Loss::Answer, "/packages/v2/finish", 1);
    let queued = submitted(&w, &client, RETAIL, finish(&label)).await;
    send_unanswered(&w, queued.id).await;
    // A gateway answers the by-label lookup 404 with its own page, not Metrc's body.
    let gateway = w.server.sandbox().fail_next_with_body(
        &format!("/packages/v2/{label}"),
        StatusCode::NOT_FOUND,
        json!("<html><body><h1>404 Not Found</h1></body></html>"),
        10,
    );
    outbox::reconcile_due(&w.server.state)
        .await
        .expect("reconcile");
    let looked = row(&w, queued.id).await;
    assert_eq!(
        looked.status,
        SubmissionStatus::Unknown,
        "{:?}",
        looked.message
    );
    let lookups = sandbox_requests(&w.server)
        .await
        .into_iter()
        .filter(|e| e["method"] == "GET" && e["path"] == format!("/packages/v2/{label}"))
        .count();
    assert!(lookups >= 1, "reconcile looked the label up");
    // Once Metrc itself answers, the finished package settles it: recorded, sent once.
    drop(gateway);
    resume(&w, normal);
    let done = wait_for(&w, queued.id, SubmissionStatus::Accepted).await;
    assert_eq!(done.attempts, 1);
    assert_eq!(
        fates(&writes(&w, "/packages/v2/finish").await),
        vec![(200, true)]
    );
}
