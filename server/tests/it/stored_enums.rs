//! Typed columns (docs/decisions.md): a status, role, action, key kind or audit action that no
//! variant names,
//! written into the database by hand, makes the read of its row fail with an error instead of
//! reading as some default, on both databases.

use crate::support;

use app::ssr::actor::Actor;
use app::ssr::entities::audit_events::AuditAction;
use app::ssr::entities::{facilities as facility_rows, submissions as submission_rows};
use app::ssr::outbox::KeyKind;
use app::ssr::queries::audit_events::{self, NewAuditEvent};
use app::ssr::queries::facilities::{self, NewFacility};
use app::ssr::queries::submissions::{self, NewSubmissionRow};
use app::ssr::queries::{user_metrc_keys, users};
use app::types::submissions::{SubmissionAction, SubmissionStatus};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use secrecy::SecretString;
use support::{ADMIN_EMAIL, Backend, TestServer};

/// What reading every row of `table` gives after `UPDATE table SET column = 'bogus'`.
async fn after_bogus<T>(
    server: &TestServer,
    table: &str,
    column: &str,
    read: impl AsyncFn() -> Result<T, DbErr>,
) -> Result<T, DbErr> {
    assert!(read().await.is_ok(), "{table}.{column} reads before");
    server
        .state
        .db
        .execute_unprepared(&format!("UPDATE {table} SET {column} = 'bogus'"))
        .await
        .expect("raw update");
    read().await
}

each_backend!(an_unknown_stored_value_is_an_error_not_a_default);
async fn an_unknown_stored_value_is_an_error_not_a_default(backend: Backend) {
    let columns = [
        ("facilities", "sync_state"),
        ("facilities", "key_status"),
        ("users", "role"),
        ("user_metrc_keys", "status"),
        ("submissions", "action"),
        ("submissions", "key_kind"),
        ("submissions", "status"),
        ("audit_events", "action"),
    ];
    for (table, column) in columns {
        // A fresh database each time: one bogus column per read.
        let server = TestServer::start(&backend).await;
        let db = &server.state.db;
        let admin = users::find_by_email(db, ADMIN_EMAIL)
            .await
            .expect("db")
            .expect("first admin");
        facilities::insert(
            db,
            NewFacility {
                license_number: "403-X0001",
                name: "Typed Farms",
                license_type: "Retail",
                state: "CA",
                capabilities: "{}".into(),
            },
        )
        .await
        .expect("facility");
        let key = server
            .state
            .vault
            .seal(&SecretString::from("typed-column-test-key-0123456789"))
            .expect("seal");
        user_metrc_keys::set_for_user(db, admin.id, "", &key)
            .await
            .expect("key");
        submissions::insert(
            db,
            NewSubmissionRow {
                idempotency_key: "typed-1",
                user_id: admin.id,
                submit_token: None,
                license_number: "403-X0001",
                action: SubmissionAction::FinishPackage,
                request: "{}".into(),
                key_kind: KeyKind::User,
                key_owner: "Ada Admin",
                compliant: true,
                status: SubmissionStatus::Queued,
                message: None,
            },
        )
        .await
        .expect("submission");
        audit_events::record(
            db,
            NewAuditEvent {
                actor: Actor::Operator,
                action: AuditAction::UserCreated,
                subject: "typed",
                detail: serde_json::json!({}),
            },
        )
        .await
        .expect("audit event");

        let read = match table {
            "facilities" => {
                after_bogus(&server, table, column, async || {
                    facility_rows::Entity::find().all(db).await.map(drop)
                })
                .await
            }
            "users" => {
                after_bogus(&server, table, column, async || {
                    users::list(db).await.map(drop)
                })
                .await
            }
            "user_metrc_keys" => {
                after_bogus(&server, table, column, async || {
                    user_metrc_keys::find_for_user(db, admin.id, "")
                        .await
                        .map(drop)
                })
                .await
            }
            "audit_events" => {
                after_bogus(&server, table, column, async || {
                    audit_events::recent(db, 10).await.map(drop)
                })
                .await
            }
            _ => {
                after_bogus(&server, table, column, async || {
                    submission_rows::Entity::find().all(db).await.map(drop)
                })
                .await
            }
        };
        match read {
            Err(DbErr::Type(message)) => assert!(message.contains("bogus"), "{message}"),
            other => panic!("{table}.{column} = 'bogus' read as {other:?}, not an error"),
        }
    }
}
