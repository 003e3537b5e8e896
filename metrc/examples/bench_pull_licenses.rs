//! Benchmark 3: ten licenses of 2,000 active packages each (over the sandbox's 30 days of
//! history), pulled at once with one vendor key at 100 ms of sandbox latency per call, as a
//! first sync of ten facilities reads them: once in 24-hour windows from 31 days back (the
//! first sync before issue 12), once in the client's default wide windows from 2015-01-01 (the
//! first sync now). Prints, per way: wall time, calls made, and the ratio of the wall time to
//! the floor set by the fewest pages that can carry the records (100 pages of 20 a license) at
//! the per-vendor rate limit (150 calls a second) and the latency.
//!
//! `cargo run --release -p metrc --features sandbox --example bench_pull_licenses [-- LICENSES PACKAGES LATENCY_MS]`

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use futures::TryStreamExt;
use futures::future::join_all;
use metrc::{PAGE_SIZE, Package, Resource};
use support::{Bench, vendor_floor};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let licenses: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let packages: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_000);
    let latency = Duration::from_millis(args.next().and_then(|a| a.parse().ok()).unwrap_or(100));
    for wide in [false, true] {
        pull(licenses, packages, latency, wide).await;
    }
}

/// One pull of every license at once, on a sandbox of its own (a new base URL: nothing learnt
/// about its windows).
async fn pull(licenses: usize, packages: usize, latency: Duration, wide: bool) {
    let bench = Bench::start().await;
    let numbers: Vec<String> = (0..licenses).map(|i| format!("BENCH-{i:02}")).collect();
    for number in &numbers {
        bench.add_license(number, "Distributor", packages).await;
    }
    let key = bench.add_owner(&numbers).await;
    bench
        .latency(u64::try_from(latency.as_millis()).expect("milliseconds"))
        .await;
    let to = Utc::now() + chrono::Duration::minutes(1);
    let (client, from, way) = if wide {
        let from = Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).unwrap();
        (bench.client(), from, "wide windows from 2015-01-01")
    } else {
        let client = bench.client_with(|c| c.window = chrono::Duration::hours(24));
        (
            client,
            to - chrono::Duration::days(31),
            "24-hour windows from 31 days back",
        )
    };
    let limits = client.config().limits;

    let started = Instant::now();
    let walks = numbers.iter().map(|license| {
        let (client, key) = (client.clone(), key.clone());
        async move {
            let pages: Vec<_> = client
                .walk::<Package>(&key, license, Resource::PackagesActive, from, to)
                .try_collect()
                .await
                .expect("the walk succeeds");
            let ids: HashSet<i64> = pages
                .iter()
                .flat_map(|p| p.records.iter().filter_map(|r| r.id))
                .collect();
            (pages.len(), ids.len())
        }
    });
    let done = join_all(walks).await;
    let wall = started.elapsed();
    let calls: usize = done.iter().map(|(pages, _)| pages).sum();
    let records: usize = done.iter().map(|(_, ids)| ids).sum();
    assert_eq!(records, licenses * packages, "every package once");
    let carrying = licenses * packages.div_ceil(PAGE_SIZE as usize);
    let floor = vendor_floor(carrying, latency, limits);

    println!(
        "pull: {licenses} licenses x {packages} active packages at once, {latency:?} latency per call, {way}"
    );
    println!(
        "  calls:            {calls} ({:+.0} % over the {carrying} pages that carry the records)",
        (calls as f64 / carrying as f64 - 1.0) * 100.0
    );
    println!("  wall time:        {:.2} s", wall.as_secs_f64());
    println!(
        "  floor:            {:.2} s ({carrying} pages at {}/s per vendor key, then {latency:?})",
        floor.as_secs_f64(),
        limits.per_vendor_rps
    );
    println!(
        "  ratio wall/floor: {:.3}",
        wall.as_secs_f64() / floor.as_secs_f64()
    );
}
