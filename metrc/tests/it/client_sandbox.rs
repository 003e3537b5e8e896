//! Contract tests: the client against the Metrc sandbox over real HTTP on 127.0.0.1:0, driven
//! through the sandbox's admin API (docs/design.md §10). Run with `--features sandbox`.
#![cfg(feature = "sandbox")]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use metrc::sandbox::{Sandbox, SandboxConfig, Settings};
use metrc::{
    CellStatus, Client, ClientConfig, Error, Facility, Harvest, Item, Location, Package,
    PackageAdjustment, PackageFinish, PackageLocationChange, Plant, PlantBatch, PlantWaste,
    Resource, Section, Strain, Transfer, WindowPage,
};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use crate::client_common;
use client_common::quick_client_with;

const VENDOR: &str = "tracekeeper-vendor-key";
const CULTIVATION: &str = "CCL19-0004821";
const DISTRIBUTION: &str = "C11-0000349-LIC";
const RETAIL: &str = "C10-0000774-LIC";

/// A sandbox on a free port, and an HTTP client for its admin API.
struct Env {
    sandbox: Sandbox,
    url: Url,
    admin: reqwest::Client,
}

async fn env_with(config: SandboxConfig) -> Env {
    let sandbox = Sandbox::new(SandboxConfig {
        vendor_keys: vec![VENDOR.into()],
        ..config
    });
    let addr = sandbox.start().await.unwrap();
    Env {
        sandbox,
        url: Url::parse(&format!("http://{addr}")).unwrap(),
        admin: reqwest::Client::new(),
    }
}

async fn env() -> Env {
    env_with(SandboxConfig::default()).await
}

impl Env {
    /// A client with tiny retry delays (tests must not take long).
    fn client(&self) -> Client {
        self.client_with(|_| {})
    }

    fn client_with(&self, tweak: impl FnOnce(&mut ClientConfig)) -> Client {
        quick_client_with(self.url.clone(), VENDOR, Duration::from_secs(5), tweak)
    }

    fn owner(&self) -> SecretString {
        SecretString::from(self.sandbox.demo_owner().unwrap().api_key)
    }

    fn employee(&self, name: &str) -> (u64, String, SecretString) {
        let e = self
            .sandbox
            .employees()
            .into_iter()
            .find(|e| e.name == name)
            .unwrap();
        (
            e.id,
            e.employee_license_number,
            SecretString::from(e.api_key),
        )
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.admin.request(method, self.url.join(path).unwrap());
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.admin(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.admin(reqwest::Method::GET, path, None).await
    }

    /// A package of the cultivation license as Metrc would send it.
    async fn package(&self, label: &str) -> Value {
        self.get(&format!("/sandbox/licenses/{CULTIVATION}/packages/{label}"))
            .await
    }

    /// Metrc calls the sandbox saw under `path_prefix`, and how many answered `status`.
    fn calls(&self, path_prefix: &str) -> Vec<metrc::sandbox::LogEntry> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .collect()
    }

    fn count_status(&self, status: u16) -> usize {
        self.sandbox
            .requests()
            .iter()
            .filter(|r| r.status == status)
            .count()
    }
}

fn all_history() -> (DateTime<Utc>, DateTime<Utc>) {
    let now = Utc::now();
    (
        now - chrono::Duration::days(31),
        now + chrono::Duration::minutes(1),
    )
}

/// Every record of `resource`, deduplicated by `Id` (windows overlap).
async fn pull<T: serde::de::DeserializeOwned + Send + 'static>(
    client: &Client,
    key: &SecretString,
    license: &str,
    resource: Resource,
) -> Vec<WindowPage<T>> {
    let (from, to) = all_history();
    client
        .walk::<T>(key, license, resource, from, to)
        .try_collect()
        .await
        .unwrap()
}

fn package_ids(pages: &[WindowPage<Package>]) -> BTreeSet<i64> {
    pages
        .iter()
        .flat_map(|p| p.records.iter().filter_map(|r| r.id))
        .collect()
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

#[tokio::test]
async fn facilities_probes_employees_permissions_and_reference_lists() {
    let env = env().await;
    let client = env.client();
    let owner = env.owner();

    let facilities: Vec<Facility> = client.facilities(&owner).await.unwrap();
    assert_eq!(facilities.len(), 6);
    assert!(facilities.iter().all(|f| f.is_owner == Some(true)));
    let cultivation = facilities
        .iter()
        .find(|f| f.license_number() == CULTIVATION)
        .unwrap();
    assert!(cultivation.section_applies(Section::Plants));
    assert!(cultivation.facility_type.as_ref().unwrap().0.len() > 50);

    for section in Section::ALL {
        let result = client.probe(&owner, CULTIVATION, section).await;
        if cultivation.section_applies(section) {
            assert_eq!(result, Ok(()), "{section:?}");
        } else {
            assert!(
                matches!(result, Err(Error::NoAccess { .. })),
                "{section:?}: {result:?}"
            );
        }
    }

    let employees = client.employees(&owner, RETAIL).await.unwrap();
    assert!(employees.len() >= 2, "{employees:?}");
    let (_, priya_number, _) = env.employee("Priya Nair");
    let permissions = client
        .employee_permissions(&owner, RETAIL, &priya_number)
        .await
        .unwrap();
    assert!(
        permissions.contains(&"view packages".to_string()),
        "{permissions:?}"
    );
    assert!(permissions.iter().all(|p| *p == p.to_lowercase()));

    let reasons = client.adjust_reasons(&owner, CULTIVATION).await.unwrap();
    assert!(reasons.iter().any(|r| r.name.is_some()), "{reasons:?}");
    let methods = client.waste_methods(&owner, CULTIVATION).await.unwrap();
    assert!(!methods.is_empty());
    let waste_reasons = client.waste_reasons(&owner, CULTIVATION).await.unwrap();
    assert!(!waste_reasons.is_empty());
    let units = client.units_of_measure(&owner, CULTIVATION).await.unwrap();
    assert!(
        units.iter().any(|u| u.name.as_deref() == Some("Grams")),
        "{units:?}"
    );
}

#[tokio::test]
async fn every_list_walks_in_24_hour_windows_where_wider_ones_are_refused() {
    let env = env_with(SandboxConfig {
        settings: Settings::production_24h(),
        ..SandboxConfig::default()
    })
    .await;
    let client = env.client();
    let owner = env.owner();
    for resource in Resource::ALL {
        let license =
            if resource == Resource::SalesReceiptsActive || resource == Resource::PatientsActive {
                RETAIL
            } else if resource == Resource::ProcessingActive {
                "CDPH-10003156"
            } else {
                CULTIVATION
            };
        let pages: Vec<WindowPage<Value>> = pull(&client, &owner, license, resource).await;
        assert!(pages.len() >= 32, "{resource:?}: {} pages", pages.len());
        assert!(
            pages
                .iter()
                .all(|p| p.window_end - p.window_start <= chrono::Duration::hours(24))
        );
        assert_eq!(
            pages.last().unwrap().window_index + 1,
            pages[0].window_count
        );
    }
    let packages = package_ids(&pull(&client, &owner, CULTIVATION, Resource::PackagesActive).await);
    assert_eq!(
        packages.len(),
        20,
        "the demo license has 20 active packages"
    );
    let plants: Vec<WindowPage<Plant>> =
        pull(&client, &owner, CULTIVATION, Resource::PlantsVegetative).await;
    assert!(plants.iter().any(|p| !p.records.is_empty()));
    // The first walk's first, wide window was refused; the 24-hour width learnt then served
    // every later walk, and every client for this base URL.
    assert_eq!(env.count_status(400), 1);
    assert_eq!(client.window_width(), chrono::Duration::hours(24));
    assert_eq!(env.client().window_width(), chrono::Duration::hours(24));
}

#[tokio::test]
async fn a_quiet_license_whole_history_takes_a_handful_of_calls_where_wide_windows_are_accepted() {
    let env = env().await;
    env.post(
        "/sandbox/licenses",
        json!({"number": "C11-QUIET", "name": "Quiet", "license_type": "Distributor",
               "packages": 30, "history_days": 3650}),
    )
    .await;
    env.post(
        "/sandbox/employees",
        json!({"name": "Quinn", "owner_of": ["C11-QUIET"], "permissions": {"C11-QUIET": ["Packages", "Items", "Locations"]}}),
    )
    .await;
    let (_, _, key) = env.employee("Quinn");
    let client = env.client();
    let from = Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).unwrap();
    let to = Utc::now() + chrono::Duration::minutes(1);
    let mut records = 0;
    for resource in [
        Resource::LocationsActive,
        Resource::ItemsActive,
        Resource::PackagesActive,
    ] {
        let pages: Vec<WindowPage<Value>> = client
            .walk(&key, "C11-QUIET", resource, from, to)
            .try_collect()
            .await
            .unwrap();
        assert!(
            pages
                .iter()
                .all(|p| p.window_count == 1 && p.window_start == from)
        );
        records += pages.iter().map(|p| p.records.len()).sum::<usize>();
    }
    assert_eq!(records, 5 + 16 + 30, "locations, items, packages");
    // One call per list and page: 1 + 1 + 2, nothing refused, nothing read without a window.
    let calls = env.sandbox.requests();
    let walked: Vec<_> = calls
        .iter()
        .filter(|c| c.license.as_deref() == Some("C11-QUIET"))
        .collect();
    assert_eq!(walked.len(), 4, "{walked:?}");
    assert!(walked.iter().all(|c| c.status == 200));
    assert_eq!(client.window_width(), metrc::WIDEST_WINDOW);
}

#[tokio::test]
async fn a_refused_window_is_read_again_narrower_with_no_gap() {
    // A deployment that states no limit: the client steps down 365, 31, 7 days, 1 day.
    let env = env_with(SandboxConfig {
        settings: Settings {
            max_window: Some(std::time::Duration::from_hours(72)),
            ..Settings::production()
        },
        ..SandboxConfig::default()
    })
    .await;
    let client = env.client();
    let owner = env.owner();
    let (from, to) = all_history();
    let pages: Vec<WindowPage<Package>> = client
        .walk(&owner, CULTIVATION, Resource::PackagesActive, from, to)
        .try_collect()
        .await
        .unwrap();
    // "must not exceed 72 hours": straight to 3 days.
    assert_eq!(client.window_width(), chrono::Duration::days(3));
    assert_eq!(env.count_status(400), 1);
    assert_eq!(package_ids(&pages).len(), 20);
    let mut windows: Vec<(DateTime<Utc>, DateTime<Utc>)> = pages
        .iter()
        .map(|p| (p.window_start, p.window_end))
        .collect();
    windows.dedup();
    assert_eq!(windows[0].0, from);
    assert_eq!(windows.last().unwrap().1, to);
    for pair in windows.windows(2) {
        assert_eq!(
            pair[1].0,
            pair[0].1 - chrono::Duration::minutes(1),
            "no gap"
        );
    }
    assert!(
        windows
            .iter()
            .all(|(a, b)| *b - *a <= chrono::Duration::days(3))
    );
    let last = pages.last().unwrap();
    assert_eq!(last.window_index + 1, last.window_count);
    assert_eq!(last.window_count, windows.len());
}

/// Every record of `resource` at `license`, typed.
async fn records<T: serde::de::DeserializeOwned + Send + 'static>(
    client: &Client,
    key: &SecretString,
    license: &str,
    resource: Resource,
) -> Vec<T> {
    pull::<T>(client, key, license, resource)
        .await
        .into_iter()
        .flat_map(|p| p.records)
        .collect()
}

/// The sandbox sends Metrc's v2 shapes only (field case-04), and every synced record type reads
/// them by its v2 names: a decoder that knew only v1's names (`Count`, `Type`) fails here.
#[tokio::test]
async fn every_synced_record_type_reads_the_sandboxs_v2_shapes() {
    let env = env().await;
    let client = env.client();
    let owner = env.owner();
    let batches: Vec<PlantBatch> =
        records(&client, &owner, CULTIVATION, Resource::PlantBatchesActive).await;
    assert!(!batches.is_empty());
    for b in &batches {
        assert!(b.count.is_some() && b.r#type.is_some(), "{:?}", b.raw);
        assert!(b.tracked_count.is_some() && b.location_name.is_some());
        for v1_only in ["Count", "Type"] {
            assert!(
                !b.raw.contains_key(v1_only),
                "v1's {v1_only} sent: {:?}",
                b.raw
            );
        }
    }
    let packages: Vec<Package> =
        records(&client, &owner, CULTIVATION, Resource::PackagesActive).await;
    assert!(packages.iter().all(|p| p.id.is_some()
        && p.label.is_some()
        && p.quantity.is_some()
        && p.location_name.is_some()
        && p.packaged_date.is_some()
        && p.last_modified.is_some_and(|t| t.has_offset())
        && p.item.as_ref().is_some_and(|i| i.name.is_some())));
    let plants: Vec<Plant> =
        records(&client, &owner, CULTIVATION, Resource::PlantsVegetative).await;
    assert!(!plants.is_empty());
    assert!(plants.iter().all(|p| p.label.is_some()
        && p.plant_batch_name.is_some()
        && p.location_name.is_some()
        && p.planted_date.is_some()
        && p.last_modified.is_some()));
    let harvests: Vec<Harvest> =
        records(&client, &owner, CULTIVATION, Resource::HarvestsActive).await;
    assert!(harvests.iter().all(|h| h.name.is_some()
        && h.drying_location_name.is_some()
        && h.current_weight.is_some()
        && h.harvest_start_date.is_some()));
    let items: Vec<Item> = records(&client, &owner, CULTIVATION, Resource::ItemsActive).await;
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|i| i.name.is_some() && i.product_category_name.is_some())
    );
    let locations: Vec<Location> =
        records(&client, &owner, CULTIVATION, Resource::LocationsActive).await;
    assert!(!locations.is_empty());
    assert!(
        locations
            .iter()
            .all(|l| l.name.is_some() && l.location_type_name.is_some())
    );
    let strains: Vec<Strain> = records(&client, &owner, CULTIVATION, Resource::StrainsActive).await;
    assert!(!strains.is_empty());
    assert!(
        strains
            .iter()
            .all(|s| s.name.is_some() && s.indica_percentage.is_some())
    );
    let transfers: Vec<Transfer> =
        records(&client, &owner, CULTIVATION, Resource::TransfersIncoming).await;
    assert!(transfers.iter().all(|t| t.manifest_number.is_some()
        && t.package_count.is_some()
        && t.created_date_time.is_some()));
    let employees = client.employees(&owner, CULTIVATION).await.unwrap();
    assert!(employees.iter().all(|e| {
        e.full_name.is_some()
            && e.license
                .as_ref()
                .is_some_and(|l| l.number.is_some() && l.start_date.is_some())
    }));
    let facilities = client.facilities(&owner).await.unwrap();
    assert!(facilities.iter().all(
        |f| f.license.as_ref().is_some_and(|l| l.start_date.is_some()) && f.hire_date.is_some()
    ));

    // A single package by label reads like a list's record, and is stored as sent.
    let label = packages[0].label.clone().unwrap();
    let one = client
        .package_by_label(&owner, CULTIVATION, &label)
        .await
        .unwrap()
        .expect("found");
    assert_eq!(one.id, packages[0].id);
    assert_eq!(
        one.raw.keys().collect::<Vec<_>>(),
        packages[0].raw.keys().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn paging_across_many_pages_in_one_long_window_matches_daily_windows() {
    let env = env_with(SandboxConfig {
        settings: Settings {
            max_window: None,
            ..Settings::production()
        },
        ..SandboxConfig::default()
    })
    .await;
    env.post(
        "/sandbox/licenses",
        json!({"number": "CCL-PAGES", "name": "Pages", "license_type": "Cultivation", "packages": 1000}),
    )
    .await;
    env.post(
        "/sandbox/employees",
        json!({"name": "Pat", "owner_of": ["CCL-PAGES"], "permissions": {"CCL-PAGES": ["Packages"]}}),
    )
    .await;
    let (_, _, key) = env.employee("Pat");
    let long = env.client_with(|c| c.window = chrono::Duration::days(40));
    let pages = pull(&long, &key, "CCL-PAGES", Resource::PackagesActive).await;
    assert_eq!(pages[0].window_count, 1);
    assert_eq!(pages.len(), 50, "1000 packages in pages of 20");
    assert!(
        pages
            .iter()
            .enumerate()
            .all(|(i, p)| p.page == u32::try_from(i).unwrap() + 1 && p.total_pages == 50)
    );
    assert!(
        pages[..49]
            .iter()
            .all(|p| !p.window_complete && p.records.len() == 20)
    );
    assert!(pages[49].window_complete);
    let in_one = package_ids(&pages);
    assert_eq!(in_one.len(), 1000);

    let daily = pull(
        &env.client_with(|c| c.window = chrono::Duration::hours(24)),
        &key,
        "CCL-PAGES",
        Resource::PackagesActive,
    )
    .await;
    assert!(daily[0].window_count >= 31);
    assert_eq!(package_ids(&daily), in_one);
    let calls = env.calls("/packages/v2/active");
    assert!(
        calls
            .iter()
            .all(|c| c.license.as_deref() == Some("CCL-PAGES") && c.status == 200)
    );
}

#[tokio::test]
async fn writes_are_recorded_and_rejections_carry_row_messages() {
    let env = env().await;
    let client = env.client();
    let owner = env.owner();
    let packages = pull::<Package>(&client, &owner, CULTIVATION, Resource::PackagesActive).await;
    let labels: Vec<(String, String)> = packages
        .iter()
        .flat_map(|p| &p.records)
        .map(|p| {
            (
                p.label.clone().unwrap(),
                p.unit_of_measure_name.clone().unwrap(),
            )
        })
        .collect();
    let (label, unit) = labels[0].clone();
    let before = env.package(&label).await;
    let reason = client
        .adjust_reasons(&owner, CULTIVATION)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.requires_note != Some(true))
        .and_then(|r| r.name)
        .unwrap();
    let adjusted = client
        .adjust_packages(
            &owner,
            CULTIVATION,
            &[PackageAdjustment {
                label: label.clone(),
                quantity: -1.0,
                unit_of_measure: unit,
                adjustment_reason: reason,
                adjustment_date: today(),
                reason_note: None,
            }],
        )
        .await
        .unwrap();
    assert_eq!(adjusted.ids.len(), 1);
    let after = env.package(&label).await;
    let quantity = |v: &Value| v["Quantity"].as_f64().unwrap();
    assert!(
        (quantity(&before) - 1.0 - quantity(&after)).abs() < 1e-9,
        "{before} {after}"
    );

    let locations = pull::<Location>(&client, &owner, CULTIVATION, Resource::LocationsActive).await;
    let location = locations
        .iter()
        .flat_map(|p| &p.records)
        .filter_map(|l| l.name.clone())
        .find(|n| Some(n.as_str()) != after["LocationName"].as_str())
        .unwrap();
    client
        .change_package_locations(
            &owner,
            CULTIVATION,
            &[PackageLocationChange {
                label: labels[1].0.clone(),
                location: location.clone(),
                sublocation: None,
                move_date: today(),
            }],
        )
        .await
        .unwrap();
    let moved = env.package(&labels[1].0).await;
    assert_eq!(moved["LocationName"], location.as_str());

    client
        .finish_packages(
            &owner,
            CULTIVATION,
            &[PackageFinish {
                label: labels[2].0.clone(),
                actual_date: today(),
            }],
        )
        .await
        .unwrap();
    let finished = env.package(&labels[2].0).await;
    assert_eq!(finished["IsFinished"], true, "{finished}");

    let plants = pull::<Plant>(&client, &owner, CULTIVATION, Resource::PlantsVegetative).await;
    let plant = plants
        .iter()
        .flat_map(|p| &p.records)
        .find_map(|p| p.label.clone())
        .unwrap();
    let method = client.waste_methods(&owner, CULTIVATION).await.unwrap()[0]
        .name
        .clone()
        .unwrap();
    let waste_reason = client
        .waste_reasons(&owner, CULTIVATION)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.requires_note != Some(true))
        .and_then(|r| r.name)
        .unwrap();
    let waste = PlantWaste {
        waste_method_name: method,
        mixed_material: "Soil".into(),
        waste_weight: 2.5,
        unit_of_measure_name: "Grams".into(),
        reason_name: waste_reason,
        note: Some("trim".into()),
        waste_date: today(),
        plant_labels: vec![plant.clone()],
    };
    let recorded = client
        .record_plant_waste(&owner, CULTIVATION, std::slice::from_ref(&waste))
        .await
        .unwrap();
    assert_eq!(recorded.ids.len(), 1);
    let stored = env
        .get(&format!("/sandbox/licenses/{CULTIVATION}/plant-waste"))
        .await;
    assert_eq!(stored[0]["plant_labels"], json!([plant]));

    // Rejected: Metrc's row messages, nothing recorded.
    let bad = PackageFinish {
        label: "1A4000000000000000009999".into(),
        actual_date: today(),
    };
    let good = PackageFinish {
        label: labels[3].0.clone(),
        actual_date: today(),
    };
    let Err(Error::Rejected { rows, .. }) = client
        .finish_packages(&owner, CULTIVATION, &[good.clone(), bad])
        .await
    else {
        panic!("expected a rejection");
    };
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].row, Some(1));
    assert!(
        rows[0].message.contains("1A4000000000000000009999"),
        "{rows:?}"
    );
    let untouched = env.package(&labels[3].0).await;
    assert_eq!(untouched["IsFinished"], false);

    // Too many rows: refused before sending.
    let calls = env.sandbox.requests().len();
    assert_eq!(
        client
            .finish_packages(&owner, CULTIVATION, &vec![good; 11])
            .await,
        Err(Error::TooManyRows { max: 10, got: 11 })
    );
    assert_eq!(env.sandbox.requests().len(), calls);

    // No permission to write.
    let (_, _, priya) = env.employee("Priya Nair");
    let denied = client
        .record_plant_waste(&priya, CULTIVATION, &[waste])
        .await
        .unwrap_err();
    assert!(
        matches!(denied, Error::NoAccess { status: 401, .. }),
        "{denied:?}"
    );
}

#[tokio::test]
async fn write_failures_say_whether_anything_was_recorded() {
    let env = env().await;
    // A timeout a busy machine's fault answers stay well within (300 ms was not, beside the
    // Playwright files), and a slow-down well past it.
    let client = env.client_with(|c| c.timeout = Duration::from_millis(1500));
    let owner = env.owner();
    let packages = pull::<Package>(&client, &owner, CULTIVATION, Resource::PackagesActive).await;
    let label = packages
        .iter()
        .flat_map(|p| &p.records)
        .find_map(|p| p.label.clone())
        .unwrap();
    let row = [PackageFinish {
        label: label.clone(),
        actual_date: today(),
    }];

    for (status, check) in [
        (
            500u16,
            (|e: &Error| matches!(e, Error::Server { status: 500, .. })) as fn(&Error) -> bool,
        ),
        (
            503,
            |e| matches!(e, Error::Server { status: 503, excerpt } if excerpt.contains("<html>")),
        ),
        (429, |e| matches!(e, Error::RateLimited { .. })),
    ] {
        let _fault = env.sandbox.fail_next(
            "/packages/v2/finish",
            StatusCode::from_u16(status).unwrap(),
            1,
        );
        let err = client
            .finish_packages(&owner, CULTIVATION, &row)
            .await
            .unwrap_err();
        assert!(check(&err), "{status}: {err:?}");
        assert!(err.write_not_recorded());
    }
    // Each went once: writes are never retried.
    assert_eq!(env.calls("/packages/v2/finish").len(), 3);

    let slow = env.sandbox.slow_down(Duration::from_millis(4000));
    let started = Instant::now();
    let err = client
        .finish_packages(&owner, CULTIVATION, &row)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown(_)), "{err:?}");
    assert!(!err.write_not_recorded() && !err.is_retryable());
    // One 1.5 s timeout, no second attempt, which would make it 3 s at least. (The sandbox
    // does not log a call whose client hung up, so the time is the witness here.)
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(2990), "{elapsed:?}");
    drop(slow);
    assert_no_key(&format!("{err:?}"), &owner);
}

fn assert_no_key(text: &str, key: &SecretString) {
    assert!(!text.contains(key.expose_secret()), "{text}");
    assert!(!text.contains(VENDOR), "{text}");
}

#[tokio::test]
async fn read_errors_after_retries_by_kind() {
    let env = env().await;
    let client = env.client_with(|c| c.timeout = Duration::from_millis(300));
    let owner = env.owner();

    // A transient 5xx and a 429 are retried away.
    let _fault = env
        .sandbox
        .fail_next("/items/", StatusCode::SERVICE_UNAVAILABLE, 1);
    let _fault = env
        .sandbox
        .fail_next("/items/", StatusCode::TOO_MANY_REQUESTS, 1);
    assert_eq!(
        client.probe(&owner, CULTIVATION, Section::Items).await,
        Ok(())
    );
    assert_eq!(env.calls("/items/").len(), 3);

    // Persistent failures end as typed errors after max_attempts (3) calls.
    let _fault = env
        .sandbox
        .fail_next("/strains/", StatusCode::INTERNAL_SERVER_ERROR, 3);
    let err = client
        .probe(&owner, CULTIVATION, Section::Strains)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server { status: 500, .. }), "{err:?}");
    assert_no_key(&err.to_string(), &owner);
    let _fault = env
        .sandbox
        .fail_next("/locations/", StatusCode::BAD_GATEWAY, 3);
    let err = client
        .probe(&owner, CULTIVATION, Section::Locations)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Server { status: 502, excerpt } if excerpt.contains("502")),
        "{err:?}"
    );
    let _fault = env
        .sandbox
        .fail_next("/harvests/", StatusCode::TOO_MANY_REQUESTS, 3);
    let err = client
        .probe(&owner, CULTIVATION, Section::Harvests)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    let _fault = env
        .sandbox
        .fail_next("/transfers/", StatusCode::FORBIDDEN, 1);
    assert_eq!(
        client.probe(&owner, CULTIVATION, Section::Transfers).await,
        Err(Error::NoAccess {
            license: CULTIVATION.into(),
            status: 403
        })
    );
    let _fault = env
        .sandbox
        .fail_next("/packages/", StatusCode::NOT_FOUND, 1);
    let err = client
        .probe(&owner, CULTIVATION, Section::Packages)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedStatus { status: 404, .. }),
        "{err:?}"
    );

    // Timeouts are retried, then reported.
    let slow = env.sandbox.slow_down(Duration::from_millis(1000));
    let started = Instant::now();
    assert_eq!(
        client.probe(&owner, CULTIVATION, Section::Employees).await,
        Err(Error::Timeout)
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    drop(slow);

    // A regenerated key: the facilities call says the key is invalid; other calls say no access.
    let (id, _, sam) = env.employee("Sam Ortiz");
    assert!(client.facilities(&sam).await.is_ok());
    env.post(
        &format!("/sandbox/employees/{id}/regenerate-key"),
        json!({}),
    )
    .await;
    assert_eq!(client.facilities(&sam).await, Err(Error::KeyInvalid));
    assert!(matches!(
        client.probe(&sam, CULTIVATION, Section::Packages).await,
        Err(Error::NoAccess { status: 401, .. })
    ));
    // A wrong vendor key is refused too.
    let mut cfg = ClientConfig::new(env.url.clone(), SecretString::from("not-our-vendor"));
    cfg.retry.max_attempts = 1;
    let stranger = Client::new(cfg).unwrap();
    assert_eq!(stranger.facilities(&owner).await, Err(Error::KeyInvalid));
}

#[tokio::test]
async fn validate_key_owner_partial_distribution_regenerated_and_failing() {
    let env = env().await;
    let client = env.client();

    let owner = client.validate_key(&env.owner()).await.unwrap();
    assert_eq!(owner.facilities.len(), 6);
    for f in &owner.facilities {
        assert!(f.is_owner, "{}", f.license_number);
        assert_eq!(f.cells.len(), Section::ALL.len());
        assert!(
            f.cells
                .iter()
                .all(|(_, s)| matches!(s, CellStatus::Granted | CellStatus::NotApplicable)),
            "{f:?}"
        );
    }
    let distribution = owner.facility(DISTRIBUTION).unwrap();
    assert_eq!(
        distribution.cell(Section::Plants),
        Some(&CellStatus::NotApplicable)
    );
    assert_eq!(
        distribution.cell(Section::Packages),
        Some(&CellStatus::Granted)
    );
    assert_eq!(
        owner.facility(CULTIVATION).unwrap().cell(Section::Plants),
        Some(&CellStatus::Granted)
    );

    // Marcus: View Packages at manufacturing, Packages + Transfers at distribution.
    let (_, marcus_number, marcus) = env.employee("Marcus Bell");
    let partial = client.validate_key(&marcus).await.unwrap();
    assert_eq!(partial.facilities.len(), 2);
    let dist = partial.facility(DISTRIBUTION).unwrap();
    assert!(!dist.is_owner);
    assert_eq!(
        dist.employee_license_number.as_deref(),
        Some(marcus_number.as_str())
    );
    assert_eq!(dist.cell(Section::Packages), Some(&CellStatus::Granted));
    assert_eq!(dist.cell(Section::Transfers), Some(&CellStatus::Granted));
    assert_eq!(dist.cell(Section::Items), Some(&CellStatus::Denied));
    assert_eq!(dist.cell(Section::Plants), Some(&CellStatus::NotApplicable));

    // The stream's first event is the facilities; then one event per cell; its fold is the report.
    let events: Vec<_> = client
        .validate_key_stream(&marcus)
        .try_collect()
        .await
        .unwrap();
    assert!(matches!(&events[0], metrc::ValidationEvent::Facilities(f) if f.len() == 2));
    assert_eq!(events.len(), 1 + 2 * Section::ALL.len());
    let mut folded = metrc::ValidationReport::default();
    for e in events {
        folded.apply(e);
    }
    assert_eq!(folded, partial);

    // Metrc failing on one section: an Error cell, the rest unaffected.
    let harvests_fail = env
        .sandbox
        .fail_next("/harvests/", StatusCode::INTERNAL_SERVER_ERROR, 100);
    let failing = client.validate_key(&env.owner()).await.unwrap();
    drop(harvests_fail);
    let cult = failing.facility(CULTIVATION).unwrap();
    assert!(
        matches!(cult.cell(Section::Harvests), Some(CellStatus::Error(m)) if m.contains("500"))
    );
    assert_eq!(cult.cell(Section::Packages), Some(&CellStatus::Granted));
    assert_no_key(&serde_json::to_string(&failing).unwrap(), &env.owner());

    // A regenerated key.
    let (id, _, _) = env.employee("Marcus Bell");
    env.post(
        &format!("/sandbox/employees/{id}/regenerate-key"),
        json!({}),
    )
    .await;
    assert_eq!(client.validate_key(&marcus).await, Err(Error::KeyInvalid));
    let mut stream = std::pin::pin!(client.validate_key_stream(&marcus));
    assert_eq!(stream.next().await, Some(Err(Error::KeyInvalid)));
    assert_eq!(stream.next().await, None);
}

#[tokio::test]
async fn bursts_of_concurrent_gets_stay_under_the_sandboxs_rate_limits() {
    let env = env().await;
    let _slow = env.sandbox.slow_down(Duration::from_millis(20));
    // Two clients for the same host and vendor key share one limiter.
    let (a, b) = (env.client(), env.client());
    let owner = env.owner();
    let licenses: Vec<String> = a
        .facilities(&owner)
        .await
        .unwrap()
        .iter()
        .map(|f| f.license_number().to_string())
        .collect();
    let started = Instant::now();
    let calls = 300;
    let results: Vec<_> = futures::stream::iter(0..calls)
        .map(|i| {
            let client = if i % 2 == 0 { a.clone() } else { b.clone() };
            // Half the calls on one license, the rest spread over all of them.
            let license = if i < calls / 2 {
                CULTIVATION.to_string()
            } else {
                licenses[i % licenses.len()].clone()
            };
            let owner = owner.clone();
            async move { client.probe(&owner, &license, Section::Packages).await }
        })
        .buffer_unordered(calls)
        .collect()
        .await;
    let elapsed = started.elapsed();
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(
        env.count_status(429),
        0,
        "the sandbox never had to refuse a call"
    );
    assert_eq!(
        env.calls("/packages/").len(),
        calls,
        "no retries were needed"
    );
    // 150 calls on one license at 50/s: at least ~3 s; the client does not go faster.
    assert!(elapsed >= Duration::from_millis(2900), "{elapsed:?}");
}
