//! Nothing is lost and nothing is sent twice across a crash, with the real binaries: the
//! `tracekeeper` server talks to a separately running `metrc-sandbox` (`METRC_BASE_URL`) slowed
//! down so writes are in flight, is killed with SIGKILL while one is, and is started again on the
//! same data. Then every submission ends `Accepted` (the interrupted ones through `Unknown` and
//! reconciliation), every adjusted package changed exactly once, every moved package is where it
//! was sent, and the sandbox's request log holds no write beyond the calls the outbox recorded.
//!
//! Needs `target/<profile>/metrc-sandbox`, which `cargo test --workspace --features
//! app/ssr,metrc/sandbox` builds (or `cargo build --release -p metrc --features sandbox`).

use crate::support;

use app::types::inventory::Page;
use app::types::submissions::{SubmissionDetail, SubmissionRow, SubmissionStatus};
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::Backend;

const VENDOR: &str = "crash-test-vendor-key-0123456789";
const LICENSE: &str = "C10-0000774-LIC";
const ADMIN_EMAIL: &str = "admin@example.test";
const ADMIN_PASSWORD: &str = "crash-test-admin-password";
const USER_EMAIL: &str = "cara@example.test";
const USER_PASSWORD: &str = "crash-test-user-password";
/// Submissions of each kind (adjustments, moves).
const EACH: usize = 15;
/// How slow Metrc is while the server is killed.
const LATENCY_MS: u64 = 1000;

/// A child process killed (SIGKILL) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn sandbox_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let bin = dir.join("metrc-sandbox");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build --release -p metrc --features sandbox --bin metrc-sandbox` (cargo test --workspace builds it too)",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The sandbox on a free port; its address as a URL.
fn start_sandbox() -> (Proc, String) {
    let mut child = Command::new(sandbox_binary())
        .args([
            "--port",
            "0",
            "--seed",
            "7",
            "--packages",
            "600",
            "--vendor-key",
            VENDOR,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start metrc-sandbox");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads every line: the sandbox must never write to a closed pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("Metrc sandbox listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the sandbox says where it listens");
    (Proc(child), url)
}

async fn database_url(backend: &Backend, dir: &Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("crash.db").display()),
        Backend::Postgres(admin_url) => {
            let name = format!("tk_crash_{}", std::process::id());
            let admin = Database::connect(admin_url.as_str())
                .await
                .expect("postgres");
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                .await;
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create database");
            let (base, _) = admin_url.rsplit_once('/').expect("postgres URL");
            format!("{base}/{name}")
        }
    }
}

/// A `tracekeeper` command on the test's data, database and sandbox.
fn tracekeeper(dir: &Path, db_url: &str, sandbox: &str, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tracekeeper"));
    command
        .current_dir(dir)
        .env("DATABASE_URL", db_url)
        .env("TRACEKEEPER_DATA_DIR", dir.join("data"))
        .env("TRACEKEEPER_ADDR", format!("127.0.0.1:{port}"))
        .env("METRC_BASE_URL", format!("{sandbox}/"))
        .env("METRC_VENDOR_KEY", VENDOR)
        .env("TRACEKEEPER_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("TRACEKEEPER_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("TRACEKEEPER_OUTBOX_RECONCILE_AFTER_SECS", "3")
        .env("TRACEKEEPER_SYNC_SCHEDULED", "false")
        .env("RUST_LOG", "warn");
    command
}

/// Starts the server and waits until it answers; `run` numbers its log file.
async fn start_server(dir: &Path, db_url: &str, sandbox: &str, run: u32) -> (Proc, String) {
    let port = free_port();
    let log_path = dir.join(format!("server-{run}.log"));
    let log = std::fs::File::create(&log_path).expect("log file");
    let child = tracekeeper(dir, db_url, sandbox, port)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("start tracekeeper");
    let child = Proc(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await
            && r.status() == StatusCode::OK
        {
            return (child, base);
        }
        assert!(
            Instant::now() < deadline,
            "the server did not start: {}",
            std::fs::read_to_string(&log_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn login(base: &str, email: &str, password: &str) -> reqwest::Client {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("client");
    let r = c
        .post(format!("{base}/api/login"))
        .header("Accept", "application/json")
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("login");
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    c
}

async fn answer(r: reqwest::Response, name: &str) -> Value {
    let status = r.status();
    let text = r.text().await.expect("body");
    assert!(status.is_success(), "{name}: {status} {text}");
    serde_json::from_str(&text).expect("json")
}

async fn json_call(c: &reqwest::Client, base: &str, name: &str, body: Value) -> Value {
    let r = c
        .post(format!("{base}/api/{name}"))
        .header("Accept", "application/json")
        .json(&body)
        .send()
        .await
        .expect("call");
    answer(r, name).await
}

async fn form_call(c: &reqwest::Client, base: &str, name: &str, form: &[(&str, &str)]) -> Value {
    let r = c
        .post(format!("{base}/api/{name}"))
        .header("Accept", "application/json")
        .form(form)
        .send()
        .await
        .expect("call");
    answer(r, name).await
}

async fn sandbox_post(sandbox: &str, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new()
        .post(format!("{sandbox}{path}"))
        .json(&body)
        .send()
        .await
        .expect("sandbox");
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap_or(Value::Null)
}

async fn metrc_get(sandbox: &str, key: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{sandbox}{path}"))
        .basic_auth(VENDOR, Some(key))
        .send()
        .await
        .expect("metrc")
        .json()
        .await
        .expect("json")
}

async fn sandbox_package(sandbox: &str, label: &str) -> Value {
    reqwest::get(format!(
        "{sandbox}/sandbox/licenses/{LICENSE}/packages/{label}"
    ))
    .await
    .expect("package")
    .json()
    .await
    .expect("json")
}

/// Every submission, by id.
async fn all_rows(admin: &reqwest::Client, base: &str) -> BTreeMap<i64, SubmissionRow> {
    let mut rows = BTreeMap::new();
    for page in 0.. {
        let filter = json!({ "tab": "All", "user_id": null, "license": null, "status": null, "compliant": null, "page": page });
        let got: Page<SubmissionRow> = serde_json::from_value(
            json_call(admin, base, "list_submissions", json!({ "filter": filter })).await,
        )
        .expect("page");
        let done = got.rows.is_empty();
        rows.extend(got.rows.into_iter().map(|r| (r.id, r)));
        if done {
            break;
        }
    }
    rows
}

async fn detail(admin: &reqwest::Client, base: &str, id: i64) -> SubmissionDetail {
    serde_json::from_value(
        form_call(admin, base, "submission_detail", &[("id", &id.to_string())]).await,
    )
    .expect("detail")
}

/// `(id, status)` of every submission, read straight from the database (the server is dead).
async fn statuses_in_database(db_url: &str) -> Vec<(i64, String)> {
    use app::ssr::entities::submissions::{Column, Entity};
    use sea_orm::{EntityTrait, QuerySelect};
    let db = Database::connect(db_url).await.expect("database");
    Entity::find()
        .select_only()
        .column(Column::Id)
        .column(Column::Status)
        .into_tuple()
        .all(&db)
        .await
        .expect("rows")
}

each_backend!(
    a_server_killed_mid_write_loses_nothing_and_sends_nothing_twice,
    flavor = "multi_thread",
    worker_threads = 4
);
async fn a_server_killed_mid_write_loses_nothing_and_sends_nothing_twice(backend: Backend) {
    crash_and_recover(&backend).await;
}

async fn crash_and_recover(backend: &Backend) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_sandbox, sandbox) = start_sandbox();
    let db_url = database_url(backend, dir.path()).await;

    let every_section: Vec<&str> = metrc::Section::ALL.iter().map(|s| s.name()).collect();
    let owner = sandbox_post(
        &sandbox,
        "/sandbox/employees",
        json!({ "name": "Olivia Owner", "owner_of": [LICENSE], "permissions": { LICENSE: every_section } }),
    )
    .await["api_key"]
        .as_str()
        .expect("owner key")
        .to_owned();
    let cara_key = sandbox_post(
        &sandbox,
        "/sandbox/employees",
        json!({ "name": "Cara Crash", "permissions": { LICENSE: ["Packages"] } }),
    )
    .await["api_key"]
        .as_str()
        .expect("key")
        .to_owned();

    let (server, base) = start_server(dir.path(), &db_url, &sandbox, 1).await;
    let admin = login(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    json_call(
        &admin,
        &base,
        "assign_facility_key",
        json!({ "input": { "key": owner, "licenses": [LICENSE], "confirm_not_owner": false } }),
    )
    .await;
    let mut create = tracekeeper(dir.path(), &db_url, &sandbox, free_port())
        .args([
            "create-user",
            "--email",
            USER_EMAIL,
            "--name",
            "Cara Crash",
            "--can-submit",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("create-user");
    {
        use std::io::Write;
        let mut stdin = create.stdin.take().expect("stdin");
        writeln!(stdin, "{USER_PASSWORD}").expect("password");
    }
    assert!(create.wait().expect("create-user").success());
    let cara = login(&base, USER_EMAIL, USER_PASSWORD).await;
    json_call(
        &cara,
        &base,
        "set_user_key",
        json!({ "input": { "user_id": null, "key": cara_key, "confirm_facility_key": false } }),
    )
    .await;

    // Packages to adjust and to move, and the locations to move them to.
    let mut packages: Vec<Value> = Vec::new();
    for page in 1..=10 {
        let got = metrc_get(
            &sandbox,
            &owner,
            &format!("/packages/v2/active?licenseNumber={LICENSE}&pageNumber={page}&pageSize=20"),
        )
        .await;
        let data = got["Data"].as_array().cloned().unwrap_or_default();
        if data.is_empty() {
            break;
        }
        packages.extend(
            data.into_iter()
                .filter(|p| p["Quantity"].as_f64().unwrap_or_default() >= 2.0),
        );
    }
    assert!(
        packages.len() >= 2 * EACH,
        "only {} packages",
        packages.len()
    );
    let locations = metrc_get(
        &sandbox,
        &owner,
        &format!("/locations/v2/active?licenseNumber={LICENSE}&pageNumber=1&pageSize=20"),
    )
    .await;
    let locations: Vec<String> = locations["Data"]
        .as_array()
        .expect("locations")
        .iter()
        .filter_map(|l| l["Name"].as_str().map(str::to_owned))
        .collect();
    let day = (chrono::Utc::now().date_naive() - chrono::Duration::days(1)).to_string();
    let mut adjusted: HashMap<String, f64> = HashMap::new();
    let mut moved: HashMap<String, String> = HashMap::new();
    let mut inputs = Vec::new();
    for (i, p) in packages.iter().take(2 * EACH).enumerate() {
        let label = p["Label"].as_str().expect("label").to_owned();
        // Blocks of five of a kind: several calls, some of them batched.
        if (i / 5) % 2 == 0 {
            adjusted.insert(label.clone(), p["Quantity"].as_f64().expect("quantity"));
            inputs.push(json!({ "AdjustPackage": {
                "label": label, "quantity": -1.0, "unit": p["UnitOfMeasureName"],
                "reason": "Drying", "note": null, "date": day
            }}));
        } else {
            let here = p["LocationName"].as_str().unwrap_or_default();
            let to = locations
                .iter()
                .find(|l| l.as_str() != here)
                .expect("another location")
                .clone();
            moved.insert(label.clone(), to.clone());
            inputs.push(
                json!({ "ChangePackageLocation": { "label": label, "location": to, "date": day } }),
            );
        }
    }

    // Slow Metrc down, submit everything, and kill the server while a write is in flight.
    sandbox_post(
        &sandbox,
        "/sandbox/faults",
        json!({ "latency_ms": LATENCY_MS }),
    )
    .await;
    let mut submitting = tokio::task::JoinSet::new();
    for (i, input) in inputs.into_iter().enumerate() {
        let cara = cara.clone();
        let base = base.clone();
        submitting.spawn(async move {
            // A little apart, so the queue fills in order while the worker sends.
            tokio::time::sleep(Duration::from_millis(20 * i as u64)).await;
            json_call(
                &cara,
                &base,
                "submit",
                json!({ "input": { "license": LICENSE, "input": input, "confirm_facility_key": false } }),
            )
            .await
        });
    }
    let mut stored = BTreeSet::new();
    while let Some(done) = submitting.join_next().await {
        let row: SubmissionRow = serde_json::from_value(done.expect("submit")).expect("row");
        stored.insert(row.id);
    }
    assert_eq!(stored.len(), 2 * EACH);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let rows = all_rows(&admin, &base).await;
        let sending = rows.values().any(|r| r.status == SubmissionStatus::Sending);
        let accepted = rows
            .values()
            .any(|r| r.status == SubmissionStatus::Accepted);
        if sending && accepted {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "never caught a write in flight: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    drop(server); // SIGKILL
    let interrupted: BTreeSet<i64> = statuses_in_database(&db_url)
        .await
        .into_iter()
        .filter(|(_, status)| status == "sending")
        .map(|(id, _)| id)
        .collect();
    assert!(!interrupted.is_empty(), "the kill left rows Sending");

    // Start again on the same data, with Metrc fast again.
    sandbox_post(&sandbox, "/sandbox/faults", json!({ "latency_ms": 0 })).await;
    let (_server, base) = start_server(dir.path(), &db_url, &sandbox, 2).await;
    let admin = login(&base, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let rows = all_rows(&admin, &base).await;
        assert_eq!(rows.len(), 2 * EACH, "none lost");
        assert!(
            rows.values().all(|r| matches!(
                r.status,
                SubmissionStatus::Accepted
                    | SubmissionStatus::Unknown
                    | SubmissionStatus::Queued
                    | SubmissionStatus::Sending
            )),
            "{rows:?}"
        );
        if rows
            .values()
            .all(|r| r.status == SubmissionStatus::Accepted)
        {
            break;
        }
        // An interrupted adjustment that did land cannot be told from Metrc's data: the admin
        // looks (here: at the sandbox) and marks it.
        for r in rows
            .values()
            .filter(|r| r.status == SubmissionStatus::Unknown)
        {
            if let Some(before) = adjusted.get(&r.subject) {
                let now = sandbox_package(&sandbox, &r.subject).await["Quantity"]
                    .as_f64()
                    .expect("quantity");
                if (now - (before - 1.0)).abs() < 1e-9 {
                    form_call(
                        &admin,
                        &base,
                        "reconcile_submission",
                        &[("id", &r.id.to_string()), ("accepted", "true")],
                    )
                    .await;
                }
            }
        }
        assert!(Instant::now() < deadline, "not settled: {rows:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Exactly the interrupted rows went through Unknown (the restart recorded the lost answer).
    let mut calls_answered = BTreeSet::new();
    let mut calls_interrupted = BTreeSet::new();
    for id in &stored {
        let d = detail(&admin, &base, *id).await;
        for a in &d.attempts {
            if a.http_status == Some(200) {
                calls_answered.insert((a.at, d.row.action.as_str()));
            }
            if a.outcome.contains("server stopped") {
                calls_interrupted.insert((a.at, d.row.action.as_str()));
            }
        }
        let was_interrupted = d
            .attempts
            .iter()
            .any(|a| a.outcome.contains("server stopped"));
        assert_eq!(
            was_interrupted,
            interrupted.contains(id),
            "submission {id}: {:?}",
            d.attempts
        );
    }

    // Nothing twice: each adjustment changed its package exactly once; each move landed.
    for (label, before) in &adjusted {
        let now = sandbox_package(&sandbox, label).await["Quantity"]
            .as_f64()
            .expect("q");
        assert!(
            (now - (before - 1.0)).abs() < 1e-9,
            "{label}: {before} → {now}"
        );
    }
    for (label, to) in &moved {
        assert_eq!(
            sandbox_package(&sandbox, label).await["LocationName"],
            to.as_str()
        );
    }
    // The sandbox saw no write beyond the calls the outbox made: the answered ones, plus at most
    // the interrupted one(s).
    let log: Vec<Value> = reqwest::get(format!("{sandbox}/sandbox/requests"))
        .await
        .expect("log")
        .json()
        .await
        .expect("json");
    let writes: Vec<&Value> = log.iter().filter(|e| e["method"] != "GET").collect();
    let landed = writes.iter().filter(|e| e["status"] == 200).count();
    assert!(
        landed >= calls_answered.len() && landed <= calls_answered.len() + calls_interrupted.len(),
        "{landed} writes landed; the outbox made {} answered calls and {} interrupted ones",
        calls_answered.len(),
        calls_interrupted.len()
    );
    assert!(
        writes.iter().all(|e| e["status"] == 200),
        "no write was refused: {writes:?}"
    );
    eprintln!(
        "{backend:?}: {} submissions, {} interrupted by SIGKILL, {} answered calls, {landed} writes landed",
        stored.len(),
        interrupted.len(),
        calls_answered.len()
    );
}
