//! One deployment, several states (docs/design.md §12): California's and Colorado's Metrc, each a
//! sandbox of its own with its own licenses, keys and rate limits. Keys are validated and
//! assigned per state, a key pasted under the wrong state is named as the other state's, sync and
//! submissions go to the facility's state's host, rate limits are counted per state, and a user
//! with a key in each state submits compliantly in both.

use crate::support::facility_keys::{Answer, RETAIL, adjustable_packages, admin, employee};
use crate::support::submissions::{PATIENCE, adjust, submit, wait_for, with_id};
use crate::support::user_keys::{add_named_user, signed_in};
use crate::support::{Backend, Endpoint, HasSandbox, MetrcSandbox, TestServer, eventually};
use app::error::AppError;
use app::ssr::entities::submissions::Model as Stored;
use app::ssr::outbox::KeyKind;
use app::ssr::queries::{facilities, user_metrc_keys};
use app::ssr::sync;
use app::types::auth::Role;
use app::types::keys::KeyStatus;
use app::types::submissions::{SubmissionRow, SubmissionStatus};
use metrc::sandbox::Sandbox;
use serde_json::{Value, json};
use std::time::Duration;

/// Colorado's demo retail store and cultivation (`metrc/src/sandbox/seed.rs`).
const CO_RETAIL: &str = "402R-00847";
const CO_CULTIVATION: &str = "403R-00512";

/// A server of California (its first sandbox) and Colorado.
async fn two_states(backend: &Backend) -> TestServer {
    TestServer::start_in_states(backend, &["CO"], |_| {}).await
}

fn colorado(server: &TestServer) -> &MetrcSandbox {
    &server.more_states[0].metrc
}

/// The demo License Owner's key in `sandbox`'s state.
fn owner_key(sandbox: &Sandbox) -> String {
    sandbox.demo_owner().expect("demo owner").api_key
}

/// "Update Key" with the state picked on Integrations.
async fn assign_in(
    site: &Endpoint,
    admin: &reqwest::Client,
    state: Option<&str>,
    key: &str,
    licenses: &[&str],
) -> Answer {
    let body = json!({ "input": {
        "key": key, "licenses": licenses, "confirm_not_owner": false, "state": state
    }});
    Answer::of(site.call_json(admin, "assign_facility_key", &body).await).await
}

/// A user's key for `state`, set by `client` (an admin for another user).
async fn set_key_in(
    site: &Endpoint,
    client: &reqwest::Client,
    user_id: i32,
    state: &str,
    key: &str,
) -> Answer {
    let body = json!({ "input": {
        "user_id": user_id, "key": key, "confirm_facility_key": false, "state": state
    }});
    Answer::of(site.call_json(client, "set_user_key", &body).await).await
}

fn refusal(answer: &Answer) -> String {
    match answer.err() {
        AppError::KeyRefused(text) | AppError::BadInput(text) => text,
        other => panic!("a refusal expected: {other:?}"),
    }
}

/// The licenses named in the calls `sandbox` was sent.
fn licenses_called(sandbox: &Sandbox) -> std::collections::BTreeSet<String> {
    sandbox
        .requests()
        .into_iter()
        .filter_map(|entry| entry.license)
        .collect()
}

/// Connects both states' demo licenses with their owner's key, each in its own state.
async fn connect_both(server: &TestServer, admin: &reqwest::Client) {
    let ca = assign_in(
        server,
        admin,
        Some("CA"),
        &owner_key(server.sandbox()),
        &[RETAIL],
    )
    .await;
    assert!(ca.status.is_success(), "{}", ca.body);
    let co = assign_in(
        server,
        admin,
        Some("co"),
        &owner_key(colorado(server).sandbox()),
        &[CO_RETAIL, CO_CULTIVATION],
    )
    .await;
    assert!(co.status.is_success(), "{}", co.body);
}

each_backend!(keys_are_validated_and_assigned_per_state);
async fn keys_are_validated_and_assigned_per_state(backend: Backend) {
    let server = two_states(&backend).await;
    let admin = admin(&server).await;
    let co_key = owner_key(colorado(&server).sandbox());

    // With several states a key is not validated before its state is picked.
    let unpicked = assign_in(&server, &admin, None, &co_key, &[CO_RETAIL]).await;
    assert!(
        refusal(&unpicked).contains("Pick the state"),
        "{}",
        unpicked.body
    );

    // Colorado's key pasted under California: California's Metrc refuses it, Colorado's knows it.
    let wrong = assign_in(&server, &admin, Some("CA"), &co_key, &[CO_RETAIL]).await;
    let text = refusal(&wrong);
    assert!(
        text.contains("This key belongs to Colorado's Metrc, not California's"),
        "{text}"
    );
    let form = [("key", co_key.as_str()), ("state", "CA")];
    let validated = Answer::of(server.call(&admin, "validate_facility_key", &form).await).await;
    assert!(refusal(&validated).contains("belongs to Colorado's Metrc"));
    // A key no configured state knows is only invalid.
    let unknown = assign_in(
        &server,
        &admin,
        Some("CO"),
        "abcdefghijklmnop1234",
        &[CO_RETAIL],
    )
    .await;
    assert!(refusal(&unknown).contains("mistyped, revoked or regenerated"));

    connect_both(&server, &admin).await;
    let state_of = |license: &'static str| {
        let db = server.state.db.clone();
        async move {
            facilities::find_by_license(&db, license)
                .await
                .unwrap()
                .map(|f| (f.state, f.key_status))
        }
    };
    assert_eq!(
        state_of(RETAIL).await,
        Some(("CA".into(), KeyStatus::Valid))
    );
    assert_eq!(
        state_of(CO_RETAIL).await,
        Some(("CO".into(), KeyStatus::Valid))
    );
    assert_eq!(
        state_of(CO_CULTIVATION).await,
        Some(("CO".into(), KeyStatus::Valid))
    );

    // Each state's Metrc was asked about its own licenses only.
    let ca_calls = licenses_called(server.sandbox());
    let co_calls = licenses_called(colorado(&server).sandbox());
    assert!(
        ca_calls.iter().all(|l| !l.starts_with("40")),
        "{ca_calls:?}"
    );
    assert!(co_calls.iter().all(|l| l.starts_with("40")), "{co_calls:?}");

    // A user's key of either state never becomes a facility key (the Update Key guard).
    let (_, sams_co_key) = employee(
        colorado(&server),
        json!({ "name": "Sam Ortiz", "permissions": { CO_RETAIL: ["Packages"] } }),
    )
    .await;
    let sam = add_named_user(&server, "sam@example.test", "Sam Ortiz", Role::Employee).await;
    let set = set_key_in(&server, &admin, sam, "CO", &sams_co_key).await;
    assert!(set.status.is_success(), "{}", set.body);
    for picked in ["CO", "CA"] {
        let guarded = assign_in(&server, &admin, Some(picked), &sams_co_key, &[CO_RETAIL]).await;
        assert!(
            refusal(&guarded).contains("user's own Metrc key"),
            "{picked}: {}",
            guarded.body
        );
    }
}

each_backend!(
    sync_and_submissions_go_to_their_states_metrc_and_a_user_keyed_in_both_is_compliant_in_both
);
async fn sync_and_submissions_go_to_their_states_metrc_and_a_user_keyed_in_both_is_compliant_in_both(
    backend: Backend,
) {
    let server = two_states(&backend).await;
    server.state.outbox.update(|s| {
        s.poll_every = Duration::from_millis(100);
    });
    let admin = admin(&server).await;
    connect_both(&server, &admin).await;
    let (ca_log, co_log) = (
        server.sandbox().requests().len(),
        colorado(&server).sandbox().requests().len(),
    );

    // Sync: each facility's lists come from its own state's Metrc.
    for license in [RETAIL, CO_RETAIL] {
        let report = sync::sync_facility(&server.state, license, true)
            .await
            .expect("sync runs");
        assert!(report.message.is_none(), "{license}: {:?}", report.message);
    }
    let since = |sandbox: &Sandbox, from: usize| -> Vec<String> {
        sandbox
            .requests()
            .into_iter()
            .skip(from)
            .filter_map(|e| e.license)
            .collect()
    };
    let ca_synced = since(server.sandbox(), ca_log);
    let co_synced = since(colorado(&server).sandbox(), co_log);
    assert!(ca_synced.contains(&RETAIL.to_owned()), "{ca_synced:?}");
    assert!(ca_synced.iter().all(|l| l == RETAIL), "{ca_synced:?}");
    assert!(co_synced.contains(&CO_RETAIL.to_owned()), "{co_synced:?}");
    assert!(co_synced.iter().all(|l| l == CO_RETAIL), "{co_synced:?}");
    // The work screens' rows carry their facility's state, and filter by it.
    let body = json!({ "filter": { "state": "CO", "page": 0 } });
    let listed = Answer::of(server.call_json(&admin, "list_packages", &body).await)
        .await
        .ok::<Value>();
    let rows = listed["rows"].as_array().expect("rows");
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["state"] == "CO" && r["license_number"] == CO_RETAIL),
        "{listed}"
    );

    // Uma works in both states: a Metrc account, and so a key, in each.
    let (_, ca_key) = employee(
        &server,
        json!({ "name": "Uma Employee", "permissions": { RETAIL: ["Packages"] } }),
    )
    .await;
    let (_, co_key) = employee(
        colorado(&server),
        json!({ "name": "Uma Employee", "permissions": { CO_RETAIL: ["Packages"] } }),
    )
    .await;
    let uma = add_named_user(&server, "uma@example.test", "Uma Employee", Role::Employee).await;
    let uma_client = signed_in(&server, "uma@example.test").await;
    // Until she has a Colorado key she is missing one in a state she works in.
    let ca_only = set_key_in(&server, &uma_client, uma, "CA", &ca_key).await;
    assert!(ca_only.status.is_success(), "{}", ca_only.body);
    let statuses = Answer::of(
        server
            .call(
                &uma_client,
                "user_key_states",
                &[("user_id", uma.to_string().as_str())],
            )
            .await,
    )
    .await
    .ok::<Value>();
    assert_eq!(
        statuses["keys"],
        json!([
            { "state": "CA", "status": "Valid" },
            { "state": "CO", "status": "Missing" },
        ])
    );
    // Her key section opens on Colorado, where she has none.
    let opened = Answer::of(
        server
            .call(
                &uma_client,
                "user_key",
                &[("user_id", uma.to_string().as_str())],
            )
            .await,
    )
    .await
    .ok::<Value>();
    assert_eq!(opened["state"], "CO");
    assert_eq!(opened["status"], "Missing");
    // Her California key pasted as her Colorado one is named as California's.
    let wrong = set_key_in(&server, &uma_client, uma, "CO", &ca_key).await;
    assert!(refusal(&wrong).contains("belongs to California's Metrc"));
    // Her Colorado key recorded under another state (as a key stored before states were may
    // be): set again under Colorado, Colorado's Metrc accepts it and it moves there.
    let sealed = server
        .state
        .vault
        .seal(&secrecy::SecretString::from(co_key.clone()))
        .unwrap();
    user_metrc_keys::set_for_user(&server.state.db, uma, "MI", &sealed)
        .await
        .unwrap();
    let co_set = set_key_in(&server, &uma_client, uma, "CO", &co_key).await;
    assert!(co_set.status.is_success(), "{}", co_set.body);
    let keys = user_metrc_keys::keys_of_user(&server.state.db, uma)
        .await
        .unwrap();
    assert_eq!(
        keys.iter().map(|k| k.state.as_str()).collect::<Vec<_>>(),
        ["CA", "CO"]
    );

    // She submits in both states, each with her own key of that state: compliant in both.
    let packages = [
        adjustable_packages(&server, &ca_key, RETAIL)
            .await
            .remove(0),
        adjustable_packages(colorado(&server), &co_key, CO_RETAIL)
            .await
            .remove(0),
    ];
    let mut sent: Vec<(i64, &str, &Sandbox)> = Vec::new();
    for ((license, sandbox), (label, _, unit)) in [
        (RETAIL, server.sandbox()),
        (CO_RETAIL, colorado(&server).sandbox()),
    ]
    .into_iter()
    .zip(packages)
    {
        let row: SubmissionRow = submit(
            &server,
            &uma_client,
            license,
            adjust(&label, -1.0, &unit),
            false,
        )
        .await
        .ok();
        sent.push((row.id, license, sandbox));
    }
    for (id, license, sandbox) in sent {
        let done: Stored = wait_for(&server, id, SubmissionStatus::Accepted).await;
        // Metrc Submissions' detail names the facility's state.
        let detail = with_id(&server, &admin, "submission_detail", id)
            .await
            .ok::<Value>();
        let expected = if license == RETAIL { "CA" } else { "CO" };
        assert_eq!(detail["row"]["state"], expected, "{license}");
        assert_eq!(done.key_kind, KeyKind::User, "{license}");
        assert!(done.compliant, "{license}");
        let writes: Vec<_> = sandbox
            .requests()
            .into_iter()
            .filter(|e| e.method == "POST" && e.license.as_deref() == Some(license))
            .collect();
        assert_eq!(
            writes.len(),
            1,
            "{license}: one write, to its state's Metrc"
        );
        assert_eq!(writes[0].employee_name.as_deref(), Some("Uma Employee"));
    }
}

each_backend!(rate_limits_are_counted_per_state);
async fn rate_limits_are_counted_per_state(backend: Backend) {
    // One call at a time per vendor key: a shared limiter would hold Colorado's call until
    // California's ends.
    let server = TestServer::start_in_states(&backend, &["CO"], |c| {
        c.limits.per_vendor_concurrent = 1;
        c.retry.max_attempts = 1;
    })
    .await;
    let ca = server.state.metrc.get("CA").expect("California").clone();
    let co = server.state.metrc.get("CO").expect("Colorado").clone();
    let (ca_key, co_key) = (
        owner_key(server.sandbox()).into(),
        owner_key(colorado(&server).sandbox()).into(),
    );
    let slow = server.sandbox().slow_down(Duration::from_secs(5));
    let california = tokio::spawn(async move { ca.facilities(&ca_key).await.map(|f| f.len()) });
    // California's call holds California's one slot.
    eventually("California's call is in flight", PATIENCE, || async {
        if server
            .state
            .metrc
            .get("CA")
            .map(metrc::Client::gets_in_flight)
            == Ok(1)
        {
            Ok(())
        } else {
            Err("not yet".to_owned())
        }
    })
    .await;
    let colorado_facilities = co.facilities(&co_key).await.expect("Colorado answers");
    assert_eq!(colorado_facilities.len(), 6);
    assert!(
        !california.is_finished(),
        "Colorado's call went through while California's held California's only slot"
    );
    drop(slow);
    assert_eq!(california.await.unwrap().expect("California answers"), 6);
}

each_backend!(user_keys_stored_before_states_keep_their_data_and_take_the_one_state);
async fn user_keys_stored_before_states_keep_their_data_and_take_the_one_state(backend: Backend) {
    use migrations::{Migrator, MigratorTrait};
    use sea_orm::ConnectionTrait;

    let dir = tempfile::tempdir().unwrap();
    let url = crate::support::database_url(&backend, dir.path()).await;
    let db = sea_orm::Database::connect(&url).await.unwrap();
    // The schema before keys had a state: every migration but the last.
    let before = u32::try_from(Migrator::migrations().len() - 1).unwrap();
    Migrator::up(&db, Some(before)).await.unwrap();
    db.execute_unprepared(
        "INSERT INTO users (email, name, password_hash, role, can_submit, active, created_at, updated_at) \
         VALUES ('uma@example.test', 'Uma', 'x', 'employee', TRUE, TRUE, '2026-11-01 00:00:00+00:00', '2026-11-01 00:00:00+00:00')",
    )
    .await
    .unwrap();
    db.execute_unprepared(
        "INSERT INTO user_metrc_keys (user_id, ciphertext, fingerprint, masked_key, status, report, created_at, updated_at) \
         SELECT id, 'sealed', 'fp-uma', '••••abcd', 'valid', '{}', '2026-11-01 00:00:00+00:00', '2026-11-02 00:00:00+00:00' FROM users",
    )
    .await
    .unwrap();

    Migrator::up(&db, None).await.unwrap();
    let uma = app::ssr::queries::users::find_by_email(&db, "uma@example.test")
        .await
        .unwrap()
        .expect("Uma")
        .id;
    let kept = user_metrc_keys::keys_of_user(&db, uma).await.unwrap();
    assert_eq!(kept.len(), 1);
    let key = &kept[0];
    assert_eq!(
        (
            key.state.as_str(),
            key.ciphertext.as_str(),
            key.fingerprint.as_str()
        ),
        ("", "sealed", "fp-uma")
    );
    assert_eq!(key.masked_key.as_deref(), Some("••••abcd"));
    assert_eq!(key.status, KeyStatus::Valid);
    assert_eq!(key.report.as_deref(), Some("{}"));

    // The deployment's one state is given to it at the start; a second state's key is a row of
    // its own, with a new id after the copied ones.
    let one = app::ssr::metrc_states::MetrcStates::new(
        (
            "CO".into(),
            metrc::Client::new(metrc::ClientConfig::new(
                "https://api-co.metrc.com".parse().unwrap(),
                "vendor".to_owned().into(),
            ))
            .unwrap(),
        ),
        [],
    );
    app::ssr::metrc_states::adopt_unrecorded(&db, &one)
        .await
        .unwrap();
    db.execute_unprepared(
        "INSERT INTO user_metrc_keys (user_id, state, ciphertext, fingerprint, status, created_at, updated_at) \
         SELECT id, 'MI', 'sealed-mi', 'fp-mi', 'valid', '2026-12-01 00:00:00+00:00', '2026-12-01 00:00:00+00:00' FROM users",
    )
    .await
    .unwrap();
    let states: Vec<(i32, String)> = user_metrc_keys::keys_of_user(&db, uma)
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.id, k.state))
        .collect();
    assert_eq!(states.len(), 2);
    assert_eq!(states[0].1, "CO");
    assert_eq!(states[1].1, "MI");
    assert!(states[1].0 > states[0].0, "{states:?}");
}
