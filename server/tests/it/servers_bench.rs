//! Benchmarks (ignored by default) of several servers on one PostgreSQL database (issue 16,
//! docs/design.md §11): real `tracekeeper` processes against one Metrc sandbox that has ten
//! Distributor licenses and nothing else.
//!
//! - The outbox sends [`SUBMISSIONS`] queued adjustments over the ten facilities at
//!   [`LATENCY_MS`] a call with 1, 2 and 3 servers: time, ratio to the floor (ten calls of ten
//!   per facility, facilities in parallel), and duplicates (adjustments Metrc recorded more than
//!   once: none may be).
//! - The first sync of the ten facilities with [`SYNC_PACKAGES`] active packages each, with 1 and
//!   3 servers: time against the rate-limit floor (every GET at 150 a second per vendor key; the
//!   same for any number of servers, which share the limits), and GETs refused with 429 (none
//!   may be).
//!
//! `cargo test --release -p server --test it -- servers_bench --ignored --nocapture
//! --test-threads 1` with `TRACEKEEPER_TEST_POSTGRES_URL` set (`source scripts/lib/setup.sh;
//! start_postgres` sets it to the test command's PostgreSQL).
//!
//! Figures: docs/benchmarks.md.

use crate::outbox_bench::{
    LATENCY_MS, QUANTITY, SUBMISSIONS, floor, queue_adjustments, until_all_accepted,
};
use crate::support;
use crate::sync::keyed;

use app::ssr::config::ThrottleLimits;
use app::ssr::entities::{facilities, servers};
use app::ssr::queries::leases;
use app::types::inventory::SyncState;
use metrc::sandbox::{LogEntry, SandboxConfig};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::SecretString;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};
use support::cluster::{Node, deployment};
use support::facility_keys::{admin, sandbox_package};
use support::{Backend, Endpoint, HasSandbox, TestServer};

/// Facilities of the deployment.
const FACILITIES: usize = 10;
/// Active packages per facility in the sync benchmark.
const SYNC_PACKAGES: usize = 20_000;
/// Metrc's GET limit per vendor key, a second (docs/metrc.md §9): the sync's floor.
const VENDOR_GETS_PER_SECOND: f64 = 150.0;

/// The in-process server that sets the deployment up (users, keys, queued submissions) before
/// its processes start, against a sandbox with no demo licenses; its outbox `paused` or not. It
/// signs in under the deployment's sign-in limits (the defaults, as the processes run), which
/// live in the shared database.
async fn setup_server(backend: &Backend, paused: bool) -> TestServer {
    TestServer::start_custom(
        backend,
        |c| {
            c.outbox.paused = paused;
            c.sign_in = ThrottleLimits::default();
        },
        SandboxConfig {
            demo: false,
            ..SandboxConfig::default()
        },
        |_| {},
    )
    .await
}

/// Adds [`FACILITIES`] Distributor licenses with `packages` active packages each to the sandbox
/// and sets a License Owner's key on them ("Update Key"); returns their numbers and the key.
async fn facilities_with_key(server: &TestServer, packages: usize) -> (Vec<String>, String) {
    let licenses: Vec<String> = (1..=FACILITIES)
        .map(|i| format!("C11-00009{i:02}-LIC"))
        .collect();
    for license in &licenses {
        let response = reqwest::Client::new()
            .post(format!("{}/sandbox/licenses", server.sandbox_url))
            .json(&json!({
                "number": license, "name": format!("{license} Distribution"),
                "license_type": "Distributor", "packages": packages
            }))
            .send()
            .await
            .expect("sandbox admin API");
        assert!(response.status().is_success(), "{}", response.status());
    }
    let refs: Vec<&str> = licenses.iter().map(String::as_str).collect();
    let (_, key) = keyed(server, &refs).await;
    (licenses, key)
}

/// Starts `count` servers of the deployment, one after another.
async fn start_servers(setup: &TestServer, dir: &Path, count: usize) -> Vec<Node> {
    let config = &setup.state.config;
    let secret = |s: &Option<SecretString>| {
        s.clone()
            .expect("servers on PostgreSQL are given their secrets")
    };
    let env = deployment(
        &config.database_url,
        dir,
        &secret(&config.identity),
        &secret(&config.fingerprint_secret),
        &setup.sandbox_url,
    );
    let mut nodes = Vec::new();
    for _ in 0..count {
        let mut node = Node::new(dir, &env);
        node.start().await;
        nodes.push(node);
    }
    nodes
}

/// Waits until `count` servers hold to a share of `count` (each has seen the others).
async fn until_shared(db: &DatabaseConnection, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let share = i32::try_from(count).expect("a few servers");
    loop {
        let agreed = servers::Entity::find()
            .filter(servers::Column::Share.eq(share))
            .count(db)
            .await
            .expect("servers");
        if usize::try_from(agreed).expect("count") >= count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{agreed} of {count} servers agree"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The calls the sandbox logged since the `from`th.
fn calls_since(setup: &TestServer, from: usize) -> Vec<LogEntry> {
    setup.sandbox().requests().into_iter().skip(from).collect()
}

/// Each adjusted package's quantity at the sandbox now.
async fn quantities(
    setup: &TestServer,
    adjusted: &BTreeMap<(String, String), usize>,
) -> BTreeMap<(String, String), f64> {
    let mut out = BTreeMap::new();
    for (license, label) in adjusted.keys() {
        let package = sandbox_package(setup, license, label).await;
        let quantity = package["Quantity"].as_f64().expect("quantity");
        out.insert((license.clone(), label.clone()), quantity);
    }
    out
}

/// How many adjustments of [`QUANTITY`] a package's quantity went down by.
#[expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "a few hundred adjustments at most, rounded; a rise is caught as zero"
)]
fn adjustments_in(change: f64) -> usize {
    (change / QUANTITY).round().max(0.0) as usize
}

/// What one outbox run measured.
struct Sent {
    /// From the first adjustment call's start to the last one's answer.
    sending: Duration,
    /// From the moment the queues were let go to the last submission stored Accepted (includes
    /// the up to 1 s until each server's next look at the queue).
    overall: Duration,
    /// Adjustment calls Metrc received.
    calls: usize,
    /// Adjustments Metrc recorded beyond those submitted (a package adjusted more than it was
    /// asked to), over all packages.
    duplicates: usize,
}

/// Queues [`SUBMISSIONS`] adjustments over the facilities with the outbox paused, starts
/// `count` servers while every facility's queue is held (its `outbox:` lease taken by the
/// benchmark), then lets every queue go at once and waits until all are Accepted.
async fn outbox_run(backend: &Backend, count: usize) -> Sent {
    let mut setup = setup_server(backend, true).await;
    let (licenses, owner) = facilities_with_key(&setup, 20).await;
    let refs: Vec<&str> = licenses.iter().map(String::as_str).collect();
    let adjusted = queue_adjustments(&setup, &owner, &refs).await;
    let before = quantities(&setup, &adjusted).await;
    setup.stop().await;

    let db = setup.state.db.clone();
    let mut held = Vec::new();
    for license in &licenses {
        let lease = leases::acquire(
            &db,
            &format!("outbox:{license}"),
            "benchmark",
            Duration::from_secs(600),
            chrono::Utc::now(),
        )
        .await
        .expect("lease")
        .expect("free");
        held.push(lease);
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let nodes = start_servers(&setup, dir.path(), count).await;
    let slow = setup.sandbox().slow_down(Duration::from_millis(LATENCY_MS));
    let from = setup.sandbox().requests().len();
    let released = Instant::now();
    for lease in &held {
        leases::release(&db, lease).await.expect("release");
    }
    until_all_accepted(&db).await;
    let overall = released.elapsed();
    drop(slow);
    drop(nodes);

    let sent: Vec<LogEntry> = calls_since(&setup, from)
        .into_iter()
        .filter(|e| e.method == "POST" && e.path == "/packages/v2/adjust")
        .collect();
    let (first, last) = (
        sent.first().expect("calls").at,
        sent.last().expect("calls").at,
    );
    let sending = (last - first).to_std().expect("in order") + Duration::from_millis(LATENCY_MS);
    let after = quantities(&setup, &adjusted).await;
    let duplicates = adjusted
        .iter()
        .map(|(package, asked)| {
            let recorded = adjustments_in(before[package] - after[package]);
            assert!(
                recorded >= *asked,
                "{package:?}: {recorded} of {asked} recorded"
            );
            recorded - asked
        })
        .sum();
    Sent {
        sending,
        overall,
        calls: sent.len(),
        duplicates,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn outbox_with_one_two_and_three_servers() {
    let Some(backend) = Backend::postgres() else {
        panic!("TRACEKEEPER_TEST_POSTGRES_URL is unset: several servers need PostgreSQL");
    };
    let floor = floor(FACILITIES);
    for count in 1..=3 {
        let run = Box::pin(outbox_run(&backend, count)).await;
        println!(
            "outbox, {count} server(s): {SUBMISSIONS} adjustments over {FACILITIES} facilities at {LATENCY_MS} ms in {} calls: sending {:.2} s, ratio {:.2} to the floor of {:.2} s; {:.2} s from release to the last stored; {} duplicates",
            run.calls,
            run.sending.as_secs_f64(),
            run.sending.as_secs_f64() / floor.as_secs_f64(),
            floor.as_secs_f64(),
            run.overall.as_secs_f64(),
            run.duplicates
        );
        assert_eq!(run.duplicates, 0);
    }
}

/// What one sync run measured.
struct Synced {
    /// From the first "Sync now" to every facility synced.
    wall: Duration,
    /// GETs Metrc answered for the facilities (every list, page and window).
    gets: usize,
    /// GETs refused with 429.
    refused: usize,
}

/// Starts `count` servers on a deployment with [`FACILITIES`] facilities of [`SYNC_PACKAGES`]
/// packages, presses "Sync now" for each facility on the servers in turn, and waits until every
/// facility's first sync is done.
async fn sync_run(backend: &Backend, count: usize) -> Synced {
    let mut setup = setup_server(backend, false).await;
    let (licenses, _) = facilities_with_key(&setup, SYNC_PACKAGES).await;
    setup.stop().await;
    let db = setup.state.db.clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let nodes = start_servers(&setup, dir.path(), count).await;
    until_shared(&db, count).await;
    let mut admins = Vec::new();
    for node in &nodes {
        let endpoint = Endpoint { base: node.base() };
        let client = admin(&endpoint).await;
        admins.push((endpoint, client));
    }

    let from = setup.sandbox().requests().len();
    let started = Instant::now();
    for (i, license) in licenses.iter().enumerate() {
        let (endpoint, client) = &admins[i % admins.len()];
        let r = endpoint
            .call(client, "sync_now", &[("license", license)])
            .await;
        assert!(
            r.status().is_success(),
            "sync_now {license}: {}",
            r.status()
        );
    }
    let deadline = Instant::now() + Duration::from_mins(30);
    loop {
        let done = facilities::Entity::find()
            .filter(facilities::Column::LicenseNumber.is_in(licenses.iter().cloned()))
            .all(&db)
            .await
            .expect("facilities")
            .into_iter()
            .filter(|f| {
                f.last_sync_at.is_some()
                    && f.sync_requested_at.is_none()
                    && f.sync_state == SyncState::Idle
            })
            .count();
        if done == FACILITIES {
            break;
        }
        assert!(Instant::now() < deadline, "{done} of {FACILITIES} synced");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let wall = started.elapsed();
    drop(nodes);
    let gets: Vec<LogEntry> = calls_since(&setup, from)
        .into_iter()
        .filter(|e| e.method == "GET")
        .collect();
    Synced {
        wall,
        gets: gets.iter().filter(|e| e.license.is_some()).count(),
        refused: gets.iter().filter(|e| e.status == 429).count(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn sync_with_one_and_three_servers() {
    let Some(backend) = Backend::postgres() else {
        panic!("TRACEKEEPER_TEST_POSTGRES_URL is unset: several servers need PostgreSQL");
    };
    for count in [1, 3] {
        let run = Box::pin(sync_run(&backend, count)).await;
        let floor = run.gets as f64 / VENDOR_GETS_PER_SECOND;
        println!(
            "sync, {count} server(s): {FACILITIES} facilities of {SYNC_PACKAGES} packages in {:.1} s; {} GETs, floor {:.1} s at {VENDOR_GETS_PER_SECOND}/s; ratio {:.2}; {} refused with 429",
            run.wall.as_secs_f64(),
            run.gets,
            floor,
            run.wall.as_secs_f64() / floor,
            run.refused
        );
        assert_eq!(run.refused, 0);
    }
}
