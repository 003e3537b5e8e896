//! Background jobs: one file per loop, each a `spawn(state)` that returns its task. The jobs end
//! with the server (their handles abort on drop).

pub mod key_revalidation;
pub mod outbox;
pub mod session_cleanup;
pub mod sync;

use app::ssr::state::AppState;
use tokio::task::JoinHandle;

/// The running jobs; dropping this stops them.
pub struct Jobs(Vec<JoinHandle<()>>);

impl Drop for Jobs {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

pub fn spawn_all(state: &AppState) -> Jobs {
    Jobs(vec![
        session_cleanup::spawn(state.clone()),
        key_revalidation::spawn(state.clone()),
        outbox::spawn(state.clone()),
        sync::spawn(state.clone()),
    ])
}
