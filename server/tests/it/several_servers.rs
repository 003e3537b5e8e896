//! The proof of issue 16 with real processes (docs/design.md §11): three `tracekeeper` servers on
//! one PostgreSQL database and one Metrc sandbox, behind `HAProxy` with the README's configuration
//! (`docs/deploy/haproxy.cfg`), six facilities, and three employees with keys of their own.
//!
//! 1. While the six facilities sync ("Sync now" on each, through the load balancer), the
//!    employees make [`SUBMISSIONS`] adjustments through the load balancer (a lost answer is
//!    resent with the same form token, as the work screens do) while the servers are killed (SIGKILL) and
//!    started again one at a time at random moments, and the sandbox answers some writes with
//!    429 and 500 and every call slowly. Afterwards, from the database and the sandbox: every
//!    submission is stored once; each is Accepted, or Rejected with Metrc's reason, or Unknown
//!    (listed for an admin), none stuck; every adjusted package changed exactly once if its
//!    submission was Accepted and not at all otherwise (Metrc recorded each at most once);
//!    per facility, Metrc recorded the submissions in their order (those never Unknown); every
//!    facility finished its sync; no GET was refused for Metrc's rate limits.
//! 2. A rolling restart (each server stopped with SIGTERM and started again in turn) while the
//!    employees submit: every submission Accepted, none Unknown.

use crate::support;

use app::ssr::entities::{submission_attempts, submissions};
use app::types::submissions::{SubmissionRow, SubmissionStatus};
use metrc::sandbox::SandboxConfig;
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use support::cluster::{Node, deployment, load_balancer};
use support::facility_keys::{employee, every_adjustable_package, owner_key};
use support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Endpoint, HasSandbox, MetrcSandbox};

/// Adjustments made through the load balancer while servers are killed.
const SUBMISSIONS: usize = 1_000;
/// Adjustments made during the rolling restart.
const ROLLING: usize = 60;
const EMPLOYEES: [&str; 3] = ["ana", "ben", "cy"];
const EMPLOYEE_PASSWORD: &str = "several-servers-password";

/// The sandbox's six demo licenses, as its admin API lists them.
async fn licenses(sandbox: &MetrcSandbox) -> Vec<String> {
    let listed: Vec<Value> = reqwest::get(format!("{}/sandbox/licenses", sandbox.url))
        .await
        .expect("sandbox")
        .json()
        .await
        .expect("json");
    listed
        .iter()
        .filter_map(|l| l["number"].as_str().map(str::to_owned))
        .collect()
}

/// One adjustment to make: its license, package and form token.
#[derive(Debug, Clone)]
struct Planned {
    license: String,
    label: String,
    unit: String,
    token: String,
}

impl Planned {
    fn body(&self) -> Value {
        let day = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
        json!({ "input": {
            "license": self.license,
            "input": { "AdjustPackage": {
                "label": self.label, "quantity": -1.0, "unit": self.unit,
                "reason": "Drying", "note": null, "date": day
            }},
            "confirm_facility_key": false,
            "submit_token": self.token,
        }})
    }
}

/// Submits `planned` through the load balancer until it is stored: a connection lost or a
/// gateway error (the server died mid-request) is answered by submitting the same form again,
/// with the same token, as the work screen does. Returns the submission's id.
async fn submit_until_stored(lb: &Endpoint, client: &reqwest::Client, planned: &Planned) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let sent = lb
            .post(client, "/api/submit")
            .header("Accept", "application/json")
            .json(&planned.body())
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                let row: SubmissionRow = r.json().await.expect("a submission");
                return row.id;
            }
            Ok(r) if r.status().is_server_error() => {}
            Ok(r) => panic!(
                "submit: {} {}",
                r.status(),
                r.text().await.unwrap_or_default()
            ),
            Err(_) => {}
        }
        assert!(Instant::now() < deadline, "never stored: {planned:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A client signed in as `email` through the load balancer.
async fn signed_in(lb: &Endpoint, email: &str, password: &str) -> reqwest::Client {
    let client = lb.client();
    let response = lb.login(&client, email, password).await;
    assert!(
        response.status().is_success(),
        "{email}: {}",
        response.status()
    );
    client
}

/// `(status, message)` of every submission, by id.
async fn stored(db: &DatabaseConnection) -> BTreeMap<i64, submissions::Model> {
    submissions::Entity::find()
        .all(db)
        .await
        .expect("submissions")
        .into_iter()
        .map(|row| (row.id, row))
        .collect()
}

/// Whether a row is done moving: final, or Unknown awaiting an admin.
fn settled(status: SubmissionStatus) -> bool {
    matches!(
        status,
        SubmissionStatus::Accepted
            | SubmissionStatus::Rejected
            | SubmissionStatus::Failed
            | SubmissionStatus::Unknown
    )
}

/// Waits until every one of `ids` has settled and none is Unknown for reconciliation to settle
/// (an adjustment's Unknown is settled from Metrc's data within seconds).
async fn until_settled(db: &DatabaseConnection, ids: &[i64]) -> BTreeMap<i64, submissions::Model> {
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let rows = stored(db).await;
        let open: Vec<(i64, SubmissionStatus)> = ids
            .iter()
            .filter_map(|id| rows.get(id).map(|r| (*id, r.status)))
            .filter(|(_, s)| !settled(*s) || *s == SubmissionStatus::Unknown)
            .collect();
        if open.is_empty() {
            return rows;
        }
        if Instant::now() > deadline {
            // Unknown rows left are listed for an admin: allowed, but nothing may be stuck.
            let stuck: Vec<_> = open
                .iter()
                .filter(|(_, s)| *s != SubmissionStatus::Unknown)
                .collect();
            assert!(stuck.is_empty(), "stuck: {stuck:?}");
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Ids of the submissions that ever had an unanswered call (sent again after reconciliation,
/// so behind later rows).
async fn ever_unknown(db: &DatabaseConnection) -> BTreeSet<i64> {
    submission_attempts::Entity::find()
        .filter(
            submission_attempts::Column::Outcome.eq(app::ssr::outbox::stuck::INTERRUPTED_OUTCOME),
        )
        .all(db)
        .await
        .expect("attempts")
        .into_iter()
        .map(|a| a.submission_id)
        .collect()
}

/// Each planned package's quantity and `LastModified` at the sandbox now.
async fn packages_now(
    sandbox: &MetrcSandbox,
    planned: &[Planned],
) -> BTreeMap<String, (f64, String)> {
    let mut out = BTreeMap::new();
    for p in planned {
        let package = support::facility_keys::sandbox_package(sandbox, &p.license, &p.label).await;
        out.insert(
            p.label.clone(),
            (
                package["Quantity"].as_f64().expect("quantity"),
                package["LastModified"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_servers_behind_a_load_balancer_lose_nothing_and_send_nothing_twice() {
    let Some(backend) = Backend::postgres() else {
        eprintln!(
            "skipped: TRACEKEEPER_TEST_POSTGRES_URL is unset (several servers need PostgreSQL)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let url = support::database_url(&backend, dir.path()).await;
    let sandbox =
        MetrcSandbox::start_with(SandboxConfig::default().with_total_packages(6 * 400)).await;
    let licenses = licenses(&sandbox).await;
    assert_eq!(licenses.len(), 6, "{licenses:?}");
    let (identity, secret) = app::ssr::vault::new_secrets();
    let mut env = deployment(&url, dir.path(), &identity, &secret, &sandbox.url);
    env.extend([
        ("TRACEKEEPER_LEASE_SECS", "2".to_owned()),
        ("TRACEKEEPER_OUTBOX_RECONCILE_AFTER_SECS", "1".to_owned()),
        ("TRACEKEEPER_OUTBOX_WRITE_TIMEOUT_SECS", "10".to_owned()),
    ]);
    let mut nodes: Vec<Node> = (0..3).map(|_| Node::new(dir.path(), &env)).collect();
    for node in &mut nodes {
        node.start().await;
    }
    let (_haproxy, lb) = load_balancer(dir.path(), &[&nodes[0], &nodes[1], &nodes[2]]).await;
    let lb = Endpoint { base: lb };
    let db = sea_orm::Database::connect(&url).await.expect("database");

    // Six facilities with the License Owner's key; three employees with keys of their own.
    let admin = signed_in(&lb, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let license_refs: Vec<&str> = licenses.iter().map(String::as_str).collect();
    let (_, owner) = owner_key(&sandbox, "Olivia Owner", &license_refs).await;
    let assigned = lb
        .call_json(
            &admin,
            "assign_facility_key",
            &json!({ "input": { "key": owner, "licenses": licenses, "confirm_not_owner": false } }),
        )
        .await;
    assert!(
        assigned.status().is_success(),
        "{}",
        assigned.text().await.unwrap_or_default()
    );
    let permissions: serde_json::Map<String, Value> = licenses
        .iter()
        .map(|l| (l.clone(), json!(["Packages"])))
        .collect();
    let mut employees = Vec::new();
    for name in EMPLOYEES {
        let email = format!("{name}@example.test");
        let created = lb
            .call_json(
                &admin,
                "create_user",
                &json!({ "input": {
                    "name": name, "email": email, "role": "Employee", "all_facilities": true,
                    "facilities": [], "can_submit": true, "requires_review": false,
                    "password": EMPLOYEE_PASSWORD
                }}),
            )
            .await;
        assert!(
            created.status().is_success(),
            "{}",
            created.text().await.unwrap_or_default()
        );
        let client = signed_in(&lb, &email, EMPLOYEE_PASSWORD).await;
        let (_, key) = employee(
            &sandbox,
            json!({ "name": name, "permissions": permissions }),
        )
        .await;
        let set = support::user_keys::set_key(&lb, &client, None, &key, false).await;
        assert!(set.status.is_success(), "{}", set.body);
        employees.push(client);
    }

    // Every facility syncs ("Sync now", through the load balancer) while the submissions go.
    for license in &licenses {
        let r = lb.call(&admin, "sync_now", &[("license", license)]).await;
        assert!(
            r.status().is_success(),
            "sync_now {license}: {}",
            r.status()
        );
    }

    // The adjustments: distinct packages, spread over the facilities and the employees.
    let mut pools = Vec::new();
    for license in &licenses {
        pools.push(every_adjustable_package(&sandbox, &owner, license).await);
    }
    let plan: Vec<Planned> = (0..SUBMISSIONS + ROLLING)
        .map(|i| {
            let (label, _, unit) = pools[i % licenses.len()]
                .get(i / licenses.len())
                .cloned()
                .expect("enough packages to adjust each once");
            Planned {
                license: licenses[i % licenses.len()].clone(),
                label,
                unit,
                token: support::submissions::token(),
            }
        })
        .collect();
    let (first, rolling) = plan.split_at(SUBMISSIONS);
    let before = packages_now(&sandbox, &plan).await;

    // Metrc misbehaves: some writes refused for its rate limit or failing, every call slow.
    let faults = [
        sandbox
            .sandbox()
            .fail_next("/packages/v2/adjust", StatusCode::TOO_MANY_REQUESTS, 8),
        sandbox
            .sandbox()
            .fail_next("/packages/v2/adjust", StatusCode::INTERNAL_SERVER_ERROR, 8),
    ];
    let slow = sandbox.sandbox().slow_down(Duration::from_millis(60));

    // Phase 1: submissions while servers are killed and started again, one at a time.
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let chaos = {
        let done = std::sync::Arc::clone(&done);
        tokio::spawn(async move {
            let mut kills = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(rand::random_range(800..2500))).await;
                let node = &mut nodes[rand::random_range(0..3)];
                node.kill();
                kills += 1;
                tokio::time::sleep(Duration::from_millis(rand::random_range(100..1000))).await;
                node.start().await;
            }
            (nodes, kills)
        })
    };
    let ids = submit_all(&lb, &employees, first).await;
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let (mut nodes, kills) = chaos.await.expect("the chaos task");
    drop(faults);
    drop(slow);
    assert!(
        kills >= 3,
        "only {kills} servers were killed: the run was too short to prove much"
    );
    eprintln!("several servers: {kills} servers killed while {SUBMISSIONS} submissions were made");

    let rows = until_settled(&db, &ids).await;
    check_phase_one(&db, &sandbox, &rows, &ids, first, &before).await;
    check_sync(&db, &sandbox, &licenses).await;

    // Phase 2: a rolling restart while the employees submit.
    let submitting = {
        let lb = Endpoint {
            base: lb.base.clone(),
        };
        let employees = employees.clone();
        let rolling = rolling.to_vec();
        tokio::spawn(async move { submit_all(&lb, &employees, &rolling).await })
    };
    for node in &mut nodes {
        tokio::time::sleep(Duration::from_millis(700)).await;
        node.stop().await;
        node.start().await;
    }
    let rolling_ids = submitting.await.expect("the rolling submissions");
    let rows = until_settled(&db, &rolling_ids).await;
    for id in &rolling_ids {
        assert_eq!(
            rows[id].status,
            SubmissionStatus::Accepted,
            "submission {id} during the rolling restart: {:?}",
            rows[id].message
        );
    }
    let after = packages_now(&sandbox, rolling).await;
    for p in rolling {
        assert_eq!(
            after[&p.label].0,
            before[&p.label].0 - 1.0,
            "{} adjusted once",
            p.label
        );
    }
}

/// Submits `plan` through the load balancer, one employee after another in turn (three at once);
/// returns the ids in plan order.
async fn submit_all(lb: &Endpoint, employees: &[reqwest::Client], plan: &[Planned]) -> Vec<i64> {
    let mut tasks = Vec::new();
    for (e, client) in employees.iter().enumerate() {
        let mine: Vec<(usize, Planned)> = plan
            .iter()
            .enumerate()
            .filter(|(i, _)| i % employees.len() == e)
            .map(|(i, p)| (i, p.clone()))
            .collect();
        let (lb, client) = (
            Endpoint {
                base: lb.base.clone(),
            },
            client.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for (i, p) in mine {
                ids.push((i, submit_until_stored(&lb, &client, &p).await));
            }
            ids
        }));
    }
    let mut ids = vec![0; plan.len()];
    for task in tasks {
        for (i, id) in task.await.expect("a submitter") {
            ids[i] = id;
        }
    }
    ids
}

async fn check_phase_one(
    db: &DatabaseConnection,
    sandbox: &MetrcSandbox,
    rows: &BTreeMap<i64, submissions::Model>,
    ids: &[i64],
    plan: &[Planned],
    before: &BTreeMap<String, (f64, String)>,
) {
    // Stored once each: one row per form, and no row that no form made.
    let distinct: BTreeSet<i64> = ids.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        SUBMISSIONS,
        "every form stored as its own submission"
    );
    assert_eq!(rows.len(), SUBMISSIONS, "no submission stored twice");

    let after = packages_now(sandbox, plan).await;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, p) in ids.iter().zip(plan) {
        let row = &rows[id];
        *counts.entry(row.status.label()).or_default() += 1;
        let change = before[&p.label].0 - after[&p.label].0;
        match row.status {
            SubmissionStatus::Accepted => {
                assert_eq!(
                    change, 1.0,
                    "submission {id} ({}) recorded exactly once",
                    p.label
                );
            }
            SubmissionStatus::Rejected | SubmissionStatus::Failed => {
                assert!(row.message.is_some(), "submission {id}: Metrc's reason");
                assert_eq!(change, 0.0, "submission {id} refused and not recorded");
            }
            SubmissionStatus::Unknown => {
                assert!(
                    [0.0, 1.0].iter().any(|once| (change - once).abs() < 1e-9),
                    "submission {id} at most once"
                );
            }
            other => panic!("submission {id} left {other:?}"),
        }
    }
    eprintln!("several servers: {counts:?}");

    // Per facility, Metrc recorded them in their order: by the packages' LastModified, among
    // the rows never unanswered (those are sent again after reconciliation, behind later ones).
    let unknown = ever_unknown(db).await;
    eprintln!(
        "several servers: {} submissions had a call cut off by a kill",
        unknown.len()
    );
    let mut last: BTreeMap<&str, (i64, &str)> = BTreeMap::new();
    for (id, p) in ids.iter().zip(plan) {
        if rows[id].status != SubmissionStatus::Accepted || unknown.contains(id) {
            continue;
        }
        let modified = after[&p.label].1.as_str();
        if let Some((earlier, at)) = last.get(p.license.as_str()) {
            assert!(
                *at <= modified,
                "at {}, submission {id} was recorded at {modified}, before {earlier} at {at}",
                p.license
            );
        }
        last.insert(&p.license, (*id, modified));
    }
}

/// Every facility finished its sync, and no GET was refused for Metrc's rate limits.
async fn check_sync(db: &DatabaseConnection, sandbox: &MetrcSandbox, licenses: &[String]) {
    use app::ssr::entities::facilities;
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let synced = facilities::Entity::find()
            .filter(facilities::Column::LicenseNumber.is_in(licenses.iter().cloned()))
            .all(db)
            .await
            .expect("facilities")
            .into_iter()
            .filter(|f| f.last_sync_at.is_some() && f.sync_requested_at.is_none())
            .count();
        if synced == licenses.len() {
            break;
        }
        assert!(Instant::now() < deadline, "{synced} of 6 facilities synced");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let refused = sandbox
        .sandbox()
        .requests()
        .into_iter()
        .filter(|e| e.method == "GET" && e.status == 429)
        .count();
    assert_eq!(refused, 0, "GETs refused for Metrc's rate limits");
}
