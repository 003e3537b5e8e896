//! Every `TRACEKEEPER_REVALIDATE_EVERY_SECS` (default 15 minutes): check every stored facility key
//! and user key against Metrc. A refused key turns invalid (a facility's rows red and its sync
//! paused; a user's row and page show it); a key Metrc accepts again turns valid. "Revalidate now"
//! and signing in call the same services for one facility or user.
//!
//! One server at a time runs it, the holder of the lease [`LEASE`] ([`super::singleton`]): with
//! several servers on one database each key is still checked once a period, not once per server.

use app::ssr::state::AppState;
use app::ssr::{facility_keys, user_keys};
use app::types::facilities::RevalidationSummary;
use tokio::task::JoinHandle;

/// The job's lease.
pub const LEASE: &str = "job:key-revalidation";

pub fn spawn(state: AppState) -> JoinHandle<()> {
    let every = state.config.revalidate_every;
    // The first pass one period after the lease is taken: start-up has enough to do.
    super::singleton(state, LEASE, every, false, |state| async move {
        log("facility", facility_keys::revalidate_all(&state).await);
        log("user", user_keys::revalidate_all(&state).await);
    })
}

/// One line per pass and kind of key: a warning when any key is invalid or could not be checked.
fn log(kind: &str, result: Result<RevalidationSummary, impl std::fmt::Display>) {
    match result {
        Ok(s) if s.invalid > 0 || s.failed > 0 => tracing::warn!(
            kind,
            valid = s.valid,
            invalid = s.invalid,
            failed = s.failed,
            "keys revalidated"
        ),
        Ok(s) => tracing::debug!(kind, valid = s.valid, "keys revalidated"),
        Err(err) => tracing::warn!(kind, error = %err, "key revalidation failed"),
    }
}
