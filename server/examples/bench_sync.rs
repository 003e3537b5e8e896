//! Benchmark: the initial sync of one facility with 100,000 active packages from the Metrc
//! sandbox (rate limits on, as Metrc's), into SQLite (or the database `DATABASE_URL` names).
//! Prints records per second and the ratio of the sync's wall time to the client's pure fetch
//! time for the same lists and pages (the same walks, records decoded, nothing stored).
//!
//! `cargo run --release -p server --example bench_sync [-- PACKAGES [LATENCY_MS]]`

mod support;

use std::time::Instant;

use app::ssr::config::SyncSettings;
use app::ssr::queries::synced_records;
use app::ssr::sync::{self, schedule};
use chrono::Utc;
use futures::TryStreamExt;
use metrc::Resource;
use metrc::sandbox::Settings;
use secrecy::SecretString;
use serde_json::Value;
use support::BenchSandbox;

const LICENSE: &str = "BENCH-SYNC";

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let packages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let latency_ms: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(0);

    // The sandbox, with Metrc's rate limits, in its production profile.
    let bench = BenchSandbox::start(Settings::production()).await;
    let seeding = Instant::now();
    let key = bench.distribution(LICENSE, packages, None).await;
    if latency_ms > 0 {
        bench.latency(latency_ms).await;
    }
    eprintln!("sandbox seeded in {:.1} s", seeding.elapsed().as_secs_f64());

    // The server's state on a fresh database.
    let dir = tempfile::tempdir().expect("temp dir");
    let database_url = support::database_url(dir.path());
    let client = bench.client();
    let (state, lists) = support::keyed_state(
        &database_url,
        &dir.path().join("data"),
        SyncSettings::default(),
        client.clone(),
        LICENSE,
        &key,
    )
    .await;
    let secret = SecretString::from(key);

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
        usize::try_from(active).unwrap(),
        packages,
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
