//! The outbox with several servers on one database (docs/design.md §11), on every backend: two
//! servers (`TestServer::start_beside`) share the database and the Metrc sandbox. Each
//! submission is sent once, a facility's in id order, whichever server sends it; rows a dead
//! server left `Sending` become `Unknown` only once its lease has expired, and are not sent
//! again; a server starting leaves another's calls alone; a server stopping gracefully stores its
//! calls' answers and hands its queues over at once.
//!
//! Employees' rows alternate between two keys (Uma's, Vic's), so each call carries one row and
//! the sandbox's log of writes (whose key made each call) shows the order the calls were made in.

use crate::support;

use app::ssr::config::Config;
use app::ssr::outbox;
use app::ssr::queries::{leases, submission_attempts, submissions};
use app::types::auth::Role;
use app::types::submissions::{ActionInput, NewSubmission, SubmissionStatus};
use app::types::user_keys::UserKeyView;
use chrono::Utc;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use support::facility_keys::{
    CULTIVATION, DISTRIBUTION, RETAIL, adjustable_packages, admin, assign, employee, owner_key,
    sandbox_package, sandbox_requests,
};
use support::submissions::{row, wait_for};
use support::user_keys::{add_named_user, set_key};
use support::{Backend, HasSandbox, TestServer, eventually};

/// The two employees whose keys alternate: consecutive rows never share a call.
const EMPLOYEES: [(&str, &str); 2] = [
    ("uma@example.test", "Uma Employee"),
    ("vic@example.test", "Vic Employee"),
];

/// A server (paused, looking often) whose `licenses` have the owner's key, with [`EMPLOYEES`]
/// keyed at each of them.
struct Site {
    server: TestServer,
    owner_key: String,
    /// The user ids of [`EMPLOYEES`], in that order.
    users: [i32; 2],
}

/// Looks often: short polls and backoffs, "not recorded" never said within a test.
fn brisk(server: &TestServer) {
    server.state.outbox.update(|s| {
        s.poll_every = Duration::from_millis(100);
        s.backoff_base = Duration::from_millis(50);
        s.backoff_max = Duration::from_secs(1);
        s.reconcile_after = Duration::from_secs(3600);
    });
}

/// The first server, paused, with `tweak` applied (the servers beside it copy its settings).
async fn site(backend: &Backend, licenses: &[&str], tweak: impl FnOnce(&mut Config)) -> Site {
    let server = TestServer::start_with(backend, |c| {
        c.outbox.paused = true;
        tweak(c);
    })
    .await;
    brisk(&server);
    let admin = admin(&server).await;
    let (_, owner_key) = owner_key(&server, "Olivia Owner", licenses).await;
    let assigned = assign(&server, &admin, &owner_key, licenses, false).await;
    assert!(assigned.status.is_success(), "{}", assigned.body);
    let grants: serde_json::Map<String, Value> = licenses
        .iter()
        .map(|l| ((*l).to_owned(), json!(["Packages"])))
        .collect();
    let mut users = [0; 2];
    for (user, (email, name)) in users.iter_mut().zip(EMPLOYEES) {
        let (_, key) = employee(
            &server,
            json!({ "name": name, "permissions": grants.clone() }),
        )
        .await;
        *user = add_named_user(&server, email, name, Role::Employee).await;
        let _: UserKeyView = set_key(&server, &admin, Some(*user), &key, false)
            .await
            .ok();
    }
    Site {
        server,
        owner_key,
        users,
    }
}

/// Another server on the site's database and sandbox (paused like the first, looking often).
async fn beside(site: &Site, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let server = site.server.start_beside(tweak).await;
    brisk(&server);
    server
}

fn run(server: &TestServer) {
    server.state.outbox.update(|s| s.paused = false);
}

/// A package of the sandbox: its label, quantity and unit.
type Package = (String, f64, String);

/// Queues an adjustment of `package` by `by` at `license` as `user`; returns its id.
async fn queue(server: &TestServer, user: i32, license: &str, package: &Package, by: f64) -> i64 {
    let (label, _, unit) = package;
    let new = NewSubmission {
        license: license.to_owned(),
        input: ActionInput::AdjustPackage {
            label: label.clone(),
            quantity: by,
            unit: unit.clone(),
            reason: "Drying".into(),
            note: None,
            date: Utc::now().date_naive() - chrono::Duration::days(1),
        },
        confirm_facility_key: false,
        submit_token: support::submissions::token(),
    };
    outbox::submit(&server.state, user, new)
        .await
        .expect("queued")
        .id
}

/// Packages of `license` with enough in them to take some away (at least three).
async fn packages(site: &Site, license: &str) -> Vec<Package> {
    let found = adjustable_packages(&site.server, &site.owner_key, license).await;
    assert!(found.len() >= 3, "{license}: {found:?}");
    found
}

async fn quantity(server: &TestServer, license: &str, label: &str) -> f64 {
    sandbox_package(server, license, label).await["Quantity"]
        .as_f64()
        .expect("quantity")
}

/// The writes the sandbox carried out at `license`, oldest first: whose key made each.
async fn writers(server: &impl HasSandbox, license: &str) -> Vec<String> {
    sandbox_requests(server)
        .await
        .into_iter()
        .filter(|e| e["method"] != "GET" && e["license"] == license)
        .map(|e| {
            assert_eq!(e["status"], 200, "{e}");
            e["employee_name"].as_str().unwrap_or("?").to_owned()
        })
        .collect()
}

/// The employee whose key carries the `i`-th row of a facility (rows alternate).
fn writer(i: usize) -> String {
    EMPLOYEES[i % 2].1.to_owned()
}

async fn attempts(
    server: &TestServer,
    id: i64,
) -> Vec<app::ssr::entities::submission_attempts::Model> {
    submission_attempts::for_submission(&server.state.db, id)
        .await
        .expect("db")
}

each_backend!(
    two_servers_send_every_submission_once_and_each_facilitys_in_order,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn two_servers_send_every_submission_once_and_each_facilitys_in_order(backend: Backend) {
    const PER_FACILITY: usize = 20;
    const BY: f64 = -0.01;
    let licenses = [RETAIL, DISTRIBUTION, CULTIVATION];
    let site = site(&backend, &licenses, |_| {}).await;
    let other = beside(&site, |_| {}).await;

    // 60 adjustments over three facilities, queued while both servers wait; rows alternate
    // between Uma's and Vic's keys, so each is a call of its own.
    let mut queued: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    let mut expected: BTreeMap<(&str, String), f64> = BTreeMap::new();
    for license in licenses {
        let packages = packages(&site, license).await;
        for i in 0..PER_FACILITY {
            let package = &packages[i % packages.len()];
            let id = queue(&site.server, site.users[i % 2], license, package, BY).await;
            queued.entry(license).or_default().push(id);
            *expected
                .entry((license, package.0.clone()))
                .or_insert(package.1) += BY;
        }
    }

    // Both servers start sending at once, each call a little slow.
    let _slow = site.server.sandbox().slow_down(Duration::from_millis(20));
    run(&site.server);
    run(&other);
    for ids in queued.values() {
        for id in ids {
            wait_for(&site.server, *id, SubmissionStatus::Accepted).await;
        }
    }

    for (license, ids) in &queued {
        // Sent once each, one call after the other in id order: the sandbox carried out the
        // facility's writes in that order, each once, and each row has one attempt, its call
        // started after the one of the row before it.
        let expected_writers: Vec<String> = (0..ids.len()).map(writer).collect();
        assert_eq!(
            writers(&site.server, license).await,
            expected_writers,
            "{license}"
        );
        let mut previous = None;
        for id in ids {
            let tried = attempts(&site.server, *id).await;
            assert_eq!(tried.len(), 1, "submission {id}: {tried:?}");
            assert_eq!(tried[0].http_status, Some(200));
            assert!(
                previous.is_none_or(|at| at < tried[0].at),
                "submission {id} was sent before the one before it: {previous:?} {tried:?}"
            );
            previous = Some(tried[0].at);
        }
    }
    // And Metrc's packages changed by exactly what was queued.
    for ((license, label), after) in &expected {
        let now = quantity(&site.server, license, label).await;
        assert!(
            (now - after).abs() < 1e-6,
            "{license} {label}: {now}, not {after}"
        );
    }
}

/// Marks `ids` `Sending` as a server "dead" does, under its lease on `license`'s queue lasting
/// `ttl` from now; returns that lease.
async fn claimed_by_the_dead(
    server: &TestServer,
    license: &str,
    ttl: Duration,
    ids: &[i64],
) -> leases::Held {
    let db = &server.state.db;
    let now = Utc::now();
    let name = outbox::send::lease_name(license);
    let dead = leases::acquire(db, &name, "dead", ttl, now)
        .await
        .expect("db")
        .expect("a free lease");
    let marked = submissions::mark_sending(db, ids, now, &dead)
        .await
        .expect("db");
    assert_eq!(marked, ids.len() as u64);
    dead
}

each_backend!(rows_a_dead_server_left_sending_become_unknown_once_its_lease_expired_never_resent);
async fn rows_a_dead_server_left_sending_become_unknown_once_its_lease_expired_never_resent(
    backend: Backend,
) {
    let lease = Duration::from_secs(2);
    let site = Box::pin(site(&backend, &[RETAIL], |c| c.lease = lease)).await;
    let other = beside(&site, |_| {}).await;
    let packages = packages(&site, RETAIL).await;
    let before = quantity(&site.server, RETAIL, &packages[0].0).await;
    let ids = [
        queue(&site.server, site.users[0], RETAIL, &packages[0], -1.0).await,
        queue(&site.server, site.users[1], RETAIL, &packages[1], -1.0).await,
        queue(&site.server, site.users[0], RETAIL, &packages[2], -1.0).await,
    ];
    // A server claimed the first row, then died during its call.
    let dead = claimed_by_the_dead(&site.server, RETAIL, lease, &ids[..1]).await;
    run(&site.server);
    run(&other);

    // While its lease is live, nobody touches the row, and the facility's later rows wait.
    let live_until = dead.expires_at - chrono::Duration::milliseconds(300);
    while Utc::now() < live_until {
        let stuck = row(&site.server, ids[0]).await;
        assert_eq!(stuck.status, SubmissionStatus::Sending, "{stuck:?}");
        for id in &ids[1..] {
            assert_eq!(
                row(&site.server, *id).await.status,
                SubmissionStatus::Queued
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(writers(&site.server, RETAIL).await.is_empty());

    // Once it expired, whichever server sees it first makes the row Unknown; the later rows go.
    let unknown = wait_for(&site.server, ids[0], SubmissionStatus::Unknown).await;
    assert_eq!(unknown.message.as_deref(), Some(outbox::stuck::INTERRUPTED));
    assert_eq!(unknown.attempts, 1);
    for id in &ids[1..] {
        wait_for(&site.server, *id, SubmissionStatus::Accepted).await;
    }
    let outcomes: Vec<String> = attempts(&site.server, ids[0])
        .await
        .into_iter()
        .map(|a| a.outcome)
        .collect();
    assert_eq!(outcomes, [outbox::stuck::INTERRUPTED_OUTCOME]);
    // Not sent again: Metrc saw only the later rows, and the first package is untouched.
    assert_eq!(writers(&site.server, RETAIL).await, [writer(1), writer(2)]);
    assert!((quantity(&site.server, RETAIL, &packages[0].0).await - before).abs() < 1e-9);
    assert_eq!(
        row(&site.server, ids[0]).await.status,
        SubmissionStatus::Unknown
    );
}

each_backend!(a_server_starting_leaves_the_calls_under_another_servers_live_lease_alone);
async fn a_server_starting_leaves_the_calls_under_another_servers_live_lease_alone(
    backend: Backend,
) {
    let site = site(&backend, &[RETAIL], |_| {}).await;
    let packages = packages(&site, RETAIL).await;
    let ids = [
        queue(&site.server, site.users[0], RETAIL, &packages[0], -1.0).await,
        queue(&site.server, site.users[1], RETAIL, &packages[1], -1.0).await,
    ];
    // Another server is sending the first row (its lease lasts a minute).
    claimed_by_the_dead(&site.server, RETAIL, Duration::from_secs(60), &ids[..1]).await;
    run(&site.server);

    // A server starts beside it, and both look for a while: the call is not theirs.
    let other = beside(&site, |_| {}).await;
    run(&other);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let sending = row(&other, ids[0]).await;
    assert_eq!(sending.status, SubmissionStatus::Sending, "{sending:?}");
    assert!(attempts(&other, ids[0]).await.is_empty());
    assert_eq!(row(&other, ids[1]).await.status, SubmissionStatus::Queued);
    assert!(writers(&other, RETAIL).await.is_empty());
}

each_backend!(a_graceful_stop_stores_its_answers_and_another_server_carries_on_at_once);
async fn a_graceful_stop_stores_its_answers_and_another_server_carries_on_at_once(
    backend: Backend,
) {
    // Leases of a minute: a queue not handed over would wait that long.
    let mut site = site(&backend, &[RETAIL], |c| c.lease = Duration::from_secs(60)).await;
    let packages = packages(&site, RETAIL).await;
    let ids = [
        queue(&site.server, site.users[0], RETAIL, &packages[0], -1.0).await,
        queue(&site.server, site.users[1], RETAIL, &packages[1], -1.0).await,
    ];
    // Metrc is slow: the first server is in its first call when the second one starts.
    let slow = site.server.sandbox().slow_down(Duration::from_secs(3));
    run(&site.server);
    wait_for(&site.server, ids[0], SubmissionStatus::Sending).await;
    let other = beside(&site, |_| {}).await;
    run(&other);

    // The first server stops (a rolling restart): its call's answer is stored, nothing more is
    // claimed, and its lease is given up.
    site.server.stop().await;
    drop(slow);
    let first = row(&other, ids[0]).await;
    assert_eq!(first.status, SubmissionStatus::Accepted, "{first:?}");
    let now = Utc::now();
    let live = leases::live(&other.state.db, outbox::send::LEASE_PREFIX, now)
        .await
        .expect("db");
    assert!(
        live.iter()
            .all(|l| l.holder != site.server.state.server_id.as_ref()),
        "{live:?}"
    );

    // The other server sends the rest at once, well within a lease; nothing became Unknown.
    eventually(
        "the second row sent by the other server",
        Duration::from_secs(10),
        || async {
            let second = row(&other, ids[1]).await;
            if second.status == SubmissionStatus::Accepted {
                Ok(())
            } else {
                Err(format!("{second:?}"))
            }
        },
    )
    .await;
    for id in ids {
        let outcomes: Vec<Option<i32>> = attempts(&other, id)
            .await
            .into_iter()
            .map(|a| a.http_status)
            .collect();
        assert_eq!(outcomes, [Some(200)], "submission {id}");
    }
    assert_eq!(writers(&other, RETAIL).await, [writer(0), writer(1)]);
    let statuses = submissions::count_by_status(&other.state.db)
        .await
        .expect("db");
    assert_eq!(statuses.get("accepted"), Some(&2), "{statuses:?}");
    assert_eq!(statuses.len(), 1, "{statuses:?}");
}
