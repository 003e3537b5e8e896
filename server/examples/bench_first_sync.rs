//! Benchmark: the first sync of a facility whose records span years (issue 12), from 2015-01-01
//! as Tracekeeper syncs by default, against the Metrc sandbox with Metrc's rate limits on, in
//! the sandbox's production profile (any `lastModified` window accepted: one window per list)
//! and with the 24-hour cap some deployments keep (the client's wide window is refused once,
//! then every list walks a window a day). Prints, per run: wall time, Metrc calls made (and
//! refused), windows, records stored, and the ratio of the wall time to the rate-limit floor for
//! the calls that carry records (the fewest pages of 20 that hold every record stored, at 50
//! calls a second per license), and to the floor for every call made.
//!
//! `cargo run --release -p server --example bench_first_sync [-- PACKAGES YEARS [RUN...]]`
//!
//! Runs: `wide`, `day` (the facility: PACKAGES active packages, 100,000 by default, and every
//! other record, last modified over YEARS years, 5 by default), `quiet-wide`, `quiet-day` (a
//! quiet facility: 20 active packages over 10 years, the sync starting 10 years back). Default:
//! `wide day`. SQLite in a temporary directory, a database per run; `DATABASE_URL=postgres://…`
//! for PostgreSQL (then one run per invocation: each run starts from an empty database).

mod support;

use std::time::Instant;

use app::ssr::config::SyncSettings;
use app::ssr::queries::synced_records;
use app::ssr::sync::{self, schedule};
use app::types::inventory::SyncState;
use chrono::Utc;
use metrc::PAGE_SIZE;
use metrc::sandbox::Settings;
use support::BenchSandbox;

/// One run: a facility and the Metrc it syncs from.
struct Run {
    name: String,
    packages: usize,
    history_days: u32,
    /// Whether the sync starts where the facility's history does, not at the default start.
    quiet: bool,
    settings: Settings,
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let packages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let years: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let mut names: Vec<String> = args.collect();
    if names.is_empty() {
        names = vec!["wide".into(), "day".into()];
    }
    let dir = tempfile::tempdir().expect("temp dir");
    for (n, name) in names.into_iter().enumerate() {
        // A database of its own per run (its vault's secret lives in the run's data directory).
        let run_dir = dir.path().join(format!("run-{n}"));
        std::fs::create_dir_all(&run_dir).expect("run directory");
        let database_url = support::database_url(&run_dir);
        let (packages, history_days, quiet) = match name.as_str() {
            "wide" | "day" => (packages, years * 365 + 1, false),
            "quiet-wide" | "quiet-day" => (20, 3_651, true),
            other => panic!("unknown run {other}: wide, day, quiet-wide or quiet-day"),
        };
        let settings = if name.ends_with("day") {
            Settings::production_24h()
        } else {
            Settings::production()
        };
        let run = Run {
            name,
            packages,
            history_days,
            quiet,
            settings,
        };
        first_sync(&run, &database_url, n, dir.path()).await;
    }
}

async fn first_sync(run: &Run, database_url: &str, n: usize, dir: &std::path::Path) {
    let license = format!("BENCH-FIRST-{n}");
    // A sandbox of its own (a new base URL: nothing learnt about windows yet).
    let bench = BenchSandbox::start(run.settings.clone()).await;
    let seeding = Instant::now();
    let key = bench
        .distribution(&license, run.packages, Some(run.history_days))
        .await;
    eprintln!(
        "{}: sandbox seeded in {:.1} s",
        run.name,
        seeding.elapsed().as_secs_f64()
    );
    let history_start = if run.quiet {
        (Utc::now() - chrono::Duration::days(i64::from(run.history_days))).date_naive()
    } else {
        SyncSettings::default().history_start
    };
    let client = bench.client();
    let limits = client.config().limits;
    let (state, lists) = support::keyed_state(
        database_url,
        &dir.join(format!("data-{n}")),
        SyncSettings {
            history_start,
            ..SyncSettings::default()
        },
        client,
        &license,
        &key,
    )
    .await;
    let seen = bench.sandbox.requests().len();

    let started = Instant::now();
    let report = sync::sync_facility(&state, &license, false)
        .await
        .expect("sync");
    let wall = started.elapsed();
    assert_eq!(report.state, SyncState::Idle, "{report:?}");

    let calls: Vec<_> = bench.sandbox.requests().into_iter().skip(seen).collect();
    let refused = calls.iter().filter(|c| c.status == 400).count();
    let other = calls
        .iter()
        .filter(|c| c.status != 200 && c.status != 400)
        .count();
    let (mut stored, mut carrying) = (0u64, 0u64);
    for resource in &lists {
        let count = synced_records::count(&state.db, &license, schedule::name(*resource))
            .await
            .expect("count");
        stored += count;
        carrying += count.div_ceil(u64::from(PAGE_SIZE));
    }
    let rate = f64::from(limits.per_license_rps);
    let floor = carrying as f64 / rate;
    let calls_floor = calls.len() as f64 / rate;
    let backend = database_url.split(':').next().unwrap_or_default();
    println!(
        "first sync, run {}: {} active packages and the rest, over {} days, of one distribution license ({} lists), from {history_start}, {backend}, window limit {}",
        run.name,
        run.packages,
        run.history_days,
        lists.len(),
        run.settings
            .max_window
            .map_or("none".to_owned(), |w| format!("{} h", w.as_secs() / 3600)),
    );
    println!("  wall time:      {:.1} s", wall.as_secs_f64());
    println!(
        "  Metrc calls:    {} ({refused} refused with 400, {other} other non-200)",
        calls.len()
    );
    println!(
        "  windows:        {} (client width now {} h)",
        report.progress.windows_total,
        state.metrc.first().window_width().num_hours()
    );
    println!("  records stored: {stored}");
    println!(
        "  floor:          {floor:.1} s ({carrying} pages of {PAGE_SIZE} carry every record, at {rate}/s per license)"
    );
    println!(
        "  ratio wall/floor (record-carrying calls): {:.3}",
        wall.as_secs_f64() / floor.max(f64::EPSILON)
    );
    println!(
        "  ratio wall/every call at {rate}/s:        {:.3} ({calls_floor:.1} s)",
        wall.as_secs_f64() / calls_floor.max(f64::EPSILON)
    );
}
