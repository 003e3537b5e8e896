//! Sync with Metrc: the background loop over `app::ssr::sync`. It wakes on "Sync now", when a
//! run ends and every [`POLL`], runs requested facilities and (unless `TRACEKEEPER_SYNC_SCHEDULED`
//! is off) those with a list due: Packages and Transfers every `TRACEKEEPER_SYNC_FAST_EVERY_SECS`,
//! the rest every `TRACEKEEPER_SYNC_SLOW_EVERY_SECS`; [`MAX_CONCURRENT`] facilities at once at
//! most. A run cut short by a stop resumes from its cursors at the next start. Runs stop when the
//! loop's task is dropped.

use app::ssr::state::AppState;
use app::ssr::sync;
use std::time::Duration;
use tokio::task::{JoinHandle, JoinSet};

/// Most facilities syncing at once (each stays under Metrc's per-license limits by itself; the
/// vendor-wide limit is shared).
pub const MAX_CONCURRENT: usize = 2;
/// How often the loop looks for due facilities when nothing wakes it.
pub const POLL: Duration = Duration::from_secs(30);

pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        sync::resume_interrupted(&state).await;
        let mut runs = JoinSet::new();
        loop {
            let free = MAX_CONCURRENT.saturating_sub(runs.len());
            match sync::next_runs(&state, free).await {
                Ok(picked) => {
                    for one in picked {
                        let st = state.clone();
                        runs.spawn(async move { sync::run_logged(&st, one).await });
                    }
                }
                Err(err) => tracing::warn!(error = %err, "sync: could not pick due facilities"),
            }
            tokio::select! {
                () = state.sync.woken() => {}
                Some(_) = runs.join_next(), if !runs.is_empty() => {}
                () = tokio::time::sleep(POLL) => {}
            }
        }
    })
}
