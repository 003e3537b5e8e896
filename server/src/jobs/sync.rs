//! Sync with Metrc: the background loop over `app::ssr::sync`, one per server. It wakes on "Sync
//! now" pressed on this server, when a run ends and every [`POLL`], and starts
//! ([`sync::next_runs`]) the facilities with a "Sync now" request (pressed on any server), those
//! whose run was interrupted (marked running, no live `sync:` lease: their server died or
//! stopped; resumed from their cursors once the lease expired) and (unless
//! `TRACEKEEPER_SYNC_SCHEDULED` is off) those with a list due: Packages and Transfers every
//! `TRACEKEEPER_SYNC_FAST_EVERY_SECS`, the rest every `TRACEKEEPER_SYNC_SLOW_EVERY_SECS`. Each run
//! holds its facility's lease, so a facility runs on one server at a time; [`MAX_CONCURRENT`]
//! facilities at once at most on each server. Runs stop when the loop's task is dropped, and give
//! their leases back.

use app::ssr::state::AppState;
use app::ssr::sync;
use std::time::Duration;
use tokio::task::{JoinHandle, JoinSet};

/// Most facilities syncing at once on one server. Each runs at most at this server's share of
/// Metrc's per-license rate (50 GETs a second whole), so sync takes two thirds of the vendor key's
/// 150 and leaves a third for people (key validation, lookups), however many servers share the
/// limits (docs/design.md §7; docs/benchmarks.md, "Several servers").
pub const MAX_CONCURRENT: usize = 2;
/// How often the loop looks for work when nothing wakes it: the longest a "Sync now" pressed on a
/// server with no room waits for another server, and how soon after its lease expired an
/// interrupted run is resumed.
pub const POLL: Duration = Duration::from_secs(30);

pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
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
