//! The Metrc sandbox over HTTP, called with raw reqwest like any Metrc client would.
#![cfg(feature = "sandbox")]

use crate::sandbox_support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use metrc::sandbox::{RateLimits, SandboxConfig, Settings};
use reqwest::{Method, StatusCode};
use sandbox_support::*;
use serde_json::{Value, json};

fn data(v: &Value) -> &Vec<Value> {
    v["Data"].as_array().expect("Data array")
}

#[tokio::test]
async fn facilities_answer_valid_keys_and_401_everything_else() {
    let sb = start(config()).await;
    let owner = owner_key(&sb.sandbox);
    let (status, facilities) = sb.get(&owner, "/facilities/v2/").await;
    assert_eq!(status, StatusCode::OK);
    let rows = facilities.as_array().expect("plain array, no envelope");
    let numbers: HashSet<&str> = rows
        .iter()
        .filter_map(|f| f["License"]["Number"].as_str())
        .collect();
    assert_eq!(numbers, DEMO_LICENSES.into_iter().collect());
    assert!(rows.iter().all(|f| f["IsOwner"] == json!(true)));
    let cultivation = rows
        .iter()
        .find(|f| f["License"]["Number"] == CULTIVATION)
        .expect("cultivation");
    assert_eq!(cultivation["FacilityType"]["CanGrowPlants"], json!(true));
    let distribution = rows
        .iter()
        .find(|f| f["License"]["Number"] == DISTRIBUTION)
        .expect("distribution");
    assert_eq!(distribution["FacilityType"]["CanGrowPlants"], json!(false));

    let priya = employee(&sb.sandbox, "Priya Nair");
    let (_, hers) = sb.get(&priya.api_key, "/facilities/v2").await;
    let hers = hers.as_array().expect("array");
    assert_eq!(hers.len(), 1);
    assert_eq!(hers[0]["IsOwner"], json!(false));
    assert_eq!(
        hers[0]["License"]["EmployeeLicenseNumber"],
        json!(priya.employee_license_number)
    );

    for (vendor, key) in [
        (VENDOR, "not-a-key"),
        ("unregistered-vendor", owner.as_str()),
        (VENDOR, ""),
    ] {
        let (status, body) = sb.get_as(vendor, key, "/facilities/v2/").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{vendor}/{key}");
        assert!(body["Message"].is_string());
    }
    let no_auth = sb
        .http
        .get(sb.url("/facilities/v2/"))
        .send()
        .await
        .expect("GET");
    assert_eq!(no_auth.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = sb.get(&owner, "/no/such/v2/path").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["Message"].is_string());
}

async fn priya_statuses(settings: Settings) -> Vec<StatusCode> {
    let sb = start(SandboxConfig {
        settings,
        ..config()
    })
    .await;
    let priya = employee(&sb.sandbox, "Priya Nair").api_key;
    let mut statuses = Vec::new();
    for path in [
        format!("/packages/v2/active?licenseNumber={RETAIL}&pageSize=1"),
        format!("/items/v2/active?licenseNumber={RETAIL}&pageSize=1"),
        format!("/plants/v2/vegetative?licenseNumber={RETAIL}&pageSize=1"),
        format!("/packages/v2/active?licenseNumber={CULTIVATION}&pageSize=1"),
        "/packages/v2/active?licenseNumber=NO-SUCH-LICENSE&pageSize=1".to_string(),
    ] {
        statuses.push(sb.get(&priya, &path).await.0);
    }
    statuses
}

#[tokio::test]
async fn missing_permission_status_is_a_setting_and_foreign_licenses_are_401() {
    use StatusCode as S;
    let default = priya_statuses(Settings::default()).await;
    assert_eq!(
        default,
        vec![
            S::OK,
            S::UNAUTHORIZED,
            S::UNAUTHORIZED,
            S::UNAUTHORIZED,
            S::UNAUTHORIZED
        ]
    );
    let forbidden = Settings {
        missing_permission_status: S::FORBIDDEN,
        ..Settings::default()
    };
    let with_403 = priya_statuses(forbidden).await;
    assert_eq!(
        with_403,
        vec![
            S::OK,
            S::FORBIDDEN,
            S::FORBIDDEN,
            S::UNAUTHORIZED,
            S::UNAUTHORIZED
        ]
    );
}

#[tokio::test]
async fn paging_envelope_walks_every_record_once_in_last_modified_order() {
    let sb = start(SandboxConfig {
        packages_per_license: 250,
        ..config()
    })
    .await;
    let owner = owner_key(&sb.sandbox);
    let path = |page: usize| {
        format!(
            "/packages/v2/active?licenseNumber={MICRO}&pageSize=20&pageNumber={page}{WHOLE_HISTORY}"
        )
    };
    let (status, first) = sb.get(&owner, &path(1)).await;
    assert_eq!(status, StatusCode::OK);
    let total = usize::try_from(first["TotalRecords"].as_u64().expect("TotalRecords")).unwrap();
    assert_eq!(total, 250);
    assert_eq!(first["Total"], first["TotalRecords"]);
    assert_eq!(first["TotalPages"], json!(13));
    assert_eq!(first["PageSize"], json!(20));
    let mut labels = Vec::new();
    let mut stamps = Vec::new();
    let mut page = 1;
    loop {
        let (status, body) = sb.get(&owner, &path(page)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["CurrentPage"], json!(page));
        assert_eq!(body["Page"], json!(page));
        assert_eq!(
            body["RecordsOnPage"].as_u64(),
            Some(data(&body).len() as u64)
        );
        for p in data(&body) {
            labels.push(p["Label"].as_str().expect("Label").to_string());
            let at = chrono::DateTime::parse_from_rfc3339(
                p["LastModified"].as_str().expect("LastModified"),
            );
            stamps.push(at.expect("ISO 8601 LastModified"));
        }
        if body["CurrentPage"].as_u64() >= body["TotalPages"].as_u64() {
            break;
        }
        page += 1;
    }
    assert_eq!(page, 13);
    assert_eq!(labels.len(), total);
    assert_eq!(
        labels.iter().collect::<HashSet<_>>().len(),
        total,
        "no record twice"
    );
    assert!(labels.iter().all(|l| l.len() == 24 && l.starts_with("1A4")));
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "oldest first");

    let (status, beyond) = sb.get(&owner, &path(99)).await;
    assert_eq!((status, data(&beyond).len()), (StatusCode::OK, 0));
    for bad in [
        "pageSize=21",
        "pageSize=0",
        "pageSize=-1",
        "pageSize=abc",
        "pageNumber=0",
        "pageNumber=x&pageSize=5",
    ] {
        let (status, body) = sb
            .get(
                &owner,
                &format!("/packages/v2/active?licenseNumber={MICRO}&{bad}"),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            body["Message"].as_str().is_some_and(|m| !m.is_empty()),
            "{bad}"
        );
    }
    let (status, employees) = sb
        .get(
            &owner,
            &format!("/employees/v2/?licenseNumber={MICRO}&pageSize=1&pageNumber=2"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        employees["TotalRecords"],
        json!(2),
        "owner and Sam Ortiz work at the microbusiness"
    );
    assert_eq!(data(&employees).len(), 1);
}

/// A sandbox whose per-license limits are these, the vendor's out of the way.
fn per_license_limits(per_second: u32, concurrent: u32) -> SandboxConfig {
    let limits = RateLimits {
        per_license_per_second: per_second,
        per_license_concurrent: concurrent,
        per_vendor_per_second: 1000,
        per_vendor_concurrent: 100,
    };
    let settings = Settings {
        rate_limits: Some(limits),
        ..Settings::default()
    };
    SandboxConfig {
        settings,
        ..config()
    }
}

fn iso(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test]
async fn last_modified_windows_filter_and_have_a_configurable_limit() {
    let anchor = chrono::Utc::now();
    // The sandbox's former behaviour: windows over 24 hours refused, unwindowed reads whole.
    let seeded = SandboxConfig {
        seeded_at: Some(anchor),
        packages_per_license: 300,
        settings: Settings::legacy(),
        ..config()
    };
    let sb = start(seeded.clone()).await;
    let owner = owner_key(&sb.sandbox);
    let list = |start: String, end: String| {
        format!(
            "/packages/v2/active?licenseNumber={CULTIVATION}&lastModifiedStart={start}&lastModifiedEnd={end}"
        )
    };
    let (_, all) = sb
        .get(
            &owner,
            &format!("/packages/v2/active?licenseNumber={CULTIVATION}"),
        )
        .await;
    let total = all["TotalRecords"].as_u64().expect("total");
    assert_eq!(total, 300, "no pageSize: every record on one page");

    let day = chrono::Duration::hours(24);
    let mut sum = 0;
    let mut end = anchor + chrono::Duration::seconds(1);
    for _ in 0..31 {
        let start = end - day + chrono::Duration::seconds(1);
        let (status, window) = sb.get(&owner, &list(iso(start), iso(end))).await;
        assert_eq!(status, StatusCode::OK);
        for p in data(&window) {
            let at = chrono::DateTime::parse_from_rfc3339(
                p["LastModified"].as_str().expect("LastModified"),
            )
            .expect("ISO");
            assert!(at >= start && at <= end, "{at} outside {start}..{end}");
        }
        sum += window["TotalRecords"].as_u64().expect("total");
        end = start - chrono::Duration::seconds(1);
    }
    assert_eq!(
        sum, total,
        "consecutive day windows cover the seeded month exactly"
    );

    let (status, body) = sb
        .get(&owner, &list(iso(anchor - day - day), iso(anchor)))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["Message"].as_str().is_some_and(|m| m.contains("24")));
    let (status, _) = sb
        .get(
            &owner,
            &format!("/packages/v2/active?licenseNumber={CULTIVATION}&lastModifiedStart=yesterday"),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let unlimited = start(SandboxConfig {
        settings: Settings {
            max_window: None,
            ..Settings::legacy()
        },
        ..seeded
    })
    .await;
    let (status, body) = unlimited
        .get(
            &owner_key(&unlimited.sandbox),
            &list(iso(anchor - day * 400), iso(anchor)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["TotalRecords"].as_u64(), Some(total));
}

#[tokio::test]
async fn gets_over_the_rate_limits_get_429_and_writes_are_not_limited() {
    let sb = start(per_license_limits(5, 100)).await;
    let owner = owner_key(&sb.sandbox);
    let path = format!("/locations/v2/active?licenseNumber={RETAIL}&pageSize=1");
    let burst = futures::future::join_all((0..20).map(|_| sb.get(&owner, &path))).await;
    let limited = burst
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(limited >= 10, "{limited} of 20 limited");
    assert!(burst.iter().any(|(s, _)| *s == StatusCode::OK));
    let (_, body) = burst
        .iter()
        .find(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .expect("a 429");
    assert!(body["Message"].is_string());
    let (other, _) = sb
        .get(
            &owner,
            &format!("/locations/v2/active?licenseNumber={MICRO}&pageSize=1"),
        )
        .await;
    assert_eq!(other, StatusCode::OK, "limits are per license");
    // Writes are not rate limited: bad rows still get their 400, never 429.
    for _ in 0..8 {
        let (status, _) = sb
            .send(
                Method::POST,
                &owner,
                &format!("/packages/v2/adjust?licenseNumber={RETAIL}"),
                &json!([{"Label": "X"}]),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    // Concurrency: with every call slowed down, the 3rd call in flight for a license gets 429.
    let slow = start(per_license_limits(1000, 2)).await;
    let (status, _) = slow
        .admin(
            Method::POST,
            "/sandbox/faults",
            Some(&json!({"latency_ms": 300})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let owner = owner_key(&slow.sandbox);
    let concurrent = futures::future::join_all((0..6).map(|_| slow.get(&owner, &path))).await;
    let statuses: Vec<_> = concurrent.iter().map(|(s, _)| *s).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == StatusCode::OK).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
            .count(),
        4,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn a_typed_fault_holds_until_its_guard_is_dropped_and_takes_only_itself() {
    let sb = start(config()).await;
    let owner = owner_key(&sb.sandbox);
    let packages = format!("/packages/v2/active?licenseNumber={RETAIL}&pageSize=1");
    let outage = sb
        .sandbox
        .fail_next("/packages/", StatusCode::SERVICE_UNAVAILABLE, 5);
    let facilities = sb
        .sandbox
        .fail_next("/facilities/", StatusCode::INTERNAL_SERVER_ERROR, 1);
    assert_eq!(
        sb.get(&owner, &packages).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(outage.remaining(), 4);
    drop(outage);
    assert_eq!(
        sb.get(&owner, &packages).await.0,
        StatusCode::OK,
        "withdrawn with its guard"
    );
    assert_eq!(facilities.remaining(), 1, "the other fault stays");
    assert_eq!(
        sb.get(&owner, "/facilities/v2/").await.0,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(facilities.remaining(), 0, "used up");
}

#[tokio::test]
async fn faults_hit_the_next_calls_under_a_prefix_and_latency_applies_to_all() {
    let sb = start(config()).await;
    let owner = owner_key(&sb.sandbox);
    let packages = format!("/packages/v2/active?licenseNumber={RETAIL}&pageSize=1");
    let fault = json!({"status": 503, "count": 2, "path_prefix": "/packages/"});
    sb.add_fault(&fault).await;
    assert_eq!(
        sb.get(&owner, "/facilities/v2/").await.0,
        StatusCode::OK,
        "other prefix"
    );
    let (status, body) = sb.get(&owner, &packages).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body.as_str().is_some_and(|html| html.contains("<html>")),
        "an HTML error page: {body}"
    );
    assert_eq!(
        sb.get(&owner, &packages).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        sb.get(&owner, &packages).await.0,
        StatusCode::OK,
        "only the next 2 calls"
    );

    let fault = json!({"status": 500, "count": 1});
    sb.add_fault(&fault).await;
    let (status, body) = sb.get(&owner, "/facilities/v2/").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body["Message"].is_string());

    // A status with a body of the test's choosing: field case-10's server fault sent as 400.
    let case_10 = json!({"Message": "Could not load file or assembly 'System.Data.SqlClient, Version=0.0.0.0'. The system cannot find the file specified."});
    let fault = json!({"status": 400, "count": 1, "path_prefix": "/packages/", "body": case_10});
    sb.add_fault(&fault).await;
    assert_eq!(
        sb.get(&owner, &packages).await,
        (StatusCode::BAD_REQUEST, case_10)
    );
    assert_eq!(sb.get(&owner, &packages).await.0, StatusCode::OK);
    assert_eq!(
        sb.admin(
            Method::POST,
            "/sandbox/faults",
            Some(&json!({"body": {"Message": "x"}}))
        )
        .await
        .0,
        StatusCode::BAD_REQUEST,
        "a body needs a status"
    );

    sb.admin(
        Method::POST,
        "/sandbox/faults",
        Some(&json!({"latency_ms": 250})),
    )
    .await;
    let started = Instant::now();
    assert_eq!(sb.get(&owner, &packages).await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(250));
    sb.admin(
        Method::POST,
        "/sandbox/faults",
        Some(&json!({"status": 500, "count": 5, "latency_ms": 60_000})),
    )
    .await;
    assert_eq!(
        sb.admin(Method::DELETE, "/sandbox/faults", None).await.0,
        StatusCode::NO_CONTENT
    );
    // Answered in less than half the minute the latency would take: it is gone.
    let answered = tokio::time::timeout(Duration::from_secs(30), sb.get(&owner, &packages)).await;
    assert_eq!(answered.map(|(status, _)| status), Ok(StatusCode::OK));

    for bad in [
        json!({}),
        json!({"status": 200}),
        json!({"status": "x"}),
        json!({"latency_ms": 10_000_000}),
        json!({"lose_answer": 5}),
        json!({"lose_request": {"count": 1, "path": "/packages/"}}),
    ] {
        assert_eq!(
            sb.admin(Method::POST, "/sandbox/faults", Some(&bad))
                .await
                .0,
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}

/// The sandbox's log of writes (not GETs), oldest first.
fn logged_writes(sb: &Running) -> Vec<metrc::sandbox::LogEntry> {
    sb.sandbox
        .requests()
        .into_iter()
        .filter(|e| e.method != "GET")
        .collect()
}

/// Waits until the log holds `n` writes (10 s at most).
async fn until_logged_writes(sb: &Running, n: usize) -> Vec<metrc::sandbox::LogEntry> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let writes = logged_writes(sb);
        if writes.len() >= n {
            return writes;
        }
        assert!(
            Instant::now() < deadline,
            "{n} writes never logged: {writes:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `POST` one adjustment of `p` by 1 in a task of its own (the caller waits there); aborting
/// the task hangs up.
fn spawn_adjust(
    sb: &Running,
    path: &str,
    key: &str,
    p: &Value,
) -> tokio::task::JoinHandle<reqwest::Result<reqwest::Response>> {
    let request = sb
        .http
        .post(sb.url(path))
        .basic_auth(VENDOR, Some(key))
        .json(&json!([adjust_row(p, -1.0)]));
    tokio::spawn(request.send())
}

#[tokio::test]
async fn a_lost_answer_is_recorded_and_logged_first_and_a_lost_request_never_is() {
    let sb = start(config()).await;
    let owner = owner_key(&sb.sandbox);
    let adjust = format!("/packages/v2/adjust?licenseNumber={CULTIVATION}");
    let packages = first_packages(&sb, &owner, CULTIVATION, 20).await;
    let a = packages
        .iter()
        .find(|p| p["Quantity"].as_f64() >= Some(5.0))
        .expect("a package to adjust");
    let label = a["Label"].as_str().expect("label");
    let qa = a["Quantity"].as_f64().expect("quantity");
    let retail: Vec<Value> = first_packages(&sb, &owner, RETAIL, 20)
        .await
        .into_iter()
        .filter(|p| p["Quantity"].as_f64() >= Some(1.0))
        .collect();
    let fault = json!({"lose_answer": {"count": 1, "path_prefix": "/packages/v2/", "license": CULTIVATION}});
    sb.add_fault(&fault).await;
    // Reads and another license's writes are answered.
    let (status, _) = sb
        .get(
            &owner,
            &format!("/packages/v2/active?licenseNumber={CULTIVATION}&pageSize=1"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = sb
        .send(
            Method::POST,
            &owner,
            &format!("/packages/v2/adjust?licenseNumber={RETAIL}"),
            &json!([adjust_row(&retail[0], -1.0)]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The write is carried out and logged with its status, and its caller still waits.
    let waiting = spawn_adjust(&sb, &adjust, &owner, a);
    let log = until_logged_writes(&sb, 2).await;
    assert_eq!(
        (log[0].license.as_deref(), log[0].status, log[0].answer_lost),
        (Some(RETAIL), 200, false)
    );
    assert_eq!(
        (log[1].license.as_deref(), log[1].status, log[1].answer_lost),
        (Some(CULTIVATION), 200, true)
    );
    assert_eq!(
        package(&sb, CULTIVATION, label).await["Quantity"].as_f64(),
        Some(qa - 1.0),
        "recorded before the answer was lost"
    );
    assert!(!waiting.is_finished(), "no answer: {waiting:?}");
    waiting.abort();

    // Used up: the next write is answered.
    let (status, body) = sb
        .send(Method::POST, &owner, &adjust, &json!([adjust_row(a, -1.0)]))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        package(&sb, CULTIVATION, label).await["Quantity"].as_f64(),
        Some(qa - 2.0)
    );
    assert!(!logged_writes(&sb)[2].answer_lost);

    // A lost request: held, never carried out; logged 499 once its caller gives up.
    let fault = json!({"lose_request": {"path_prefix": "/packages/v2/adjust"}});
    sb.add_fault(&fault).await;
    let (_, in_force) = sb.admin(Method::GET, "/sandbox/faults", None).await;
    assert_eq!(
        in_force["lose_request"],
        json!([{"remaining": 1, "path_prefix": "/packages/v2/adjust", "license": null}])
    );
    assert_eq!(in_force["lose_answer"], json!([]), "used up");
    let waiting = spawn_adjust(&sb, &adjust, &owner, a);
    let deadline = Instant::now() + Duration::from_secs(10);
    while sb.admin(Method::GET, "/sandbox/faults", None).await.1["lose_request"] != json!([]) {
        assert!(Instant::now() < deadline, "the write never came in");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        logged_writes(&sb).len(),
        3,
        "held before it is carried out or logged"
    );
    assert!(!waiting.is_finished(), "no answer: {waiting:?}");
    waiting.abort();
    let log = until_logged_writes(&sb, 4).await;
    assert_eq!(
        (log[3].path.as_str(), log[3].status, log[3].answer_lost),
        ("/packages/v2/adjust", 499, false)
    );
    assert_eq!(
        package(&sb, CULTIVATION, label).await["Quantity"].as_f64(),
        Some(qa - 2.0),
        "never recorded"
    );
    let (status, _) = sb
        .send(Method::POST, &owner, &adjust, &json!([adjust_row(a, -1.0)]))
        .await;
    assert_eq!(status, StatusCode::OK, "used up");
    assert_eq!(
        package(&sb, CULTIVATION, label).await["Quantity"].as_f64(),
        Some(qa - 3.0)
    );
    assert_eq!(logged_writes(&sb).len(), 5);
}

#[tokio::test]
async fn request_log_records_whose_key_made_each_call() {
    let sb = start(config()).await;
    let owner = employee(&sb.sandbox, "Dana Whitfield");
    let sam = employee(&sb.sandbox, "Sam Ortiz");
    sb.get(&owner.api_key, "/facilities/v2/").await;
    sb.get(
        &sam.api_key,
        &format!("/plants/v2/vegetative?licenseNumber={CULTIVATION}&pageSize=3"),
    )
    .await;
    sb.get(
        "nobody",
        &format!("/packages/v2/active?licenseNumber={RETAIL}"),
    )
    .await;
    sb.get(&sam.api_key, "/nope").await;
    let (status, log) = sb.admin(Method::GET, "/sandbox/requests", None).await;
    assert_eq!(status, StatusCode::OK);
    let log = log.as_array().expect("log array");
    let brief: Vec<(Value, Value, Value, Value, Value)> = log
        .iter()
        .map(|e| {
            (
                e["path"].clone(),
                e["license"].clone(),
                e["employee_id"].clone(),
                e["employee_name"].clone(),
                e["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        brief,
        vec![
            (
                json!("/facilities/v2/"),
                Value::Null,
                json!(owner.id),
                json!(owner.name),
                json!(200)
            ),
            (
                json!("/plants/v2/vegetative"),
                json!(CULTIVATION),
                json!(sam.id),
                json!(sam.name),
                json!(200)
            ),
            (
                json!("/packages/v2/active"),
                json!(RETAIL),
                Value::Null,
                Value::Null,
                json!(401)
            ),
            (
                json!("/nope"),
                Value::Null,
                json!(sam.id),
                json!(sam.name),
                json!(404)
            ),
        ]
    );
    assert!(
        log.iter()
            .all(|e| e["method"] == "GET" && e["at"].is_string())
    );
}

#[tokio::test]
async fn regenerating_a_key_makes_the_old_one_401_everywhere() {
    let sb = start(config()).await;
    let sam = employee(&sb.sandbox, "Sam Ortiz");
    let plants = format!("/plants/v2/vegetative?licenseNumber={CULTIVATION}&pageSize=1");
    assert_eq!(sb.get(&sam.api_key, &plants).await.0, StatusCode::OK);
    let (status, body) = sb
        .admin(
            Method::POST,
            &format!("/sandbox/employees/{}/regenerate-key", sam.id),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let new_key = body["api_key"].as_str().expect("api_key").to_string();
    assert_ne!(new_key, sam.api_key);
    assert_eq!(
        sb.get(&sam.api_key, "/facilities/v2/").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sb.get(&sam.api_key, &plants).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(sb.get(&new_key, &plants).await.0, StatusCode::OK);
    assert_eq!(employee(&sb.sandbox, "Sam Ortiz").api_key, new_key);
    assert_eq!(
        sb.admin(Method::POST, "/sandbox/employees/999/regenerate-key", None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        sb.admin(Method::POST, "/sandbox/employees/abc/regenerate-key", None)
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn admin_api_adds_licenses_and_employees_and_resets() {
    let sb = start(config()).await;
    let license = json!({"number": "C10-0009999-LIC", "name": "Test Retail", "license_type": "Adult-Use Retail", "state": "CA", "packages": 7});
    let (status, added) = sb
        .admin(Method::POST, "/sandbox/licenses", Some(&license))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(
        sb.admin(Method::POST, "/sandbox/licenses", Some(&license))
            .await
            .0,
        StatusCode::BAD_REQUEST,
        "duplicate"
    );
    let bad_type = json!({"number": "X-1", "name": "X", "license_type": "Bakery", "state": "CA"});
    assert_eq!(
        sb.admin(Method::POST, "/sandbox/licenses", Some(&bad_type))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    let new_employee = json!({"name": "Eve Tester", "owner_of": ["C10-0009999-LIC"], "permissions": {"C10-0009999-LIC": ["Packages"], RETAIL: ["View Packages"]}});
    let (status, created) = sb
        .admin(Method::POST, "/sandbox/employees", Some(&new_employee))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["api_key"].as_str().expect("api_key").to_string();
    let (_, facilities) = sb.get(&key, "/facilities/v2/").await;
    let owner_flags: Vec<(Value, Value)> = facilities
        .as_array()
        .expect("array")
        .iter()
        .map(|f| (f["License"]["Number"].clone(), f["IsOwner"].clone()))
        .collect();
    assert_eq!(owner_flags.len(), 2);
    assert!(owner_flags.contains(&(json!("C10-0009999-LIC"), json!(true))));
    assert!(owner_flags.contains(&(json!(RETAIL), json!(false))));
    let (status, page) = sb
        .get(
            &key,
            &format!(
                "/packages/v2/active?licenseNumber=C10-0009999-LIC&pageSize=20{WHOLE_HISTORY}"
            ),
        )
        .await;
    assert_eq!(
        (status, page["TotalRecords"].clone()),
        (StatusCode::OK, json!(7))
    );
    let (status, permissions) = sb
        .get(
            &key,
            "/employees/v2/permissions?licenseNumber=C10-0009999-LIC&employeeLicenseNumber=x",
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "Packages does not include Manage Employees: {permissions}"
    );

    for bad in [
        json!({"name": "X", "permissions": {RETAIL: ["Fly Planes"]}}),
        json!({"name": "X", "permissions": {"NO-SUCH": ["Packages"]}}),
        json!({"name": "", "permissions": {}}),
        json!({"permissions": {}}),
    ] {
        let (status, body) = sb
            .admin(Method::POST, "/sandbox/employees", Some(&bad))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(body["Message"].is_string());
    }
    let raw = sb
        .http
        .post(sb.url("/sandbox/employees"))
        .body("{not json")
        .send()
        .await
        .expect("POST");
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);

    let (_, listed) = sb.admin(Method::GET, "/sandbox/employees", None).await;
    let eve = listed
        .as_array()
        .expect("array")
        .iter()
        .find(|e| e["name"] == "Eve Tester")
        .cloned()
        .expect("listed");
    assert_eq!(eve["api_key"], json!(key));
    assert_eq!(eve["owner_of"], json!(["C10-0009999-LIC"]));

    assert_eq!(
        sb.admin(Method::POST, "/sandbox/reset", None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        sb.get(&key, "/facilities/v2/").await.0,
        StatusCode::UNAUTHORIZED,
        "reset drops added employees"
    );
    assert_eq!(sb.sandbox.employees().len(), 4);
    let (_, log) = sb.admin(Method::GET, "/sandbox/requests", None).await;
    assert_eq!(
        log.as_array().map(Vec::len),
        Some(1),
        "reset clears the log: {log}"
    );
}

#[tokio::test]
async fn permissions_of_an_employee_need_manage_employees_and_come_lower_case() {
    let sb = start(config()).await;
    let sam = employee(&sb.sandbox, "Sam Ortiz");
    let owner = owner_key(&sb.sandbox);
    let path = format!(
        "/employees/v2/permissions?licenseNumber={CULTIVATION}&employeeLicenseNumber={}",
        sam.employee_license_number
    );
    let (status, body) = sb.get(&owner, &path).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = body
        .as_array()
        .expect("array")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        names.contains(&"view packages") && names.contains(&"manage plants waste"),
        "{names:?}"
    );
    assert!(names.iter().all(|n| *n == n.to_lowercase()));
    assert!(!names.contains(&"view sales"));
    assert_eq!(
        sb.get(&sam.api_key, &path).await.0,
        StatusCode::UNAUTHORIZED,
        "Sam cannot manage employees"
    );
    let missing = format!("/employees/v2/permissions?licenseNumber={CULTIVATION}");
    assert_eq!(sb.get(&owner, &missing).await.0, StatusCode::BAD_REQUEST);
}

async fn package(sb: &Running, license: &str, label: &str) -> Value {
    let (status, p) = sb
        .admin(
            Method::GET,
            &format!("/sandbox/licenses/{license}/packages/{label}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{p}");
    p
}

async fn first_packages(sb: &Running, key: &str, license: &str, n: usize) -> Vec<Value> {
    let (_, page) = sb
        .get(
            key,
            &format!("/packages/v2/active?licenseNumber={license}&pageSize={n}{WHOLE_HISTORY}"),
        )
        .await;
    data(&page).clone()
}

fn adjust_row(p: &Value, quantity: f64) -> Value {
    json!({"Label": p["Label"], "Quantity": quantity, "UnitOfMeasure": p["UnitOfMeasureName"], "AdjustmentReason": "Drying", "AdjustmentDate": "2026-01-15", "ReasonNote": null})
}

#[tokio::test]
async fn writes_change_data_and_bad_rows_change_nothing() {
    let sb = start(config()).await;
    let owner = owner_key(&sb.sandbox);
    let adjust = format!("/packages/v2/adjust?licenseNumber={CULTIVATION}");
    let packages = first_packages(&sb, &owner, CULTIVATION, 3).await;
    let (a, b) = (&packages[0], &packages[1]);
    let qa = a["Quantity"].as_f64().expect("quantity");

    let (status, body) = sb
        .send(
            Method::POST,
            &owner,
            &adjust,
            &json!([adjust_row(a, -2.0), adjust_row(a, -1.0)]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["Ids"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["Warnings"], Value::Null);
    let after = package(&sb, CULTIVATION, a["Label"].as_str().expect("label")).await;
    assert_eq!(after["Quantity"].as_f64(), Some(qa - 3.0));
    assert!(after["LastModified"].as_str() > a["LastModified"].as_str());

    // camelCase keys work too (Metrc binds names case-insensitively); an ounce of a gram package.
    let camel = json!([{"label": b["Label"], "quantity": 1.0, "unitOfMeasure": "Ounces", "adjustmentReason": "Scale Variance", "adjustmentDate": "2026-01-15"}]);
    let qb = b["Quantity"].as_f64().expect("quantity");
    let (status, body) = sb.send(Method::POST, &owner, &adjust, &camel).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let b_after = package(&sb, CULTIVATION, b["Label"].as_str().expect("label")).await;
    let expected = if b["UnitOfMeasureName"] == "Grams" {
        qb + 28.3495
    } else {
        qb
    };
    assert!(
        (b_after["Quantity"].as_f64().expect("q") - expected).abs() < 1e-6
            || b["UnitOfMeasureName"] != "Grams"
    );

    // A bad second row: 400 with row errors, and the good first row is not recorded.
    let foreign = first_packages(&sb, &owner, RETAIL, 1).await;
    let bad = json!([adjust_row(a, -1.0), adjust_row(&foreign[0], -1.0)]);
    let (status, body) = sb.send(Method::POST, &owner, &adjust, &bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let label = foreign[0]["Label"].as_str().expect("label");
    assert_eq!(
        body,
        json!([{"row": 1, "message": format!("Package {label} does not exist in the current Facility.")}])
    );
    assert_eq!(
        package(&sb, CULTIVATION, a["Label"].as_str().expect("label")).await["Quantity"].as_f64(),
        Some(qa - 3.0)
    );

    let below_zero = json!([adjust_row(a, -(qa + 1.0))]);
    assert_eq!(
        sb.send(Method::POST, &owner, &adjust, &below_zero).await.0,
        StatusCode::BAD_REQUEST
    );
    let note_needed = json!([{"Label": a["Label"], "Quantity": -1, "UnitOfMeasure": a["UnitOfMeasureName"], "AdjustmentReason": "Theft", "AdjustmentDate": "2026-01-15"}]);
    let (status, body) = sb.send(Method::POST, &owner, &adjust, &note_needed).await;
    assert_eq!(
        (status, body[0]["row"].clone()),
        (StatusCode::BAD_REQUEST, json!(0))
    );

    // Finish moves a package to the inactive list; location moves it.
    let finish = format!("/packages/v2/finish?licenseNumber={CULTIVATION}");
    let (status, body) = sb
        .send(
            Method::PUT,
            &owner,
            &finish,
            &json!([{"Label": packages[2]["Label"], "ActualDate": "2026-01-16"}]),
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!("")));
    let finished = package(
        &sb,
        CULTIVATION,
        packages[2]["Label"].as_str().expect("label"),
    )
    .await;
    assert_eq!(
        (
            finished["IsFinished"].clone(),
            finished["FinishedDate"].clone()
        ),
        (json!(true), json!("2026-01-16"))
    );
    let (_, inactive) = sb
        .get(
            &owner,
            &format!(
                "/packages/v2/inactive?licenseNumber={CULTIVATION}&lastModifiedStart={}",
                iso(chrono::Utc::now() - chrono::Duration::minutes(5))
            ),
        )
        .await;
    assert!(
        data(&inactive)
            .iter()
            .any(|p| p["Label"] == packages[2]["Label"])
    );
    let relocate = format!("/packages/v2/location?licenseNumber={CULTIVATION}");
    let (status, _) = sb
        .send(
            Method::PUT,
            &owner,
            &relocate,
            &json!([{"Label": a["Label"], "Location": "Vault", "MoveDate": "2026-01-16"}]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        package(&sb, CULTIVATION, a["Label"].as_str().expect("label")).await["LocationName"],
        json!("Vault")
    );
    let (status, body) = sb
        .send(
            Method::PUT,
            &owner,
            &relocate,
            &json!([{"Label": a["Label"], "Location": "Moon Base", "MoveDate": "2026-01-16"}]),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Plant waste is recorded.
    let (_, plants) = sb
        .get(
            &owner,
            &format!("/plants/v2/vegetative?licenseNumber={CULTIVATION}&pageSize=2{WHOLE_HISTORY}"),
        )
        .await;
    let labels: Vec<Value> = data(&plants).iter().map(|p| p["Label"].clone()).collect();
    let waste = json!([{"WasteMethodName": "Compost", "MixedMaterial": "Soil", "WasteWeight": 12.5, "UnitOfMeasureName": "Grams", "ReasonName": "Pruning", "Note": null, "WasteDate": "2026-01-16", "PlantLabels": labels}]);
    let (status, body) = sb
        .send(
            Method::POST,
            &owner,
            &format!("/plants/v2/waste?licenseNumber={CULTIVATION}"),
            &waste,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, recorded) = sb
        .admin(
            Method::GET,
            &format!("/sandbox/licenses/{CULTIVATION}/plant-waste"),
            None,
        )
        .await;
    assert_eq!(recorded[0]["id"], body["Ids"][0]);
    assert_eq!(recorded[0]["plant_labels"], json!(labels));
    let no_plants_here = sb
        .send(
            Method::POST,
            &owner,
            &format!("/plants/v2/waste?licenseNumber={DISTRIBUTION}"),
            &waste,
        )
        .await;
    assert_eq!(
        no_plants_here.0,
        StatusCode::UNAUTHORIZED,
        "distribution has no plants"
    );

    // Reset restores the seeded quantity.
    sb.admin(Method::POST, "/sandbox/reset", None).await;
    assert_eq!(
        package(&sb, CULTIVATION, a["Label"].as_str().expect("label")).await["Quantity"].as_f64(),
        Some(qa)
    );
}

#[tokio::test]
async fn write_permissions_row_limit_and_bad_bodies() {
    let sb = start(config()).await;
    let owner = owner_key(&sb.sandbox);
    let priya = employee(&sb.sandbox, "Priya Nair").api_key;
    let packages = first_packages(&sb, &owner, RETAIL, 11).await;
    let adjust = format!("/packages/v2/adjust?licenseNumber={RETAIL}");
    let one = json!([adjust_row(&packages[0], -1.0)]);
    let (status, body) = sb.send(Method::POST, &priya, &adjust, &one).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "View Packages without Manage Packages Inventory"
    );
    assert!(
        body["Message"]
            .as_str()
            .is_some_and(|m| m.contains("Manage Packages Inventory")),
        "{body}"
    );

    let eleven: Vec<Value> = packages.iter().map(|p| adjust_row(p, -1.0)).collect();
    let (status, body) = sb.send(Method::POST, &owner, &adjust, &json!(eleven)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    let ten = json!(eleven[..10]);
    assert_eq!(
        sb.send(Method::POST, &owner, &adjust, &ten).await.0,
        StatusCode::OK
    );

    let unlimited = start(SandboxConfig {
        settings: Settings {
            max_write_rows: None,
            ..Settings::default()
        },
        ..config()
    })
    .await;
    let owner2 = owner_key(&unlimited.sandbox);
    assert_eq!(
        unlimited
            .send(Method::POST, &owner2, &adjust, &json!(eleven))
            .await
            .0,
        StatusCode::OK
    );

    for bad in ["{not json", "{}", "[]", "[1, 2]", "[{\"Label\": 5}]"] {
        let r = sb
            .http
            .post(sb.url(&adjust))
            .basic_auth(VENDOR, Some(&owner))
            .header("content-type", "application/json")
            .body(bad)
            .send()
            .await
            .expect("POST");
        let (status, body) = sandbox_support::body(r).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            body["Message"].is_string() || body[0]["message"].is_string(),
            "{bad}: {body}"
        );
    }
    let no_license = sb
        .send(Method::POST, &owner, "/packages/v2/adjust", &one)
        .await;
    assert_eq!(no_license.0, StatusCode::BAD_REQUEST);
    let bad_date = json!([{"Label": packages[0]["Label"], "ActualDate": "16/01/2026"}]);
    let (status, body) = sb
        .send(
            Method::PUT,
            &owner,
            &format!("/packages/v2/finish?licenseNumber={RETAIL}"),
            &bad_date,
        )
        .await;
    assert_eq!(
        (status, body[0]["row"].clone()),
        (StatusCode::BAD_REQUEST, json!(0))
    );
}

#[tokio::test]
async fn reference_lists_need_a_valid_key() {
    let sb = start(config()).await;
    let owner = owner_key(&sb.sandbox);
    for path in [
        "/packages/v2/adjust/reasons?licenseNumber=C10-0000774-LIC",
        "/plants/v2/waste/methods/all",
        "/plants/v2/waste/reasons?licenseNumber=C10-0000774-LIC",
        "/unitsofmeasure/v2/active",
    ] {
        let (status, body) = sb.get(&owner, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            !data(&body).is_empty() && data(&body).iter().all(|r| r["Name"].is_string()),
            "{path}"
        );
        assert_eq!(
            sb.get("bad", path).await.0,
            StatusCode::UNAUTHORIZED,
            "{path}"
        );
    }
    let sam = employee(&sb.sandbox, "Sam Ortiz").api_key;
    assert_eq!(
        sb.get(
            &sam,
            "/packages/v2/adjust/reasons?licenseNumber=C10-0000774-LIC"
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn same_seed_same_data_and_keys() {
    let at = chrono::Utc::now();
    let cfg = |seed| SandboxConfig {
        seed,
        seeded_at: Some(at),
        ..config()
    };
    let (a, b, c) = (
        start(cfg(5)).await,
        start(cfg(5)).await,
        start(cfg(6)).await,
    );
    let keys = |r: &Running| {
        r.sandbox
            .employees()
            .into_iter()
            .map(|e| e.api_key)
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&a), keys(&b));
    assert_ne!(keys(&a), keys(&c));
    let page = format!(
        "/packages/v2/active?licenseNumber={MICRO}&pageSize=20&pageNumber=1{WHOLE_HISTORY}"
    );
    let (pa, pb, pc) = (
        a.get(&owner_key(&a.sandbox), &page).await.1,
        b.get(&owner_key(&b.sandbox), &page).await.1,
        c.get(&owner_key(&c.sandbox), &page).await.1,
    );
    assert_eq!(pa, pb);
    assert_ne!(pa, pc);
}

#[tokio::test]
async fn a_hundred_thousand_packages_seed_quickly_and_page_fast() {
    let started = Instant::now();
    let sb = start(config().with_total_packages(100_000)).await;
    let seeded = started.elapsed();
    // Generous for unoptimised test builds on a busy 2-core machine; release seeds in well under 1 s.
    assert!(seeded < Duration::from_secs(30), "seeding took {seeded:?}");
    let owner = owner_key(&sb.sandbox);
    let mut total = 0;
    for license in DEMO_LICENSES {
        let (_, first) = sb
            .get(
                &owner,
                &format!("/packages/v2/active?licenseNumber={license}&pageSize=20{WHOLE_HISTORY}"),
            )
            .await;
        total += first["TotalRecords"].as_u64().expect("total");
    }
    assert!(total >= 100_000, "{total}");
    let started = Instant::now();
    for page in [1, 400, 833, 834] {
        let (status, body) = sb
            .get(
                &owner,
                &format!(
                    "/packages/v2/active?licenseNumber={RETAIL}&pageSize=20&pageNumber={page}{WHOLE_HISTORY}"
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["TotalPages"], json!(834));
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "deep pages are as cheap as the first"
    );
}

/// Every record of a list of `license` read in one window from 2015 to now, page by page.
async fn whole_list(sb: &Running, key: &str, path: &str, license: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for page in 1.. {
        let (status, body) = sb
            .get(
                key,
                &format!(
                    "{path}?licenseNumber={license}&pageSize=20&pageNumber={page}&lastModifiedStart=2015-01-01T00:00:00Z&lastModifiedEnd={}",
                    iso(chrono::Utc::now() + chrono::Duration::minutes(1))
                ),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        all.extend(data(&body).iter().cloned());
        if body["CurrentPage"].as_u64() >= body["TotalPages"].as_u64() {
            return all;
        }
    }
    all
}

#[tokio::test]
async fn the_production_profile_answers_as_v2_production_does() {
    let anchor = chrono::Utc::now();
    let sb = start(SandboxConfig {
        seeded_at: Some(anchor),
        packages_per_license: 300,
        ..config()
    })
    .await;
    assert_eq!(sb.sandbox.settings(), Settings::production());
    let owner = owner_key(&sb.sandbox);
    // Items, locations and strains read without a window: an empty page (field case 01).
    for path in [
        "/items/v2/active",
        "/locations/v2/active",
        "/strains/v2/active",
    ] {
        let (status, body) = sb
            .get(
                &owner,
                &format!("{path}?licenseNumber={CULTIVATION}&pageNumber=1&pageSize=20"),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            (data(&body).len(), &body["TotalPages"]),
            (0, &json!(0)),
            "{path}"
        );
        assert!(
            !whole_list(&sb, &owner, path, CULTIVATION).await.is_empty(),
            "{path}"
        );
    }
    // Packages without a window: only those modified in the last 24 hours.
    let everything = whole_list(&sb, &owner, "/packages/v2/active", CULTIVATION).await;
    assert_eq!(everything.len(), 300, "one window of years: every record");
    let stamp = |p: &Value| {
        chrono::DateTime::parse_from_rfc3339(p["LastModified"].as_str().expect("LastModified"))
            .expect("ISO")
    };
    let recent = everything
        .iter()
        .filter(|p| stamp(p) >= anchor - chrono::Duration::hours(24))
        .count();
    let (_, bare) = sb
        .get(
            &owner,
            &format!("/packages/v2/active?licenseNumber={CULTIVATION}"),
        )
        .await;
    assert_eq!(bare["TotalRecords"].as_u64(), Some(recent as u64));
    assert!(
        recent < 300
            && data(&bare)
                .iter()
                .all(|p| stamp(p) >= anchor - chrono::Duration::hours(24))
    );
    // v2 shapes: no LastModified on items (nor on a package's item), no Count/Type on batches.
    let items = whole_list(&sb, &owner, "/items/v2/active", CULTIVATION).await;
    assert!(
        items
            .iter()
            .all(|i| i.get("LastModified").is_none() && i["Id"].is_u64())
    );
    assert!(
        everything
            .iter()
            .all(|p| p["Item"].get("LastModified").is_none())
    );
    let batches = whole_list(&sb, &owner, "/plantbatches/v2/active", CULTIVATION).await;
    assert!(!batches.is_empty());
    for b in &batches {
        assert!(b.get("Count").is_none() && b.get("Type").is_none(), "{b}");
        assert!(
            b["UntrackedCount"].is_u64() && b["PlantBatchTypeName"].is_string(),
            "{b}"
        );
    }
    let label = everything[0]["Label"].as_str().expect("label");
    let (_, one) = sb.get(&owner, &format!("/packages/v2/{label}")).await;
    assert!(one["Item"].get("LastModified").is_none() && one["LastModified"].is_string());
    // Wide windows are accepted.
    let (status, _) = sb
        .get(
            &owner,
            &format!(
                "/packages/v2/active?licenseNumber={CULTIVATION}&lastModifiedStart=2015-01-01T00:00:00Z&lastModifiedEnd={}",
                iso(anchor)
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn settings_change_through_the_admin_api_and_a_reset_restores_them() {
    let sb = start(config()).await;
    let owner = owner_key(&sb.sandbox);
    let (status, shown) = sb.admin(Method::GET, "/sandbox/settings", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            &shown["max_window_hours"],
            &shown["unwindowed_reads"],
            &shown["record_shapes"],
            &shown["missing_permission_status"],
            &shown["max_write_rows"],
        ),
        (
            &Value::Null,
            &json!("production"),
            &json!("v2"),
            &json!(401),
            &json!(10)
        ),
        "{shown}"
    );
    let now = chrono::Utc::now();
    let two_days = format!(
        "/packages/v2/active?licenseNumber={CULTIVATION}&lastModifiedStart={}&lastModifiedEnd={}",
        iso(now - chrono::Duration::hours(48)),
        iso(now)
    );
    assert_eq!(sb.get(&owner, &two_days).await.0, StatusCode::OK);

    // The 24-hour cap of the deployments that keep v1's limit: a 400 naming the range.
    let (status, capped) = sb
        .admin(
            Method::PUT,
            "/sandbox/settings",
            Some(&json!({"max_window_hours": 24})),
        )
        .await;
    assert_eq!(
        (status, &capped["max_window_hours"]),
        (StatusCode::OK, &json!(24.0))
    );
    assert_eq!(sb.sandbox.settings().max_window, Some(Settings::DAY));
    let (status, refused) = sb.get(&owner, &two_days).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let message = refused["Message"].as_str().expect("Message");
    assert!(
        message.contains("lastModifiedStart") && message.contains("24 hours"),
        "{message}"
    );
    let window = metrc::Error::Rejected {
        rows: Vec::new(),
        message: Some(message.to_string()),
    };
    assert_eq!(
        metrc::window::next_width(metrc::WIDEST_WINDOW, Err(&window)),
        metrc::window::Width::Narrow(chrono::Duration::hours(24)),
        "the client reads the sandbox's refusal"
    );

    // The former behaviour, as a profile, then one field changed on top.
    let (_, legacy) = sb
        .admin(
            Method::PUT,
            "/sandbox/settings",
            Some(&json!({"profile": "legacy", "max_window_hours": null, "missing_permission_status": 403})),
        )
        .await;
    assert_eq!(
        (
            &legacy["unwindowed_reads"],
            &legacy["record_shapes"],
            &legacy["max_window_hours"]
        ),
        (&json!("all"), &json!("with_v1"), &Value::Null),
        "{legacy}"
    );
    assert_eq!(
        sb.sandbox.settings().missing_permission_status,
        StatusCode::FORBIDDEN
    );
    let (_, items) = sb
        .get(
            &owner,
            &format!("/items/v2/active?licenseNumber={CULTIVATION}"),
        )
        .await;
    assert!(!data(&items).is_empty() && data(&items)[0]["LastModified"].is_string());
    let (_, batches) = sb
        .get(
            &owner,
            &format!("/plantbatches/v2/active?licenseNumber={CULTIVATION}"),
        )
        .await;
    assert!(data(&batches)[0]["Count"].is_u64() && data(&batches)[0]["Type"].is_string());

    for bad in [
        json!({"max_window_hours": 0}),
        json!({"max_window_hours": "a day"}),
        json!({"unwindowed_reads": "some"}),
        json!({"record_shapes": "v3"}),
        json!({"profile": "friendly"}),
        json!({"missing_permission_status": 404}),
        json!({"window": 24}),
    ] {
        let (status, body) = sb.admin(Method::PUT, "/sandbox/settings", Some(&bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(body["Message"].is_string());
    }
    assert_eq!(
        sb.sandbox.settings().record_shapes,
        metrc::sandbox::RecordShapes::WithV1
    );

    // The Rust side changes them too; a reset restores the constructor's.
    sb.sandbox.set_settings(Settings::production_24h());
    assert_eq!(sb.get(&owner, &two_days).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        sb.admin(Method::POST, "/sandbox/reset", None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(sb.sandbox.settings(), Settings::production());
    assert_eq!(sb.get(&owner, &two_days).await.0, StatusCode::OK);
}

#[tokio::test]
async fn long_histories_and_old_packages_are_seeded_through_the_admin_api() {
    let sb = start(config()).await;
    let license = json!({"number": "C11-OLD-1", "name": "Old Distribution",
                         "license_type": "Distributor", "packages": 200, "history_days": 1826});
    let (status, body) = sb
        .admin(Method::POST, "/sandbox/licenses", Some(&license))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (_, owner) = sb
        .admin(
            Method::POST,
            "/sandbox/employees",
            Some(&json!({"name": "Old Owner", "owner_of": ["C11-OLD-1"],
                         "permissions": {"C11-OLD-1": ["Packages", "Items"]}})),
        )
        .await;
    let key = owner["api_key"].as_str().expect("key").to_string();
    let packages = whole_list(&sb, &key, "/packages/v2/active", "C11-OLD-1").await;
    assert_eq!(packages.len(), 200);
    let now = chrono::Utc::now();
    let age = |p: &Value| {
        now - chrono::DateTime::parse_from_rfc3339(p["LastModified"].as_str().expect("time"))
            .expect("ISO")
            .with_timezone(&chrono::Utc)
    };
    assert!(
        packages
            .iter()
            .all(|p| age(p) <= chrono::Duration::days(1826))
    );
    assert!(
        packages
            .iter()
            .filter(|p| age(p) > chrono::Duration::days(3 * 365))
            .count()
            > 40
    );

    let (from, to) = (
        now - chrono::Duration::days(2000),
        now - chrono::Duration::days(1000),
    );
    let (status, added) = sb
        .admin(
            Method::POST,
            "/sandbox/licenses/C11-OLD-1/packages",
            Some(
                &json!({"count": 3, "last_modified_from": iso(from), "last_modified_to": iso(to)}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let labels: Vec<&str> = added["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(labels.len(), 3);
    let after = whole_list(&sb, &key, "/packages/v2/active", "C11-OLD-1").await;
    assert_eq!(after.len(), 203);
    for label in &labels {
        let p = after.iter().find(|p| p["Label"] == *label).expect("listed");
        assert!(age(p) >= chrono::Duration::days(1000) && age(p) <= chrono::Duration::days(2000));
        assert_eq!(label.len(), 24);
    }
    for bad in [
        ("/sandbox/licenses/C11-OLD-1/packages", json!({"count": 1})),
        (
            "/sandbox/licenses/C11-OLD-1/packages",
            json!({"last_modified_from": iso(to), "last_modified_to": iso(from)}),
        ),
        (
            "/sandbox/licenses",
            json!({"number": "X-2", "name": "X", "license_type": "Distributor", "history_days": 0}),
        ),
    ] {
        assert_eq!(
            sb.admin(Method::POST, bad.0, Some(&bad.1)).await.0,
            StatusCode::BAD_REQUEST,
            "{bad:?}"
        );
    }
    let (status, _) = sb
        .admin(
            Method::POST,
            "/sandbox/licenses/NOPE/packages",
            Some(&json!({"last_modified_from": iso(from)})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
