//! The outbox worker. At start, before anything is sent, every submission a previous run left
//! `Sending` becomes `Unknown` (its call's answer was never seen: it is not resent blindly). Then
//! it sends each facility's due submissions in order, several facilities at once; it wakes when
//! something is queued (the `Notify` in `AppState`) and every `poll_every` (default 1 s) for
//! backoffs that are over and unknown outcomes to reconcile with Metrc's data.

use app::ssr::outbox;
use app::ssr::state::AppState;
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::task::{JoinHandle, JoinSet};

pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        recover(&state).await;
        let mut running: HashSet<String> = HashSet::new();
        let mut tasks: HashMap<tokio::task::Id, String> = HashMap::new();
        let mut drains: JoinSet<()> = JoinSet::new();
        loop {
            let settings = state.outbox.settings();
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
                _ = state.outbox.woken() => {}
                _ = tokio::time::sleep(settings.poll_every) => {}
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

/// Start-up recovery, retried until the database answers: nothing is sent before it is done.
async fn recover(state: &AppState) {
    loop {
        match outbox::recover_interrupted(state).await {
            Ok(_) => return,
            Err(error) => {
                tracing::warn!(%error, "outbox: start-up recovery failed; trying again");
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}
