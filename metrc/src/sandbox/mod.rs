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
            config.seed,
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

    /// The demo License Owner (owns every demo license, holds every permission), if seeded.
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
        let fresh = seed::build(c.seed, c.demo, c.packages_per_license, self.inner.anchor);
        *self.inner.model.write() = fresh;
        self.set_settings(c.settings.clone());
        self.inner.faults.lock().clear();
        self.inner.log.lock().clear();
    }
}
