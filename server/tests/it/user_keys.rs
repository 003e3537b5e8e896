//! Users' own Metrc keys over HTTP against the Metrc sandbox, on every backend: setting one
//! (validated, stored sealed, masked, audited), the Update Key guard in both directions
//! (docs/design.md §5: another user's key is refused, a facility key needs an admin's confirmation
//! and is never written to a facility, a user's key never becomes a facility key), who may set and
//! see which key, revalidation at sign-in, the user's exact Metrc permissions, and the live
//! validation.

use crate::support;

use app::error::AppError;
use app::ssr::entities::audit_events::AuditAction;
use app::ssr::queries::facilities;
use app::types::auth::Role;
use app::types::facilities::{AssignOutcome, CellState, FacilityRow, KeyValidation};
use app::types::key_validation::{KeyHolder, ValidationUpdate};
use app::types::keys::KeyStatus;
use app::types::user_keys::{LicensePermissions, UserKeyView};
use metrc::Section;
use sea_orm::{ConnectionTrait, Statement};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::facility_keys::{
    CULTIVATION, DISTRIBUTION, RETAIL, admin, assign, employee, list, owner_key, regenerate_key,
    revalidate, sandbox_requests,
};
use support::user_keys::{
    add_named_user, admin_id, all_stored, audited, my_status, refused, set_key, signed_in, stored,
    updates, validate_live, view_key,
};
use support::{Backend, HasSandbox, TestServer};

/// A key Metrc has never issued.
const BOGUS_KEY: &str = "nope1234nope1234nope";

/// How a key is shown: `••••` and its last four characters.
fn masked(key: &str) -> String {
    let tail: String = key.chars().skip(key.chars().count() - 4).collect();
    format!("••••{tail}")
}

/// The sorted license numbers.
fn sorted(licenses: &[&str]) -> Vec<String> {
    let mut all: Vec<String> = licenses
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    all.sort();
    all
}

/// The licenses a validation reached, sorted.
fn reached(validation: &KeyValidation) -> Vec<String> {
    let mut all: Vec<String> = validation
        .facilities
        .iter()
        .map(|f| f.license_number.clone())
        .collect();
    all.sort();
    all
}

/// The cells a validation shows for `license`, by section name.
fn cells(validation: &KeyValidation, license: &str) -> BTreeMap<String, CellState> {
    validation
        .facilities
        .iter()
        .find(|f| f.license_number == license)
        .unwrap_or_else(|| panic!("{license} not reached: {validation:?}"))
        .cells
        .iter()
        .map(|c| (c.section.clone(), c.status.clone()))
        .collect()
}

/// The user's permissions entry for `license`.
fn permissions_at<'a>(view: &'a UserKeyView, license: &str) -> &'a LicensePermissions {
    view.permissions
        .iter()
        .find(|p| p.license_number == license)
        .unwrap_or_else(|| panic!("no permissions entry for {license}: {:?}", view.permissions))
}

/// The sandbox calls made with the current key of sandbox employee `id`.
fn calls_by(log: &[Value], id: u64) -> usize {
    log.iter().filter(|e| e["employee_id"] == json!(id)).count()
}

fn detail(event: &app::ssr::entities::audit_events::Model) -> Value {
    serde_json::from_str(&event.detail).expect("audit detail is JSON")
}

/// The raw `user_metrc_keys` and `audit_events` rows, every text column, and on SQLite the
/// database files' bytes: none may hold `key`.
async fn assert_not_stored(server: &TestServer, key: &str) {
    let db = &server.state.db;
    let backend = db.get_database_backend();
    for sql in [
        "SELECT ciphertext, fingerprint, status, report FROM user_metrc_keys",
        "SELECT action, subject, detail, actor_ip FROM audit_events",
        "SELECT license_number, name, facility_key_ciphertext, key_fingerprint FROM facilities",
    ] {
        for row in db
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .expect("raw select")
        {
            for i in 0..4 {
                let value: Option<String> = row.try_get_by_index(i).expect("text column");
                assert!(
                    !value.unwrap_or_default().contains(key),
                    "plaintext key in {sql}, column {i}"
                );
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

each_backend!(an_admin_sets_an_employees_key_which_is_validated_stored_sealed_masked_and_audited);
async fn an_admin_sets_an_employees_key_which_is_validated_stored_sealed_masked_and_audited(
    backend: Backend,
) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let admin_id = admin_id(&server).await;
    // The retail license has a facility key already: setting a user's key must not touch it.
    let (_, facility_key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    let _: AssignOutcome = assign(&server, &client, &facility_key, &[RETAIL], false)
        .await
        .ok();
    let facilities_before: Vec<FacilityRow> = list(&server, &client).await.ok();
    let uma = add_named_user(&server, "uma@example.test", "Uma Employee", Role::Employee).await;
    let (sandbox_id, key) = employee(
        &server,
        json!({ "name": "Uma Employee", "permissions": { RETAIL: ["Packages"] } }),
    )
    .await;

    let answer = set_key(&server, &client, Some(uma), &key, false).await;
    assert!(!answer.body.contains(&key), "the answer holds the key");
    let view: UserKeyView = answer.ok();
    assert_eq!(view.masked_key, Some(masked(&key)));
    assert_eq!(view.status, KeyStatus::Valid);
    assert!(view.last_validated_at.is_some());
    let validation = view.validation.clone().expect("what the key reached");
    assert_eq!(reached(&validation), vec![RETAIL]);
    let retail = &validation.facilities[0];
    assert!(!retail.is_owner, "an employee's key, not the owner's");
    assert!(retail.known, "Tracekeeper knows the retail license");
    let retail_cells = cells(&validation, RETAIL);
    assert_eq!(retail_cells.len(), Section::ALL.len());
    assert_eq!(retail_cells["Packages"], CellState::Granted);
    assert_eq!(retail_cells["Sales"], CellState::Denied);
    assert_eq!(retail_cells["Plants"], CellState::NotApplicable);
    // The facility key (the License Owner's, with Manage Employees) lists her permissions.
    let listed = permissions_at(&view, RETAIL);
    let names = listed.permissions.clone().expect("listed");
    assert!(names.contains(&"view packages".to_owned()), "{names:?}");
    assert!(names.contains(&"manage packages inventory".to_owned()));
    assert!(listed.gaps.is_empty(), "{:?}", listed.gaps);

    // Stored sealed: the ciphertext is an age file, opens to the key, and holds no plaintext.
    let row = stored(&server, uma).await.expect("a stored key");
    assert_eq!(row.status, KeyStatus::Valid);
    assert!(
        row.ciphertext
            .starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{}",
        row.ciphertext
    );
    assert!(!row.ciphertext.contains(&key));
    assert_eq!(
        server
            .state
            .vault
            .decrypt(&row.ciphertext)
            .expect("opens")
            .expose_secret(),
        key
    );
    assert_eq!(all_stored(&server).await.len(), 1);
    assert_not_stored(&server, &key).await;

    // Audited once, by the admin, with fingerprint prefixes only.
    let events = audited(&server, AuditAction::UserKeySet).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event.action, AuditAction::UserKeySet);
    assert_eq!(event.actor_user_id, Some(admin_id));
    assert_eq!(event.subject, uma.to_string());
    assert_eq!(event.actor_ip.as_deref(), Some("127.0.0.1"));
    let first = detail(event);
    assert_eq!(first["user_id"], json!(uma));
    assert_eq!(first["old_fingerprint"], Value::Null);
    let prefix = first["new_fingerprint"]
        .as_str()
        .expect("a prefix")
        .to_owned();
    assert_eq!(prefix.len(), 8);
    assert!(row.fingerprint.starts_with(&prefix) && row.fingerprint.len() > 8);
    assert!(
        !event.detail.contains(&row.fingerprint),
        "a whole fingerprint"
    );
    assert!(!event.detail.contains(&key));
    assert_eq!(first["facility_key_of"], json!([]));
    assert_eq!(first["licenses"], json!([RETAIL]));

    // The user sees the same key on their own profile.
    let uma_client = signed_in(&server, "uma@example.test").await;
    let own: UserKeyView = view_key(&server, &uma_client, None).await.ok();
    assert_eq!(own.masked_key, Some(masked(&key)));
    assert_eq!(own.status, KeyStatus::Valid);
    let status: KeyStatus = my_status(&server, &uma_client).await.ok();
    assert_eq!(status, KeyStatus::Valid);

    // A new key replaces the old: still one row, the audit links old to new.
    let new_key = regenerate_key(&server, sandbox_id).await;
    let replaced: UserKeyView = set_key(&server, &client, Some(uma), &new_key, false)
        .await
        .ok();
    assert_eq!(replaced.masked_key, Some(masked(&new_key)));
    assert_eq!(replaced.status, KeyStatus::Valid);
    assert_eq!(all_stored(&server).await.len(), 1);
    let events = audited(&server, AuditAction::UserKeySet).await;
    assert_eq!(events.len(), 2);
    let second = detail(&events[0]);
    assert_eq!(second["old_fingerprint"], json!(prefix));
    assert_ne!(second["new_fingerprint"], json!(prefix));
    assert_not_stored(&server, &new_key).await;

    // Direction 1 of the guard: no facility key was written.
    let facilities_after: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert_eq!(facilities_after, facilities_before);
    assert_eq!(audited(&server, AuditAction::FacilityKeySet).await.len(), 1);
}

each_backend!(an_invalid_or_regenerated_key_is_refused_and_nothing_is_saved);
async fn an_invalid_or_regenerated_key_is_refused_and_nothing_is_saved(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let uma = add_named_user(&server, "uma@example.test", "Uma Employee", Role::Employee).await;

    let answer = set_key(&server, &client, Some(uma), BOGUS_KEY, false).await;
    let text = refused(&answer);
    assert!(text.contains("invalid"), "{text}");
    assert!(text.contains("Nothing was saved"), "{text}");
    assert!(!answer.body.contains(BOGUS_KEY));
    assert!(stored(&server, uma).await.is_none());

    // Blank is not a key.
    assert!(matches!(
        set_key(&server, &client, Some(uma), "  \n", false)
            .await
            .err(),
        AppError::BadInput(_)
    ));

    // A key Metrc accepts but whose user works at no license: refused as well.
    let (_, nowhere) = employee(&server, json!({ "name": "Nora Nowhere" })).await;
    let text = refused(&set_key(&server, &client, Some(uma), &nowhere, false).await);
    assert!(text.contains("reaches no facility"), "{text}");
    assert!(stored(&server, uma).await.is_none());

    // A key regenerated in Metrc: the old one is refused, the new one accepted.
    let (sandbox_id, old_key) = employee(
        &server,
        json!({ "name": "Uma Employee", "permissions": { RETAIL: ["Packages"] } }),
    )
    .await;
    let new_key = regenerate_key(&server, sandbox_id).await;
    let text = refused(&set_key(&server, &client, Some(uma), &old_key, false).await);
    assert!(text.contains("invalid"), "{text}");
    assert!(stored(&server, uma).await.is_none());
    assert!(all_stored(&server).await.is_empty());
    assert!(audited(&server, AuditAction::UserKeySet).await.is_empty());
    let log = sandbox_requests(&server).await;
    assert!(
        log.iter()
            .any(|e| e["path"] == "/facilities/v2/" && e["status"] == 401),
        "Metrc was asked and refused"
    );

    let view: UserKeyView = set_key(&server, &client, Some(uma), &new_key, false)
        .await
        .ok();
    assert_eq!(view.status, KeyStatus::Valid);
    let kept = stored(&server, uma).await.expect("stored");

    // The old key again: refused, and the stored key is untouched.
    let text = refused(&set_key(&server, &client, Some(uma), &old_key, false).await);
    assert!(text.contains("invalid"), "{text}");
    assert_eq!(stored(&server, uma).await, Some(kept));
    assert_eq!(audited(&server, AuditAction::UserKeySet).await.len(), 1);
}

each_backend!(one_key_belongs_to_one_user);
async fn one_key_belongs_to_one_user(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let ann = add_named_user(&server, "ann@example.test", "Ann Holder", Role::Employee).await;
    let ben = add_named_user(&server, "ben@example.test", "Ben Other", Role::Employee).await;
    let (_, key) = employee(
        &server,
        json!({ "name": "Ann Holder", "permissions": { RETAIL: ["Packages"] } }),
    )
    .await;
    let _: UserKeyView = set_key(&server, &client, Some(ann), &key, false).await.ok();
    let ann_row = stored(&server, ann).await.expect("Ann's key");

    // An admin giving it to Ben: refused, even with the facility-key confirmation.
    for confirm in [false, true] {
        let answer = set_key(&server, &client, Some(ben), &key, confirm).await;
        let text = refused(&answer);
        assert!(text.contains("another user's"), "{text}");
        assert!(!answer.body.contains(&key));
    }
    // Ben pasting it on his own profile: refused too.
    let ben_client = signed_in(&server, "ben@example.test").await;
    let text = refused(&set_key(&server, &ben_client, None, &key, false).await);
    assert!(text.contains("another user's"), "{text}");
    let text = refused(&set_key(&server, &ben_client, Some(ben), &key, false).await);
    assert!(text.contains("another user's"), "{text}");

    assert!(stored(&server, ben).await.is_none());
    assert_eq!(stored(&server, ann).await.as_ref(), Some(&ann_row));
    let ann_view: UserKeyView = view_key(&server, &client, Some(ann)).await.ok();
    assert_eq!(ann_view.masked_key, Some(masked(&key)));
    assert_eq!(ann_view.status, KeyStatus::Valid);
    let ben_view: UserKeyView = view_key(&server, &client, Some(ben)).await.ok();
    assert_eq!(ben_view.masked_key, None);
    assert_eq!(ben_view.status, KeyStatus::Missing);
    assert_eq!(audited(&server, AuditAction::UserKeySet).await.len(), 1);

    // Setting Ann's own key for Ann again is no conflict.
    let again: UserKeyView = set_key(&server, &client, Some(ann), &key, false).await.ok();
    assert_eq!(again.masked_key, Some(masked(&key)));
    let events = audited(&server, AuditAction::UserKeySet).await;
    assert_eq!(events.len(), 2);
    let latest = detail(&events[0]);
    assert_eq!(latest["old_fingerprint"], latest["new_fingerprint"]);
    assert_eq!(all_stored(&server).await.len(), 1);
}

each_backend!(
    a_facility_key_becomes_a_users_key_only_when_an_admin_confirms_and_facilities_stay_untouched
);
async fn a_facility_key_becomes_a_users_key_only_when_an_admin_confirms_and_facilities_stay_untouched(
    backend: Backend,
) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let (_, facility_key) = owner_key(&server, "Olivia Owner", &[RETAIL, DISTRIBUTION]).await;
    let _: AssignOutcome = assign(
        &server,
        &client,
        &facility_key,
        &[RETAIL, DISTRIBUTION],
        false,
    )
    .await
    .ok();
    let rows_before: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert_eq!(rows_before.len(), 2);
    assert!(rows_before.iter().all(|r| r.key_status == KeyStatus::Valid));
    let models_before = facilities::list(&server.state.db).await.unwrap();
    let uma = add_named_user(&server, "uma@example.test", "Uma Employee", Role::Employee).await;
    let eve = add_named_user(&server, "eve@example.test", "Eve Employee", Role::Employee).await;

    // An employee pasting the facility key on their own profile: refused, even "confirmed".
    let eve_client = signed_in(&server, "eve@example.test").await;
    for user_id in [None, Some(eve)] {
        let answer = set_key(&server, &eve_client, user_id, &facility_key, true).await;
        let text = refused(&answer);
        assert!(text.contains("facility key"), "{text}");
        assert!(
            text.contains(RETAIL) && text.contains(DISTRIBUTION),
            "{text}"
        );
        assert!(!answer.body.contains(&facility_key));
    }
    assert!(stored(&server, eve).await.is_none());

    // An admin, not confirming: asked to confirm, naming the licenses; nothing saved.
    match set_key(&server, &client, Some(uma), &facility_key, false)
        .await
        .err()
    {
        AppError::ConfirmFacilityKey(mut licenses) => {
            licenses.sort();
            assert_eq!(licenses, sorted(&[RETAIL, DISTRIBUTION]));
        }
        other => panic!("expected ConfirmFacilityKey, got {other:?}"),
    }
    assert!(stored(&server, uma).await.is_none());
    assert!(audited(&server, AuditAction::UserKeySet).await.is_empty());

    // Confirmed by the admin: saved, and the audit says whose facility key it is.
    let view: UserKeyView = set_key(&server, &client, Some(uma), &facility_key, true)
        .await
        .ok();
    assert_eq!(view.masked_key, Some(masked(&facility_key)));
    assert_eq!(view.status, KeyStatus::Valid);
    assert_eq!(
        reached(view.validation.as_ref().expect("validation")),
        sorted(&[RETAIL, DISTRIBUTION])
    );
    let events = audited(&server, AuditAction::UserKeySet).await;
    assert_eq!(events.len(), 1);
    let recorded = detail(&events[0]);
    let mut facility_key_of: Vec<String> =
        serde_json::from_value(recorded["facility_key_of"].clone()).expect("licenses");
    facility_key_of.sort();
    assert_eq!(facility_key_of, sorted(&[RETAIL, DISTRIBUTION]));
    assert!(!events[0].detail.contains(&facility_key));

    // Direction 1 of the guard: the facilities still hold their key, exactly as before.
    let rows_after: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert_eq!(rows_after, rows_before);
    let models_after = facilities::list(&server.state.db).await.unwrap();
    assert_eq!(models_after, models_before);
    assert_eq!(
        audited(&server, AuditAction::FacilityKeySet).await.len(),
        1,
        "only the original assignment"
    );
    assert_not_stored(&server, &facility_key).await;
}

each_backend!(a_users_key_is_never_assigned_as_a_facility_key);
async fn a_users_key_is_never_assigned_as_a_facility_key(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let (_, facility_key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    let _: AssignOutcome = assign(&server, &client, &facility_key, &[RETAIL], false)
        .await
        .ok();
    let rows_before: Vec<FacilityRow> = list(&server, &client).await.ok();
    // A second License Owner of both licenses: as a facility key it would be accepted as is.
    let (owner_two, user_key) = owner_key(&server, "Oscar Owner", &[RETAIL, DISTRIBUTION]).await;
    let oscar = add_named_user(&server, "oscar@example.test", "Oscar Owner", Role::Employee).await;
    let _: UserKeyView = set_key(&server, &client, Some(oscar), &user_key, false)
        .await
        .ok();
    let user_row = stored(&server, oscar).await.expect("stored");
    let user_prefix: String = user_row.fingerprint.chars().take(8).collect();
    let calls_before = calls_by(&sandbox_requests(&server).await, owner_two);

    for confirm_not_owner in [false, true] {
        for licenses in [&[RETAIL][..], &[DISTRIBUTION], &[RETAIL, DISTRIBUTION]] {
            let answer = assign(&server, &client, &user_key, licenses, confirm_not_owner).await;
            let text = refused(&answer);
            assert!(text.contains("user's own Metrc key"), "{text}");
            assert!(!answer.body.contains(&user_key));
        }
    }

    // No facility got the key; the retail license keeps its own; no facility was added.
    let rows_after: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert_eq!(rows_after, rows_before);
    assert!(
        rows_after
            .iter()
            .all(|r| r.key_fingerprint_prefix.as_deref() != Some(user_prefix.as_str()))
    );
    assert!(
        facilities::find_by_fingerprint(&server.state.db, &user_row.fingerprint)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(audited(&server, AuditAction::FacilityKeySet).await.len(), 1);
    // Refused before anything went to Metrc with it.
    assert_eq!(
        calls_by(&sandbox_requests(&server).await, owner_two),
        calls_before
    );
    assert_eq!(stored(&server, oscar).await, Some(user_row));
}

each_backend!(employees_set_and_see_only_their_own_key_and_signed_out_callers_nothing);
async fn employees_set_and_see_only_their_own_key_and_signed_out_callers_nothing(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let admin_client = admin(&server).await;
    let eve = add_named_user(&server, "eve@example.test", "Eve Employee", Role::Employee).await;
    let otto = add_named_user(&server, "otto@example.test", "Otto Other", Role::Employee).await;
    let grant = json!({ RETAIL: ["Packages"] });
    let (_, eve_key) = employee(
        &server,
        json!({ "name": "Eve Employee", "permissions": grant }),
    )
    .await;
    let (otto_sandbox, otto_key) = employee(
        &server,
        json!({ "name": "Otto Other", "permissions": grant }),
    )
    .await;
    let eve_client = signed_in(&server, "eve@example.test").await;

    // Her own key, as "me" and by her own id.
    let view: UserKeyView = set_key(&server, &eve_client, None, &eve_key, false)
        .await
        .ok();
    assert_eq!(view.masked_key, Some(masked(&eve_key)));
    assert_eq!(view.status, KeyStatus::Valid);
    let by_id: UserKeyView = set_key(&server, &eve_client, Some(eve), &eve_key, false)
        .await
        .ok();
    assert_eq!(by_id.masked_key, view.masked_key);
    let events = audited(&server, AuditAction::UserKeySet).await;
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| e.actor_user_id == Some(eve)));
    assert!(events.iter().all(|e| e.subject == eve.to_string()));
    for user_id in [None, Some(eve)] {
        let seen: UserKeyView = view_key(&server, &eve_client, user_id).await.ok();
        assert_eq!(seen.masked_key, Some(masked(&eve_key)));
        let live = updates(&validate_live(&server, &eve_client, user_id, &eve_key).await);
        assert_eq!(live.last(), Some(&ValidationUpdate::Done));
    }
    let status: KeyStatus = my_status(&server, &eve_client).await.ok();
    assert_eq!(status, KeyStatus::Valid);

    // Anyone else's: forbidden, whether the user exists or not, before Metrc is asked.
    for target in [otto, admin_id(&server).await, 999_999] {
        let answer = set_key(&server, &eve_client, Some(target), &otto_key, false).await;
        assert_eq!(answer.err(), AppError::Forbidden, "set for {target}");
        assert_eq!(
            view_key(&server, &eve_client, Some(target)).await.err(),
            AppError::Forbidden,
            "view of {target}"
        );
        let live = validate_live(&server, &eve_client, Some(target), &otto_key).await;
        assert_eq!(live.err(), AppError::Forbidden, "live for {target}");
    }
    assert!(stored(&server, otto).await.is_none());
    assert_eq!(all_stored(&server).await.len(), 1);
    assert_eq!(calls_by(&sandbox_requests(&server).await, otto_sandbox), 0);

    // An admin may do it for Otto; for nobody it is not found.
    let otto_view: UserKeyView = set_key(&server, &admin_client, Some(otto), &otto_key, false)
        .await
        .ok();
    assert_eq!(otto_view.masked_key, Some(masked(&otto_key)));
    assert_eq!(
        set_key(&server, &admin_client, Some(999_999), &eve_key, false)
            .await
            .err(),
        AppError::NotFound
    );

    // Signed out: nothing at all.
    let anonymous = server.client();
    for user_id in [None, Some(eve)] {
        assert_eq!(
            set_key(&server, &anonymous, user_id, &eve_key, false)
                .await
                .err(),
            AppError::Unauthenticated
        );
        assert_eq!(
            view_key(&server, &anonymous, user_id).await.err(),
            AppError::Unauthenticated
        );
        assert_eq!(
            validate_live(&server, &anonymous, user_id, &eve_key)
                .await
                .err(),
            AppError::Unauthenticated
        );
    }
    assert_eq!(
        my_status(&server, &anonymous).await.err(),
        AppError::Unauthenticated
    );
    assert_eq!(all_stored(&server).await.len(), 2);
}

each_backend!(signing_in_revalidates_the_users_key_with_metrc);
async fn signing_in_revalidates_the_users_key_with_metrc(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let admin_client = admin(&server).await;
    let uma = add_named_user(&server, "uma@example.test", "Uma Employee", Role::Employee).await;
    let (sandbox_id, key) = employee(
        &server,
        json!({ "name": "Uma Employee", "permissions": { RETAIL: ["Packages"] } }),
    )
    .await;
    let _: UserKeyView = set_key(&server, &admin_client, Some(uma), &key, false)
        .await
        .ok();
    let set_at = stored(&server, uma)
        .await
        .expect("stored")
        .last_validated_at
        .expect("validated");

    // Signing in asks Metrc about her key: still valid.
    let calls_before = calls_by(&sandbox_requests(&server).await, sandbox_id);
    let first = signed_in(&server, "uma@example.test").await;
    let log = sandbox_requests(&server).await;
    assert_eq!(calls_by(&log, sandbox_id), calls_before + 1, "one check");
    let check = log.last().expect("the check");
    assert_eq!(check["path"], "/facilities/v2/");
    assert_eq!(check["status"], 200);
    let status: KeyStatus = my_status(&server, &first).await.ok();
    assert_eq!(status, KeyStatus::Valid);
    let checked_at = stored(&server, uma)
        .await
        .expect("stored")
        .last_validated_at
        .expect("validated");
    assert!(checked_at > set_at, "the check is recorded");

    // Regenerated in Metrc: nothing notices until she signs in again (my_key_status does not
    // ask Metrc) ...
    let new_key = regenerate_key(&server, sandbox_id).await;
    let status: KeyStatus = my_status(&server, &first).await.ok();
    assert_eq!(status, KeyStatus::Valid);
    // ... and then it shows.
    let second = signed_in(&server, "uma@example.test").await;
    let log = sandbox_requests(&server).await;
    let check = log.last().expect("the check");
    assert_eq!(
        (check["path"].as_str(), check["status"].as_u64()),
        (Some("/facilities/v2/"), Some(401))
    );
    let status: KeyStatus = my_status(&server, &second).await.ok();
    assert_eq!(status, KeyStatus::Invalid);
    let own: UserKeyView = view_key(&server, &second, None).await.ok();
    assert_eq!(own.status, KeyStatus::Invalid);
    assert_eq!(own.masked_key, Some(masked(&key)), "the key is kept");
    let seen: UserKeyView = view_key(&server, &admin_client, Some(uma)).await.ok();
    assert_eq!(seen.status, KeyStatus::Invalid);
    assert_eq!(
        stored(&server, uma).await.expect("stored").status,
        KeyStatus::Invalid
    );

    // Her current key makes it valid again, and sign-in agrees.
    let fixed: UserKeyView = set_key(&server, &second, None, &new_key, false).await.ok();
    assert_eq!(fixed.status, KeyStatus::Valid);
    let third = signed_in(&server, "uma@example.test").await;
    let status: KeyStatus = my_status(&server, &third).await.ok();
    assert_eq!(status, KeyStatus::Valid);

    // Metrc slower than the sign-in cap (5 s): signing in does not wait for it, and the
    // status is left as it was.
    let latency = server.sandbox().slow_down(Duration::from_secs(9));
    let started = Instant::now();
    let slow = signed_in(&server, "uma@example.test").await;
    let took = started.elapsed();
    drop(latency);
    assert!(
        took >= Duration::from_secs(5) && took < Duration::from_millis(8000),
        "sign-in waited for the check, up to its cap: {took:?}"
    );
    let status: KeyStatus = my_status(&server, &slow).await.ok();
    assert_eq!(status, KeyStatus::Valid);

    // A user without a key signs in without a Metrc call.
    add_named_user(&server, "nokey@example.test", "No Key", Role::Employee).await;
    let before = sandbox_requests(&server).await.len();
    let nokey = signed_in(&server, "nokey@example.test").await;
    let status: KeyStatus = my_status(&server, &nokey).await.ok();
    assert_eq!(status, KeyStatus::Missing);
    let after = sandbox_requests(&server).await;
    assert!(
        after[before..]
            .iter()
            .all(|e| e["path"] != "/facilities/v2/"),
        "{:?}",
        &after[before..]
    );
}

each_backend!(the_users_metrc_permissions_are_listed_with_a_valid_facility_key_and_name_the_gaps);
async fn the_users_metrc_permissions_are_listed_with_a_valid_facility_key_and_name_the_gaps(
    backend: Backend,
) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let uma = add_named_user(&server, "uma@example.test", "Uma Employee", Role::Employee).await;
    let (_, key) = employee(
        &server,
        json!({
            "name": "Uma Employee",
            "permissions": { RETAIL: ["View Packages"], DISTRIBUTION: ["View Packages"] },
        }),
    )
    .await;

    // No facility key yet: nobody may list her permissions.
    let view: UserKeyView = set_key(&server, &client, Some(uma), &key, false).await.ok();
    assert_eq!(view.permissions.len(), 2, "{:?}", view.permissions);
    for license in [RETAIL, DISTRIBUTION] {
        let entry = permissions_at(&view, license);
        assert_eq!(entry.permissions, None, "{license}");
        assert!(entry.gaps.is_empty(), "{license}: {:?}", entry.gaps);
    }
    let log = sandbox_requests(&server).await;
    assert!(
        log.iter().all(|e| e["path"] != "/employees/v2/permissions"),
        "Metrc asked without a facility key"
    );

    // The License Owner's key (every section, so Manage Employees) on the retail license;
    // the distribution license gets an owner key without Manage Employees.
    let (retail_owner, retail_key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    let _: AssignOutcome = assign(&server, &client, &retail_key, &[RETAIL], false)
        .await
        .ok();
    let (_, distribution_key) = employee(
        &server,
        json!({
            "name": "Dora Distributor",
            "owner_of": [DISTRIBUTION],
            "permissions": { DISTRIBUTION: ["Packages"] },
        }),
    )
    .await;
    let _: AssignOutcome = assign(&server, &client, &distribution_key, &[DISTRIBUTION], false)
        .await
        .ok();

    {
        let view: UserKeyView = view_key(&server, &client, Some(uma)).await.ok();
        let retail = permissions_at(&view, RETAIL);
        assert_eq!(retail.permissions, Some(vec!["view packages".to_owned()]));
        assert_eq!(
            retail.gaps,
            vec!["Can view packages but not adjust them: lacks Manage Packages Inventory."]
        );
        let retail_name = &view
            .validation
            .as_ref()
            .expect("validation")
            .facilities
            .iter()
            .find(|f| f.license_number == RETAIL)
            .expect("retail reached")
            .name;
        assert_eq!(&retail.name, retail_name);
        assert!(!retail.name.is_empty());
        // Metrc refuses the distribution key the permissions list: not listed, no gaps.
        let distribution = permissions_at(&view, DISTRIBUTION);
        assert_eq!(distribution.permissions, None);
        assert!(distribution.gaps.is_empty(), "{:?}", distribution.gaps);
    }
    // She sees the same on her own profile.
    let uma_client = signed_in(&server, "uma@example.test").await;
    let own: UserKeyView = view_key(&server, &uma_client, None).await.ok();
    assert_eq!(
        permissions_at(&own, RETAIL).permissions,
        Some(vec!["view packages".to_owned()])
    );
    // Asked with the retail facility key, at the retail license.
    let log = sandbox_requests(&server).await;
    let asked: Vec<&Value> = log
        .iter()
        .filter(|e| e["path"] == "/employees/v2/permissions" && e["status"] == 200)
        .collect();
    assert!(!asked.is_empty());
    assert!(
        asked
            .iter()
            .all(|e| e["license"] == RETAIL && e["employee_id"] == json!(retail_owner))
    );

    // The retail facility key regenerated and found invalid: not listed any more.
    regenerate_key(&server, retail_owner).await;
    let turned: FacilityRow = revalidate(&server, &client, RETAIL).await.ok();
    assert_eq!(turned.key_status, KeyStatus::Invalid);
    let view: UserKeyView = view_key(&server, &client, Some(uma)).await.ok();
    assert_eq!(permissions_at(&view, RETAIL).permissions, None);
    assert!(permissions_at(&view, RETAIL).gaps.is_empty());
}

/// The cells of a live validation, by license and section: each must come exactly once.
fn live_cells(live: &[ValidationUpdate]) -> BTreeMap<(String, String), CellState> {
    let mut seen = BTreeMap::new();
    for update in live {
        if let ValidationUpdate::Cell {
            license_number,
            cell,
        } = update
        {
            let before = seen.insert(
                (license_number.clone(), cell.section.clone()),
                cell.status.clone(),
            );
            assert!(before.is_none(), "{license_number} {} twice", cell.section);
        }
    }
    seen
}

/// The holder a live validation starts with, after checking the stream's shape: `Facilities`
/// first, one cell per section and license, `Done` last.
fn holder_of(live: &[ValidationUpdate], licenses: &[&str]) -> KeyHolder {
    let Some(ValidationUpdate::Facilities {
        sections,
        facilities,
        holder,
    }) = live.first()
    else {
        panic!("the first update names the facilities: {live:?}");
    };
    let names: Vec<&str> = Section::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(sections, &names);
    let mut reached: Vec<String> = facilities
        .iter()
        .map(|f| f.license_number.clone())
        .collect();
    reached.sort();
    assert_eq!(reached, sorted(licenses));
    assert!(facilities.iter().all(|f| f.cells.is_empty()));
    assert_eq!(live.last(), Some(&ValidationUpdate::Done), "{live:?}");
    assert_eq!(
        live.iter()
            .filter(|u| matches!(
                u,
                ValidationUpdate::Facilities { .. } | ValidationUpdate::Done
            ))
            .count(),
        2
    );
    assert!(
        !live
            .iter()
            .any(|u| matches!(u, ValidationUpdate::Failed(_)))
    );
    let cells = live_cells(live);
    assert_eq!(cells.len(), names.len() * licenses.len());
    assert_eq!(live.len(), cells.len() + 2);
    holder.clone()
}

each_backend!(the_live_validation_names_who_holds_the_key_and_ends_with_done_or_one_failure);
async fn the_live_validation_names_who_holds_the_key_and_ends_with_done_or_one_failure(
    backend: Backend,
) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let ann = add_named_user(&server, "ann@example.test", "Ann Holder", Role::Employee).await;
    let ben = add_named_user(&server, "ben@example.test", "Ben Other", Role::Employee).await;
    let (_, key) = employee(
        &server,
        json!({
            "name": "Ann Holder",
            "permissions": { RETAIL: ["Packages"], CULTIVATION: ["Packages"] },
        }),
    )
    .await;
    // Nobody holds it yet.
    let answer = validate_live(&server, &client, Some(ben), &key).await;
    assert!(!answer.body.contains(&key));
    let live = updates(&answer);
    assert_eq!(holder_of(&live, &[RETAIL, CULTIVATION]), KeyHolder::Nobody);
    let cells = live_cells(&live);
    assert_eq!(
        cells[&(RETAIL.to_owned(), "Packages".to_owned())],
        CellState::Granted
    );
    assert_eq!(
        cells[&(RETAIL.to_owned(), "Sales".to_owned())],
        CellState::Denied
    );
    assert_eq!(
        cells[&(CULTIVATION.to_owned(), "Sales".to_owned())],
        CellState::NotApplicable
    );

    let _: UserKeyView = set_key(&server, &client, Some(ann), &key, false).await.ok();

    // For Ben, seen by an admin: Ann's key, by name.
    let live = updates(&validate_live(&server, &client, Some(ben), &key).await);
    assert_eq!(
        holder_of(&live, &[RETAIL, CULTIVATION]),
        KeyHolder::OtherUser {
            name: Some("Ann Holder".to_owned())
        }
    );
    // For Ann: her own.
    let live = updates(&validate_live(&server, &client, Some(ann), &key).await);
    assert_eq!(
        holder_of(&live, &[RETAIL, CULTIVATION]),
        KeyHolder::ThisUser
    );
    // Ben on his own profile: another user's, without the name.
    let ben_client = signed_in(&server, "ben@example.test").await;
    let live = updates(&validate_live(&server, &ben_client, None, &key).await);
    assert_eq!(
        holder_of(&live, &[RETAIL, CULTIVATION]),
        KeyHolder::OtherUser { name: None }
    );

    // A facility key: the licenses it serves.
    let (_, facility_key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    let _: AssignOutcome = assign(&server, &client, &facility_key, &[RETAIL], false)
        .await
        .ok();
    let live = updates(&validate_live(&server, &client, Some(ben), &facility_key).await);
    assert_eq!(
        holder_of(&live, &[RETAIL]),
        KeyHolder::Facilities(vec![RETAIL.to_owned()])
    );

    // An invalid key: one Failed, nothing after it.
    let answer = validate_live(&server, &client, Some(ben), BOGUS_KEY).await;
    let live = updates(&answer);
    match live.as_slice() {
        [ValidationUpdate::Failed(AppError::KeyRefused(text))] => {
            assert!(text.contains("invalid"), "{text}");
        }
        other => panic!("expected a single Failed, got {other:?}"),
    }

    // Validating saves nothing.
    assert!(stored(&server, ben).await.is_none());
    assert_eq!(all_stored(&server).await.len(), 1);
    assert_eq!(audited(&server, AuditAction::UserKeySet).await.len(), 1);
}

each_backend!(racing_guards_never_make_one_key_both_a_users_and_a_facilitys);
/// docs/design.md §5 under concurrency. Both guards check the other table before their (slow) Metrc
/// validation and again under the key-write lock before writing: with Metrc taking 1.5 s, setting a
/// key as a user's key and assigning it as a facility key at the same time end with exactly one of
/// them done and the other refused by the guard, and of two users racing for one key exactly one
/// gets it, the other the "another user's" refusal.
async fn racing_guards_never_make_one_key_both_a_users_and_a_facilitys(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let uma = add_named_user(&server, "uma@example.test", "Uma Employee", Role::Employee).await;
    let vic = add_named_user(&server, "vic@example.test", "Vic Employee", Role::Employee).await;
    let (_, key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    let slow = server.sandbox().slow_down(Duration::from_millis(1500));

    let (as_user, as_facility) = tokio::join!(
        set_key(&server, &client, Some(uma), &key, false),
        assign(&server, &client, &key, &[RETAIL], false)
    );
    let user_key = stored(&server, uma).await.map(|r| r.fingerprint);
    let facility_key = facilities::find_by_license(&server.state.db, RETAIL)
        .await
        .unwrap()
        .and_then(|f| f.key_fingerprint);
    match (as_user.status.is_success(), as_facility.status.is_success()) {
        (true, false) => {
            let text = refused(&as_facility);
            assert!(text.contains("user's own Metrc key"), "{text}");
            assert!(user_key.is_some(), "{backend:?}: Uma's key was not stored");
            assert_eq!(facility_key, None, "{backend:?}: {RETAIL} got the key too");
        }
        (false, true) => {
            assert_eq!(
                as_user.err(),
                AppError::ConfirmFacilityKey(vec![RETAIL.to_owned()]),
                "{backend:?}"
            );
            assert!(facility_key.is_some(), "{backend:?}: {RETAIL} has no key");
            assert_eq!(user_key, None, "{backend:?}: Uma got the key too");
        }
        (user, facility) => panic!(
            "{backend:?}: exactly one must succeed; user key: {user} ({}), facility key: {facility} ({})",
            as_user.body, as_facility.body
        ),
    }

    // Two admins: one admin's key validations run one at a time.
    add_named_user(&server, "ada@example.test", "Ada Admin", Role::Admin).await;
    let second_admin = signed_in(&server, "ada@example.test").await;
    let (_, contested) = owner_key(&server, "Oscar Owner", &[DISTRIBUTION]).await;
    let (a, b) = tokio::join!(
        set_key(&server, &client, Some(uma), &contested, false),
        set_key(&server, &second_admin, Some(vic), &contested, false)
    );
    drop(slow);
    let (winner, loser, loser_answer) = match (a.status.is_success(), b.status.is_success()) {
        (true, false) => (uma, vic, b),
        (false, true) => (vic, uma, a),
        (x, y) => panic!(
            "{backend:?}: exactly one user must get the key: Uma {x} ({}), Vic {y} ({})",
            a.body, b.body
        ),
    };
    let text = refused(&loser_answer);
    assert!(text.contains("another user's"), "{text}");
    let holders: Vec<i32> = all_stored(&server)
        .await
        .into_iter()
        .filter(|k| {
            server
                .state
                .vault
                .decrypt(&k.ciphertext)
                .expect("opens")
                .expose_secret()
                == contested
        })
        .map(|k| k.user_id)
        .collect();
    assert_eq!(holders, vec![winner], "{backend:?}: loser {loser}");
}
