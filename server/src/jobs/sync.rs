//! Sync with Metrc: the worker loop of `app::ssr::sync`. It wakes on "Sync now" and every 30 s,
//! runs requested facilities and (unless `TRACEKEEPER_SYNC_SCHEDULED` is off) those with a list
//! due: Packages and Transfers every `TRACEKEEPER_SYNC_FAST_EVERY_SECS`, the rest every
//! `TRACEKEEPER_SYNC_SLOW_EVERY_SECS`; two facilities at once at most. A run cut short by a
//! stop resumes from its cursors at the next start.

use app::ssr::state::AppState;
use app::ssr::sync;
use tokio::task::JoinHandle;

pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(sync::run_worker(state))
}
