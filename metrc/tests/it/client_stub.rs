//! The client against small scripted HTTP servers on 127.0.0.1:0: what the sandbox cannot easily
//! fake (camelCase answers, HTML errors, bodies echoing the key, hanging and dropped answers).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{NaiveDate, TimeZone, Utc};
use futures::StreamExt;
use metrc::{CellStatus, Client, Error, Package, PackageFinish, Resource, Section};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

use crate::client_common;
use client_common::{quick_client, quick_client_with};

const VENDOR: &str = "vendor-key-AAAA";
const USER: &str = "user-key-BBBB";

/// A request as the stub saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    authorization: Option<String>,
    body: String,
}

impl Seen {
    fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the stub answers.
struct Canned {
    status: u16,
    body: String,
    retry_after: Option<&'static str>,
    location: Option<String>,
    delay: Duration,
}

fn answer(status: u16, body: impl Into<String>) -> Canned {
    Canned {
        status,
        body: body.into(),
        retry_after: None,
        location: None,
        delay: Duration::ZERO,
    }
}

fn json_answer(value: Value) -> Canned {
    answer(200, value.to_string())
}

type Script = dyn Fn(&Seen, usize) -> Canned + Send + Sync;

struct Stub {
    url: Url,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Requests being answered now, and the most there were at once.
    at_once: Arc<Mutex<(usize, usize)>>,
}

impl Stub {
    /// Serves `script(request, index of the request)` for every request.
    async fn start(script: impl Fn(&Seen, usize) -> Canned + Send + Sync + 'static) -> Stub {
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let at_once: Arc<Mutex<(usize, usize)>> = Arc::default();
        let script: Arc<Script> = Arc::new(script);
        let (log, counter) = (seen.clone(), at_once.clone());
        let app = axum::Router::new().fallback(move |req: Request| {
            let (log, script, counter) = (log.clone(), script.clone(), counter.clone());
            async move {
                {
                    let mut c = counter.lock().unwrap();
                    c.0 += 1;
                    c.1 = c.1.max(c.0);
                }
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, usize::MAX)
                    .await
                    .unwrap_or_default();
                let request = Seen {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_string(),
                    query: url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
                        .into_owned()
                        .collect(),
                    authorization: parts
                        .headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                    body: String::from_utf8_lossy(&body).into_owned(),
                };
                let index = {
                    let mut log = log.lock().unwrap();
                    log.push(request.clone());
                    log.len() - 1
                };
                let canned = script(&request, index);
                tokio::time::sleep(canned.delay).await;
                counter.lock().unwrap().0 -= 1;
                let mut response = Response::new(Body::from(canned.body));
                *response.status_mut() = StatusCode::from_u16(canned.status).unwrap();
                if let Some(after) = canned.retry_after {
                    response
                        .headers_mut()
                        .insert("retry-after", HeaderValue::from_static(after));
                }
                if let Some(to) = canned
                    .location
                    .and_then(|to| HeaderValue::try_from(to).ok())
                {
                    response.headers_mut().insert("location", to);
                }
                response
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Stub { url, seen, at_once }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The most requests the stub was answering at once.
    fn most_at_once(&self) -> usize {
        self.at_once.lock().unwrap().1
    }

    fn client(&self) -> Client {
        client_for(self.url.clone())
    }
}

/// A client whose requests time out after a second: less than the stub's slow answers (2 s), and
/// more than a loaded machine takes to answer at once (at 300 ms an unoptimised build running
/// tests side by side timed a request out, retried it and sent one request too many).
fn client_for(url: Url) -> Client {
    quick_client(url, VENDOR, Duration::from_secs(1))
}

fn user() -> SecretString {
    SecretString::from(USER)
}

/// Every page of active packages of license `L` in the hour from 2026-01-01 00:00 UTC.
async fn walk_one_hour(stub: &Stub) -> Vec<Result<metrc::WindowPage<Package>, Error>> {
    walk_hours(&stub.client(), 1).await
}

/// Every page `client` reads of active packages of license `L` in the `hours` from 2026-01-01
/// 00:00 UTC.
async fn walk_hours(client: &Client, hours: i64) -> Vec<Result<metrc::WindowPage<Package>, Error>> {
    let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    client
        .walk::<Package>(
            &user(),
            "L",
            Resource::PackagesActive,
            from,
            from + chrono::Duration::hours(hours),
        )
        .collect()
        .await
}

fn assert_no_key(text: &str) {
    assert!(!text.contains(USER), "user key leaked: {text}");
    assert!(!text.contains(VENDOR), "vendor key leaked: {text}");
}

#[tokio::test]
async fn facilities_sends_basic_auth_and_reads_camel_case() {
    let stub = Stub::start(|_, _| {
        json_answer(json!([{
            "name": "Green", "isOwner": true, "isManager": false,
            "facilityType": {"canGrowPlants": true},
            "license": {"number": "CUL-1", "licenseType": "Cultivator", "employeeLicenseNumber": "E-1"},
            "somethingNew": [1, 2]
        }]))
    })
    .await;
    let facilities = stub.client().facilities(&user()).await.unwrap();
    assert_eq!(facilities.len(), 1);
    assert_eq!(facilities[0].license_number(), "CUL-1");
    assert_eq!(facilities[0].is_owner, Some(true));
    assert!(facilities[0].section_applies(Section::Plants));
    // Kept as sent: Metrc's own key spelling.
    assert_eq!(facilities[0].raw["somethingNew"], json!([1, 2]));
    let seen = stub.seen();
    assert_eq!(seen[0].path, "/facilities/v2/");
    // base64("vendor-key-AAAA:user-key-BBBB")
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some("Basic dmVuZG9yLWtleS1BQUFBOnVzZXIta2V5LUJCQkI=")
    );
}

/// The body of field case-06 (`GET /packages/v2/{label}` in camelCase), and the same package in
/// `PascalCase`: both read alike through the one decoder.
fn case_06_body(camel: bool) -> Value {
    fn pascal(v: Value) -> Value {
        match v {
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| {
                    let mut c = k.chars();
                    let first = c.next().map(|f| f.to_ascii_uppercase()).unwrap_or_default();
                    (format!("{first}{}", c.as_str()), pascal(v))
                })
                .collect::<serde_json::Map<_, _>>()
                .into(),
            other => other,
        }
    }
    let body = json!({
        "id": 10041, "label": "ABCDEF012345670000010041", "packageType": "Product",
        "locationId": 3, "locationName": "Vault", "sublocationId": null, "sublocationName": null,
        "quantity": 0.0, "unitOfMeasureName": "Grams", "unitOfMeasureAbbreviation": "g",
        "packagedDate": "2026-01-02", "labTestingState": "TestPassed",
        "isOnHold": false, "isFinished": true, "finishedDate": "2026-01-20", "archivedDate": null,
        "lastModified": "2026-01-20T17:02:44.513+00:00",
        "item": {"id": 900_001, "name": "Example Flower 3.5g", "productCategoryName": "Bud/Flower - Each", "unitOfMeasureName": "Grams"}
    });
    if camel {
        return body;
    }
    pascal(body)
}

#[tokio::test]
async fn case_06_camelcase_package_by_label() {
    for camel in [true, false] {
        let stub = Stub::start(move |_, _| json_answer(case_06_body(camel))).await;
        let package = stub
            .client()
            .package_by_label(&user(), "LIC-TEST-1", "ABCDEF012345670000010041")
            .await
            .unwrap()
            .expect("found");
        assert_eq!(package.is_finished, Some(true), "camel: {camel}");
        assert_eq!(package.finished_date, NaiveDate::from_ymd_opt(2026, 1, 20));
        assert_eq!(package.location_name.as_deref(), Some("Vault"));
        let changed = Utc.with_ymd_and_hms(2026, 1, 20, 17, 2, 44).unwrap()
            + chrono::Duration::milliseconds(513);
        assert_eq!(
            package.last_modified.and_then(|t| t.to_utc(None)),
            Some(changed)
        );
        assert_eq!(
            package.item.as_ref().and_then(|i| i.name.as_deref()),
            Some("Example Flower 3.5g")
        );
        // The record as Metrc sent it, keys and all.
        assert_eq!(Value::Object(package.raw.clone()), case_06_body(camel));
        let seen = stub.seen();
        assert_eq!(seen[0].path, "/packages/v2/ABCDEF012345670000010041");
        assert_eq!(seen[0].q("licenseNumber"), Some("LIC-TEST-1"));
    }
}

#[tokio::test]
async fn unauthorized_means_key_invalid_on_facilities_and_no_access_elsewhere() {
    let stub = Stub::start(|r, _| {
        if r.path == "/packages/v2/active" {
            answer(403, "")
        } else {
            answer(
                401,
                r#"{"Message":"Invalid or no authentication provided"}"#,
            )
        }
    })
    .await;
    let client = stub.client();
    assert_eq!(client.facilities(&user()).await, Err(Error::KeyInvalid));
    assert_eq!(
        client.probe(&user(), "LIC-1", Section::Items).await,
        Err(Error::NoAccess {
            license: "LIC-1".into(),
            status: 401
        })
    );
    assert_eq!(
        client.probe(&user(), "LIC-1", Section::Packages).await,
        Err(Error::NoAccess {
            license: "LIC-1".into(),
            status: 403
        })
    );
    assert_eq!(client.validate_key(&user()).await, Err(Error::KeyInvalid));
    // No retries for access errors: one request each.
    assert_eq!(stub.seen().len(), 4);
    let probe = &stub.seen()[1];
    assert_eq!(probe.q("licenseNumber"), Some("LIC-1"));
    assert_eq!(probe.q("pageSize"), Some("1"));
}

#[tokio::test]
async fn reads_retry_429_and_5xx_then_succeed() {
    let stub = Stub::start(|_, i| match i {
        0 => Canned {
            retry_after: Some("0.05"),
            ..answer(429, "")
        },
        1 => answer(503, "<html><body>Service Unavailable</body></html>"),
        _ => json_answer(json!([])),
    })
    .await;
    let started = std::time::Instant::now();
    stub.client()
        .probe(&user(), "L", Section::Items)
        .await
        .unwrap();
    assert_eq!(stub.seen().len(), 3);
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "Retry-After not honoured"
    );
}

#[tokio::test]
async fn exhausted_retries_report_the_last_error_without_the_key() {
    let body = format!(
        "<html><h1>Server Error</h1><p>{USER} {VENDOR}</p>{}</html>",
        "x".repeat(500)
    );
    let stub = Stub::start(move |r, _| {
        if r.path.starts_with("/items") {
            Canned {
                retry_after: Some("0"),
                ..answer(429, "")
            }
        } else {
            answer(500, body.clone())
        }
    })
    .await;
    let client = stub.client();
    let err = client
        .probe(&user(), "L", Section::Packages)
        .await
        .unwrap_err();
    let Error::Server { status, excerpt } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(*status, 500);
    assert!(excerpt.starts_with("<html>") && excerpt.chars().count() <= metrc::EXCERPT_CHARS);
    assert_no_key(&format!("{err} {err:?}"));
    assert_eq!(stub.seen().len(), 3, "max_attempts is 3");
    assert_eq!(
        client.probe(&user(), "L", Section::Items).await,
        Err(Error::RateLimited {
            retry_after: Some(Duration::ZERO)
        })
    );
}

#[tokio::test]
async fn empty_5xx_timeout_and_undecodable_bodies() {
    let stub = Stub::start(|r, _| match r.path.as_str() {
        "/items/v2/active" => answer(502, ""),
        "/strains/v2/active" => Canned {
            delay: Duration::from_secs(2),
            ..json_answer(json!([]))
        },
        _ => answer(200, format!("<html>oops {USER}</html>")),
    })
    .await;
    let client = stub.client();
    assert_eq!(
        client.probe(&user(), "L", Section::Items).await,
        Err(Error::Server {
            status: 502,
            excerpt: String::new()
        })
    );
    assert_eq!(
        client.probe(&user(), "L", Section::Strains).await,
        Err(Error::Timeout)
    );
    let err = client.facilities(&user()).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert_no_key(&format!("{err:?}"));
    let strains = stub
        .seen()
        .iter()
        .filter(|r| r.path.starts_with("/strains"))
        .count();
    assert_eq!(strains, 3, "timeouts are retried");
}

fn finish_row() -> PackageFinish {
    PackageFinish {
        label: "1A4000000000000000000123".into(),
        actual_date: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap(),
    }
}

#[tokio::test]
async fn writes_are_sent_once_and_classified() {
    let stub = Stub::start(|r, _| match r.q("licenseNumber") {
        Some("OK") => answer(200, ""),
        Some("BAD") => answer(400, r#"[{"row":0,"message":"Package does not exist"}]"#),
        Some("BUSY") => answer(503, "<html>down</html>"),
        Some("SLOW") => Canned {
            delay: Duration::from_secs(2),
            ..answer(200, "")
        },
        _ => answer(429, ""),
    })
    .await;
    let client = stub.client();
    let rows = [finish_row()];
    assert_eq!(
        client
            .finish_packages(&user(), "OK", &rows)
            .await
            .unwrap()
            .ids,
        Vec::<i64>::new()
    );
    let sent = &stub.seen()[0];
    assert_eq!(
        (sent.method.as_str(), sent.path.as_str()),
        ("PUT", "/packages/v2/finish")
    );
    let body: Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(
        body,
        json!([{"Label": "1A4000000000000000000123", "ActualDate": "2026-01-02"}])
    );

    let Err(Error::Rejected { rows: errors, .. }) =
        client.finish_packages(&user(), "BAD", &rows).await
    else {
        panic!("expected a rejection")
    };
    assert_eq!(errors[0].row, Some(0));
    let busy = client
        .finish_packages(&user(), "BUSY", &rows)
        .await
        .unwrap_err();
    assert!(matches!(busy, Error::Server { status: 503, .. }) && busy.write_not_recorded());
    let limited = client
        .finish_packages(&user(), "LIMIT", &rows)
        .await
        .unwrap_err();
    assert!(matches!(limited, Error::RateLimited { .. }) && limited.write_not_recorded());
    let slow = client
        .finish_packages(&user(), "SLOW", &rows)
        .await
        .unwrap_err();
    assert!(matches!(slow, Error::OutcomeUnknown(_)), "{slow:?}");
    assert!(!slow.write_not_recorded());
    // Every write went exactly once: never retried.
    assert_eq!(stub.seen().len(), 5);

    let eleven = vec![finish_row(); 11];
    assert_eq!(
        client.finish_packages(&user(), "OK", &eleven).await,
        Err(Error::TooManyRows { max: 10, got: 11 })
    );
    assert_eq!(stub.seen().len(), 5, "nothing sent for 11 rows");
}

#[tokio::test]
async fn write_to_a_closed_port_is_a_transport_error_not_unknown() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = Url::parse(&format!("http://{}", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let err = client_for(url)
        .finish_packages(&user(), "L", &[finish_row()])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    assert!(err.write_not_recorded());
    assert_no_key(&format!("{err:?}"));
}

#[tokio::test]
async fn walk_pages_within_windows_and_accepts_camel_envelopes() {
    // 45 records per window: pages of 20, 20, 5, in camelCase.
    let stub = Stub::start(|r, _| {
        let page: u32 = r.q("pageNumber").unwrap().parse().unwrap();
        let start = r.q("lastModifiedStart").unwrap().to_string();
        let data: Vec<Value> = (0..if page < 3 { 20 } else { 5 })
            .map(|i| json!({"id": page * 100 + i, "label": start}))
            .collect();
        json_answer(json!({"data": data, "currentPage": page, "totalPages": 3, "pageSize": 20}))
    })
    .await;
    let from = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    let to = from + chrono::Duration::hours(30);
    let pages: Vec<_> =
        quick_client_with(stub.url.clone(), VENDOR, Duration::from_millis(300), |c| {
            c.window = chrono::Duration::hours(24);
        })
        .walk::<Package>(&user(), "L", Resource::PackagesActive, from, to)
        .collect()
        .await;
    let pages: Vec<_> = pages.into_iter().map(Result::unwrap).collect();
    assert_eq!(pages.len(), 6);
    assert_eq!(pages.iter().map(|p| p.records.len()).sum::<usize>(), 90);
    assert_eq!(
        pages
            .iter()
            .map(|p| (p.window_index, p.page, p.window_complete))
            .collect::<Vec<_>>(),
        vec![
            (0, 1, false),
            (0, 2, false),
            (0, 3, true),
            (1, 1, false),
            (1, 2, false),
            (1, 3, true)
        ]
    );
    assert!(
        pages
            .iter()
            .all(|p| p.window_count == 2 && p.total_pages == 3)
    );
    // Windows may be fetched concurrently: compare the set of calls, not their order.
    let mut ranges: Vec<(String, String, String)> = stub
        .seen()
        .iter()
        .map(|r| {
            assert_eq!(r.q("pageSize"), Some("20"));
            let q = |n: &str| r.q(n).unwrap().to_string();
            (
                q("lastModifiedStart"),
                q("lastModifiedEnd"),
                q("pageNumber"),
            )
        })
        .collect();
    ranges.sort();
    let expected: Vec<(String, String, String)> = [
        ("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"),
        ("2026-01-01T23:59:00Z", "2026-01-02T06:00:00Z"),
    ]
    .iter()
    .flat_map(|(a, b)| (1..=3).map(move |p| (a.to_string(), b.to_string(), p.to_string())))
    .collect();
    assert_eq!(ranges, expected);
    assert_eq!(
        pages[5].records[0].label.as_deref(),
        Some("2026-01-01T23:59:00Z")
    );
}

#[tokio::test]
async fn validation_cells_granted_denied_not_applicable_and_error() {
    let stub = Stub::start(|r, _| match (r.path.as_str(), r.q("licenseNumber")) {
        ("/facilities/v2/", _) => json_answer(json!([
            {"Name": "Farm", "IsOwner": true, "FacilityType": {"CanGrowPlants": true},
             "License": {"Number": "CUL-1", "LicenseType": "Cultivator"}},
            {"Name": "Trucks", "IsOwner": false, "FacilityType": {},
             "License": {"Number": "DIS-1", "LicenseType": "Distributor"}}
        ])),
        ("/employees/v2/", Some("CUL-1")) => answer(401, ""),
        ("/harvests/v2/active", Some("CUL-1")) => answer(500, ""),
        _ => json_answer(json!({"Data": [], "CurrentPage": 1, "TotalPages": 0})),
    })
    .await;
    let client = stub.client();
    let events: Vec<_> = client.validate_key_stream(&user()).collect().await;
    assert!(matches!(events[0], Ok(metrc::ValidationEvent::Facilities(ref f)) if f.len() == 2));
    assert_eq!(events.len(), 1 + 2 * Section::ALL.len());
    let report = client.validate_key(&user()).await.unwrap();
    let farm = report.facility("CUL-1").unwrap();
    assert!(farm.is_owner);
    assert_eq!(farm.cell(Section::Employees), Some(&CellStatus::Denied));
    assert_eq!(farm.cell(Section::Plants), Some(&CellStatus::Granted));
    assert!(matches!(
        farm.cell(Section::Harvests),
        Some(CellStatus::Error(_))
    ));
    assert_eq!(farm.cell(Section::Sales), Some(&CellStatus::NotApplicable));
    let trucks = report.facility("DIS-1").unwrap();
    assert!(!trucks.is_owner);
    assert_eq!(
        trucks.cell(Section::Plants),
        Some(&CellStatus::NotApplicable)
    );
    assert_eq!(trucks.cell(Section::Packages), Some(&CellStatus::Granted));
    assert_eq!(trucks.cells.len(), Section::ALL.len());
    assert_no_key(&serde_json::to_string(&report).unwrap());
}

#[tokio::test]
async fn walk_yields_earlier_windows_in_order_then_the_error_and_stops() {
    // Four one-hour windows of two pages; window 2's second page fails for good.
    let stub = Stub::start(|r, _| {
        let page: u32 = r.q("pageNumber").unwrap().parse().unwrap();
        if r.q("lastModifiedStart")
            .unwrap()
            .starts_with("2026-01-01T02")
            && page == 2
        {
            return answer(400, r#"{"Message":"bad window"}"#);
        }
        json_answer(json!({"Data": [{"Id": page}], "CurrentPage": page, "TotalPages": 2}))
    })
    .await;
    let client = client_for(stub.url.clone());
    let mut cfg = client.config().clone();
    cfg.window = chrono::Duration::hours(1);
    cfg.window_overlap = chrono::Duration::zero();
    let client = Client::new(cfg).unwrap();
    let items = walk_hours(&client, 4).await;
    let shape: Vec<_> = items
        .iter()
        .map(|i| i.as_ref().map(|p| (p.window_index, p.page)).map_err(|_| ()))
        .collect();
    assert_eq!(
        shape,
        vec![
            Ok((0, 1)),
            Ok((0, 2)),
            Ok((1, 1)),
            Ok((1, 2)),
            Ok((2, 1)),
            Err(())
        ]
    );
    assert!(matches!(items[5], Err(Error::Rejected { .. })));
}

/// Field case 01, replayed: New York's v2 production answers `/items/v2/active` read without a
/// window with an empty page, and with a window from 2015 with the license's items. A walk from
/// 2015 asks once, with the window, and gets both.
#[tokio::test]
async fn a_walk_from_2015_reads_items_production_answers_only_within_a_window() {
    let stub = Stub::start(|r, _| {
        if r.q("lastModifiedStart").is_none() || r.q("lastModifiedEnd").is_none() {
            return json_answer(json!({"Data": [], "Total": 0, "TotalRecords": 0, "PageSize": 20,
                "RecordsOnPage": 0, "Page": 1, "CurrentPage": 1, "TotalPages": 0}));
        }
        json_answer(json!({
            "Data": [
                {"Id": 900_001, "Name": "Example Flower 3.5g", "ProductCategoryName": "Bud/Flower - Each",
                 "ProductCategoryType": "Buds", "QuantityType": "CountBased", "UnitOfMeasureName": "Each",
                 "StrainId": 501, "StrainName": "Example Kush", "IsUsed": true,
                 "CreatedDateTime": "2024-03-02T16:10:05.13+00:00"},
                {"Id": 900_002, "Name": "Example Vape 1g", "ProductCategoryName": "Vape Cartridge - Each",
                 "ProductCategoryType": "Concentrate", "QuantityType": "CountBased", "UnitOfMeasureName": "Each",
                 "StrainId": null, "StrainName": null, "IsUsed": true,
                 "CreatedDateTime": "2025-12-17T18:42:59.61+00:00"}
            ],
            "Total": 2, "TotalRecords": 2, "PageSize": 20, "RecordsOnPage": 2, "Page": 1,
            "CurrentPage": 1, "TotalPages": 1
        }))
    })
    .await;
    let from = Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2026, 6, 5, 21, 51, 15).unwrap();
    let pages: Vec<_> = stub
        .client()
        .walk::<metrc::Item>(&user(), "LIC-TEST-1", Resource::ItemsActive, from, to)
        .collect()
        .await;
    let pages: Vec<_> = pages.into_iter().map(Result::unwrap).collect();
    assert_eq!(pages.len(), 1);
    assert!(pages[0].window_complete && pages[0].window_end == to);
    let names: Vec<_> = pages[0]
        .records
        .iter()
        .filter_map(|i| i.name.clone())
        .collect();
    assert_eq!(names, ["Example Flower 3.5g", "Example Vape 1g"]);
    let seen = stub.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/items/v2/active");
    assert_eq!(seen[0].q("lastModifiedStart"), Some("2015-01-01T00:00:00Z"));
    assert_eq!(seen[0].q("lastModifiedEnd"), Some("2026-06-05T21:51:15Z"));
}

#[tokio::test]
async fn the_pages_of_a_wide_window_are_fetched_several_at_once_in_order() {
    // One window of 10 pages, each answered after 500 ms: once the first page has said how many
    // there are, the others are asked for `pages_in_flight` (5) at a time.
    let stub = Stub::start(|r, _| {
        let page: u32 = r.q("pageNumber").unwrap().parse().unwrap();
        let data: Vec<Value> = (0..20).map(|i| json!({"Id": page * 100 + i})).collect();
        let mut canned = json_answer(json!({"Data": data, "CurrentPage": page, "TotalPages": 10}));
        canned.delay = Duration::from_millis(500);
        canned
    })
    .await;
    let client = quick_client_with(stub.url.clone(), VENDOR, Duration::from_secs(5), |_| {});
    assert_eq!(client.config().pages_in_flight, 5);
    let from = Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).unwrap();
    let pages: Vec<_> = client
        .walk::<Package>(&user(), "L", Resource::PackagesActive, from, Utc::now())
        .collect()
        .await;
    let pages: Vec<_> = pages.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        pages
            .iter()
            .map(|p| (p.page, p.window_complete))
            .collect::<Vec<_>>(),
        (1..=10).map(|n| (n, n == 10)).collect::<Vec<_>>()
    );
    assert!(
        pages
            .iter()
            .all(|p| p.window_count == 1 && p.records.len() == 20)
    );
    assert_eq!(
        stub.seen().len(),
        10,
        "no page asked twice, none beyond the last"
    );
    assert_eq!(stub.most_at_once(), 5, "five pages at once, never more");
}

#[tokio::test]
async fn a_server_that_misnumbers_its_pages_cannot_stretch_a_window() {
    // A server that says every page is page 1 of 3: the page numbers asked for decide.
    let stub = Stub::start(|r, _| {
        let page: u32 = r.q("pageNumber").unwrap().parse().unwrap();
        json_answer(json!({"Data": [{"Id": page}], "CurrentPage": 1, "TotalPages": 3}))
    })
    .await;
    let pages = walk_one_hour(&stub).await;
    // The requested page number decides: three pages, the last completes the window.
    let pages: Vec<_> = pages.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        pages
            .iter()
            .map(|p| (p.page, p.window_complete))
            .collect::<Vec<_>>(),
        vec![(1, false), (2, false), (3, true)]
    );
}

#[tokio::test]
async fn a_window_that_loses_a_record_while_it_is_read_is_read_again_backwards() {
    // 50 records, ids 0..50, in pages of 20 by offset. Once page 1 has been served, record 5 is
    // modified (it leaves the window): every record after it moves up one place, and record 20
    // slips onto page 1, already read.
    let modified = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = modified.clone();
    let stub = Stub::start(move |r, _| {
        let page: usize = r.q("pageNumber").unwrap().parse().unwrap();
        let gone = flag.load(std::sync::atomic::Ordering::SeqCst);
        let ids: Vec<usize> = (0..50).filter(|id| !(gone && *id == 5)).collect();
        let data: Vec<Value> = ids
            .iter()
            .skip((page - 1) * 20)
            .take(20)
            .map(|id| json!({"Id": id}))
            .collect();
        if page == 1 {
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        json_answer(
            json!({"Data": data, "CurrentPage": page, "TotalPages": ids.len().div_ceil(20),
                           "TotalRecords": ids.len()}),
        )
    })
    .await;
    let pages = walk_one_hour(&stub).await;
    let pages: Vec<_> = pages.into_iter().map(Result::unwrap).collect();
    assert!(modified.load(std::sync::atomic::Ordering::SeqCst));
    let ids: std::collections::BTreeSet<i64> = pages
        .iter()
        .flat_map(|p| p.records.iter().filter_map(|r| r.id))
        .collect();
    let unchanged: std::collections::BTreeSet<i64> = (0..50).filter(|id| *id != 5).collect();
    assert!(
        ids.is_superset(&unchanged),
        "missing {:?}",
        unchanged.difference(&ids).collect::<Vec<_>>()
    );
    // Only the last page yielded completes the window: page 1, read again last.
    let last = pages.last().unwrap();
    assert!(last.window_complete && last.page == 1);
    assert_eq!(pages.iter().filter(|p| p.window_complete).count(), 1);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    // A proxy or a wrong base URL answering 307 elsewhere: the key is not sent on, and the
    // answer is an unexpected status, not what the other address says.
    let stub = Stub::start(|seen, _| {
        if seen.path == "/facilities/v2/" {
            Canned {
                location: Some("/elsewhere/facilities/v2/".into()),
                ..answer(307, "")
            }
        } else {
            json_answer(json!([]))
        }
    })
    .await;
    let outcome = stub.client().facilities(&user()).await;
    assert!(
        matches!(outcome, Err(Error::UnexpectedStatus { status: 307, .. })),
        "{outcome:?}"
    );
    let paths: Vec<String> = stub.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/facilities/v2/"]);
}
