//! Benchmark 2: pulling 100,000 active packages of one license with `Client::walk` (24-hour
//! windows, as where Metrc refuses wider ones, over the sandbox's 30 days of history, pages of 20). Prints records per second and
//! the ratio of the wall time to the floor the per-license rate limit sets.
//!
//! `cargo run --release -p metrc --features sandbox --example bench_pull [-- PACKAGES [LATENCY_MS]]`

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures::TryStreamExt;
use metrc::{Package, Resource};
use support::{Bench, license_floor};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let packages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let latency = Duration::from_millis(args.next().and_then(|a| a.parse().ok()).unwrap_or(0));
    let bench = Bench::start().await;
    let license = "BENCH-PULL".to_string();
    bench
        .add_license(&license, "Adult-Use Cultivation", packages)
        .await;
    let key = bench.add_owner(std::slice::from_ref(&license)).await;
    if !latency.is_zero() {
        bench
            .latency(u64::try_from(latency.as_millis()).expect("milliseconds"))
            .await;
    }
    let client = bench.client_with(|c| c.window = chrono::Duration::hours(24));
    let limits = client.config().limits;
    let to = Utc::now() + chrono::Duration::minutes(1);
    let from = to - chrono::Duration::days(31);

    let started = Instant::now();
    let mut ids = HashSet::new();
    let (mut pages, mut records, mut windows) = (0usize, 0usize, 0usize);
    let mut stream =
        std::pin::pin!(client.walk::<Package>(&key, &license, Resource::PackagesActive, from, to));
    while let Some(page) = stream.try_next().await.expect("the walk succeeds") {
        pages += 1;
        records += page.records.len();
        windows = page.window_count;
        ids.extend(page.records.iter().filter_map(|p| p.id));
    }
    let wall = started.elapsed();
    let floor = license_floor(pages, latency, limits);

    println!(
        "walk: {packages} active packages of one license, {windows} windows of 24 h, {latency:?} latency per call"
    );
    println!(
        "  pages: {pages} (pageSize 20), records: {records} ({} distinct)",
        ids.len()
    );
    println!("  wall time:        {:.1} s", wall.as_secs_f64());
    println!(
        "  records/s:        {:.0}",
        ids.len() as f64 / wall.as_secs_f64()
    );
    println!(
        "  floor:            {:.1} s  ({pages} calls at {}/s per license)",
        floor.as_secs_f64(),
        limits.per_license_rps
    );
    println!(
        "  ratio wall/floor: {:.3}",
        wall.as_secs_f64() / floor.as_secs_f64()
    );
}
