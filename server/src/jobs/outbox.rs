//! The outbox worker. It sends each facility's due submissions in order, several facilities at
//! once, each under the facility's lease (`outbox::drain`; docs/design.md §11): with several
//! servers on one database, a facility's queue is sent by one of them at a time. It wakes when
//! something is queued (the `Notify` in `AppState`) and every `poll_every` (default 1 s) for
//! backoffs that are over, facilities whose rows a stopped server left `Sending` once its lease
//! has expired (the drain makes them `Unknown`: `outbox::stuck`), and unknown outcomes to
//! reconcile with Metrc's data (one server at a time). Starting touches nothing: another live
//! server's calls are its own. When the server stops
//! ([`app::ssr::outbox::OutboxHandle::stop`]) it claims nothing more and waits for the calls
//! under way, up to the write timeout and [`STORE_GRACE`] to store their answers; their drains
//! give their leases up, so another server carries on at once. A call cut off there stays
//! `Sending`, its lease expires, and the next holder (any server) makes it `Unknown`.

use app::ssr::outbox;
use app::ssr::state::AppState;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::task::{JoinHandle, JoinSet};

/// Time to store the answers of the calls under way at a stop, beyond the write timeout.
pub const STORE_GRACE: Duration = Duration::from_secs(5);

pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut running: HashSet<String> = HashSet::new();
        let mut tasks: HashMap<tokio::task::Id, String> = HashMap::new();
        let mut drains: JoinSet<()> = JoinSet::new();
        loop {
            let settings = state.outbox.settings();
            if state.outbox.is_stopping() {
                finish(drains, settings.write_timeout + STORE_GRACE).await;
                return;
            }
            if !settings.paused {
                match outbox::due_facilities(&state).await {
                    Ok(due) => {
                        for license in due {
                            if running.len() >= settings.concurrent_facilities.max(1) {
                                break;
                            }
                            if !running.insert(license.clone()) {
                                continue;
                            }
                            let st = state.clone();
                            let l = license.clone();
                            let handle = drains.spawn(async move {
                                if let Err(error) = outbox::drain(&st, &l).await {
                                    tracing::warn!(license = %l, %error, "outbox: sending stopped; tried again shortly");
                                }
                            });
                            tasks.insert(handle.id(), license);
                        }
                    }
                    Err(error) => tracing::warn!(%error, "outbox: cannot read the queue"),
                }
                if let Err(error) = outbox::reconcile_due(&state).await {
                    tracing::warn!(%error, "outbox: reconciling unknown outcomes failed");
                }
            }
            tokio::select! {
                () = state.outbox.woken() => {}
                () = tokio::time::sleep(settings.poll_every) => {}
                Some(done) = drains.join_next_with_id(), if !drains.is_empty() => {
                    let id = match &done {
                        Ok((id, ())) => *id,
                        Err(error) => {
                            tracing::error!(%error, "outbox: a sending task failed");
                            error.id()
                        }
                    };
                    if let Some(license) = tasks.remove(&id) {
                        running.remove(&license);
                    }
                }
            }
        }
    })
}

/// Waits for the drains under way (each ends after its current batch) up to `limit`; those still
/// running then are cut off.
async fn finish(mut drains: JoinSet<()>, limit: Duration) {
    let under_way = drains.len();
    let waited =
        tokio::time::timeout(limit, async { while drains.join_next().await.is_some() {} }).await;
    if let Ok(()) = waited {
        tracing::info!(
            under_way,
            "outbox stopped: the calls under way were answered"
        );
    } else {
        tracing::warn!(
            left = drains.len(),
            "outbox stopped before every call under way was answered: those rows stay Sending and become Unknown once their lease expires"
        );
    }
}
