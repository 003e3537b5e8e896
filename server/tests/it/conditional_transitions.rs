//! Automatic transitions are conditional on what they read (issue 13, item 10): a decision made
//! from an older read of a submission never lands on a later attempt of it. On every backend,
//! because the condition compares a stored time with the one read back.

use crate::support::{Backend, TestServer};
use app::ssr::outbox::KeyKind;
use app::ssr::queries::leases;
use app::ssr::queries::submissions::{self, Change, NewSubmissionRow};
use app::types::auth::Role;
use app::types::submissions::{SubmissionAction, SubmissionStatus};
use chrono::Utc;

each_backend!(a_verdict_from_an_older_read_never_lands_on_a_later_attempt);
async fn a_verdict_from_an_older_read_never_lands_on_a_later_attempt(backend: Backend) {
    // Paused: the outbox worker leaves the row to the test.
    let server = TestServer::start_with(&backend, |c| c.outbox.paused = true).await;
    let db = &server.state.db;
    let user = server
        .add_user("uma@example.test", "a long password 1", Role::Employee)
        .await;
    let row = submissions::insert(
        db,
        NewSubmissionRow {
            idempotency_key: "conditional-1",
            user_id: user,
            submit_token: None,
            license_number: "403-X0001",
            action: SubmissionAction::FinishPackage,
            request: r#"{"Label":"1A4000000000000000000001"}"#.into(),
            key_kind: KeyKind::User,
            key_owner: "Test User",
            compliant: true,
            status: SubmissionStatus::Queued,
            message: None,
        },
    )
    .await
    .expect("insert");
    let unknown = |db| async move {
        submissions::transition(
            db,
            row.id,
            &[SubmissionStatus::Sending],
            SubmissionStatus::Unknown,
            Change::default(),
        )
        .await
        .expect("to unknown")
    };
    // Attempt 1 is sent (under the facility's outbox lease) and its answer is lost;
    // reconciliation reads it.
    let lease = std::time::Duration::from_secs(60);
    let claim = leases::acquire(db, "outbox:403-X0001", "test", lease, Utc::now())
        .await
        .expect("db")
        .expect("a free lease");
    assert_eq!(
        submissions::mark_sending(db, &[row.id], Utc::now(), &claim)
            .await
            .unwrap(),
        1
    );
    assert!(unknown(db).await);
    let examined = submissions::find(db, row.id).await.unwrap().expect("row");
    assert_eq!(
        (examined.status.as_str(), examined.attempts),
        ("unknown", 1)
    );

    // Meanwhile an admin marks it not recorded; attempt 2 is sent and its answer lost too.
    assert!(
        submissions::transition(
            db,
            row.id,
            &[SubmissionStatus::Unknown],
            SubmissionStatus::Queued,
            Change::default(),
        )
        .await
        .unwrap()
    );
    assert_eq!(
        submissions::mark_sending(db, &[row.id], Utc::now(), &claim)
            .await
            .unwrap(),
        1
    );
    assert!(unknown(db).await);

    // The verdict about attempt 1 ("not recorded: queue it again") does not land on attempt 2,
    // which may well have been recorded.
    let landed = submissions::transition_examined(
        db,
        &examined,
        SubmissionStatus::Queued,
        Change::default(),
    )
    .await
    .unwrap();
    assert!(!landed, "a verdict about attempt 1 moved attempt 2");
    let now = submissions::find(db, row.id).await.unwrap().expect("row");
    assert_eq!((now.status, now.attempts), (SubmissionStatus::Unknown, 2));

    // A verdict from a read of attempt 2 lands: the stored send time compares equal to the one
    // read back on this backend.
    let landed =
        submissions::transition_examined(db, &now, SubmissionStatus::Accepted, Change::default())
            .await
            .unwrap();
    assert!(landed);
    let after = submissions::find(db, row.id).await.unwrap().expect("row");
    assert_eq!(after.status, SubmissionStatus::Accepted);
}
