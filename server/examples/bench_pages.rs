//! Benchmark (issue 15, item 6): requests a second the server renders for `/login`, for
//! Facility Management with 500 facilities (its first page, and a search) and for the Packages
//! screen with 100,000 synced packages (its first page, and a label search), each measured with
//! `wrk` (50 connections, 2 threads, on the same machine as the server). The goal: every page at
//! least half of `/login`'s rate in the same run.
//!
//! `cargo run --release -p server --example bench_pages [-- SECONDS [PATH…]]` (10 s a page by
//! default; only the pages given, with `/login` always first, when paths are given;
//! needs `wrk`: `apt-get install wrk`; SQLite in a temporary directory, or `DATABASE_URL`).
//!
//! Figures: docs/benchmarks.md.

mod support;

use std::process::Command;
use std::time::Instant;

use app::ssr::config::SyncSettings;
use app::ssr::queries::facilities::{self, NewFacility};
use app::ssr::queries::synced_records::{self, MAX_ROWS, NewRecord};
use app::ssr::sync::schedule;
use chrono::Utc;
use metrc::Resource;
use metrc::sandbox::Settings;
use serde_json::json;
use support::{ADMIN_EMAIL, ADMIN_PASSWORD, BenchSandbox};

const FACILITIES: usize = 500;
const PACKAGES: usize = 100_000;
/// The facility that holds every package.
const PACKAGES_LICENSE: &str = "BENCH-0001";

/// One page under load: what `wrk` measured.
struct Measured {
    path: &'static str,
    per_second: f64,
    p99: String,
}

#[tokio::main]
async fn main() {
    let seconds: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10);
    let wrk = Command::new("wrk").arg("--version").output();
    assert!(
        wrk.is_ok(),
        "wrk is not installed: apt-get install wrk (or put it on PATH)"
    );

    // The server on a fresh database: 500 facilities, one of them with 100,000 packages.
    let bench = BenchSandbox::start(Settings::production()).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = support::config(
        &support::database_url(dir.path()),
        &dir.path().join("data"),
        SyncSettings::default(),
    );
    let state = server::startup::build_state(config, bench.client())
        .await
        .expect("state");
    let seeding = Instant::now();
    seed(&state.db).await;
    eprintln!(
        "seeded {FACILITIES} facilities and {PACKAGES} packages in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(server::startup::serve_on(
        listener,
        state,
        std::future::pending(),
    ));
    let cookie = sign_in(&base).await;

    let pages: [(&'static str, bool, &str); 7] = [
        ("/login", false, "Sign in"),
        // Signed in, no list: what every signed-in page costs before its own work.
        ("/", true, "Welcome"),
        ("/admin/facilities", true, "Page 1 of 10 (500 facilities)"),
        (
            "/admin/facilities?search=store%2049",
            true,
            "(11 facilities)",
        ),
        ("/inventory/packages", true, "(over 10,"),
        // A broad label search (1,111 packages) and one tag by its last digits.
        ("/inventory/packages?label=000042", true, "Page 1 of"),
        ("/inventory/packages?label=099999", true, "(1 package)"),
    ];
    let only: Vec<String> = std::env::args().skip(2).collect();
    let mut measured = Vec::new();
    for (path, signed_in, shows) in pages {
        if path != "/login" && !only.is_empty() && !only.iter().any(|p| p == path) {
            continue;
        }
        let cookie = signed_in.then(|| cookie.clone());
        check(&base, path, cookie.as_deref(), shows).await;
        let url = format!("{base}{path}");
        let run = tokio::task::spawn_blocking(move || load(&url, cookie.as_deref(), seconds))
            .await
            .expect("wrk");
        eprintln!("{path}: {:.0}/s, p99 {}", run.0, run.1);
        measured.push(Measured {
            path,
            per_second: run.0,
            p99: run.1,
        });
    }
    let login = measured[0].per_second;
    println!("| page | requests/s | p99 | share of /login's rate |");
    println!("|---|---|---|---|");
    for m in &measured {
        println!(
            "| `{}` | {:.0} | {} | {:.2} |",
            m.path,
            m.per_second,
            m.p99,
            m.per_second / login
        );
    }
}

/// 500 facilities named "Store N" (`BENCH-0001` to `BENCH-0500`), and 100,000 active packages at
/// the first, stored as sync stores them.
async fn seed(db: &sea_orm::DatabaseConnection) {
    for i in 1..=FACILITIES {
        facilities::insert(
            db,
            NewFacility {
                license_number: &format!("BENCH-{i:04}"),
                name: &format!("Store {i}"),
                license_type: "Medicinal and Adult-Use Retail",
                state: "CA",
                capabilities: "{}".into(),
            },
        )
        .await
        .expect("facility");
    }
    let resource = schedule::name(Resource::PackagesActive);
    let now = Utc::now();
    let records: Vec<NewRecord> = (1..=PACKAGES)
        .map(|i| {
            let label = format!("1A4000000000000000{i:06}");
            NewRecord {
                metrc_id: i64::try_from(i).expect("id"),
                label: Some(label.clone()),
                name: None,
                item: Some(format!("Flower {}", i % 50)),
                location: Some(format!("Vault {}", i % 20)),
                strain: None,
                quantity: Some(100.0),
                unit: Some("Grams".into()),
                last_modified: Some(now),
                data: json!({ "Id": i, "Label": label }).to_string(),
            }
        })
        .collect();
    for chunk in records.chunks(MAX_ROWS) {
        synced_records::upsert_chunk(db, PACKAGES_LICENSE, resource, chunk.to_vec(), now)
            .await
            .expect("packages");
    }
}

/// Signs the first admin in; the session cookie (`name=value`).
async fn sign_in(base: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{base}/api/login"))
        .header("Origin", base)
        .header("Sec-Fetch-Site", "same-origin")
        .header("Accept", "application/json")
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .expect("sign in");
    assert!(
        response.status().is_success(),
        "sign in: {}",
        response.status()
    );
    let set = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie");
    set.split(';').next().expect("name=value").to_owned()
}

/// Loads `path` once as a browser would and checks it answers 200 and shows `shows`: the load
/// measures the page, not a redirect or an error.
async fn check(base: &str, path: &str, cookie: Option<&str>, shows: &str) {
    let mut request = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .header("Accept", "text/html");
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response = request.send().await.expect("page");
    assert_eq!(response.status(), reqwest::StatusCode::OK, "{path}");
    let html = response.text().await.expect("html");
    assert!(html.contains(shows), "{path} does not show {shows:?}");
}

/// `wrk` on `url` for `seconds` (50 connections, 2 threads): requests a second and the 99th
/// percentile latency as `wrk` prints it.
fn load(url: &str, cookie: Option<&str>, seconds: u32) -> (f64, String) {
    let mut command = Command::new("wrk");
    command.args(["-t2", "-c50", &format!("-d{seconds}s"), "--latency"]);
    command.args(["-H", "Accept: text/html"]);
    if let Some(cookie) = cookie {
        command.args(["-H", &format!("Cookie: {cookie}")]);
    }
    let output = command.arg(url).output().expect("wrk runs");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        !text.contains("Non-2xx"),
        "{url}: some answers were not 2xx:\n{text}"
    );
    let per_second = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no rate in wrk's output:\n{text}"));
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map_or_else(|| "?".to_owned(), |v| v.trim().to_owned());
    (per_second, p99)
}
