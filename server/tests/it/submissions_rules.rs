//! Who may submit to Metrc, over HTTP against the sandbox, on every backend: a user without "Can
//! submit to Metrc" and a user who does not work at the facility are refused before anything is
//! stored or sent (and allowed once an admin changes that), and "My submissions" shows each
//! user their own submissions only.

use crate::support;

use app::error::AppError;
use app::ssr::queries::submissions::{self, Selection};
use app::types::submissions::{Preflight, SubmissionRow, SubmissionStatus};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use support::Backend;
use support::facility_keys::{Answer, CULTIVATION, RETAIL};
use support::submissions::{
    Employee, World, adjust, finish, keyed_user, my_submissions, packages_permission, preflight,
    submit, submitted, uma, wait_for, world, writes,
};
use support::user_keys::edit_user;

/// Asserts that `who` is refused `input` at `license` for `why`: the pre-flight check says so,
/// submitting is refused whether or not they confirm the facility-key warning, and nothing is
/// stored.
async fn refused(w: &World, who: &Employee, license: &str, input: Value, why: &str) {
    let action = input
        .as_object()
        .and_then(|o| o.keys().next())
        .expect("an action")
        .clone();
    let check: Preflight = preflight(&w.server, &who.client, license, &action)
        .await
        .ok();
    let blocked = check.blocked.expect("blocked");
    assert!(blocked.contains(why), "{blocked}");
    assert_eq!(check.key_used, None);
    for confirm in [false, true] {
        let answer = submit(&w.server, &who.client, license, input.clone(), confirm).await;
        match answer.err() {
            AppError::BadInput(text) => assert!(text.contains(why), "{text}"),
            other => panic!("expected BadInput, got {other:?}"),
        }
    }
    let (_, stored) = submissions::page(&w.server.state.db, &Selection::default(), 0, 1)
        .await
        .expect("db");
    assert_eq!(stored.rows, 0, "nothing is stored");
}

each_backend!(a_user_who_may_not_submit_to_metrc_is_refused_until_an_admin_allows_it);
async fn a_user_who_may_not_submit_to_metrc_is_refused_until_an_admin_allows_it(backend: Backend) {
    let w = world(&backend).await;
    let uma = uma(&w).await;
    let (label, _, unit) = w.packages(RETAIL).await.remove(0);
    let off = edit_user(&w.server, &w.admin, uma.id, |u| {
        u["can_submit"] = json!(false);
    })
    .await;
    assert!(!off.can_submit);

    let input = adjust(&label, -1.0, &unit);
    refused(&w, &uma, RETAIL, input, "You may not submit to Metrc").await;

    // Allowed again: the same submission goes through.
    edit_user(&w.server, &w.admin, uma.id, |u| {
        u["can_submit"] = json!(true);
    })
    .await;
    let queued = submitted(
        &w.server,
        &uma.client,
        RETAIL,
        adjust(&label, -1.0, &unit),
        false,
    )
    .await;
    wait_for(&w.server, queued.id, SubmissionStatus::Accepted).await;
    let log = writes(&w.server, "/packages/v2/adjust").await;
    assert_eq!(log.len(), 1, "only the allowed one was sent: {log:?}");
    assert_eq!(log[0]["employee_name"], "Uma Employee");
}

each_backend!(a_user_is_refused_at_a_facility_they_do_not_work_at);
async fn a_user_is_refused_at_a_facility_they_do_not_work_at(backend: Backend) {
    let w = world(&backend).await;
    let uma = uma(&w).await;
    let (retail_label, _, _) = w.packages(RETAIL).await.remove(0);
    let (cultivation_label, _, _) = w.packages(CULTIVATION).await.remove(0);
    let moved = edit_user(&w.server, &w.admin, uma.id, |u| {
        u["all_facilities"] = json!(false);
        u["facilities"] = json!([CULTIVATION]);
    })
    .await;
    assert_eq!(
        (moved.all_facilities, moved.facilities.clone()),
        (false, vec![CULTIVATION.to_owned()])
    );

    let why = format!("You do not work at {RETAIL}");
    refused(&w, &uma, RETAIL, finish(&retail_label), &why).await;

    // Where she works, the same action goes through.
    let check: Preflight = preflight(&w.server, &uma.client, CULTIVATION, "FinishPackage")
        .await
        .ok();
    assert_eq!(check.blocked, None);
    let queued = submitted(
        &w.server,
        &uma.client,
        CULTIVATION,
        finish(&cultivation_label),
        false,
    )
    .await;
    wait_for(&w.server, queued.id, SubmissionStatus::Accepted).await;
    let log = writes(&w.server, "/packages/v2/finish").await;
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["license"], CULTIVATION);
}

each_backend!(my_submissions_shows_each_user_only_their_own);
async fn my_submissions_shows_each_user_only_their_own(backend: Backend) {
    let w = world(&backend).await;
    let uma = uma(&w).await;
    let vic = keyed_user(
        &w,
        "vic@example.test",
        "Vic Employee",
        packages_permission(),
    )
    .await;
    let labels: Vec<String> = w
        .packages(RETAIL)
        .await
        .into_iter()
        .map(|(label, _, _)| label)
        .collect();
    w.server.state.outbox.update(|s| s.paused = true);
    let mut made = [Vec::new(), Vec::new()];
    // Interleaved, so that neither user's rows are one block of ids.
    for (i, label) in labels.iter().take(5).enumerate() {
        let who = [&uma, &vic][i % 2];
        let row = submitted(&w.server, &who.client, RETAIL, finish(label), false).await;
        made[i % 2].push(row.id);
    }

    for (who, mine) in [(&uma, &made[0]), (&vic, &made[1])] {
        let page = my_submissions(&w.server, &who.client, 0).await;
        assert_eq!(page.total, mine.len() as u64, "{}", who.name);
        let ids: Vec<i64> = page.rows.iter().map(|r| r.id).collect();
        let mut newest_first = mine.clone();
        newest_first.reverse();
        assert_eq!(ids, newest_first, "{}: their own, newest first", who.name);
        assert!(
            page.rows
                .iter()
                .all(|r: &SubmissionRow| r.user_id == who.id && r.user_name == who.name),
            "{}: {:?}",
            who.name,
            page.rows
        );
    }
    let everyone: BTreeSet<i64> = made.iter().flatten().copied().collect();
    assert_eq!(everyone.len(), 5);
    // The admin made none.
    assert_eq!(my_submissions(&w.server, &w.admin, 0).await.total, 0);
    // Signed out: nobody's.
    let anonymous = w.server.client();
    let answer = Answer::of(
        w.server
            .call(&anonymous, "my_submissions", &[("page", "0")])
            .await,
    )
    .await;
    assert_eq!(answer.err(), AppError::Unauthenticated);
}
