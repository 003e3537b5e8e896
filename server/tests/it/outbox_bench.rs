//! Benchmark (ignored by default): the outbox sends 1,000 queued package adjustments against the
//! sandbox at 100 ms latency per call, and the time is compared with the floor that batching (10
//! rows a call) and per-facility ordering (one call at a time per facility) allow.
//!
//! `cargo test --release -p server --test it -- outbox_bench --ignored --nocapture`
//!
//! Figures: docs/benchmarks.md.

use crate::support;

use app::ssr::outbox;
use app::ssr::queries::submissions;
use app::types::auth::Role;
use app::types::submissions::{ActionInput, NewSubmission};
use app::types::user_keys::UserKeyView;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::facility_keys::{adjustable_packages, admin, assign, employee, owner_key};
use support::user_keys::{add_named_user, set_key};
use support::{Backend, HasSandbox, TestServer};

pub(crate) const SUBMISSIONS: usize = 1_000;
pub(crate) const LATENCY_MS: u64 = 100;
/// Each adjustment takes this much away (a package is adjusted many times).
pub(crate) const QUANTITY: f64 = 0.001;

/// Demo licenses with packages (every demo license has some).
const LICENSES: [&str; 4] = [
    "C10-0000774-LIC",
    "C11-0000349-LIC",
    "CCL19-0004821",
    "C12-0000321-LIC",
];

/// Adjustable packages of `license`: `(label, unit)`.
async fn packages(server: &TestServer, key: &str, license: &str) -> Vec<(String, String)> {
    adjustable_packages(server, key, license)
        .await
        .into_iter()
        .map(|(label, _, unit)| (label, unit))
        .collect()
}

/// Queues `SUBMISSIONS` adjustments spread evenly over `licenses`, whose facility key is
/// `owner`'s, with the outbox paused (nothing is sent): made by one employee with their own key
/// (Packages at every license), each package of a license in turn. Returns how many adjustments
/// each `(license, label)` got.
pub(crate) async fn queue_adjustments(
    server: &TestServer,
    owner: &str,
    licenses: &[&str],
) -> BTreeMap<(String, String), usize> {
    let admin = admin(server).await;
    let grants: serde_json::Map<String, Value> = licenses
        .iter()
        .map(|l| (l.to_string(), json!(["Packages"])))
        .collect();
    let (_, key) = employee(
        server,
        json!({ "name": "Bea Bench", "permissions": grants }),
    )
    .await;
    let user = add_named_user(server, "bea@example.test", "Bea Bench", Role::Employee).await;
    let _: UserKeyView = set_key(server, &admin, Some(user), &key, false).await.ok();
    let mut work = Vec::new();
    for license in licenses {
        work.push((license.to_string(), packages(server, owner, license).await));
    }

    let state = server.state.clone();
    state.outbox.update(|s| {
        s.paused = true;
        s.poll_every = Duration::from_millis(100);
    });
    let day = chrono::Utc::now().date_naive() - chrono::Duration::days(1);
    let mut queueing = tokio::task::JoinSet::new();
    let mut adjusted = BTreeMap::new();
    for i in 0..SUBMISSIONS {
        let (license, packages) = &work[i % licenses.len()];
        let (label, unit) = packages[(i / licenses.len()) % packages.len()].clone();
        *adjusted
            .entry((license.clone(), label.clone()))
            .or_default() += 1;
        let new = NewSubmission {
            license: license.clone(),
            input: ActionInput::AdjustPackage {
                label,
                quantity: -QUANTITY,
                unit,
                reason: "Drying".into(),
                note: None,
                date: day,
            },
            confirm_facility_key: false,
            submit_token: support::submissions::token(),
        };
        let state = state.clone();
        queueing.spawn(async move { outbox::submit(&state, user, new).await.expect("queued") });
        if queueing.len() >= 16 {
            queueing.join_next().await;
        }
    }
    while queueing.join_next().await.is_some() {}
    adjusted
}

/// Waits until every one of the `SUBMISSIONS` is Accepted (polling every 5 ms); panics as soon
/// as one is anything but Queued, Sending or Accepted.
pub(crate) async fn until_all_accepted(db: &sea_orm::DatabaseConnection) {
    loop {
        let counts = submissions::count_by_status(db).await.expect("db");
        let accepted = counts.get("accepted").copied().unwrap_or_default();
        let other: u64 = counts
            .iter()
            .filter(|(s, _)| !matches!(s.as_str(), "accepted" | "queued" | "sending"))
            .map(|(_, n)| *n)
            .sum();
        assert_eq!(other, 0, "{counts:?}");
        if usize::try_from(accepted).unwrap() == SUBMISSIONS {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// What batching (10 rows a call) and per-facility ordering (one call at a time per facility,
/// facilities in parallel) allow for `SUBMISSIONS` over `facilities`: calls per facility ×
/// `LATENCY_MS`.
pub(crate) fn floor(facilities: usize) -> Duration {
    let calls = SUBMISSIONS
        .div_ceil(facilities)
        .div_ceil(metrc::MAX_WRITE_ROWS);
    Duration::from_millis(LATENCY_MS * calls as u64)
}

/// Queues `SUBMISSIONS` adjustments spread evenly over `facilities` licenses (one user, their
/// own key), sends them at `LATENCY_MS`, and returns (wall time, floor).
async fn run(facilities: usize) -> (Duration, Duration) {
    let server = TestServer::start(&Backend::Sqlite).await;
    let admin = admin(&server).await;
    let licenses = &LICENSES[..facilities];
    let (_, owner) = owner_key(&server, "Olivia Owner", licenses).await;
    assign(&server, &admin, &owner, licenses, false).await;
    queue_adjustments(&server, &owner, licenses).await;
    let state = server.state.clone();

    let slow = server
        .sandbox()
        .slow_down(Duration::from_millis(LATENCY_MS));
    let started = Instant::now();
    state.outbox.update(|s| s.paused = false);
    until_all_accepted(&state.db).await;
    let wall = started.elapsed();
    drop(slow);
    (wall, floor(facilities))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn outbox_sends_a_thousand_submissions() {
    for facilities in [1, 4] {
        let (wall, floor) = Box::pin(run(facilities)).await;
        println!(
            "outbox: {SUBMISSIONS} adjustments over {facilities} facilit{} at {LATENCY_MS} ms: {:.2} s; floor {:.2} s ({} calls of 10 per facility, facilities in parallel); ratio {:.2}",
            if facilities == 1 { "y" } else { "ies" },
            wall.as_secs_f64(),
            floor.as_secs_f64(),
            SUBMISSIONS.div_ceil(facilities).div_ceil(10),
            wall.as_secs_f64() / floor.as_secs_f64()
        );
    }
}
