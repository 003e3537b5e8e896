//! What several servers on one database share (issue 16, items 3, 5, 6 and 7; docs/design.md
//! §11): sign-in throttling, the Update Key guard's lock, the first start on an empty database,
//! and the key vault's secrets (from the configuration on PostgreSQL, rotated while servers run).

use crate::support;

use app::ssr::config::Config;
use app::ssr::vault::rotation::stored_keys;
use app::ssr::vault::{KeyVault, VaultSettings};
use app::types::auth::Role;
use app::types::facilities::AssignOutcome;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::facility_keys::{RETAIL, admin, assign, owner_key};
use support::user_keys::{add_named_user, set_key, signed_in};
use support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, MetrcSandbox, TestServer};

each_backend!(sign_in_attempts_are_counted_across_servers);
/// The test limit is 4 attempts per account a minute: 2 wrong passwords on each of two servers
/// use it up, so a fifth attempt is refused on either, even with the right password.
async fn sign_in_attempts_are_counted_across_servers(backend: Backend) {
    let first = TestServer::start(&backend).await;
    let second = first.start_beside(|_| {}).await;
    for server in [&first, &second, &first, &second] {
        let response = server
            .login(&server.client(), ADMIN_EMAIL, "a wrong password!")
            .await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let fifth = first
        .login(&first.client(), ADMIN_EMAIL, ADMIN_PASSWORD)
        .await;
    assert_eq!(
        fifth.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the first server counts the second one's attempts"
    );
}

each_backend!(
    the_update_key_guard_takes_one_lock_for_every_server,
    flavor = "multi_thread",
    worker_threads = 2
);
/// While one server's key write holds the lock (here: a transaction of the test's, as
/// `facility_keys::assign` and `user_keys::set` take it), another server's Update Key waits for
/// it instead of checking the guard meanwhile; it goes through once the lock is released.
async fn the_update_key_guard_takes_one_lock_for_every_server(backend: Backend) {
    let first = TestServer::start(&backend).await;
    let second = first.start_beside(|_| {}).await;
    let (_, key) = owner_key(&first, "Olivia Owner", &[RETAIL]).await;
    let client = admin(&second).await;

    let holding = app::ssr::db::begin_write(&first.state.db).await.unwrap();
    app::ssr::db::lock_key_writes(&holding).await.unwrap();
    let endpoint = support::Endpoint {
        base: second.base.clone(),
    };
    let writing =
        tokio::spawn(async move { assign(&endpoint, &client, &key, &[RETAIL], false).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        !writing.is_finished(),
        "the second server's key write waits for the lock the first one holds"
    );
    holding.commit().await.unwrap();
    let outcome: AssignOutcome = writing.await.unwrap().ok();
    assert_eq!(outcome.added, vec![RETAIL.to_owned()]);
}

/// A copy of `template`'s configuration on another (empty) database and data directory, its
/// first admin's password to be generated.
fn on_database(template: &Config, database_url: String, data_dir: std::path::PathBuf) -> Config {
    Config {
        database_url,
        data_dir,
        admin_password: None,
        ..template.clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// Two servers start at once on one empty PostgreSQL database: both migrate it (one after the
/// other, under the migrations lock) and start; one first admin is made, with one password file.
async fn servers_starting_together_on_an_empty_database_make_one_first_admin() {
    let Some(backend) = Backend::postgres() else {
        eprintln!("skipped: TRACEKEEPER_TEST_POSTGRES_URL is unset");
        return;
    };
    let template = TestServer::start(&backend).await;
    let dir = tempfile::tempdir().unwrap();
    let url = support::database_url(&backend, dir.path()).await;
    let starts = ["a", "b"].map(|name| {
        let config = on_database(&template.state.config, url.clone(), dir.path().join(name));
        let metrc = template.state.metrc.first().clone();
        tokio::spawn(async move { server::startup::build_state(config, metrc).await.map(drop) })
    });
    for start in starts {
        start.await.unwrap().expect("each server starts");
    }
    let db = sea_orm::Database::connect(&url).await.unwrap();
    assert_eq!(app::ssr::queries::users::count(&db).await.unwrap(), 1);
    let files = ["a", "b"]
        .iter()
        .filter(|name| {
            dir.path()
                .join(name)
                .join(app::ssr::bootstrap::PASSWORD_FILE)
                .exists()
        })
        .count();
    assert_eq!(files, 1, "one password, the one that was used");
}

/// `tracekeeper serve` on `database_url` with `env`, its Metrc the sandbox at `metrc_url`.
fn tracekeeper(database_url: &str, metrc_url: &str, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracekeeper"));
    command
        .env_remove("TRACEKEEPER_IDENTITY")
        .env_remove("TRACEKEEPER_IDENTITY_FILE")
        .env_remove("TRACEKEEPER_FINGERPRINT_SECRET")
        .env("DATABASE_URL", database_url)
        .env("METRC_BASE_URL", format!("{metrc_url}/"))
        .env("METRC_VENDOR_KEY", support::VENDOR_KEY)
        .env("TRACEKEEPER_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("TRACEKEEPER_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("TRACEKEEPER_SYNC_SCHEDULED", "false")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// A temporary directory, a new empty PostgreSQL database in it, and a Metrc sandbox; `None`
/// (the test is skipped) without a PostgreSQL to test on.
async fn empty_postgres() -> Option<(tempfile::TempDir, String, MetrcSandbox)> {
    let Some(backend) = Backend::postgres() else {
        eprintln!("skipped: TRACEKEEPER_TEST_POSTGRES_URL is unset");
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = support::database_url(&backend, dir.path()).await;
    Some((dir, url, MetrcSandbox::start().await))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// On PostgreSQL `serve` never makes the vault's secrets: without them it refuses in one line
/// that names what to set, and writes nothing to its data directory.
async fn on_postgresql_a_server_without_its_secrets_refuses_in_one_line() {
    let Some((dir, url, sandbox)) = empty_postgres().await else {
        return;
    };
    let data = dir.path().join("data");
    let mut child = tracekeeper(
        &url,
        &sandbox.url,
        &[
            ("TRACEKEEPER_DATA_DIR", data.to_str().unwrap()),
            ("TRACEKEEPER_ADDR", "127.0.0.1:0"),
        ],
    )
    .spawn()
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the server started without its secrets");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error")).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("TRACEKEEPER_IDENTITY"), "{stderr}");
    assert!(
        lines[0].contains("TRACEKEEPER_FINGERPRINT_SECRET"),
        "{stderr}"
    );
    assert!(!data.join("identity.txt").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
/// On PostgreSQL with its secrets in the environment a server needs no data directory at all:
/// it serves with one it could never create.
async fn on_postgresql_with_secrets_in_the_environment_no_data_directory_is_needed() {
    let Some((dir, url, sandbox)) = empty_postgres().await else {
        return;
    };
    let (identity, secret) = app::ssr::vault::new_secrets();
    let log = dir.path().join("server.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut child = tracekeeper(
        &url,
        &sandbox.url,
        &[
            ("TRACEKEEPER_DATA_DIR", "/dev/null/data"),
            ("TRACEKEEPER_ADDR", "127.0.0.1:0"),
            ("TRACEKEEPER_IDENTITY", identity.expose_secret()),
            ("TRACEKEEPER_FINGERPRINT_SECRET", secret.expose_secret()),
            ("RUST_LOG", support::cluster::STARTUP_LOG),
        ],
    )
    .stdout(file.try_clone().unwrap())
    .stderr(file)
    .spawn()
    .unwrap();
    let exited = child.try_wait().unwrap();
    assert!(exited.is_none(), "the server stopped: {exited:?}");
    support::cluster::wait_started(&log).await;
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Identities, one per line, as `TRACEKEEPER_IDENTITY` holds them.
fn identities(list: &[&SecretString]) -> SecretString {
    SecretString::from(
        list.iter()
            .map(|i| i.expose_secret())
            .collect::<Vec<_>>()
            .join("\n"),
    )
}

/// Of the stored keys, how many `identity` decrypts, and how many there are.
async fn decrypted_by(server: &TestServer, identity: &SecretString) -> (usize, usize) {
    let settings = VaultSettings {
        identity: Some(identity.clone()),
        ..VaultSettings::from_config(&server.state.config)
    };
    let stored = stored_keys(&server.state.db).await.unwrap();
    let Ok(vault) = KeyVault::open(&settings, &server.state.db).await else {
        return (0, stored.len());
    };
    let opened = stored
        .iter()
        .filter(|key| vault.decrypt(&key.ciphertext).is_ok())
        .count();
    (opened, stored.len())
}

each_backend!(
    the_identity_is_rotated_while_servers_run,
    flavor = "multi_thread",
    worker_threads = 2
);
/// The rotation of docs/design.md §11: a server on the old identity; another started with the new
/// one first and the old one after it seals keys the first still reads; once every server has
/// both, `rotate-identity` re-encrypts every key to the new one alone, and the old one is dropped.
async fn the_identity_is_rotated_while_servers_run(backend: Backend) {
    let (old, secret) = app::ssr::vault::new_secrets();
    let (new, _) = app::ssr::vault::new_secrets();
    let on_old = |config: &mut Config| {
        config.identity = Some(old.clone());
        config.fingerprint_secret = Some(secret.clone());
    };
    let first = TestServer::start_with(&backend, on_old).await;
    let (_, facility_key) = owner_key(&first, "Olivia Owner", &[RETAIL]).await;
    let _: AssignOutcome = assign(
        &first,
        &admin(&first).await,
        &facility_key,
        &[RETAIL],
        false,
    )
    .await
    .ok();

    let both = identities(&[&new, &old]);
    let second = first
        .start_beside(|config| config.identity = Some(both.clone()))
        .await;
    let cara = add_named_user(&second, "cara@example.test", "Cara Carry", Role::Employee).await;
    let (_, cara_key) = support::facility_keys::employee(
        &second,
        serde_json::json!({ "name": "Cara Carry", "permissions": { RETAIL: ["Packages"] } }),
    )
    .await;
    let _: app::types::user_keys::UserKeyView = set_key(
        &second,
        &signed_in(&second, "cara@example.test").await,
        None,
        &cara_key,
        false,
    )
    .await
    .ok();
    assert_eq!(
        first
            .state
            .vault
            .decrypt(&stored_user_key(&second, cara).await)
            .map(|_| ())
            .ok(),
        Some(()),
        "a server still on the old identity reads what one with both stored"
    );

    // Every server now runs with both; the rotation re-encrypts to the new one alone.
    let mut config = Config::clone(&second.state.config);
    config.identity = Some(both.clone());
    server::commands::rotate_identity(&config)
        .await
        .expect("rotate-identity");
    assert_eq!(decrypted_by(&second, &new).await, (2, 2));
    assert_eq!(decrypted_by(&second, &both).await, (2, 2));
    let (by_old, stored) = decrypted_by(&second, &old).await;
    assert_eq!(
        (by_old, stored),
        (0, 2),
        "nothing is sealed to the old identity any more"
    );
}

/// The stored ciphertext of user `user_id`'s key.
async fn stored_user_key(server: &TestServer, user_id: i32) -> String {
    app::ssr::queries::user_metrc_keys::find_for_user(&server.state.db, user_id, "")
        .await
        .unwrap()
        .expect("the user's key")
        .ciphertext
}
