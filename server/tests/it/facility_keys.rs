//! Facility keys over HTTP against the Metrc sandbox, on every backend: validate, assign (with the
//! Update Key guard), list with masked keys, revalidate after the key is regenerated, admin-only
//! access, and no plaintext key in the database or in any response.

use crate::support;

use app::error::AppError;
use app::ssr::entities::audit_events::AuditAction;
use app::ssr::facility_keys;
use app::ssr::queries::user_metrc_keys;
use app::types::auth::Role;
use app::types::facilities::{AssignOutcome, FacilityRow, KeyValidation};
use app::types::keys::KeyStatus;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};
use secrecy::SecretString;
use serde_json::{Value, json};
use support::facility_keys::{
    CULTIVATION, DISTRIBUTION, RETAIL, admin, assign, employee, list, owner_key, revalidate,
    validate,
};
use support::{Backend, HasSandbox, TestServer};

/// Every text column of the key-bearing tables, read raw, and on SQLite the database files'
/// bytes: none may contain `key`.
async fn assert_not_stored(server: &TestServer, key: &str) {
    let db = &server.state.db;
    let backend = db.get_database_backend();
    for sql in [
        "SELECT license_number, name, license_type, state, capabilities, facility_key_ciphertext, key_fingerprint, key_status, key_owner_name FROM facilities",
        "SELECT action, subject, detail, actor_ip, '', '', '', '', '' FROM audit_events",
    ] {
        let rows = db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .expect("raw select");
        for row in rows {
            for i in 0..9 {
                let value: Option<String> = row.try_get_by_index(i).expect("text column");
                let value = value.unwrap_or_default();
                assert!(!value.contains(key), "plaintext key in {sql} column {i}");
            }
        }
    }
    if let Backend::Sqlite = server.backend {
        let url = &server.state.config.database_url;
        let path = url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .expect("path");
        for file in [path.to_owned(), format!("{path}-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                assert!(
                    !bytes.windows(key.len()).any(|w| w == key.as_bytes()),
                    "plaintext key in {file}"
                );
            }
        }
    }
}

each_backend!(an_owner_key_is_validated_assigned_listed_masked_and_turns_invalid_when_regenerated);
async fn an_owner_key_is_validated_assigned_listed_masked_and_turns_invalid_when_regenerated(
    backend: Backend,
) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let (owner_id, key) = owner_key(&server, "Olivia Owner", &[RETAIL, DISTRIBUTION]).await;
    let mut answers = Vec::new();

    let checked = validate(&server, &client, &key).await;
    let report: KeyValidation = checked.ok();
    let mut reached: Vec<&str> = report
        .facilities
        .iter()
        .map(|f| f.license_number.as_str())
        .collect();
    reached.sort_unstable();
    assert_eq!(reached, vec![RETAIL, DISTRIBUTION]);
    assert!(report.facilities.iter().all(|f| f.is_owner && !f.known));
    assert!(report.facilities.iter().all(|f| !f.cells.is_empty()));
    answers.push(checked);

    let assigned = assign(&server, &client, &key, &[RETAIL, DISTRIBUTION], false).await;
    let outcome: AssignOutcome = assigned.ok();
    assert_eq!(outcome.added.len(), 2);
    assert!(outcome.owner_override.is_empty());
    answers.push(assigned);

    let listed = list(&server, &client).await;
    let rows: Vec<FacilityRow> = listed.ok();
    let tail: String = key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(row.key_status, KeyStatus::Valid);
        assert_eq!(
            row.masked_key.as_deref(),
            Some(format!("••••{tail}").as_str())
        );
        assert_eq!(row.key_age_days, Some(0));
        assert!(!row.key_expiring);
        assert!(row.last_validated_at.is_some());
        assert_eq!(row.key_owner_name.as_deref(), Some("Olivia Owner"));
        assert_eq!(
            row.key_fingerprint_prefix.as_ref().map(String::len),
            Some(8)
        );
    }
    let retail = rows
        .iter()
        .find(|r| r.license_number == RETAIL)
        .expect("retail row");
    assert_eq!(retail.name, "Sunset Wellness Dispensary");
    answers.push(listed);

    // The key is regenerated in Metrc: the stored one is refused from now on.
    let regenerated = reqwest::Client::new()
        .post(format!(
            "{}/sandbox/employees/{owner_id}/regenerate-key",
            server.sandbox_url
        ))
        .send()
        .await
        .expect("regenerate");
    assert!(regenerated.status().is_success());
    let new_key = regenerated.json::<Value>().await.expect("json")["api_key"]
        .as_str()
        .expect("new key")
        .to_owned();
    let revalidated = revalidate(&server, &client, RETAIL).await;
    let row: FacilityRow = revalidated.ok();
    assert_eq!(row.key_status, KeyStatus::Invalid);
    answers.push(revalidated);
    // Metrc refused the key, not the license: the distribution license, which holds the same
    // key, turns red too without a check of its own (docs/design.md §7).
    let rows: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert!(
        rows.iter().all(|r| r.key_status == KeyStatus::Invalid),
        "{rows:?}"
    );

    // The old key is now refused at validation with a clear reason.
    let refused = validate(&server, &client, &key).await;
    match refused.err() {
        AppError::KeyRefused(reason) => {
            assert!(
                reason.contains("mistyped, revoked or regenerated"),
                "{reason}"
            );
        }
        other => panic!("expected KeyRefused, got {other:?}"),
    }
    answers.push(refused);

    // The new key makes the facility healthy again; the audit trail names both fingerprints.
    let again = assign(&server, &client, &new_key, &[RETAIL], false).await;
    let outcome: AssignOutcome = again.ok();
    assert_eq!(outcome.facilities[0].key_status, KeyStatus::Valid);
    assert!(outcome.added.is_empty());
    answers.push(again);
    // The background revalidation checks each distinct key once: the distribution license
    // still holds the regenerated key.
    let summary = facility_keys::revalidate_all(&server.state).await.unwrap();
    assert_eq!((summary.valid, summary.invalid, summary.failed), (1, 1, 0));

    // Metrc down: the status stays as it was and the error says so.
    let _outage = server
        .sandbox()
        .fail_next("/facilities", StatusCode::INTERNAL_SERVER_ERROR, 5);
    let down = revalidate(&server, &client, RETAIL).await;
    assert!(
        matches!(down.err(), AppError::MetrcUnavailable(_)),
        "{}",
        down.body
    );
    let rows: Vec<FacilityRow> = list(&server, &client).await.ok();
    let status = |license: &str| {
        rows.iter()
            .find(|r| r.license_number == license)
            .map(|r| r.key_status)
    };
    assert_eq!(status(RETAIL), Some(KeyStatus::Valid));
    assert_eq!(status(DISTRIBUTION), Some(KeyStatus::Invalid));
    answers.push(down);

    let events = server.audit_events(10).await;
    assert_eq!(events.len(), 2);
    let detail: Value = serde_json::from_str(&events[0].detail).unwrap();
    assert_eq!(detail["licenses"], json!([RETAIL]));
    assert_eq!(
        detail["old_fingerprints"][RETAIL].as_str().map(str::len),
        Some(8)
    );
    assert_ne!(
        detail["old_fingerprints"][RETAIL],
        detail["new_fingerprint"]
    );

    for answer in &answers {
        assert!(
            !answer.body.contains(&key),
            "key in a response: {}",
            answer.body
        );
        assert!(
            !answer.body.contains(&new_key),
            "key in a response: {}",
            answer.body
        );
    }
    assert_not_stored(&server, &key).await;
    assert_not_stored(&server, &new_key).await;
}

each_backend!(facility_management_shows_each_key_by_its_stored_mask_and_decrypts_none);
/// Facility Management shows each key by the mask stored when it was sealed (issue 15, item 6):
/// a listing decrypts no key, so it works even where no ciphertext could be decrypted.
async fn facility_management_shows_each_key_by_its_stored_mask_and_decrypts_none(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let (_, key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    let _: AssignOutcome = assign(&server, &client, &key, &[RETAIL], false).await.ok();
    server
        .state
        .db
        .execute_unprepared(
            "UPDATE facilities SET facility_key_ciphertext = 'not an age ciphertext' \
             WHERE facility_key_ciphertext IS NOT NULL",
        )
        .await
        .expect("raw update");
    let rows: Vec<FacilityRow> = list(&server, &client).await.ok();
    let tail = &key[key.len() - 4..];
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].masked_key, Some(format!("••••{tail}")));
}

each_backend!(user_keys_are_refused_and_non_owner_keys_need_a_recorded_override);
async fn user_keys_are_refused_and_non_owner_keys_need_a_recorded_override(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;

    // A user's own key (even one that owns a license) never becomes a facility key.
    let (_, user_key) = owner_key(&server, "Uma User", &[CULTIVATION]).await;
    let uma = server
        .add_user("uma@example.test", "uma-password-123", Role::Employee)
        .await;
    let sealed = server
        .state
        .vault
        .seal(&SecretString::from(user_key.clone()))
        .unwrap();
    user_metrc_keys::set_for_user(&server.state.db, uma, "", &sealed)
        .await
        .unwrap();
    let refused = assign(&server, &client, &user_key, &[CULTIVATION], true).await;
    match refused.err() {
        AppError::KeyRefused(reason) => {
            assert!(reason.contains("user's own Metrc key"), "{reason}");
        }
        other => panic!("expected KeyRefused, got {other:?}"),
    }
    assert!(!refused.body.contains(&user_key));

    // An employee's key that is not the License Owner's.
    let (_, staff_key) = employee(
        &server,
        json!({ "name": "Sam Staff", "permissions": { RETAIL: ["Packages", "Employees"] } }),
    )
    .await;
    let checked: KeyValidation = validate(&server, &client, &staff_key).await.ok();
    let retail = checked
        .facilities
        .iter()
        .find(|f| f.license_number == RETAIL)
        .expect("the key reaches the retail license");
    assert!(!retail.is_owner);

    // A license the key does not reach is refused.
    match assign(&server, &client, &staff_key, &[DISTRIBUTION], true)
        .await
        .err()
    {
        AppError::KeyRefused(reason) => assert!(reason.contains(DISTRIBUTION), "{reason}"),
        other => panic!("expected KeyRefused, got {other:?}"),
    }

    match assign(&server, &client, &staff_key, &[RETAIL], false)
        .await
        .err()
    {
        AppError::NotLicenseOwner(licenses) => assert_eq!(licenses, vec![RETAIL.to_owned()]),
        other => panic!("expected NotLicenseOwner, got {other:?}"),
    }
    assert!(server.audit_events(10).await.is_empty());

    let accepted = assign(&server, &client, &staff_key, &[RETAIL], true).await;
    let outcome: AssignOutcome = accepted.ok();
    assert_eq!(outcome.owner_override, vec![RETAIL.to_owned()]);
    assert_eq!(outcome.facilities[0].key_is_owner, Some(false));
    assert!(!accepted.body.contains(&staff_key));
    let events = server.audit_events(10).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, AuditAction::FacilityKeySet);
    assert!(events[0].actor_ip.is_some());
    let detail: Value = serde_json::from_str(&events[0].detail).unwrap();
    assert_eq!(detail["owner_override"], json!([RETAIL]));
    assert_eq!(detail["old_fingerprints"][RETAIL], Value::Null);
    assert!(!events[0].detail.contains(&staff_key));

    // A key Metrc does not know at all.
    match validate(&server, &client, "notAMetrcKey00000000")
        .await
        .err()
    {
        AppError::KeyRefused(reason) => {
            assert!(
                reason.contains("mistyped, revoked or regenerated"),
                "{reason}"
            );
        }
        other => panic!("expected KeyRefused, got {other:?}"),
    }

    assert_not_stored(&server, &staff_key).await;
}

each_backend!(only_admins_may_use_facility_keys);
async fn only_admins_may_use_facility_keys(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let (_, key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    server
        .add_user("emp@example.test", "employee-password", Role::Employee)
        .await;
    let anonymous = server.client();
    let employee = server.client();
    let response = server
        .login(&employee, "emp@example.test", "employee-password")
        .await;
    assert!(response.status().is_success());

    for (client, expected) in [
        (&anonymous, AppError::Unauthenticated),
        (&employee, AppError::Forbidden),
    ] {
        assert_eq!(validate(&server, client, &key).await.err(), expected);
        assert_eq!(
            assign(&server, client, &key, &[RETAIL], true).await.err(),
            expected
        );
        assert_eq!(list(&server, client).await.err(), expected);
        assert_eq!(revalidate(&server, client, RETAIL).await.err(), expected);
    }
    let admin = admin(&server).await;
    let rows: Vec<FacilityRow> = list(&server, &admin).await.ok();
    assert!(rows.is_empty(), "nothing was assigned: {rows:?}");
}
