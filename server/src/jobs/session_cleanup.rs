//! Hourly: delete expired sessions and forget recovered login-throttle and key-validation
//! limiter entries.

use app::ssr::queries::sessions;
use app::ssr::state::AppState;
use std::time::Duration;
use tokio::task::JoinHandle;

const EVERY: Duration = Duration::from_hours(1);

pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        loop {
            tick.tick().await;
            match sessions::delete_expired(&state.db, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "expired sessions removed"),
                Err(err) => tracing::warn!(error = %err, "session cleanup failed"),
            }
            state.login_throttle.prune();
            state.key_validations.prune();
        }
    })
}
