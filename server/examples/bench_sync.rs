//! Benchmark: the initial sync of one facility with 100,000 active packages from the Metrc
//! sandbox (rate limits on, as Metrc's), into SQLite (or the database `DATABASE_URL` names).
//! Prints records per second and the ratio of the sync's wall time to the client's pure fetch
//! time for the same lists and pages (the same walks, records decoded, nothing stored).
//!
//! `cargo run --release -p server --example bench_sync [-- PACKAGES [LATENCY_MS]]`

use std::time::{Duration, Instant};

use app::ssr::config::{Config, SyncSettings};
use app::ssr::facility_keys;
use app::ssr::queries::{synced_records, users};
use app::ssr::sync::{self, schedule};
use app::ssr::throttle::ThrottleLimits;
use chrono::Utc;
use futures::TryStreamExt;
use metrc::sandbox::{Sandbox, SandboxConfig};
use metrc::{Resource, Section};
use secrecy::SecretString;
use serde_json::{Value, json};

const VENDOR: &str = "bench-vendor-key";
const LICENSE: &str = "BENCH-SYNC";

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let packages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let latency_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);

    // The sandbox, empty, with Metrc's rate limits.
    let sandbox = Sandbox::new(SandboxConfig {
        vendor_keys: vec![VENDOR.into()],
        demo: false,
        ..SandboxConfig::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("port");
    let addr = sandbox.spawn(listener).expect("sandbox");
    let base = format!("http://{addr}");
    let admin = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        let request = admin.post(format!("{base}{path}")).json(&body);
        async move {
            let response = request.send().await.expect("sandbox admin API");
            assert!(response.status().is_success(), "{}", response.status());
            response.json::<Value>().await.unwrap_or(Value::Null)
        }
    };
    let seeding = Instant::now();
    post(
        "/sandbox/licenses",
        json!({"number": LICENSE, "name": "Bench Distribution", "license_type": "Distributor", "packages": packages}),
    )
    .await;
    let every: Vec<&str> = Section::ALL.iter().map(|s| s.name()).collect();
    let owner = post(
        "/sandbox/employees",
        json!({"name": "Bench Owner", "owner_of": [LICENSE], "permissions": {LICENSE: every}}),
    )
    .await;
    let key = owner["api_key"].as_str().expect("key").to_owned();
    if latency_ms > 0 {
        post("/sandbox/faults", json!({"latency_ms": latency_ms})).await;
    }
    eprintln!("sandbox seeded in {:.1} s", seeding.elapsed().as_secs_f64());

    // The server's state on a fresh database.
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        )
    });
    let config = Config {
        database_url: database_url.clone(),
        addr: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.path().join("data"),
        admin_email: "admin@localhost".into(),
        admin_password: Some("bench-admin-password".to_owned().into()),
        secure_cookies: false,
        identity: None,
        identity_file: None,
        fingerprint_secret: None,
        key_warn_after_days: app::ssr::config::DEFAULT_KEY_WARN_AFTER_DAYS,
        revalidate_every: Duration::from_secs(app::ssr::config::DEFAULT_REVALIDATE_EVERY_SECS),
        sync: SyncSettings {
            scheduled: false,
            ..SyncSettings::default()
        },
        outbox: Default::default(),
    };
    let client = metrc::Client::new(metrc::ClientConfig::new(
        url::Url::parse(&format!("{base}/")).expect("url"),
        SecretString::from(VENDOR),
    ))
    .expect("client");
    let state = server::startup::build_state(config, client.clone(), ThrottleLimits::default())
        .await
        .expect("state");
    let admin_id = users::find_by_email(&state.db, "admin@localhost")
        .await
        .expect("db")
        .expect("first admin")
        .id;
    let secret = SecretString::from(key.clone());
    facility_keys::assign(
        &state,
        admin_id,
        None,
        secret.clone(),
        vec![LICENSE.into()],
        false,
    )
    .await
    .expect("key assigned");
    let facility = app::ssr::queries::facilities::find_by_license(&state.db, LICENSE)
        .await
        .expect("db")
        .expect("facility");
    let lists = schedule::applicable(&facility.capabilities);

    // 1. Pure fetch: the same lists and windows the sync reads (from the history start, in the
    // widest window the sandbox accepts), records decoded, nothing stored.
    let to = Utc::now();
    let from = SyncSettings::default()
        .history_start
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    let started = Instant::now();
    let (mut fetched, mut pages) = (0usize, 0usize);
    for resource in &lists {
        let walked: Vec<_> = client
            .walk::<Value>(&secret, LICENSE, *resource, from, to)
            .try_collect()
            .await
            .expect("walk");
        pages += walked.len();
        fetched += walked.iter().map(|p| p.records.len()).sum::<usize>();
    }
    let fetch = started.elapsed();

    // 2. The initial sync: the same walks, stored as they come.
    let started = Instant::now();
    let report = sync::sync_facility(&state, LICENSE, false)
        .await
        .expect("sync");
    let wall = started.elapsed();
    assert_eq!(
        report.state,
        app::types::inventory::SyncState::Idle,
        "{report:?}"
    );
    let active =
        synced_records::count(&state.db, LICENSE, schedule::name(Resource::PackagesActive))
            .await
            .expect("count");
    assert_eq!(
        active as usize, packages,
        "every active package stored once"
    );
    let mut stored = 0;
    for resource in &lists {
        stored += synced_records::count(&state.db, LICENSE, schedule::name(*resource))
            .await
            .expect("count");
    }

    let backend = database_url.split(':').next().unwrap_or_default();
    println!(
        "initial sync: {packages} active packages of one distribution license, {} lists, {latency_ms} ms latency per call, {backend}",
        lists.len()
    );
    println!(
        "  pages: {pages}, records fetched: {fetched}, stored: {stored} ({active} active packages)"
    );
    println!("  windows: {} (progress)", report.progress.windows_total);
    println!("  pure fetch:   {:.1} s", fetch.as_secs_f64());
    println!("  sync:         {:.1} s", wall.as_secs_f64());
    println!(
        "  records/s:    {:.0} (stored records / sync time)",
        stored as f64 / wall.as_secs_f64()
    );
    println!(
        "  ratio sync/fetch: {:.3}",
        wall.as_secs_f64() / fetch.as_secs_f64()
    );
}
