//! Every `TRACEKEEPER_REVALIDATE_EVERY_SECS` (default 15 minutes): check every stored facility key
//! against Metrc. A refused key turns invalid (its rows red, sync paused); a key Metrc accepts
//! again turns valid. "Revalidate now" calls the same service for one facility.

use app::ssr::facility_keys;
use app::ssr::state::AppState;
use tokio::task::JoinHandle;

pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.config.revalidate_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate: skip it, start-up has enough to do.
        tick.tick().await;
        loop {
            tick.tick().await;
            match facility_keys::revalidate_all(&state).await {
                Ok(summary) if summary.invalid > 0 || summary.failed > 0 => tracing::warn!(
                    valid = summary.valid,
                    invalid = summary.invalid,
                    failed = summary.failed,
                    "facility keys revalidated"
                ),
                Ok(summary) => tracing::debug!(valid = summary.valid, "facility keys revalidated"),
                Err(err) => tracing::warn!(error = %err, "facility key revalidation failed"),
            }
        }
    })
}
