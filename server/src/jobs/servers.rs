//! Every [`BEAT`]: this server's heartbeat, which sizes its share of Metrc's GET limits and opens
//! or closes its gate (`app::ssr::servers`, docs/design.md §11). The share is taken off the
//! beat, by a second loop of the same task: a smaller share waits for the GETs in flight above
//! it, and the beats must go on meanwhile. A share taken brings the next beat forward, so the
//! others read it at once.

use app::ssr::servers::{self, BEAT, Heart};
use app::ssr::state::AppState;
use std::num::NonZeroU32;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

/// Closes the gate (no GET starts before the first beat), then beats until aborted.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    servers::arrive(&state);
    tokio::spawn(async move {
        let in_force = NonZeroU32::new(state.metrc.share()).unwrap_or(NonZeroU32::MIN);
        let (want, wanted) = watch::channel(in_force);
        let taken = Notify::new();
        tokio::join!(
            beats(&state, &want, &taken),
            take_shares(&state, wanted, &taken)
        );
    })
}

/// Stops the heartbeat `task` (waits until it has), then leaves ([`servers::leave`]): the gate
/// closes and the others take this server's share over at their next beats.
pub async fn stop(task: &mut JoinHandle<()>, state: &AppState) {
    task.abort();
    if let Err(error) = task.await
        && error.is_panic()
    {
        tracing::error!(%error, "the servers' heartbeat failed");
    }
    servers::leave(state).await;
}

async fn beats(state: &AppState, want: &watch::Sender<NonZeroU32>, taken: &Notify) {
    let mut heart = Heart::default();
    let mut tick = tokio::time::interval(BEAT);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = taken.notified() => {}
        }
        let step = servers::beat(state, &mut heart).await;
        want.send_if_modified(|share| std::mem::replace(share, step.share) != step.share);
    }
}

/// Takes each share the beats ask for, the latest first.
async fn take_shares(state: &AppState, mut wanted: watch::Receiver<NonZeroU32>, taken: &Notify) {
    while wanted.changed().await.is_ok() {
        let share = *wanted.borrow_and_update();
        if share.get() != state.metrc.share() {
            state.metrc.set_share(share).await;
            tracing::info!(
                share = share.get(),
                "this server holds to its share of Metrc's GET limits"
            );
            taken.notify_one();
        }
    }
}
