//! Sync with Metrc against the sandbox (in its production profile unless a test says otherwise),
//! on every backend: the first sync stores every record exactly once, whatever its age, in one
//! window per list where Metrc accepts it and in 24-hour windows where it does not (the field
//! cases of issue 12: `case_01`, `case_02`), a second one changes nothing but the cursors, changes in
//! Metrc come in on the next sync, a run cut off mid-way resumes from its cursors with no gaps and
//! no duplicates, a regenerated key pauses sync until a new key is set (then it resumes from the
//! cursors), Metrc failures fail with backoff and recover, a distribution license has no plant
//! lists; and the work-screen server functions: filters, paging, works-at limits, "Sync now".

use crate::support;

use app::error::AppError;
use app::ssr::entities::synced_records;
use app::ssr::queries::{facilities, sync_cursors, synced_records as records, user_facilities};
use app::ssr::sync::{self, schedule};
use app::types::auth::Role;
use app::types::facilities::FacilityRow;
use app::types::inventory::{PackageRow, Page, PlantRow, ReferenceLists, SyncState};
use app::types::keys::KeyStatus;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use metrc::sandbox::{SandboxConfig, Settings};
use metrc::{PackageAdjustment, PackageFinish, Resource};
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use secrecy::SecretString;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};
use support::facility_keys::{
    Answer, DISTRIBUTION, RETAIL, admin, assign, list, owner_key, regenerate_key, revalidate,
    sandbox_requests,
};
use support::{Backend, HasSandbox, TestServer};

/// A test server with the default settings: first syncs start at 2015-01-01, the sandbox is in
/// its production profile (any window accepted; unwindowed reads empty or recent only).
async fn start(backend: &Backend) -> TestServer {
    TestServer::start(backend).await
}

/// Changes the sandbox's settings (`PUT /sandbox/settings`, e.g. `{"max_window_hours": 24}`).
async fn sandbox_settings(server: &TestServer, settings: Value) -> Value {
    let response = reqwest::Client::new()
        .put(format!("{}/sandbox/settings", server.sandbox_url))
        .json(&settings)
        .send()
        .await
        .expect("sandbox admin API");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("settings")
}

/// Adds `count` active packages to `license` in the sandbox, last modified between `from` and
/// `to`; their labels.
async fn old_packages(
    server: &TestServer,
    license: &str,
    count: usize,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<String> {
    let response = reqwest::Client::new()
        .post(format!(
            "{}/sandbox/licenses/{license}/packages",
            server.sandbox_url
        ))
        .json(&json!({"count": count, "last_modified_from": from, "last_modified_to": to}))
        .send()
        .await
        .expect("sandbox admin API");
    assert!(response.status().is_success(), "{}", response.status());
    let added: Value = response.json().await.expect("labels");
    let labels: Vec<String> = added["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .map(|l| l.as_str().expect("label").to_owned())
        .collect();
    assert_eq!(labels.len(), count);
    labels
}

fn years(n: i64) -> chrono::Duration {
    chrono::Duration::days(365 * n)
}

/// Adds a license with `packages` active packages to the sandbox, and gives it a License Owner's
/// key through "Update Key": `(employee id, key)`.
pub(crate) async fn facility(
    server: &TestServer,
    license: &str,
    license_type: &str,
    packages: usize,
) -> (u64, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/sandbox/licenses", server.sandbox_url))
        .json(
            &json!({"number": license, "name": format!("{license} Farms"),
                      "license_type": license_type, "packages": packages}),
        )
        .send()
        .await
        .expect("sandbox admin API");
    assert!(response.status().is_success(), "{}", response.status());
    keyed(server, &[license]).await
}

/// A License Owner's key for `licenses`, set on them with "Update Key".
pub(crate) async fn keyed(server: &TestServer, licenses: &[&str]) -> (u64, String) {
    let (id, key) = owner_key(server, "Olive Owner", licenses).await;
    let client = admin(server).await;
    let _: Value = assign(server, &client, &key, licenses, false).await.ok();
    (id, key)
}

/// The distinct Metrc ids of one list as the sandbox has them now, read with the client.
async fn sandbox_ids(
    server: &TestServer,
    key: &str,
    license: &str,
    resource: Resource,
) -> HashSet<i64> {
    sandbox_records(server, key, license, resource)
        .await
        .into_keys()
        .collect()
}

/// Every stored record of a license: (list, Metrc id) → (JSON, last modified).
async fn stored(
    server: &TestServer,
    license: &str,
) -> BTreeMap<(String, i64), (String, Option<DateTime<Utc>>)> {
    synced_records::Entity::find()
        .filter(synced_records::Column::LicenseNumber.eq(license))
        .order_by_asc(synced_records::Column::Id)
        .all(&server.state.db)
        .await
        .expect("records")
        .into_iter()
        .map(|r| ((r.resource, r.metrc_id), (r.data, r.last_modified)))
        .collect()
}

/// Asserts that every list of the license holds as many records as the sandbox has now; returns
/// how many that is in all.
async fn every_list_as_in_sandbox(
    server: &TestServer,
    key: &str,
    license: &str,
    backend: &Backend,
) -> usize {
    let mut total = 0;
    for resource in schedule::RESOURCES {
        let expected = sandbox_ids(server, key, license, resource).await;
        let count = records::count(&server.state.db, license, schedule::name(resource))
            .await
            .expect("count");
        assert_eq!(
            usize::try_from(count).unwrap(),
            expected.len(),
            "{resource:?} on {backend:?}"
        );
        total += expected.len();
    }
    total
}

pub(crate) async fn facility_row(
    server: &TestServer,
    license: &str,
) -> app::ssr::entities::facilities::Model {
    facilities::find_by_license(&server.state.db, license)
        .await
        .expect("db")
        .expect("facility")
}

/// Syncs every list of the facility now (what "Sync now" asks the worker for).
async fn sync_now(server: &TestServer, license: &str) -> sync::RunReport {
    sync::sync_facility(&server.state, license, true)
        .await
        .expect("sync runs")
}

/// The Metrc calls made since `from` (an index into the sandbox's log).
pub(crate) async fn calls_since(server: &TestServer, from: usize) -> Vec<Value> {
    sandbox_requests(server)
        .await
        .into_iter()
        .skip(from)
        .collect()
}

each_backend!(the_first_sync_stores_every_record_once_and_a_second_changes_nothing_but_cursors);
async fn the_first_sync_stores_every_record_once_and_a_second_changes_nothing_but_cursors(
    backend: Backend,
) {
    let server = start(&backend).await;
    let license = "CCL-SYNC-1";
    let (_, key) = facility(&server, license, "Adult-Use Cultivation", 450).await;

    let first = sync::sync_facility(&server.state, license, false)
        .await
        .expect("first sync");
    assert_eq!(first.state, SyncState::Idle, "{first:?}");
    assert_eq!(
        first.resources,
        schedule::RESOURCES.to_vec(),
        "a cultivation license has every list"
    );
    assert_eq!(first.progress.windows_done, first.progress.windows_total);
    // Every list from 2015 in one window: the sandbox accepts any window, as production does.
    assert_eq!(first.progress.windows_total, 12);

    let total = every_list_as_in_sandbox(&server, &key, license, &backend).await;
    assert_eq!(
        records::count(&server.state.db, license, "PackagesActive")
            .await
            .unwrap(),
        450
    );
    let before = stored(&server, license).await;
    assert_eq!(before.len(), total, "no record stored twice");
    let row = facility_row(&server, license).await;
    assert_eq!(row.sync_state, SyncState::Idle);
    assert!(row.last_sync_at.is_some());
    assert_eq!(row.sync_message, None);
    let cursors = sync_cursors::for_license(&server.state.db, license)
        .await
        .unwrap();
    assert_eq!(cursors.len(), schedule::RESOURCES.len());

    // Nothing is due right after a sync.
    let idle = sync::sync_facility(&server.state, license, false)
        .await
        .unwrap();
    assert!(idle.resources.is_empty(), "{idle:?}");

    // A forced sync with nothing new in Metrc: the same records, the cursors moved on.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = sync_now(&server, license).await;
    assert_eq!(second.state, SyncState::Idle);
    assert_eq!(
        second.progress.windows_total, 12,
        "one window per list from its cursor"
    );
    assert_eq!(
        stored(&server, license).await,
        before,
        "nothing changed on {backend:?}"
    );
    let moved = sync_cursors::for_license(&server.state.db, license)
        .await
        .unwrap();
    for (list, at) in &cursors {
        assert!(moved[list] > *at, "{list} cursor moved on");
    }
}

each_backend!(a_sync_cut_off_mid_run_resumes_from_its_cursors_with_no_gaps_and_no_duplicates);
/// A run cut off mid-way (a crash or a stop between two windows: the run's future is dropped,
/// its open transaction rolled back) leaves each list's cursor at the end of a stored window; the
/// next run resumes from there and ends with every record once. Many windows make many places
/// to cut: a deployment that refuses windows over 24 hours, first syncs from 31 days back.
async fn a_sync_cut_off_mid_run_resumes_from_its_cursors_with_no_gaps_and_no_duplicates(
    backend: Backend,
) {
    let server = TestServer::start_with(&backend, |config| {
        config.sync.history_start = (Utc::now() - chrono::Duration::days(31)).date_naive();
    })
    .await;
    sandbox_settings(&server, json!({"max_window_hours": 24})).await;
    let license = "CCL-SYNC-CUT";
    let (_, key) = facility(&server, license, "Adult-Use Cultivation", 450).await;

    // At 200 ms a call, a list's 32 windows take over 6 s: cut the run off as soon as some
    // window has been stored (however slow the machine is), by dropping it.
    let slow = server.sandbox().slow_down(Duration::from_millis(200));
    let mut run = Box::pin(sync::sync_facility(&server.state, license, false));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        tokio::select! {
            finished = &mut run => panic!("the run ended before it was cut off: {finished:?}"),
            () = tokio::time::sleep(Duration::from_millis(20)) => {}
        }
        let partial = stored(&server, license).await.len();
        let cursors = sync_cursors::for_license(&server.state.db, license)
            .await
            .unwrap();
        if partial > 0 && !cursors.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no window stored in 60 s"
        );
    }
    drop(run);
    drop(slow);
    let partial = stored(&server, license).await.len();
    let cursors = sync_cursors::for_license(&server.state.db, license)
        .await
        .unwrap();

    // The cut-off run gives its `sync:` lease back as soon as the runtime gets to it (a server
    // that died would leave it to expire); the next run (what any server does then) resumes from
    // those cursors.
    support::eventually(
        "the cut-off run's lease is given back",
        Duration::from_secs(10),
        || async {
            let live = app::ssr::queries::leases::live(&server.state.db, "sync:", Utc::now())
                .await
                .expect("leases");
            if live.is_empty() {
                Ok(())
            } else {
                Err(format!("{live:?}"))
            }
        },
    )
    .await;
    let resumed = sync::sync_facility(&server.state, license, false)
        .await
        .expect("resumed sync");
    assert_eq!(resumed.state, SyncState::Idle, "{resumed:?}");
    let total = every_list_as_in_sandbox(&server, &key, license, &backend).await;
    assert!(
        partial < total,
        "the cut-off run stored only part ({partial} of {total})"
    );
    assert_eq!(stored(&server, license).await.len(), total);
    let after = sync_cursors::for_license(&server.state.db, license)
        .await
        .unwrap();
    for (list, at) in &cursors {
        assert!(after[list] >= *at, "{list} cursor never goes back");
    }
    assert_eq!(
        facility_row(&server, license).await.sync_state,
        SyncState::Idle
    );
}

each_backend!(
    changes_in_metrc_come_in_on_the_next_sync_and_finished_packages_leave_the_active_list
);
async fn changes_in_metrc_come_in_on_the_next_sync_and_finished_packages_leave_the_active_list(
    backend: Backend,
) {
    let server = start(&backend).await;
    let license = "CCL-SYNC-2";
    let (_, key) = facility(&server, license, "Adult-Use Cultivation", 60).await;
    assert_eq!(sync_now(&server, license).await.state, SyncState::Idle);

    let all = synced_records::Entity::find()
        .filter(synced_records::Column::LicenseNumber.eq(license))
        .filter(synced_records::Column::Resource.eq("PackagesActive"))
        .order_by_asc(synced_records::Column::MetrcId)
        .all(&server.state.db)
        .await
        .unwrap();
    let (adjusted, finished) = (&all[0], &all[1]);
    let label = adjusted.label.clone().unwrap();
    let secret = SecretString::from(key.clone());
    let today = Utc::now().date_naive();
    server
        .state
        .metrc
        .first()
        .adjust_packages(
            &secret,
            license,
            &[PackageAdjustment {
                label: label.clone(),
                quantity: 1.25,
                unit_of_measure: adjusted.unit.clone().unwrap(),
                adjustment_reason: "Drying".into(),
                adjustment_date: today,
                reason_note: None,
            }],
        )
        .await
        .expect("adjusted in Metrc");
    server
        .state
        .metrc
        .first()
        .finish_packages(
            &secret,
            license,
            &[PackageFinish {
                label: finished.label.clone().unwrap(),
                actual_date: today,
            }],
        )
        .await
        .expect("finished in Metrc");
    let in_metrc: Value = reqwest::get(format!(
        "{}/sandbox/licenses/{license}/packages/{label}",
        server.sandbox_url
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let quantity = in_metrc["Quantity"].as_f64().unwrap();
    assert!((quantity - (adjusted.quantity.unwrap() + 1.25)).abs() < 1e-9);

    let report = sync_now(&server, license).await;
    assert_eq!(report.state, SyncState::Idle);
    let after = records::find(
        &server.state.db,
        license,
        "PackagesActive",
        adjusted.metrc_id,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(after.quantity, Some(quantity), "{backend:?}");
    assert!(after.last_modified > adjusted.last_modified);
    assert!(
        records::find(
            &server.state.db,
            license,
            "PackagesActive",
            finished.metrc_id
        )
        .await
        .unwrap()
        .is_none(),
        "a finished package leaves the active list"
    );
    assert!(
        records::find(
            &server.state.db,
            license,
            "PackagesInactive",
            finished.metrc_id
        )
        .await
        .unwrap()
        .is_some()
    );
    assert_eq!(
        records::count(&server.state.db, license, "PackagesActive")
            .await
            .unwrap(),
        59
    );
}

each_backend!(
    a_regenerated_key_pauses_sync_until_a_new_key_is_set_then_it_resumes_from_the_cursors
);
async fn a_regenerated_key_pauses_sync_until_a_new_key_is_set_then_it_resumes_from_the_cursors(
    backend: Backend,
) {
    let server = start(&backend).await;
    let license = "CCL-SYNC-3";
    let (owner, _) = facility(&server, license, "Adult-Use Cultivation", 40).await;
    let first = sync_now(&server, license).await;
    assert_eq!(first.state, SyncState::Idle);

    let new_key = regenerate_key(&server, owner).await;
    let report = sync_now(&server, license).await;
    assert_eq!(report.state, SyncState::Paused, "{report:?}");
    let row = facility_row(&server, license).await;
    assert_eq!(row.key_status, KeyStatus::Invalid, "the row turns red");
    assert_eq!(row.sync_state, SyncState::Paused);
    assert!(
        row.sync_message
            .as_deref()
            .unwrap_or_default()
            .contains("401")
    );

    // No more Metrc calls while the key is invalid; "Sync now" is refused.
    let seen = sandbox_requests(&server).await.len();
    assert_eq!(sync_now(&server, license).await.state, SyncState::Paused);
    assert!(calls_since(&server, seen).await.is_empty());
    let client = admin(&server).await;
    let refused = Answer::of(
        server
            .call(&client, "sync_now", &[("license", license)])
            .await,
    )
    .await;
    assert!(
        matches!(refused.err(), AppError::KeyRefused(_)),
        "{}",
        refused.body
    );
    let rows: Vec<FacilityRow> = list(&server, &client).await.ok();
    let shown = rows.iter().find(|r| r.license_number == license).unwrap();
    assert_eq!(shown.sync_state, SyncState::Paused);
    assert_eq!(shown.sync_state.label(), "Paused: key invalid");

    // Something changes in Metrc meanwhile; the new key is set; sync resumes from the
    // cursors (one short window per list, not 31 days) and picks the change up.
    let package = records::page(
        &server.state.db,
        &records::RecordQuery {
            resources: &["PackagesActive"],
            limit: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .0
    .remove(0);
    server
        .state
        .metrc
        .first()
        .adjust_packages(
            &SecretString::from(new_key.clone()),
            license,
            &[PackageAdjustment {
                label: package.label.clone().unwrap(),
                quantity: 2.0,
                unit_of_measure: package.unit.clone().unwrap(),
                adjustment_reason: "Drying".into(),
                adjustment_date: Utc::now().date_naive(),
                reason_note: None,
            }],
        )
        .await
        .unwrap();
    let _: Value = assign(&server, &client, &new_key, &[license], false)
        .await
        .ok();
    let resumed = sync::sync_facility(&server.state, license, false)
        .await
        .unwrap();
    assert_eq!(resumed.state, SyncState::Idle, "{resumed:?} on {backend:?}");
    assert_eq!(resumed.progress.windows_total, 12);
    let after = records::find(
        &server.state.db,
        license,
        "PackagesActive",
        package.metrc_id,
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(after.quantity, Some(package.quantity.unwrap() + 2.0));
    assert_eq!(
        facility_row(&server, license).await.key_status,
        KeyStatus::Valid
    );
}

each_backend!(metrc_failures_fail_with_backoff_keep_what_was_stored_and_recover);
async fn metrc_failures_fail_with_backoff_keep_what_was_stored_and_recover(backend: Backend) {
    let server = start(&backend).await;
    let license = "CCL-SYNC-4";
    let (_, key) = facility(&server, license, "Adult-Use Cultivation", 100).await;
    let fault = server.sandbox().fail_next(
        "/packages/v2/active",
        StatusCode::INTERNAL_SERVER_ERROR,
        10_000,
    );
    let failed = sync_now(&server, license).await;
    assert_eq!(failed.state, SyncState::Failed, "{failed:?}");
    let row = facility_row(&server, license).await;
    assert_eq!(row.sync_state, SyncState::Failed);
    assert_eq!(row.sync_failures, 1);
    assert!(row.sync_retry_at.is_some_and(|at| at > Utc::now()));
    assert!(
        row.sync_message
            .as_deref()
            .unwrap_or_default()
            .contains("500"),
        "{:?}",
        row.sync_message
    );
    assert_eq!(
        row.key_status,
        KeyStatus::Valid,
        "a Metrc failure says nothing about the key"
    );
    assert!(row.last_sync_at.is_none());
    // The lists read before the failure are stored, with their cursors.
    let cursors = sync_cursors::for_license(&server.state.db, license)
        .await
        .unwrap();
    assert!(cursors.contains_key("LocationsActive"));
    assert!(!cursors.contains_key("PackagesActive"));

    drop(fault);
    let recovered = sync_now(&server, license).await;
    assert_eq!(
        recovered.state,
        SyncState::Idle,
        "{recovered:?} on {backend:?}"
    );
    let row = facility_row(&server, license).await;
    assert_eq!((row.sync_failures, row.sync_retry_at), (0, None));
    let expected = sandbox_ids(&server, &key, license, Resource::PackagesActive).await;
    assert_eq!(
        usize::try_from(
            records::count(&server.state.db, license, "PackagesActive")
                .await
                .unwrap()
        )
        .unwrap(),
        expected.len()
    );
}

each_backend!(a_distribution_license_syncs_no_plant_lists);
async fn a_distribution_license_syncs_no_plant_lists(backend: Backend) {
    let server = start(&backend).await;
    keyed(&server, &[DISTRIBUTION]).await;
    let seen = sandbox_requests(&server).await.len();
    let report = sync_now(&server, DISTRIBUTION).await;
    assert_eq!(report.state, SyncState::Idle, "{report:?}");
    assert_eq!(report.message, None, "no list was refused");
    for plant in [
        Resource::PlantsVegetative,
        Resource::PlantsFlowering,
        Resource::PlantsInactive,
        Resource::PlantBatchesActive,
        Resource::HarvestsActive,
    ] {
        assert!(!report.resources.contains(&plant), "{plant:?}");
    }
    assert!(report.resources.contains(&Resource::PackagesActive));
    let calls = calls_since(&server, seen).await;
    assert!(!calls.is_empty());
    for call in &calls {
        let path = call["path"].as_str().unwrap_or_default();
        assert!(
            !["/plants/", "/plantbatches/", "/harvests/"]
                .iter()
                .any(|p| path.starts_with(p)),
            "{path} on {backend:?}"
        );
        assert_eq!(call["status"], 200, "{call}");
    }
    assert_eq!(
        records::count(&server.state.db, DISTRIBUTION, "PackagesActive")
            .await
            .unwrap(),
        20
    );
}

async fn list_packages(server: &TestServer, client: &reqwest::Client, filter: Value) -> Answer {
    let response = server
        .post(client, "/api/list_packages")
        .header("Accept", "application/json")
        .json(&json!({ "filter": filter }))
        .send()
        .await
        .expect("server function call");
    Answer::of(response).await
}

each_backend!(work_screens_filter_page_and_show_employees_only_their_facilities);
async fn work_screens_filter_page_and_show_employees_only_their_facilities(backend: Backend) {
    let server = start(&backend).await;
    let big = "CCL-SYNC-5";
    facility(&server, big, "Adult-Use Cultivation", 120).await;
    keyed(&server, &[RETAIL]).await;
    for license in [big, RETAIL] {
        assert_eq!(sync_now(&server, license).await.state, SyncState::Idle);
    }
    let client = admin(&server).await;

    // Paging: 50 a page, by license then label.
    let page: Page<PackageRow> =
        list_packages(&server, &client, json!({"license": big, "page": 0}))
            .await
            .ok();
    assert_eq!((page.total, page.rows.len(), page.page_size), (120, 50, 50));
    let last: Page<PackageRow> =
        list_packages(&server, &client, json!({"license": big, "page": 2}))
            .await
            .ok();
    assert_eq!(last.rows.len(), 20);
    assert!(page.rows.windows(2).all(|w| w[0].label <= w[1].label));
    let everything: Page<PackageRow> = list_packages(&server, &client, json!({"page": 0}))
        .await
        .ok();
    assert_eq!(everything.total, 140, "admins see every facility");

    // Filters match parts, whatever the case.
    let one = &page.rows[7];
    let part = one.label[one.label.len() - 6..].to_lowercase();
    let found: Page<PackageRow> =
        list_packages(&server, &client, json!({"label": part, "page": 0}))
            .await
            .ok();
    assert!(
        found.rows.iter().any(|r| r.metrc_id == one.metrc_id),
        "{backend:?}"
    );
    assert!(
        found
            .rows
            .iter()
            .all(|r| r.label.to_lowercase().contains(&part))
    );
    let item_part = one.item.split_whitespace().next().unwrap().to_uppercase();
    let by_item: Page<PackageRow> = list_packages(
        &server,
        &client,
        json!({"license": big, "item": item_part, "page": 0}),
    )
    .await
    .ok();
    assert!(by_item.total >= 1 && by_item.total <= 120);
    assert!(
        by_item
            .rows
            .iter()
            .all(|r| r.item.to_uppercase().contains(&item_part))
    );
    let location = one.location.clone().unwrap();
    let by_location: Page<PackageRow> = list_packages(
        &server,
        &client,
        json!({"location": location.to_lowercase(), "page": 0}),
    )
    .await
    .ok();
    assert!(by_location.total >= 1);
    assert!(by_location.rows.iter().all(|r| {
        r.location
            .as_deref()
            .unwrap_or_default()
            .to_lowercase()
            .contains(&location.to_lowercase())
    }));
    let nothing: Page<PackageRow> =
        list_packages(&server, &client, json!({"label": "%", "page": 0}))
            .await
            .ok();
    assert_eq!(nothing.total, 0, "% is a character, not a wildcard");

    let plants = server
        .post(&client, "/api/list_plants")
        .header("Accept", "application/json")
        .json(&json!({"filter": {"license": big, "page": 0}}))
        .send()
        .await
        .unwrap();
    let plants: Page<PlantRow> = Answer::of(plants).await.ok();
    let expected = records::count(&server.state.db, big, "PlantsVegetative")
        .await
        .unwrap()
        + records::count(&server.state.db, big, "PlantsFlowering")
            .await
            .unwrap();
    assert_eq!(plants.total, expected);
    assert!(
        plants
            .rows
            .iter()
            .all(|p| p.phase == "Vegetative" || p.phase == "Flowering")
    );

    // An employee who works at the retail license only.
    let email = "worker@example.test";
    let id = server
        .add_user(email, "worker-password-1", Role::Employee)
        .await;
    app::ssr::entities::users::ActiveModel {
        id: Set(id),
        all_facilities: Set(false),
        ..Default::default()
    }
    .update(&server.state.db)
    .await
    .unwrap();
    user_facilities::replace_for_user(&server.state.db, id, &[RETAIL.to_owned()])
        .await
        .unwrap();
    let worker = server.client();
    assert!(
        server
            .login(&worker, email, "worker-password-1")
            .await
            .status()
            .is_success()
    );
    let mine: Page<PackageRow> = list_packages(&server, &worker, json!({"page": 0}))
        .await
        .ok();
    assert_eq!(mine.total, 20);
    assert!(mine.rows.iter().all(|r| r.license_number == RETAIL));
    let other = list_packages(&server, &worker, json!({"license": big, "page": 0})).await;
    assert_eq!(other.err(), AppError::Forbidden);
    let facilities: Vec<app::types::inventory::MyFacility> =
        Answer::of(server.call(&worker, "my_facilities", &[]).await)
            .await
            .ok();
    assert_eq!(facilities.len(), 1);
    assert_eq!(facilities[0].license_number, RETAIL);
    let lists: ReferenceLists = Answer::of(
        server
            .call(&worker, "reference_lists", &[("license", RETAIL)])
            .await,
    )
    .await
    .ok();
    assert!(
        lists.adjust_reasons.iter().any(|r| r == "Drying"),
        "{lists:?}"
    );
    assert!(!lists.units.is_empty() && !lists.waste_reasons.is_empty());
    assert!(
        !lists.locations.is_empty(),
        "locations come from synced data"
    );
    let calls = sandbox_requests(&server).await.len();
    let again: ReferenceLists = Answer::of(
        server
            .call(&worker, "reference_lists", &[("license", RETAIL)])
            .await,
    )
    .await
    .ok();
    assert_eq!(again, lists);
    assert_eq!(
        sandbox_requests(&server).await.len(),
        calls,
        "cached: no Metrc call"
    );
    let denied = Answer::of(
        server
            .call(&worker, "reference_lists", &[("license", big)])
            .await,
    )
    .await;
    assert_eq!(denied.err(), AppError::Forbidden);
    let denied = Answer::of(
        server
            .call(&worker, "sync_now", &[("license", RETAIL)])
            .await,
    )
    .await;
    assert_eq!(
        denied.err(),
        AppError::Forbidden,
        "only admins start a sync"
    );
    let anonymous = list_packages(&server, &server.client(), json!({"page": 0})).await;
    assert_eq!(anonymous.err(), AppError::Unauthenticated);

    // "Sync now" by an admin: the worker runs it (the schedule is off in tests) and the
    // facility list shows it done.
    let before = facility_row(&server, RETAIL).await.last_sync_at;
    let _: () = Answer::of(
        server
            .call(&client, "sync_now", &[("license", RETAIL)])
            .await,
    )
    .await
    .ok();
    let mut shown = None;
    for _ in 0..100 {
        let rows: Vec<FacilityRow> = list(&server, &client).await.ok();
        let row = rows
            .into_iter()
            .find(|r| r.license_number == RETAIL)
            .unwrap();
        if row.sync_state == SyncState::Idle && row.last_sync_at > before {
            shown = Some(row);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let shown = shown.expect("Sync now ran");
    let progress = shown.sync_progress.unwrap();
    assert_eq!(progress.windows_done, progress.windows_total);
    let unknown = Answer::of(
        server
            .call(&client, "sync_now", &[("license", "NOPE-1")])
            .await,
    )
    .await;
    assert_eq!(unknown.err(), AppError::NotFound);
}

each_backend!(the_scheduled_worker_syncs_new_facilities_and_pauses_invalid_keys);
async fn the_scheduled_worker_syncs_new_facilities_and_pauses_invalid_keys(backend: Backend) {
    let server = TestServer::start_with(&backend, |config| config.sync.scheduled = true).await;
    let (owner, _) = keyed(&server, &[RETAIL]).await;
    // The worker looks every 30 s; wake it rather than wait.
    server.state.sync.wake();
    let client = admin(&server).await;
    let row_of = |rows: Vec<FacilityRow>| {
        rows.into_iter()
            .find(|r| r.license_number == RETAIL)
            .unwrap()
    };
    let mut synced = false;
    for _ in 0..150 {
        let row = row_of(list(&server, &client).await.ok());
        if row.sync_state == SyncState::Idle {
            synced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(synced, "the worker synced the new facility on {backend:?}");
    assert_eq!(
        records::count(&server.state.db, RETAIL, "PackagesActive")
            .await
            .unwrap(),
        20
    );

    regenerate_key(&server, owner).await;
    let _: FacilityRow = revalidate(&server, &client, RETAIL).await.ok();
    server.state.sync.wake();
    let mut paused = false;
    for _ in 0..50 {
        let row = row_of(list(&server, &client).await.ok());
        if row.sync_state == SyncState::Paused {
            paused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(paused, "an invalid key pauses the facility on {backend:?}");
}

/// Every record of one list as the sandbox sends it now, by Metrc id.
async fn sandbox_records(
    server: &TestServer,
    key: &str,
    license: &str,
    resource: Resource,
) -> BTreeMap<i64, Value> {
    let key = SecretString::from(key.to_owned());
    let to = Utc::now() + chrono::Duration::minutes(1);
    // From where the first sync starts (2015 unless the test says otherwise).
    let from = server
        .state
        .config
        .sync
        .history_start
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let pages: Vec<_> = server
        .state
        .metrc
        .first()
        .walk::<Value>(&key, license, resource, from, to)
        .try_collect()
        .await
        .expect("sandbox walk");
    pages
        .into_iter()
        .flat_map(|p| p.records)
        .filter_map(|r| Some((r["Id"].as_i64()?, r)))
        .collect()
}

each_backend!(case_04_every_record_is_stored_as_metrc_sent_it_and_plant_batches_keep_their_count);
async fn case_04_every_record_is_stored_as_metrc_sent_it_and_plant_batches_keep_their_count(
    backend: Backend,
) {
    let server = start(&backend).await;
    let license = "CCL-SYNC-4";
    let (_, key) = facility(&server, license, "Adult-Use Cultivation", 5).await;
    let report = sync_now(&server, license).await;
    assert_eq!(report.state, SyncState::Idle, "{report:?}");
    let mut batches = 0;
    for resource in schedule::RESOURCES {
        for (id, sent) in sandbox_records(&server, &key, license, resource).await {
            let row = records::find(&server.state.db, license, schedule::name(resource), id)
                .await
                .expect("db")
                .unwrap_or_else(|| panic!("{resource:?} {id} stored"));
            let data: Value = serde_json::from_str(&row.data).expect("JSON");
            assert_eq!(data, sent, "{resource:?} {id}: stored exactly as sent");
            if resource == Resource::PlantBatchesActive {
                // The sandbox speaks v2 only: the count is `UntrackedCount`, never `Count`.
                assert!(
                    sent.get("Count").is_none() && sent.get("Type").is_none(),
                    "{sent}"
                );
                assert_eq!(row.quantity, sent["UntrackedCount"].as_f64(), "{sent}");
                assert!(row.quantity.is_some());
                batches += 1;
            }
        }
    }
    assert!(batches > 0, "the cultivation license has plant batches");
}

/// Every package of `license` the Packages screen lists (its server function, page by page):
/// label → row.
async fn packages_screen(
    server: &TestServer,
    client: &reqwest::Client,
    license: &str,
) -> BTreeMap<String, PackageRow> {
    let mut rows = BTreeMap::new();
    for page in 0.. {
        let got: Page<PackageRow> =
            list_packages(server, client, json!({"license": license, "page": page}))
                .await
                .ok();
        let last = got.rows.len() < got.page_size as usize;
        rows.extend(got.rows.into_iter().map(|r| (r.label.clone(), r)));
        if last {
            assert_eq!(rows.len() as u64, got.total, "every page read once");
            break;
        }
    }
    rows
}

each_backend!(case_01_items_locations_and_strains_read_without_a_window_come_back_empty);
/// Field case 01: v2 production answers `/items/v2/active` (and locations, strains) read
/// without a `lastModified` window with an empty page. The first sync must not trust such a
/// read: every item, location and strain is stored, and the work forms offer the locations.
async fn case_01_items_locations_and_strains_read_without_a_window_come_back_empty(
    backend: Backend,
) {
    let server = start(&backend).await;
    let license = "C10-CASE-01";
    let (_, key) = facility(&server, license, "Retail", 20).await;
    // The sandbox answers as the field case says production does.
    let page: Value = reqwest::Client::new()
        .get(format!(
            "{}/items/v2/active?licenseNumber={license}&pageNumber=1&pageSize=20",
            server.sandbox_url
        ))
        .basic_auth(support::VENDOR_KEY, Some(&key))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["Data"], json!([]), "{page}");
    assert_eq!(page["TotalPages"], 0);

    let started = Utc::now();
    let report = sync::sync_facility(&server.state, license, false)
        .await
        .expect("first sync");
    assert_eq!(report.state, SyncState::Idle, "{report:?}");
    for resource in [
        Resource::ItemsActive,
        Resource::LocationsActive,
        Resource::StrainsActive,
    ] {
        let expected = sandbox_ids(&server, &key, license, resource).await;
        assert!(!expected.is_empty(), "{resource:?}");
        let stored = records::count(&server.state.db, license, schedule::name(resource))
            .await
            .unwrap();
        assert_eq!(
            usize::try_from(stored).unwrap(),
            expected.len(),
            "{resource:?} on {backend:?}"
        );
    }
    // v2 items carry no LastModified: stored all the same, with none.
    let items = stored(&server, license).await;
    assert!(
        items
            .iter()
            .any(|((list, _), (data, at))| list == "ItemsActive"
                && at.is_none()
                && !data.contains("LastModified"))
    );
    let client = admin(&server).await;
    let lists: ReferenceLists = Answer::of(
        server
            .call(&client, "reference_lists", &[("license", license)])
            .await,
    )
    .await
    .ok();
    assert_eq!(lists.locations.len(), 5, "{lists:?}");
    // Each list's one window reached to the run's start: the next sync asks from there on.
    let cursors = sync_cursors::for_license(&server.state.db, license)
        .await
        .unwrap();
    for list in ["ItemsActive", "LocationsActive", "StrainsActive"] {
        assert!(cursors[list] >= started, "{list}: {:?}", cursors.get(list));
    }
}

each_backend!(case_02_an_active_package_untouched_for_115_days_reaches_the_packages_screen);
/// Field case 02: Metrc filters active lists by `LastModified`, so a package that sits untouched
/// in a vault is only in a window that reaches back to it. The first sync reaches back to the
/// history start (2015), not 30 days: the package is on the Packages screen, active, with its
/// quantity and location.
async fn case_02_an_active_package_untouched_for_115_days_reaches_the_packages_screen(
    backend: Backend,
) {
    let server = start(&backend).await;
    let license = "C11-CASE-02";
    facility(&server, license, "Distributor", 5).await;
    let at = Utc::now() - chrono::Duration::days(115);
    let label = old_packages(&server, license, 1, at, at).await.remove(0);
    let in_metrc = support::facility_keys::sandbox_package(&server, license, &label).await;

    let report = sync::sync_facility(&server.state, license, false)
        .await
        .expect("first sync");
    assert_eq!(report.state, SyncState::Idle, "{report:?}");
    let client = admin(&server).await;
    let shown = packages_screen(&server, &client, license).await;
    assert_eq!(shown.len(), 6, "{backend:?}");
    let row = shown.get(&label).expect("the old package is listed");
    assert_eq!(Some(row.quantity), in_metrc["Quantity"].as_f64());
    assert_eq!(row.location.as_deref(), in_metrc["LocationName"].as_str());
    assert_eq!(row.license_number, license);
}

/// A facility holding 2,000 active packages, 800 (40 %) of them last modified one to six years
/// ago: after the first sync all 2,000 are on the Packages screen. Returns the run's report and
/// the Metrc calls it made.
async fn first_sync_of_2000_packages(
    server: &TestServer,
    license: &str,
) -> (sync::RunReport, Vec<Value>) {
    facility(server, license, "Distributor", 1_200).await;
    let now = Utc::now();
    let old = old_packages(server, license, 800, now - years(6), now - years(1)).await;
    let seen = sandbox_requests(server).await.len();
    let started = Instant::now();
    let report = sync::sync_facility(&server.state, license, false)
        .await
        .expect("first sync");
    let elapsed = started.elapsed();
    assert_eq!(report.state, SyncState::Idle, "{report:?}");
    assert_eq!(report.progress.windows_done, report.progress.windows_total);
    let calls = calls_since(server, seen).await;
    eprintln!(
        "first sync of {license}: {:.1} s, {} Metrc calls, {} windows, {} records",
        elapsed.as_secs_f64(),
        calls.len(),
        report.progress.windows_total,
        report.progress.records
    );
    let client = admin(server).await;
    let shown = packages_screen(server, &client, license).await;
    assert_eq!(shown.len(), 2_000, "{:?}", server.backend);
    for label in &old {
        assert!(
            shown.contains_key(label),
            "{label} (1 to 6 years old) is listed"
        );
    }
    (report, calls)
}

each_backend!(the_first_sync_brings_every_active_package_whatever_its_age);
/// In the production profile (any window accepted): one window per list, from 2015.
async fn the_first_sync_brings_every_active_package_whatever_its_age(backend: Backend) {
    let server = start(&backend).await;
    let (report, calls) = first_sync_of_2000_packages(&server, "C11-FIRST-WIDE").await;
    assert_eq!(report.progress.windows_total, 7, "one window per list");
    assert!(calls.iter().all(|c| c["status"] == 200), "nothing refused");
    // 2,000 active packages in pages of 20, and a few pages of the other lists.
    assert!(calls.len() < 130, "{} calls", calls.len());
}

each_backend!(the_first_sync_brings_every_active_package_where_windows_are_capped_at_24_hours);
/// Where Metrc refuses windows over 24 hours: the client's first wide window is refused once,
/// then every list walks 24-hour windows from the history start (about 2,200 a list, nearly all
/// empty). To keep the test quick the history starts a week before the oldest package (six
/// years ago) rather than in 2015, and the rate limits are lifted (sandbox and client); the
/// benchmark (`bench_first_sync`) measures the walk from 2015 at Metrc's limits.
async fn the_first_sync_brings_every_active_package_where_windows_are_capped_at_24_hours(
    backend: Backend,
) {
    let server = TestServer::start_custom(
        &backend,
        |config| {
            config.sync.history_start =
                (Utc::now() - years(6) - chrono::Duration::days(7)).date_naive();
        },
        SandboxConfig {
            settings: Settings {
                rate_limits: None,
                ..Settings::production_24h()
            },
            ..SandboxConfig::default()
        },
        |client| {
            client.limits = metrc::Limits {
                per_license_rps: 100_000,
                per_license_concurrent: 100,
                per_vendor_rps: 100_000,
                per_vendor_concurrent: 100,
            };
        },
    )
    .await;
    let (report, calls) = first_sync_of_2000_packages(&server, "C11-FIRST-DAY").await;
    let refused: Vec<&Value> = calls.iter().filter(|c| c["status"] != 200).collect();
    assert_eq!(
        refused.len(),
        1,
        "one wide window refused, then remembered: {refused:?}"
    );
    assert_eq!(refused[0]["status"], 400);
    assert_eq!(
        server.state.metrc.first().window_width(),
        chrono::Duration::hours(24)
    );
    let days = (Utc::now().date_naive() - server.state.config.sync.history_start).num_days();
    assert!(
        i64::from(report.progress.windows_total) >= 7 * days,
        "{} windows over {days} days",
        report.progress.windows_total
    );
}
