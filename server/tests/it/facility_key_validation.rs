//! Facility-key validation and assignment in the cases that are not the happy path, over HTTP
//! against the Metrc sandbox, on every backend: a key with only some permissions, a license type
//! without plants, owner overrides on some of several licenses, Metrc down, 429 bursts, and a
//! regenerated key that stays invalid.

use crate::support;

use app::error::AppError;
use app::ssr::entities::audit_events::AuditAction;
use app::ssr::facility_keys;
use app::types::facilities::{
    AssignOutcome, CellState, FacilityRow, KeyValidation, ReachedFacility,
};
use app::types::keys::KeyStatus;
use metrc::Section;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::facility_keys::{
    Answer, CULTIVATION, DISTRIBUTION, RETAIL, admin, assign, employee, list, owner_key,
    regenerate_key, revalidate, sandbox_requests, validate,
};
use support::{Backend, HasSandbox, TestServer};

/// Sections a retail license cannot use (it does not grow plants or record processing jobs).
const RETAIL_NOT_APPLICABLE: &[Section] = &[
    Section::PlantBatches,
    Section::Plants,
    Section::Harvests,
    Section::ProcessingJobs,
];
/// Sections a cultivation license cannot use (it sells to nobody).
const CULTIVATION_NOT_APPLICABLE: &[Section] =
    &[Section::Sales, Section::Patients, Section::ProcessingJobs];
/// Sections a distribution license cannot use: no plants, no sales, no processing jobs.
const DISTRIBUTION_NOT_APPLICABLE: &[Section] = &[
    Section::PlantBatches,
    Section::Plants,
    Section::Harvests,
    Section::Sales,
    Section::Patients,
    Section::ProcessingJobs,
];

/// Longest a single validation may take while Metrc answers 429 (the client backs off from 1 s,
/// doubling, five attempts: at most 15 s of waiting per call).
const PATIENCE: Duration = Duration::from_secs(45);

fn reached<'a>(report: &'a KeyValidation, license: &str) -> &'a ReachedFacility {
    report
        .facilities
        .iter()
        .find(|f| f.license_number == license)
        .unwrap_or_else(|| panic!("the key does not reach {license}: {report:?}"))
}

/// The facility's cells by section name; every section exactly once.
fn cells(f: &ReachedFacility) -> BTreeMap<String, CellState> {
    let map: BTreeMap<String, CellState> = f
        .cells
        .iter()
        .map(|c| (c.section.clone(), c.status.clone()))
        .collect();
    assert_eq!(
        (map.len(), f.cells.len()),
        (Section::ALL.len(), Section::ALL.len()),
        "{}: one cell per section: {:?}",
        f.license_number,
        f.cells
    );
    map
}

/// Every section: `NotApplicable` in `not_applicable`, `Denied` in `denied`, else `Granted`.
fn expected(not_applicable: &[Section], denied: &[Section]) -> BTreeMap<String, CellState> {
    Section::ALL
        .iter()
        .map(|s| {
            let status = if not_applicable.contains(s) {
                CellState::NotApplicable
            } else if denied.contains(s) {
                CellState::Denied
            } else {
                CellState::Granted
            };
            (s.name().to_owned(), status)
        })
        .collect()
}

/// The statuses the sandbox answered to `path` for `license` (`None`: calls without a license,
/// i.e. `/facilities/v2/`), oldest first.
fn statuses(log: &[Value], path: &str, license: Option<&str>) -> Vec<u64> {
    log.iter()
        .filter(|e| e["path"] == path && e["license"].as_str() == license)
        .map(|e| e["status"].as_u64().expect("status"))
        .collect()
}

fn row<'a>(rows: &'a [FacilityRow], license: &str) -> &'a FacilityRow {
    rows.iter()
        .find(|r| r.license_number == license)
        .unwrap_or_else(|| panic!("no row for {license}: {rows:?}"))
}

async fn audit_count(server: &TestServer) -> usize {
    server.audit_events(100).await.len()
}

each_backend!(a_partially_permitted_owner_key_shows_granted_and_denied_cells_and_can_be_assigned);
async fn a_partially_permitted_owner_key_shows_granted_and_denied_cells_and_can_be_assigned(
    backend: Backend,
) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let (id, key) = employee(
        &server,
        json!({
            "name": "Pat Partial",
            "owner_of": [RETAIL, CULTIVATION],
            "permissions": { RETAIL: ["Packages"], CULTIVATION: ["Packages"] },
        }),
    )
    .await;

    let report: KeyValidation = validate(&server, &client, &key).await.ok();
    assert_eq!(report.facilities.len(), 2, "{report:?}");
    let everything_but_packages = |not_applicable: &[Section]| -> Vec<Section> {
        Section::ALL
            .into_iter()
            .filter(|s| *s != Section::Packages && !not_applicable.contains(s))
            .collect()
    };
    for (license, not_applicable) in [
        (RETAIL, RETAIL_NOT_APPLICABLE),
        (CULTIVATION, CULTIVATION_NOT_APPLICABLE),
    ] {
        let f = reached(&report, license);
        assert!(f.is_owner, "{license}");
        assert_eq!(
            cells(f),
            expected(not_applicable, &everything_but_packages(not_applicable)),
            "{license}"
        );
    }
    // Spelled out, the cases of the brief: Sales red at retail, Plants red at cultivation,
    // and the sections a license type cannot use grey, not red.
    let retail = cells(reached(&report, RETAIL));
    let cultivation = cells(reached(&report, CULTIVATION));
    assert_eq!(retail["Packages"], CellState::Granted);
    assert_eq!(retail["Sales"], CellState::Denied);
    assert_eq!(retail["Plants"], CellState::NotApplicable);
    assert_eq!(cultivation["Plants"], CellState::Denied);
    assert_eq!(cultivation["Sales"], CellState::NotApplicable);

    // Denied cells are Metrc's answers (401/403 to the probe); NotApplicable ones were never
    // asked.
    let log = sandbox_requests(&server).await;
    for (license, not_applicable) in [
        (RETAIL, RETAIL_NOT_APPLICABLE),
        (CULTIVATION, CULTIVATION_NOT_APPLICABLE),
    ] {
        let packages = statuses(&log, Section::Packages.probe_path(), Some(license));
        assert_eq!(packages, vec![200], "{license} packages probe");
        for section in everything_but_packages(not_applicable) {
            let answers = statuses(&log, section.probe_path(), Some(license));
            assert!(
                !answers.is_empty() && answers.iter().all(|s| *s == 401 || *s == 403),
                "{license} {}: {answers:?}",
                section.name()
            );
        }
        for section in not_applicable {
            assert_eq!(
                statuses(&log, section.probe_path(), Some(license)),
                Vec::<u64>::new(),
                "{license} {} must not be probed",
                section.name()
            );
        }
    }

    // Assigning does not look at cells: the owner's key is accepted without an override.
    let outcome: AssignOutcome = assign(&server, &client, &key, &[RETAIL, CULTIVATION], false)
        .await
        .ok();
    let mut added = outcome.added.clone();
    added.sort();
    assert_eq!(added, vec![RETAIL, CULTIVATION]);
    assert!(outcome.owner_override.is_empty());
    // The key cannot list employees, so the owner's name falls back to their Metrc employee
    // license number.
    let employees: Vec<Value> = reqwest::get(format!("{}/sandbox/employees", server.sandbox_url))
        .await
        .expect("sandbox employees")
        .json()
        .await
        .expect("json");
    let pat = employees
        .iter()
        .find(|e| e["id"] == id)
        .expect("Pat in the sandbox");
    let employee_license = pat["employee_license_number"].as_str().expect("number");
    let rows: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert_eq!(rows.len(), 2);
    for license in [RETAIL, CULTIVATION] {
        let r = row(&rows, license);
        assert_eq!(r.key_status, KeyStatus::Valid, "{license}");
        assert_eq!(r.key_is_owner, Some(true), "{license}");
        assert_eq!(r.key_owner_name.as_deref(), Some(employee_license));
    }
    // Revalidation only asks whether Metrc accepts the key: still valid.
    let again: FacilityRow = revalidate(&server, &client, RETAIL).await.ok();
    assert_eq!(again.key_status, KeyStatus::Valid);
}

each_backend!(a_distribution_license_has_no_plant_sections_even_for_a_full_owner_key);
async fn a_distribution_license_has_no_plant_sections_even_for_a_full_owner_key(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let (_, key) = owner_key(&server, "Dora Distributor", &[DISTRIBUTION, CULTIVATION]).await;

    let report: KeyValidation = validate(&server, &client, &key).await.ok();
    let distribution = reached(&report, DISTRIBUTION);
    assert_eq!(distribution.license_type, "Distributor");
    assert!(distribution.is_owner);
    assert_eq!(
        cells(distribution),
        expected(DISTRIBUTION_NOT_APPLICABLE, &[])
    );
    for section in ["Plants", "Plant Batches", "Harvests"] {
        assert_eq!(
            cells(distribution)[section],
            CellState::NotApplicable,
            "{section} at the distribution license"
        );
    }
    // The same key at a license that grows plants is granted them: the grey cells come from
    // the license type, not from the key's permissions.
    let cultivation = reached(&report, CULTIVATION);
    assert_eq!(
        cells(cultivation),
        expected(CULTIVATION_NOT_APPLICABLE, &[])
    );
    assert_eq!(cells(cultivation)["Plants"], CellState::Granted);

    let log = sandbox_requests(&server).await;
    for section in [Section::Plants, Section::PlantBatches, Section::Harvests] {
        assert!(
            statuses(&log, section.probe_path(), Some(DISTRIBUTION)).is_empty(),
            "{} probed at the distribution license",
            section.name()
        );
        assert_eq!(
            statuses(&log, section.probe_path(), Some(CULTIVATION)),
            vec![200],
            "{} at the cultivation license",
            section.name()
        );
    }

    let outcome: AssignOutcome = assign(&server, &client, &key, &[DISTRIBUTION], false)
        .await
        .ok();
    assert_eq!(outcome.facilities.len(), 1);
    assert_eq!(outcome.facilities[0].license_type, "Distributor");
    assert_eq!(outcome.facilities[0].key_status, KeyStatus::Valid);
}

each_backend!(the_owner_override_is_needed_and_recorded_only_for_licenses_the_key_does_not_own);
async fn the_owner_override_is_needed_and_recorded_only_for_licenses_the_key_does_not_own(
    backend: Backend,
) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    // Owner of the retail license, a mere employee of the distribution license.
    let (_, key) = employee(
        &server,
        json!({
            "name": "Mia Mixed",
            "owner_of": [RETAIL],
            "permissions": {
                RETAIL: ["Packages", "Employees", "Transfers"],
                DISTRIBUTION: ["Packages", "Transfers"],
            },
        }),
    )
    .await;
    let report: KeyValidation = validate(&server, &client, &key).await.ok();
    assert!(reached(&report, RETAIL).is_owner);
    assert!(!reached(&report, DISTRIBUTION).is_owner);

    // Both at once without confirming: refused, naming only the license not owned.
    let refused = assign(&server, &client, &key, &[RETAIL, DISTRIBUTION], false).await;
    let error = refused.err();
    assert_eq!(
        error,
        AppError::NotLicenseOwner(vec![DISTRIBUTION.to_owned()])
    );
    let message = error.to_string();
    assert!(
        message.contains(DISTRIBUTION) && !message.contains(RETAIL),
        "{message}"
    );
    let rows: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert!(rows.is_empty(), "nothing assigned: {rows:?}");
    assert_eq!(audit_count(&server).await, 0);

    // The owned license alone needs no override, and confirming one records none.
    let outcome: AssignOutcome = assign(&server, &client, &key, &[RETAIL], true).await.ok();
    assert!(
        outcome.owner_override.is_empty(),
        "{:?}",
        outcome.owner_override
    );
    assert_eq!(outcome.facilities[0].key_is_owner, Some(true));
    let events = server.audit_events(10).await;
    assert_eq!(events.len(), 1);
    let detail: Value = serde_json::from_str(&events[0].detail).unwrap();
    assert_eq!(detail["owner_override"], json!([]));

    // Both, confirmed: the override names the distribution license only.
    let accepted = assign(&server, &client, &key, &[RETAIL, DISTRIBUTION], true).await;
    let outcome: AssignOutcome = accepted.ok();
    assert_eq!(outcome.owner_override, vec![DISTRIBUTION.to_owned()]);
    assert_eq!(outcome.added, vec![DISTRIBUTION.to_owned()]);
    assert_eq!(row(&outcome.facilities, RETAIL).key_is_owner, Some(true));
    assert_eq!(
        row(&outcome.facilities, DISTRIBUTION).key_is_owner,
        Some(false)
    );
    assert!(!accepted.body.contains(&key));
    let events = server.audit_events(10).await;
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].action, AuditAction::FacilityKeySet);
    let detail: Value = serde_json::from_str(&events[0].detail).unwrap();
    assert_eq!(detail["owner_override"], json!([DISTRIBUTION]));
    assert_eq!(detail["added"], json!([DISTRIBUTION]));
    let mut licenses: Vec<String> =
        serde_json::from_value(detail["licenses"].clone()).expect("licenses");
    licenses.sort();
    assert_eq!(licenses, vec![RETAIL, DISTRIBUTION]);
    // The retail license had this very key already; the distribution license had none.
    assert_eq!(
        detail["old_fingerprints"][RETAIL],
        detail["new_fingerprint"]
    );
    assert_eq!(detail["old_fingerprints"][DISTRIBUTION], Value::Null);
    assert!(!events[0].detail.contains(&key));

    // A key owning neither license: the refusal names both.
    let (_, staff_key) = employee(
        &server,
        json!({
            "name": "Sid Staff",
            "permissions": { RETAIL: ["Packages"], DISTRIBUTION: ["Packages"] },
        }),
    )
    .await;
    match assign(&server, &client, &staff_key, &[DISTRIBUTION, RETAIL], false)
        .await
        .err()
    {
        AppError::NotLicenseOwner(mut licenses) => {
            licenses.sort();
            assert_eq!(licenses, vec![RETAIL.to_owned(), DISTRIBUTION.to_owned()]);
        }
        other => panic!("expected NotLicenseOwner, got {other:?}"),
    }
    assert_eq!(audit_count(&server).await, 2);
}

each_backend!(when_metrc_is_down_nothing_changes_and_the_key_recovers);
async fn when_metrc_is_down_nothing_changes_and_the_key_recovers(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let (_, key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    let _: AssignOutcome = assign(&server, &client, &key, &[RETAIL], false).await.ok();
    let before: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].key_status, KeyStatus::Valid);
    assert_eq!(audit_count(&server).await, 1);
    let (_, other_key) = owner_key(&server, "Otto Other", &[RETAIL, DISTRIBUTION]).await;

    let fault = server
        .sandbox()
        .fail_next("", StatusCode::INTERNAL_SERVER_ERROR, 1000);

    let started = Instant::now();
    let down = validate(&server, &client, &other_key).await;
    match down.err() {
        AppError::MetrcUnavailable(reason) => assert!(reason.contains("500"), "{reason}"),
        other => panic!("expected MetrcUnavailable, got {other:?}"),
    }
    assert!(!down.body.contains(&other_key));
    // The facilities call was retried before giving up.
    let log = sandbox_requests(&server).await;
    let failed = statuses(&log, "/facilities/v2/", None)
        .into_iter()
        .filter(|s| *s == 500)
        .count();
    assert!(failed >= 2, "retried: {failed} calls");

    let refused = assign(&server, &client, &other_key, &[RETAIL, DISTRIBUTION], false).await;
    assert!(
        matches!(refused.err(), AppError::MetrcUnavailable(_)),
        "{}",
        refused.body
    );
    let during: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert_eq!(during, before, "a failed assignment changes nothing");
    assert_eq!(audit_count(&server).await, 1, "and audits nothing");

    let stale = revalidate(&server, &client, RETAIL).await;
    assert!(
        matches!(stale.err(), AppError::MetrcUnavailable(_)),
        "{}",
        stale.body
    );
    let during: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert_eq!(during, before, "the status stays Valid, untouched");
    assert!(
        started.elapsed() < PATIENCE,
        "three calls against a failing Metrc took {:?}",
        started.elapsed()
    );

    drop(fault);
    let back: FacilityRow = revalidate(&server, &client, RETAIL).await.ok();
    assert_eq!(back.key_status, KeyStatus::Valid);
    assert!(back.last_validated_at > before[0].last_validated_at);
    assert_eq!(
        back.key_fingerprint_prefix,
        before[0].key_fingerprint_prefix
    );
    // And the assignment that failed now goes through.
    let outcome: AssignOutcome =
        assign(&server, &client, &other_key, &[RETAIL, DISTRIBUTION], false)
            .await
            .ok();
    assert_eq!(outcome.added, vec![DISTRIBUTION.to_owned()]);
    assert_eq!(audit_count(&server).await, 2);
}

/// Validates `key` and how long it took, giving up (failing) after [`PATIENCE`].
async fn timed_validate(
    server: &TestServer,
    client: &reqwest::Client,
    key: &str,
) -> (Answer, Duration) {
    let started = Instant::now();
    let answer = tokio::time::timeout(PATIENCE, validate(server, client, key))
        .await
        .unwrap_or_else(|_| panic!("validation hung for over {PATIENCE:?}"));
    (answer, started.elapsed())
}

each_backend!(short_429_bursts_are_retried_and_every_cell_still_comes_in);
async fn short_429_bursts_are_retried_and_every_cell_still_comes_in(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let (_, key) = owner_key(&server, "Olivia Owner", &[RETAIL, CULTIVATION]).await;
    // The first two Metrc calls (the facilities call) and then two packages probes get 429.
    let _fault = server
        .sandbox()
        .fail_next("", StatusCode::TOO_MANY_REQUESTS, 2);
    let _fault = server
        .sandbox()
        .fail_next("/packages/", StatusCode::TOO_MANY_REQUESTS, 2);

    let (answer, took) = timed_validate(&server, &client, &key).await;
    let report: KeyValidation = answer.ok();
    assert_eq!(
        cells(reached(&report, RETAIL)),
        expected(RETAIL_NOT_APPLICABLE, &[])
    );
    assert_eq!(
        cells(reached(&report, CULTIVATION)),
        expected(CULTIVATION_NOT_APPLICABLE, &[])
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");

    // The 429s really were served, and each call was retried until it succeeded.
    let log = sandbox_requests(&server).await;
    assert_eq!(statuses(&log, "/facilities/v2/", None), vec![429, 429, 200]);
    let mut packages: Vec<u64> = [RETAIL, CULTIVATION]
        .iter()
        .flat_map(|l| statuses(&log, Section::Packages.probe_path(), Some(l)))
        .collect();
    packages.sort_unstable();
    assert_eq!(packages, vec![200, 200, 429, 429]);
}

each_backend!(persistent_429s_end_in_a_clear_error_not_a_hang);
async fn persistent_429s_end_in_a_clear_error_not_a_hang(backend: Backend) {
    // Two servers side by side (each with its own sandbox): the waits overlap.
    let everything = async {
        let server = TestServer::start(&backend).await;
        let client = admin(&server).await;
        let (_, key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
        let _fault = server
            .sandbox()
            .fail_next("", StatusCode::TOO_MANY_REQUESTS, 1000);
        let (answer, took) = timed_validate(&server, &client, &key).await;
        match answer.err() {
            AppError::MetrcUnavailable(reason) => {
                assert!(reason.contains("rate limit"), "{reason}");
            }
            other => panic!("expected MetrcUnavailable, got {other:?}"),
        }
        let log = sandbox_requests(&server).await;
        let tries = statuses(&log, "/facilities/v2/", None);
        assert!(
            tries.len() >= 2 && tries.iter().all(|s| *s == 429),
            "{tries:?}"
        );
        took
    };
    let one_section = async {
        let server = TestServer::start(&backend).await;
        let client = admin(&server).await;
        let (_, key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
        let _fault = server.sandbox().fail_next(
            Section::Sales.probe_path(),
            StatusCode::TOO_MANY_REQUESTS,
            1000,
        );
        let (answer, took) = timed_validate(&server, &client, &key).await;
        let report: KeyValidation = answer.ok();
        let mut got = cells(reached(&report, RETAIL));
        match got.remove("Sales") {
            Some(CellState::Error(reason)) => {
                assert!(reason.contains("rate limit"), "{reason}");
            }
            other => panic!("expected an Error cell for Sales, got {other:?}"),
        }
        let mut rest = expected(RETAIL_NOT_APPLICABLE, &[]);
        rest.remove("Sales");
        assert_eq!(got, rest, "every other cell is unaffected");
        took
    };
    let (a, b) = tokio::join!(everything, one_section);
    for took in [a, b] {
        assert!(took < Duration::from_secs(30), "took {took:?}");
    }
}

each_backend!(a_regenerated_key_stays_invalid_until_a_new_key_is_assigned);
async fn a_regenerated_key_stays_invalid_until_a_new_key_is_assigned(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let (id, key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    let _: AssignOutcome = assign(&server, &client, &key, &[RETAIL], false).await.ok();

    let new_key = regenerate_key(&server, id).await;
    let turned: FacilityRow = revalidate(&server, &client, RETAIL).await.ok();
    assert_eq!(turned.key_status, KeyStatus::Invalid);
    let log = sandbox_requests(&server).await;
    assert_eq!(
        statuses(&log, "/facilities/v2/", None).last(),
        Some(&401),
        "Metrc refused the old key"
    );

    // Metrc failing does not make the key look better (or different).
    let fault = server
        .sandbox()
        .fail_next("/facilities", StatusCode::INTERNAL_SERVER_ERROR, 1000);
    let down = revalidate(&server, &client, RETAIL).await;
    assert!(
        matches!(down.err(), AppError::MetrcUnavailable(_)),
        "{}",
        down.body
    );
    let rows: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert_eq!(row(&rows, RETAIL).key_status, KeyStatus::Invalid);

    // Metrc back: the old key is still refused, every time.
    drop(fault);
    for _ in 0..2 {
        let again: FacilityRow = revalidate(&server, &client, RETAIL).await.ok();
        assert_eq!(again.key_status, KeyStatus::Invalid);
    }
    let summary = facility_keys::revalidate_all(&server.state).await.unwrap();
    assert_eq!((summary.valid, summary.invalid, summary.failed), (0, 1, 0));
    let rows: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert_eq!(row(&rows, RETAIL).key_status, KeyStatus::Invalid);

    // The current key makes it valid again.
    let outcome: AssignOutcome = assign(&server, &client, &new_key, &[RETAIL], false)
        .await
        .ok();
    assert_eq!(outcome.facilities[0].key_status, KeyStatus::Valid);
    assert_ne!(
        outcome.facilities[0].key_fingerprint_prefix,
        turned.key_fingerprint_prefix
    );
    let still: FacilityRow = revalidate(&server, &client, RETAIL).await.ok();
    assert_eq!(still.key_status, KeyStatus::Valid);
}
