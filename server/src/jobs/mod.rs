//! Background jobs: one file per loop, each a `spawn(state)` that returns its task. The jobs end
//! with the server: [`Jobs::stop`] lets the outbox finish the calls under way, and the others
//! abort (their handles abort on drop).

pub mod key_revalidation;
pub mod outbox;
pub mod session_cleanup;
pub mod sync;

use app::ssr::state::AppState;
use tokio::task::JoinHandle;

/// The running jobs; dropping this aborts them.
pub struct Jobs {
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
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        self.outbox.abort();
        for task in &self.others {
            task.abort();
        }
    }
}

pub fn spawn_all(state: &AppState) -> Jobs {
    Jobs {
        outbox: outbox::spawn(state.clone()),
        others: vec![
            session_cleanup::spawn(state.clone()),
            key_revalidation::spawn(state.clone()),
            sync::spawn(state.clone()),
        ],
    }
}
