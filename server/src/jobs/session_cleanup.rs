//! Hourly: delete expired sessions and forget recovered login-throttle entries (both tables
//! shared by every server on the database: one server at a time does it, the holder of the lease
//! [`LEASE`], [`super::singleton`]), and, on every server, forget recovered key-validation limiter
//! entries (each server's own, in memory).

use app::ssr::queries::sessions;
use app::ssr::state::AppState;
use std::time::Duration;
use tokio::task::JoinHandle;

const EVERY: Duration = Duration::from_hours(1);

/// The job's lease.
pub const LEASE: &str = "job:session-cleanup";

/// The two loops: the shared tables' clean-up (one server) and this server's limiter.
pub fn spawn(state: AppState) -> [JoinHandle<()>; 2] {
    let limiter = state.clone();
    let own = tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            limiter.key_validations.prune();
        }
    });
    let shared = super::singleton(state, LEASE, EVERY, true, |state| async move {
        match sessions::delete_expired(&state.db, chrono::Utc::now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired sessions removed"),
            Err(err) => tracing::warn!(error = %err, "session cleanup failed"),
        }
        if let Err(err) = state.login_throttle.prune(&state.db).await {
            tracing::warn!(error = %err, "forgetting recovered sign-in allowances failed");
        }
    });
    [shared, own]
}
