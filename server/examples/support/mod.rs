//! What the sync benchmarks share: a Metrc sandbox of their own on 127.0.0.1:0 (no demo data,
//! Metrc's rate limits on), filled through its admin API, and the server's state on a fresh
//! database with a facility keyed to one of its licenses.

// Each benchmark uses part of this module.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use app::ssr::actor::Actor;
use app::ssr::config::{Config, OutboxSettings, SyncSettings, ThrottleLimits, ValidationLimits};
use app::ssr::facility_keys;
use app::ssr::state::AppState;
use app::ssr::sync::schedule;
use metrc::sandbox::{Sandbox, SandboxConfig, Settings};
use metrc::{Resource, Section};
use secrecy::SecretString;
use serde_json::{Value, json};

pub const VENDOR: &str = "bench-vendor-key";
/// The first admin of every benchmark's server.
pub const ADMIN_EMAIL: &str = "admin@localhost";
pub const ADMIN_PASSWORD: &str = "bench-admin-password";

/// A sandbox running for one benchmark run (a new port: a new base URL, so nothing learnt about
/// its windows yet).
pub struct BenchSandbox {
    pub sandbox: Sandbox,
    /// `http://127.0.0.1:port`, no trailing slash.
    pub base: String,
    admin: reqwest::Client,
}

impl BenchSandbox {
    /// An empty sandbox answering as `settings` say.
    pub async fn start(settings: Settings) -> BenchSandbox {
        let sandbox = Sandbox::new(SandboxConfig {
            vendor_keys: vec![VENDOR.into()],
            demo: false,
            settings,
            ..SandboxConfig::default()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("port");
        let addr = sandbox.spawn(listener).expect("sandbox");
        BenchSandbox {
            sandbox,
            base: format!("http://{addr}"),
            admin: reqwest::Client::new(),
        }
    }

    /// A call to the admin API; its answer.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .admin
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("sandbox admin API");
        assert!(response.status().is_success(), "{}", response.status());
        response.json::<Value>().await.unwrap_or(Value::Null)
    }

    /// A distribution license with `packages` active packages (and the rest the sandbox seeds
    /// with them), last modified over the `history_days` before now (`None`: the sandbox's
    /// default, 30); the key of a License Owner with every section.
    pub async fn distribution(
        &self,
        license: &str,
        packages: usize,
        history_days: Option<u32>,
    ) -> String {
        let mut new = json!({"number": license, "name": "Bench Distribution",
                             "license_type": "Distributor", "packages": packages});
        if let Some(days) = history_days {
            new["history_days"] = json!(days);
        }
        self.post("/sandbox/licenses", new).await;
        let every: Vec<&str> = Section::ALL.iter().map(|s| s.name()).collect();
        let owner = self
            .post(
                "/sandbox/employees",
                json!({"name": "Bench Owner", "owner_of": [license], "permissions": {license: every}}),
            )
            .await;
        owner["api_key"].as_str().expect("key").to_owned()
    }

    /// `ms` of latency on every Metrc call from now on.
    pub async fn latency(&self, ms: u64) {
        self.post("/sandbox/faults", json!({"latency_ms": ms}))
            .await;
    }

    /// A Metrc client for this sandbox with the defaults of `ClientConfig::new`.
    pub fn client(&self) -> metrc::Client {
        metrc::Client::new(metrc::ClientConfig::new(
            url::Url::parse(&format!("{}/", self.base)).expect("url"),
            SecretString::from(VENDOR),
        ))
        .expect("client")
    }
}

/// `DATABASE_URL`, or a SQLite file in `dir`.
pub fn database_url(dir: &Path) -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}?mode=rwc", dir.join("bench.db").display()))
}

/// The benchmarks' server settings: `database_url`, data in `data_dir`, syncing as `sync` says
/// (never on a schedule); the first admin [`ADMIN_EMAIL`] with [`ADMIN_PASSWORD`]; the rest the
/// defaults.
pub fn config(database_url: &str, data_dir: &Path, sync: SyncSettings) -> Config {
    Config {
        database_url: database_url.to_owned(),
        addr: "127.0.0.1:0".parse().expect("addr"),
        data_dir: data_dir.to_owned(),
        admin_email: ADMIN_EMAIL.into(),
        admin_password: Some(ADMIN_PASSWORD.to_owned().into()),
        secure_cookies: false,
        trusted_proxies: Vec::new(),
        public_origin: None,
        identity: None,
        identity_file: None,
        fingerprint_secret: None,
        key_warn_after_days: app::ssr::config::DEFAULT_KEY_WARN_AFTER_DAYS,
        revalidate_every: Duration::from_secs(app::ssr::config::DEFAULT_REVALIDATE_EVERY_SECS),
        lease: Duration::from_secs(app::ssr::config::DEFAULT_LEASE_SECS),
        sync: SyncSettings {
            scheduled: false,
            ..sync
        },
        outbox: OutboxSettings::default(),
        sign_in: ThrottleLimits::default(),
        key_validations: ValidationLimits::default(),
    }
}

/// The server's state on `database_url` (data in `data_dir`), syncing as `sync` says (never on
/// a schedule) through `metrc`, with `key` set as the facility key of `license`: the state and
/// the lists the facility syncs.
pub async fn keyed_state(
    database_url: &str,
    data_dir: &Path,
    sync: SyncSettings,
    metrc: metrc::Client,
    license: &str,
    key: &str,
) -> (AppState, Vec<Resource>) {
    let config = config(database_url, data_dir, sync);
    let state = server::startup::build_state(config, metrc)
        .await
        .expect("state");
    facility_keys::assign(
        &state,
        Actor::Operator,
        SecretString::from(key.to_owned()),
        vec![license.to_owned()],
        false,
        None,
    )
    .await
    .expect("key assigned");
    let facility = app::ssr::queries::facilities::find_by_license(&state.db, license)
        .await
        .expect("db")
        .expect("facility");
    let lists = schedule::applicable(&facility.capabilities);
    (state, lists)
}
