//! The Metrc sandbox: an axum server with Metrc's v2 routes, HTTP Basic auth, status codes,
//! paging envelope, error bodies and GET rate limits, over an in-memory model of licenses,
//! employees, keys and per-license data; plus an admin API under `/sandbox/`. Its contract:
//! docs/design.md §10.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use metrc::sandbox::{Sandbox, SandboxConfig};
//! let sandbox = Sandbox::new(SandboxConfig { vendor_keys: vec!["vendor".into()], ..Default::default() });
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let addr = sandbox.spawn(listener)?;
//! println!("Metrc sandbox on http://{addr}");
//! # Ok(()) }
//! ```
//!
//! Where Metrc's behaviour is uncertain or differs between deployments, [`Settings`] decides
//! (docs/metrc.md §11); the default is the production profile.
//!
//! A sandbox is one state's Metrc ([`SandboxConfig::state`], default California), as Metrc is one
//! system per state: for several states, run one sandbox per state, each on its own address. The
//! demo employees are the same people in every state's sandbox, with a different key in each.

mod admin;
mod auth;
pub mod config;
mod error;
mod faults;
mod gate;
mod inject;
mod limits;
mod log;
mod model;
mod query;
mod routes;
mod seed;
mod shapes;
pub mod standalone;
mod wire;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use chrono::{DateTime, SubsecRound, Utc};
use parking_lot::{Mutex, RwLock};
use tokio::net::TcpListener;

pub use config::{RateLimits, RecordShapes, SandboxConfig, Settings, UnwindowedReads};
pub use faults::Loss;
pub use inject::FaultGuard;
pub use log::LogEntry;
use model::Model;
pub use seed::DEMO_OWNER;

/// A running sandbox's shared state. Cheap to clone; locks are held only for the synchronous part
/// of a call, never across an `.await`.
#[derive(Clone)]
pub struct Sandbox {
    inner: Arc<Inner>,
}

struct Inner {
    config: SandboxConfig,
    /// Seeded `LastModified` times count back from here (kept across resets).
    anchor: DateTime<Utc>,
    model: RwLock<Model>,
    /// The settings in force (the config's until the admin API changes them).
    settings: RwLock<Settings>,
    faults: Mutex<faults::Faults>,
    log: Mutex<log::RequestLog>,
    limits: Option<limits::Limits>,
}

/// An employee and the current key (for demos and tests). Holds a secret: no `Debug`, no
/// `Serialize`.
#[derive(Clone)]
pub struct EmployeeInfo {
    /// The sandbox's id for the employee, from 1 in order of creation (the `{id}` of the admin
    /// API's `/sandbox/employees/{id}/...` routes).
    pub id: u64,
    /// The employee's full name.
    pub name: String,
    /// `License.EmployeeLicenseNumber` in the facilities response.
    pub employee_license_number: String,
    /// The employee's current user key (48 letters and digits): the Basic password of their
    /// Metrc calls. Regenerating it makes the previous one invalid (docs/metrc.md §3).
    pub api_key: String,
    /// License numbers the employee works at.
    pub licenses: Vec<String>,
    /// License numbers the employee owns (`IsOwner: true`).
    pub owner_of: Vec<String>,
}

impl Sandbox {
    /// Builds and seeds a sandbox (100,000 packages take about a second in debug builds).
    pub fn new(config: SandboxConfig) -> Sandbox {
        let anchor = config
            .seeded_at
            .unwrap_or_else(|| Utc::now().trunc_subsecs(0));
        let model = seed::build(
            config.state_seed(),
            &config.state_code(),
            config.demo,
            config.packages_per_license,
            anchor,
        );
        let limits = config.settings.rate_limits.map(limits::Limits::new);
        Sandbox {
            inner: Arc::new(Inner {
                settings: RwLock::new(config.settings.clone()),
                config,
                anchor,
                model: RwLock::new(model),
                faults: Mutex::new(faults::Faults::default()),
                log: Mutex::new(log::RequestLog::default()),
                limits,
            }),
        }
    }

    /// The configuration the sandbox was built from (its settings as at start, not as changed
    /// since: see [`Sandbox::settings`]).
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// The settings in force now.
    pub fn settings(&self) -> Settings {
        self.inner.settings.read().clone()
    }

    /// Changes the settings in force (what `PUT /sandbox/settings` does). `rate_limits` is fixed
    /// when the sandbox is built: a change to it here has no effect.
    pub fn set_settings(&self, settings: Settings) {
        *self.inner.settings.write() = settings;
    }

    /// Metrc's routes at the root, the admin API under `/sandbox/`.
    pub fn router(&self) -> Router {
        routes::router(self.clone()).merge(admin::router(self.clone()))
    }

    /// Serves on `listener` until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }

    /// Serves on `listener` in a background task for the life of the runtime; returns the bound
    /// address (useful with port 0).
    pub fn spawn(&self, listener: TcpListener) -> std::io::Result<SocketAddr> {
        let addr = listener.local_addr()?;
        let router = self.router();
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!("metrc sandbox stopped: {e}");
            }
        });
        Ok(addr)
    }

    /// The numbers and names of the demo licenses a sandbox of `state` (a two-letter code, any
    /// case) seeds, in the order it seeds them: one of each license type (cultivation,
    /// manufacturing, distribution, retail, testing laboratory, microbusiness). California's are
    /// `CCL19-0004821` Emerald Ridge Farms and so on; Colorado and Michigan have their own; any
    /// other code gets generated ones (`OR-CUL-0001` "Oregon Demo Cultivation", ...).
    pub fn demo_licenses(state: &str) -> Vec<(String, String)> {
        seed::demo_licenses(&state.trim().to_ascii_uppercase())
            .into_iter()
            .map(|(number, name, _)| (number, name))
            .collect()
    }

    /// Every employee with the current key, by id.
    pub fn employees(&self) -> Vec<EmployeeInfo> {
        let model = self.inner.model.read();
        let numbers = |set: &std::collections::BTreeSet<usize>| {
            set.iter()
                .filter_map(|i| model.license(*i))
                .map(|l| l.number.clone())
                .collect()
        };
        model
            .employees
            .iter()
            .map(|e| EmployeeInfo {
                id: e.id,
                name: e.name.clone(),
                employee_license_number: e.license_number.clone(),
                api_key: e.api_key.clone(),
                licenses: numbers(&e.licenses()),
                owner_of: numbers(&e.owner_of),
            })
            .collect()
    }

    /// The demo License Owner ([`DEMO_OWNER`]: owns every demo license, holds every permission), if
    /// seeded.
    pub fn demo_owner(&self) -> Option<EmployeeInfo> {
        self.employees()
            .into_iter()
            .find(|e| e.name == seed::DEMO_OWNER)
    }

    /// Metrc calls so far, oldest first (at most the last 100,000).
    pub fn requests(&self) -> Vec<LogEntry> {
        self.inner.log.lock().entries()
    }

    /// Back to the seeded state: data, employees and keys as at start, the config's settings;
    /// faults and log cleared.
    pub fn reset(&self) {
        let c = &self.inner.config;
        let fresh = seed::build(
            c.state_seed(),
            &c.state_code(),
            c.demo,
            c.packages_per_license,
            self.inner.anchor,
        );
        *self.inner.model.write() = fresh;
        self.set_settings(c.settings.clone());
        self.inner.faults.lock().clear();
        self.inner.log.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VENDOR: &str = "vendor";

    async fn start(state: &str) -> (Sandbox, String) {
        let sandbox = Sandbox::new(SandboxConfig {
            vendor_keys: vec![VENDOR.to_string()],
            state: state.to_string(),
            packages_per_license: 2,
            ..SandboxConfig::default()
        });
        let addr = sandbox.start().await.unwrap_or_else(|e| panic!("{e}"));
        (sandbox, format!("http://{addr}"))
    }

    fn owner_key(sandbox: &Sandbox) -> String {
        sandbox.demo_owner().map(|o| o.api_key).unwrap_or_default()
    }

    async fn facilities(base: &str, key: &str) -> (u16, Vec<String>) {
        let response = reqwest::Client::new()
            .get(format!("{base}/facilities/v2/"))
            .basic_auth(VENDOR, Some(key))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        let numbers = body
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f["License"]["Number"].as_str().map(str::to_string))
            .collect();
        (status, numbers)
    }

    #[tokio::test]
    async fn each_states_sandbox_knows_only_its_own_keys_and_licenses() {
        let (ca, ca_url) = start("CA").await;
        let (co, co_url) = start("CO").await;
        let (ca_owner, co_owner) = (owner_key(&ca), owner_key(&co));
        assert_ne!(ca_owner, co_owner);

        let numbers = |state| -> Vec<String> {
            Sandbox::demo_licenses(state)
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(facilities(&ca_url, &ca_owner).await, (200, numbers("CA")));
        assert_eq!(facilities(&co_url, &co_owner).await, (200, numbers("CO")));
        // A key is one state's: the other state's Metrc does not know it.
        assert_eq!(facilities(&ca_url, &co_owner).await, (401, Vec::new()));
        assert_eq!(facilities(&co_url, &ca_owner).await, (401, Vec::new()));
        for e in co.employees() {
            assert_eq!(facilities(&ca_url, &e.api_key).await.0, 401, "{}", e.name);
        }

        // A license added without a state is in the sandbox's state.
        let added: serde_json::Value = reqwest::Client::new()
            .post(format!("{co_url}/sandbox/licenses"))
            .json(&serde_json::json!({
                "number": "402R-00999", "name": "Aspen Leaf", "license_type": "Retail",
                "packages": 1,
            }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_default();
        assert_eq!(added["state"], "CO");
        // After a reset, the same keys again.
        co.reset();
        assert_eq!(owner_key(&co), co_owner);
    }
}
