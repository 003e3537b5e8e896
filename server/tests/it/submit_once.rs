//! A submission is submitted once, whatever the browser does (issue 13, item 8), over HTTP
//! against the sandbox, on every backend: "Submit to Metrc" carries the work form's token; a
//! repeated submit with it (a retry after a lost answer, a double click) returns the submission
//! stored first, with no second row and no second Metrc write; the same token with other values
//! is refused; a new token is a new submission; a missing or malformed token is refused before
//! anything else is looked at.

use crate::support;

use app::error::AppError;
use app::ssr::entities::submissions::Model as Stored;
use app::ssr::queries::submissions::{self, Selection};
use app::types::submissions::{SubmissionRow, SubmissionStatus};
use serde_json::{Value, json};
use support::Backend;
use support::facility_keys::{Answer, RETAIL, sandbox_package};
use support::submissions::{
    Employee, World, adjust, finish, submit_form, token, uma, wait_for, world, writes,
};

/// Every submission `user` has stored, oldest first.
async fn stored_for(w: &World, user: &Employee) -> Vec<Stored> {
    let selection = Selection {
        user_id: Some(user.id),
        ..Default::default()
    };
    let mut rows = submissions::all(&w.server.state.db, &selection, 100)
        .await
        .expect("db");
    rows.reverse();
    rows
}

async fn quantity(w: &World, label: &str) -> f64 {
    sandbox_package(&w.server, RETAIL, label).await["Quantity"]
        .as_f64()
        .expect("quantity")
}

/// "Submit to Metrc" with a body as given (to send a token the work form never would).
async fn submit_raw(w: &World, user: &Employee, body: Value) -> Answer {
    Answer::of(w.server.call_json(&user.client, "submit", &body).await).await
}

each_backend!(
    a_retry_after_a_lost_answer_returns_the_first_submission_and_a_new_form_makes_another
);
async fn a_retry_after_a_lost_answer_returns_the_first_submission_and_a_new_form_makes_another(
    backend: Backend,
) {
    let w = world(&backend).await;
    let uma = uma(&w).await;
    let (label, before, unit) = w.packages(RETAIL).await.remove(0);
    let take_one = adjust(&label, -1.0, &unit);
    let form = token();
    let send_form = || {
        submit_form(
            &w.server,
            &uma.client,
            RETAIL,
            take_one.clone(),
            false,
            &form,
        )
    };

    let first: SubmissionRow = send_form().await.ok();
    wait_for(&w.server, first.id, SubmissionStatus::Accepted).await;
    // The answer never reached the browser: the user submits the same form again. They get the
    // submission stored the first time, as it stands now.
    let again: SubmissionRow = send_form().await.ok();
    assert_eq!(again.id, first.id, "the first submission");
    assert_eq!(again.status, SubmissionStatus::Accepted);
    assert_eq!(stored_for(&w, &uma).await.len(), 1, "no second row");

    // The next form has a new token: the same values are a new submission, sent in its turn
    // (and the witness that the worker has nothing else of this facility to send).
    let next: SubmissionRow =
        submit_form(&w.server, &uma.client, RETAIL, take_one, false, &token())
            .await
            .ok();
    assert_ne!(next.id, first.id);
    wait_for(&w.server, next.id, SubmissionStatus::Accepted).await;
    let rows = stored_for(&w, &uma).await;
    assert_eq!(
        rows.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![first.id, next.id]
    );
    assert!(rows.iter().all(|r| r.attempts == 1), "each sent once");
    let adjusts = writes(&w.server, "/packages/v2/adjust").await;
    assert_eq!(
        adjusts.len(),
        2,
        "one Metrc write per submission: {adjusts:?}"
    );
    let now = quantity(&w, &label).await;
    assert!((now - (before - 2.0)).abs() < 1e-9, "{before} → {now}");
}

each_backend!(a_double_click_stores_one_submission);
/// Several submits of one form at once (a double click, a browser resending): one row, and each
/// of them answers with it. Whichever request inserts second meets the unique index on (user,
/// token) and returns the first row.
async fn a_double_click_stores_one_submission(backend: Backend) {
    let w = world(&backend).await;
    let uma = uma(&w).await;
    let (label, _, _) = w.packages(RETAIL).await.remove(0);
    let form = token();
    let clicks =
        (0..4).map(|_| submit_form(&w.server, &uma.client, RETAIL, finish(&label), false, &form));
    let answers = futures::future::join_all(clicks).await;
    let rows: Vec<SubmissionRow> = answers.iter().map(Answer::ok).collect();
    let stored = stored_for(&w, &uma).await;
    assert_eq!(stored.len(), 1, "one row: {stored:?}");
    assert!(
        rows.iter().all(|r| r.id == stored[0].id),
        "every click answered with the one submission: {rows:?}"
    );
    wait_for(&w.server, stored[0].id, SubmissionStatus::Accepted).await;
    assert_eq!(writes(&w.server, "/packages/v2/finish").await.len(), 1);
}

each_backend!(the_same_token_with_other_values_is_refused);
async fn the_same_token_with_other_values_is_refused(backend: Backend) {
    let w = world(&backend).await;
    let uma = uma(&w).await;
    let mut packages = w.packages(RETAIL).await;
    let (one, _, _) = packages.remove(0);
    let (other, _, _) = packages.remove(0);
    let form = token();
    let first: SubmissionRow =
        submit_form(&w.server, &uma.client, RETAIL, finish(&one), false, &form)
            .await
            .ok();

    let refused = submit_form(&w.server, &uma.client, RETAIL, finish(&other), false, &form).await;
    assert_eq!(refused.status, reqwest::StatusCode::BAD_REQUEST);
    let AppError::BadInput(message) = refused.err() else {
        panic!("{}", refused.body)
    };
    assert!(
        message.contains(&format!("already submitted (submission {})", first.id))
            && message.contains("reload the page"),
        "{message}"
    );
    let stored = stored_for(&w, &uma).await;
    assert_eq!(stored.len(), 1, "nothing new stored");
    assert!(stored[0].request.contains(&one), "the first values kept");
}

each_backend!(a_missing_or_malformed_token_is_refused_before_anything_else);
async fn a_missing_or_malformed_token_is_refused_before_anything_else(backend: Backend) {
    let w = world(&backend).await;
    let uma = uma(&w).await;
    let (label, _, _) = w.packages(RETAIL).await.remove(0);
    // Besides a bad token, an unknown facility and a malformed label: the token is refused
    // first, before the facility is looked up or the input is read further.
    let bad_tokens = [
        None,
        Some(String::new()),
        Some("0123456789abcdef".to_owned()),
        Some("0123456789ABCDEF0123456789ABCDEF".to_owned()),
        Some("0123456789abcdef0123456789abcdeg".to_owned()),
        Some(format!("{}0", token())),
        Some("f".repeat(10_000)),
    ];
    for bad in bad_tokens {
        for (license, input) in [
            (RETAIL, finish(&label)),
            ("403-NOSUCHLICENSE", finish("not a label!")),
        ] {
            let mut form =
                json!({ "license": license, "input": input, "confirm_facility_key": false });
            if let Some(bad) = &bad {
                form["submit_token"] = json!(bad);
            }
            let answer = submit_raw(&w, &uma, json!({ "input": form })).await;
            assert_eq!(
                answer.status,
                reqwest::StatusCode::BAD_REQUEST,
                "{bad:?}: {}",
                answer.body
            );
            assert_eq!(
                answer.err(),
                AppError::BadInput(
                    "This form sent no valid submission token (32 lowercase hex digits): reload the page and submit again."
                        .into()
                ),
                "{bad:?} at {license}"
            );
        }
    }
    assert!(stored_for(&w, &uma).await.is_empty());
    // The same form with a token goes through.
    let row: SubmissionRow = submit_form(
        &w.server,
        &uma.client,
        RETAIL,
        finish(&label),
        false,
        &token(),
    )
    .await
    .ok();
    assert_eq!(stored_for(&w, &uma).await.len(), 1);
    wait_for(&w.server, row.id, SubmissionStatus::Accepted).await;
}
