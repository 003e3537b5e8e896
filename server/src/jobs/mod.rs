//! Background jobs: one file per loop, each a `spawn(state)` that returns its task. The jobs end
//! with the server: [`Jobs::stop`] lets the outbox finish the calls under way, and the others
//! abort (their handles abort on drop).
//!
//! With several servers on one database (docs/design.md §11), key revalidation and session
//! clean-up are [`singleton`]s: one server at a time holds the job's lease and runs it; sync and
//! the outbox share their work out per facility (`sync:`, `outbox:` leases).

pub mod key_revalidation;
pub mod outbox;
pub mod servers;
pub mod session_cleanup;
pub mod sync;

use app::ssr::lease::Lease;
use app::ssr::state::AppState;
use std::future::Future;
use std::time::Duration;
use tokio::task::JoinHandle;

/// The running jobs; dropping this aborts them.
pub struct Jobs {
    servers: JoinHandle<()>,
    outbox: JoinHandle<()>,
    others: Vec<JoinHandle<()>>,
}

impl Jobs {
    /// Stops the jobs: the outbox claims nothing more and waits for its calls under way (up to
    /// the write timeout and [`outbox::STORE_GRACE`]); the others are aborted.
    pub async fn stop(mut self, state: &AppState) {
        state.outbox.stop();
        if let Err(error) = (&mut self.outbox).await
            && error.is_panic()
        {
            tracing::error!(%error, "the outbox worker failed");
        }
        // After the outbox: it closes the Metrc client's gate, which a GET still to come would
        // wait at for ever.
        servers::stop(&mut self.servers, state).await;
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        self.servers.abort();
        self.outbox.abort();
        for task in &self.others {
            task.abort();
        }
    }
}

/// Runs `job` every `every` on one server at a time: every server tries to take the lease `name`
/// (`job:<name>`) every third of `TRACEKEEPER_LEASE_SECS`; the one that gets it keeps it renewed
/// and runs the job on its period ([`hold`]) until it loses the lease or stops; another server
/// then takes over once the lease expires, and runs the job from then on. `at_once`: the first
/// run is when the lease is taken, else one period later.
pub fn singleton<F, Fut>(
    state: AppState,
    name: &'static str,
    every: Duration,
    at_once: bool,
    job: F,
) -> JoinHandle<()>
where
    F: Fn(AppState) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        loop {
            match Lease::take(&state.db, name, &state.server_id, state.config.lease).await {
                Ok(Some(lease)) => {
                    tracing::info!(job = name, "this server runs the job");
                    hold(&state, &lease, every, at_once, &job).await;
                    tracing::warn!(
                        job = name,
                        "the job's lease was lost: any server may take it"
                    );
                }
                // Another server runs it.
                Ok(None) => {}
                Err(error) => tracing::warn!(job = name, %error, "could not take the job's lease"),
            }
            tokio::time::sleep(lease_beat(&state)).await;
        }
    })
}

/// A third of a lease (at least 100 ms): how often a job's lease is tried for, and looked at.
fn lease_beat(state: &AppState) -> Duration {
    (state.config.lease / 3).max(Duration::from_millis(100))
}

/// Runs `job` on its period for as long as `lease` holds; returns once a renewal finds it lost
/// (checked before each run and every [`lease_beat`]).
async fn hold<F, Fut>(state: &AppState, lease: &Lease, every: Duration, at_once: bool, job: &F)
where
    F: Fn(AppState) -> Fut,
    Fut: Future<Output = ()>,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    if !at_once {
        // The first tick is immediate.
        tick.tick().await;
    }
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if lease.is_lost() {
                    return;
                }
                job(state.clone()).await;
            }
            () = tokio::time::sleep(lease_beat(state)) => {}
        }
        if lease.is_lost() {
            return;
        }
    }
}

pub fn spawn_all(state: &AppState) -> Jobs {
    Jobs {
        // First: it closes the Metrc client's gate before any other job can make a GET, and
        // opens it once this server's share of Metrc's limits holds (docs/design.md §11).
        servers: servers::spawn(state.clone()),
        outbox: outbox::spawn(state.clone()),
        others: [
            key_revalidation::spawn(state.clone()),
            sync::spawn(state.clone()),
        ]
        .into_iter()
        .chain(session_cleanup::spawn(state.clone()))
        .collect(),
    }
}
