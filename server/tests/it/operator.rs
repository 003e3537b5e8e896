//! The operator's ways of creating a user, the first admin at first start and `tracekeeper
//! create-user`, are User Management's own (`user_admin::create_user`): the same checks of the
//! email, name and password, and a `user.created` audit event by the operator (no user, no
//! address).

use crate::support;

use app::ssr::db;
use app::ssr::entities::audit_events::AuditAction;
use app::ssr::entities::audit_events::Model as AuditEvent;
use app::ssr::queries::audit_events;
use app::ssr::queries::users;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use support::{ADMIN_EMAIL, Backend, TestServer};

/// The `user.created` events, oldest first.
fn created(events: Vec<AuditEvent>) -> Vec<AuditEvent> {
    let mut created: Vec<AuditEvent> = events
        .into_iter()
        .filter(|e| e.action == AuditAction::UserCreated)
        .collect();
    created.reverse();
    created
}

each_backend!(the_first_admin_is_created_by_the_operator_and_audited);
async fn the_first_admin_is_created_by_the_operator_and_audited(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let events = created(audit_events::recent(&server.state.db, 50).await.unwrap());
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].subject, ADMIN_EMAIL);
    assert_eq!(events[0].actor_user_id, None);
    assert_eq!(events[0].actor_ip, None);
    assert!(
        events[0].detail.contains(r#""role":"admin""#),
        "{}",
        events[0].detail
    );
}

/// Runs `tracekeeper create-user --email <email> --name <name>` with `password` on standard
/// input: whether it succeeded, and its standard error.
fn create_user(
    dir: &Path,
    db_url: &str,
    email: &str,
    name: &str,
    password: &str,
) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tracekeeper"))
        .current_dir(dir)
        .env("DATABASE_URL", db_url)
        .env("TRACEKEEPER_DATA_DIR", dir.join("data"))
        .env_remove("METRC_BASE_URL")
        .env("RUST_LOG", "off")
        .args([
            "create-user",
            "--email",
            email,
            "--name",
            name,
            "--can-submit",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tracekeeper create-user");
    writeln!(child.stdin.take().expect("stdin"), "{password}").expect("write the password");
    let out = child.wait_with_output().expect("create-user ends");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

each_backend!(create_user_checks_as_user_management_does_and_is_audited);
async fn create_user_checks_as_user_management_does_and_is_audited(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = support::database_url(&backend, dir.path()).await;
    let password = "a long enough password";
    // The form's email check, not only "has an @".
    let (ok, stderr) = create_user(dir.path(), &url, "cara cli@example.test", "Cara", password);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("Enter a valid email address"), "{stderr}");
    let (ok, stderr) = create_user(dir.path(), &url, "cara@example.test", "Cara", "short");
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("at least 12 characters"), "{stderr}");
    let (ok, stderr) = create_user(dir.path(), &url, "cara@example.test", "  ", password);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("Enter the user's name"), "{stderr}");

    let (ok, stderr) = create_user(dir.path(), &url, " Cara@Example.test", "Cara Cli", password);
    assert!(ok, "{stderr}");
    let (ok, stderr) = create_user(dir.path(), &url, "cara@example.test", "Cara Two", password);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");

    let db = db::connect_and_migrate(&url).await.expect("database");
    let cara = users::find_by_email(&db, "cara@example.test")
        .await
        .unwrap()
        .expect("created, its email normalised as the form does");
    assert!(cara.can_submit && cara.active && cara.all_facilities);
    let events = created(audit_events::recent(&db, 50).await.unwrap());
    let cli: Vec<&AuditEvent> = events
        .iter()
        .filter(|e| e.subject == "cara@example.test")
        .collect();
    assert_eq!(cli.len(), 1, "{events:?}");
    assert_eq!(
        (cli[0].actor_user_id, cli[0].actor_ip.as_deref()),
        (None, None)
    );
    assert!(!cli[0].detail.contains(password), "{}", cli[0].detail);
}
