//! Typed fault injection for Rust tests: the same faults as `POST /sandbox/faults` (which stays
//! for browser tests, demos and a sandbox in another process), each in force until its
//! [`FaultGuard`] is dropped, so that a failing test cannot leave a fault behind for the code
//! after it.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use metrc::sandbox::{Sandbox, SandboxConfig};
//! use axum::http::StatusCode;
//!
//! let sandbox = Sandbox::new(SandboxConfig::default());
//! let addr = sandbox.start().await?;
//! let outage = sandbox.fail_next("/packages/", StatusCode::SERVICE_UNAVAILABLE, 2);
//! // ... the next two calls under /packages/ at `addr` get 503 ...
//! drop(outage); // and any of them not yet used are withdrawn
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;

use super::Sandbox;
use super::faults::{FaultId, Loss};

/// A fault in force until this guard is dropped (or its calls are used up). Dropping it
/// withdraws what is left of that fault alone; other faults stay.
#[must_use = "the fault is withdrawn as soon as its guard is dropped"]
pub struct FaultGuard {
    sandbox: Sandbox,
    id: FaultId,
}

impl FaultGuard {
    /// Calls the fault still applies to: 0 once used up (a lost write counts as used when the
    /// sandbox starts holding it, so a test can tell that the write has arrived), `u32::MAX` for a
    /// latency (it applies to every call).
    pub fn remaining(&self) -> u32 {
        self.sandbox.inner.faults.lock().remaining(self.id)
    }
}

impl Drop for FaultGuard {
    fn drop(&mut self) {
        self.sandbox.inner.faults.lock().remove(self.id);
    }
}

impl Sandbox {
    /// Serves the sandbox on a free port of 127.0.0.1 in a background task for the life of the
    /// runtime; returns its address (Metrc's routes at the root, the admin API under
    /// `/sandbox/`). Errors: the port could not be bound.
    pub async fn start(&self) -> std::io::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        self.spawn(listener)
    }

    /// The next `count` Metrc calls whose path starts with `path_prefix` (every call for `""`)
    /// get `status` with Metrc's usual body for it, without being carried out.
    ///
    /// Panics when `status` is not a 4xx or 5xx status (a test's mistake).
    pub fn fail_next(&self, path_prefix: &str, status: StatusCode, count: u32) -> FaultGuard {
        self.fail(path_prefix, status, None, count)
    }

    /// [`Sandbox::fail_next`] with `body` (JSON) instead of Metrc's usual body, e.g. field
    /// case-10's `{"Message": "Could not load file or assembly ..."}` with 400.
    pub fn fail_next_with_body(
        &self,
        path_prefix: &str,
        status: StatusCode,
        body: Value,
        count: u32,
    ) -> FaultGuard {
        self.fail(path_prefix, status, Some(body), count)
    }

    /// The next `count` writes (not GETs) whose path starts with `path_prefix`, at `license`
    /// (any when `None`), lose their request or their answer (see [`Loss`]).
    pub fn lose_next(
        &self,
        loss: Loss,
        path_prefix: &str,
        license: Option<&str>,
        count: u32,
    ) -> FaultGuard {
        let id = self.inner.faults.lock().add_loss(
            loss,
            count,
            Some(path_prefix.to_owned()),
            license.map(str::to_owned),
        );
        self.guard(id)
    }

    /// Every Metrc call waits `latency` before it is carried out, until the guard is dropped
    /// (or another latency is set); a call whose caller hangs up meanwhile is dropped, not
    /// logged.
    pub fn slow_down(&self, latency: Duration) -> FaultGuard {
        let id = self.inner.faults.lock().set_latency(latency);
        self.guard(id)
    }

    fn fail(
        &self,
        path_prefix: &str,
        status: StatusCode,
        body: Option<Value>,
        count: u32,
    ) -> FaultGuard {
        assert!(
            status.is_client_error() || status.is_server_error(),
            "a fault's status is a 4xx or 5xx, not {status}"
        );
        let id = self.inner.faults.lock().add_with_body(
            status,
            body,
            count,
            Some(path_prefix.to_owned()),
        );
        self.guard(id)
    }

    fn guard(&self, id: FaultId) -> FaultGuard {
        FaultGuard {
            sandbox: self.clone(),
            id,
        }
    }
}
