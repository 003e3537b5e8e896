//! Benchmark 1: validating one key that reaches 50 licenses (every section granted) with 100 ms
//! of sandbox latency per call. Prints the wall time, the floor the rate limits and latency set,
//! their ratio, and the time of a sequential walk (measured, one call after another).
//!
//! `cargo run --release -p metrc --features sandbox --example bench_validate [-- --skip-sequential]`

mod support;

use std::time::{Duration, Instant};

use metrc::{CellStatus, Section};
use support::{Bench, license_floor, vendor_floor};

const LICENSES: usize = 50;
const LATENCY: Duration = Duration::from_millis(100);
/// One of each sandbox license type, in turn.
const TYPES: [&str; 6] = [
    "Adult-Use Cultivation",
    "Adult-Use Manufacturing",
    "Distributor",
    "Medicinal and Adult-Use Retail",
    "Testing Laboratory",
    "Adult-Use Microbusiness",
];

#[tokio::main]
async fn main() {
    let skip_sequential = std::env::args().any(|a| a == "--skip-sequential");
    let bench = Bench::start().await;
    let numbers: Vec<String> = (0..LICENSES).map(|i| format!("BENCH-{i:03}")).collect();
    for (i, number) in numbers.iter().enumerate() {
        bench.add_license(number, TYPES[i % TYPES.len()], 5).await;
    }
    let key = bench.add_owner(&numbers).await;
    bench
        .latency(u64::try_from(LATENCY.as_millis()).expect("milliseconds"))
        .await;
    let client = bench.client();
    let limits = client.config().limits;

    let started = Instant::now();
    let report = client.validate_key(&key).await.expect("the key is valid");
    let wall = started.elapsed();

    let cells: Vec<&CellStatus> = report
        .facilities
        .iter()
        .flat_map(|f| f.cells.iter().map(|(_, s)| s))
        .collect();
    let count = |want: fn(&CellStatus) -> bool| cells.iter().filter(|s| want(s)).count();
    let granted = count(|s| *s == CellStatus::Granted);
    let not_applicable = count(|s| *s == CellStatus::NotApplicable);
    let other = cells.len() - granted - not_applicable;
    let probes = granted + other;
    let per_license_max = report
        .facilities
        .iter()
        .map(|f| {
            f.cells
                .iter()
                .filter(|(_, s)| *s != CellStatus::NotApplicable)
                .count()
        })
        .max()
        .unwrap_or(0);
    // The facilities call comes first, alone; then the probes.
    let floor = LATENCY
        + vendor_floor(probes, LATENCY, limits).max(license_floor(
            per_license_max,
            LATENCY,
            limits,
        ));

    println!(
        "validate_key: 1 key, {} licenses, {} sections each, {LATENCY:?} latency per call",
        report.facilities.len(),
        Section::ALL.len()
    );
    println!(
        "  cells: {granted} granted, {not_applicable} not applicable (no call), {other} denied/error"
    );
    println!("  calls: 1 facilities + {probes} probes");
    println!("  wall time:        {:.2} s", wall.as_secs_f64());
    println!(
        "  floor:            {:.2} s  (limits {}/s and {} at once per vendor key, {}/s and {} per license)",
        floor.as_secs_f64(),
        limits.per_vendor_rps,
        limits.per_vendor_concurrent,
        limits.per_license_rps,
        limits.per_license_concurrent
    );
    println!(
        "  ratio wall/floor: {:.3}",
        wall.as_secs_f64() / floor.as_secs_f64()
    );

    if skip_sequential {
        let estimate = LATENCY * (u32::try_from(probes).expect("probes") + 1);
        println!(
            "  sequential walk:  ~{:.1} s (estimated: calls x latency)",
            estimate.as_secs_f64()
        );
        return;
    }
    let started = Instant::now();
    let facilities = client.facilities(&key).await.expect("the key is valid");
    for facility in &facilities {
        for section in Section::ALL {
            if facility.section_applies(section) {
                let _ = client.probe(&key, facility.license_number(), section).await;
            }
        }
    }
    let sequential = started.elapsed();
    println!(
        "  sequential walk:  {:.2} s (measured, one call at a time) = {:.1}x the concurrent wall time",
        sequential.as_secs_f64(),
        sequential.as_secs_f64() / wall.as_secs_f64()
    );
}
