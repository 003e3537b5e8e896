//! What both client benchmarks need: an empty sandbox on 127.0.0.1:0, filled through its admin
//! API, and a client with Metrc's real limits and retry policy.

// Each benchmark uses part of this module.
#![allow(dead_code)]

use std::time::Duration;

use metrc::sandbox::{Sandbox, SandboxConfig};
use metrc::{Client, ClientConfig, Limits};
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

pub const VENDOR: &str = "bench-vendor-key";

pub struct Bench {
    pub url: Url,
    admin: reqwest::Client,
}

impl Bench {
    /// A sandbox with no demo data and Metrc's default settings (rate limits on).
    pub async fn start() -> Bench {
        let sandbox = Sandbox::new(SandboxConfig {
            vendor_keys: vec![VENDOR.into()],
            demo: false,
            ..SandboxConfig::default()
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free local port");
        let addr = sandbox.spawn(listener).expect("sandbox starts");
        Bench {
            url: Url::parse(&format!("http://{addr}")).expect("a valid URL"),
            admin: reqwest::Client::new(),
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .admin
            .post(self.url.join(path).expect("admin path"))
            .json(&body)
            .send()
            .await
            .expect("admin API reachable");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap_or(Value::Null)
    }

    pub async fn add_license(&self, number: &str, license_type: &str, packages: usize) {
        self.post(
            "/sandbox/licenses",
            json!({"number": number, "name": number, "license_type": license_type, "packages": packages}),
        )
        .await;
    }

    /// An employee owning `licenses` with every section: its key.
    pub async fn add_owner(&self, licenses: &[String]) -> SecretString {
        let every: Vec<&str> = metrc::Section::ALL.iter().map(|s| s.name()).collect();
        let permissions: serde_json::Map<String, Value> =
            licenses.iter().map(|l| (l.clone(), json!(every))).collect();
        let created = self
            .post(
                "/sandbox/employees",
                json!({"name": "Bench Owner", "owner_of": licenses, "permissions": permissions}),
            )
            .await;
        SecretString::from(created["api_key"].as_str().expect("a key").to_string())
    }

    pub async fn latency(&self, ms: u64) {
        self.post("/sandbox/faults", json!({"latency_ms": ms}))
            .await;
    }

    /// A client with the defaults of [`ClientConfig::new`]: Metrc's limits, real retries.
    pub fn client(&self) -> Client {
        self.client_with(|_| {})
    }

    /// [`Bench::client`] with its configuration changed by `tweak`.
    pub fn client_with(&self, tweak: impl FnOnce(&mut ClientConfig)) -> Client {
        let mut cfg = ClientConfig::new(self.url.clone(), SecretString::from(VENDOR));
        tweak(&mut cfg);
        Client::new(cfg).expect("valid config")
    }
}

/// Shortest possible time for `calls` GETs of one key, each taking `latency`, under `limits`:
/// whichever is slower of the vendor rate (the last call cannot start before (n-1)/rate and
/// takes `latency`) and the vendor concurrency (`calls / concurrent` rounds of `latency`).
pub fn vendor_floor(calls: usize, latency: Duration, limits: Limits) -> Duration {
    rate_and_slots_floor(
        calls,
        latency,
        limits.per_vendor_rps,
        limits.per_vendor_concurrent,
    )
}

/// The same for one license's calls.
pub fn license_floor(calls: usize, latency: Duration, limits: Limits) -> Duration {
    rate_and_slots_floor(
        calls,
        latency,
        limits.per_license_rps,
        limits.per_license_concurrent,
    )
}

fn rate_and_slots_floor(calls: usize, latency: Duration, rps: u32, slots: u32) -> Duration {
    if calls == 0 {
        return Duration::ZERO;
    }
    let by_rate = Duration::from_secs_f64((calls - 1) as f64 / f64::from(rps)) + latency;
    let by_slots = latency * u32::try_from(calls.div_ceil(slots as usize)).expect("calls");
    by_rate.max(by_slots)
}
