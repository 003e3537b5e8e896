//! The outbox (docs/design.md §7): every write Tracekeeper sends to Metrc on a user's behalf is
//! stored as a submission before anything is sent, then sent by a background worker in order per
//! facility.
//!
//! - [`preflight`]: before anything is queued, which key would carry it (the user's own valid
//!   key, else the facility key with the user's confirmation, not compliant), whether the user's
//!   Metrc permissions include what the action needs (named exactly), and whether an admin must
//!   approve it first.
//! - [`queue`]: checks the user's input and stores the submission (`Queued`, or
//!   `Pending approval` for users flagged "requires review").
//! - [`send`]: the worker's side. Rows of one facility go in id order, sent by one server at a
//!   time (it holds the facility's lease, docs/design.md §11); consecutive rows of the same
//!   action carried by the same key share one call (at most [`metrc::MAX_WRITE_ROWS`]). Rows are
//!   marked `Sending` under the lease's token and committed before the call, so a crash never
//!   resends blindly: whichever server takes the facility's lease next, once the dead holder's
//!   has expired, turns its `Sending` rows into `Unknown` ([`stuck`]); until then the facility's
//!   later rows wait.
//! - [`verdict`]: what Metrc's answer to a call means for each of its rows (pure: the table).
//! - [`reconcile`]: an `Unknown` row is settled from Metrc's data where it tells (a finished or
//!   moved package; a package untouched since the write was sent), else by an admin; one server
//!   at a time reconciles (a lease per pass).
//! - [`admin`]: Metrc Submissions: listing with filters and tabs, detail, Retry, Cancel,
//!   Approve, Deny, reconcile by hand. [`csv`]: the export.
//!
//! Keys are decrypted only for the call that needs them and never logged or stored here.

pub mod admin;
pub mod csv;
mod paging;
pub mod preflight;
pub mod queue;
pub mod reconcile;
pub mod send;
pub mod stuck;
pub mod verdict;
mod view;

pub use admin::{approve, cancel, deny, detail, list, reconcile_by_hand, retry};
pub use preflight::preflight;
pub use queue::{HELD_MESSAGE, hold_for_user, my_submissions, submit};
pub use reconcile::reconcile_due;
pub use send::{drain, due_facilities};

use super::config::OutboxSettings;
use super::vault::VaultError;
use crate::error::AppError;
use crate::types::submissions::SubmissionStatus;
use sea_orm::DbErr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

/// The outbox's shared handle in `AppState`: its settings, and the signal that wakes the worker
/// when something is queued.
#[derive(Debug, Default)]
pub struct OutboxHandle {
    wake: Notify,
    settings: Mutex<OutboxSettings>,
    stopping: AtomicBool,
}

impl OutboxHandle {
    pub fn new(settings: OutboxSettings) -> OutboxHandle {
        OutboxHandle {
            settings: Mutex::new(settings),
            ..Default::default()
        }
    }

    pub fn settings(&self) -> OutboxSettings {
        self.settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Changes the settings (and wakes the worker to apply them).
    pub fn update(&self, change: impl FnOnce(&mut OutboxSettings)) {
        change(
            &mut self
                .settings
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        self.wake();
    }

    /// Tells the worker something is ready to send.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Completes when [`OutboxHandle::wake`] was called (since the last time this completed).
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// The server is stopping: the worker claims nothing more, and the calls under way finish
    /// (their answers stored) and their facilities' leases are given up before it exits, so
    /// another server carries on at once.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake();
    }

    /// Whether [`OutboxHandle::stop`] was called.
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// Which key carries a submission (`submissions.key_kind`: `user`, `facility`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::EnumIter, sea_orm::DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(sea_orm::sea_query::StringLen::None)",
    rename_all = "snake_case"
)]
pub enum KeyKind {
    /// The acting user's own key.
    User,
    /// The facility's key (its owner shows in Metrc).
    Facility,
}

/// Why an outbox operation did not happen. No variant holds a key.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// The user's input cannot be sent as it is; the text says what to fix.
    #[error("{0}")]
    BadInput(String),
    /// The pre-flight check refuses it; the text says why.
    #[error("{0}")]
    Blocked(String),
    /// The facility key would carry it: the user must confirm first; the text is the warning.
    #[error("{0}")]
    NeedsConfirmation(String),
    #[error("unknown or deactivated user")]
    UnknownUser,
    #[error("unknown facility {0}")]
    UnknownFacility(String),
    #[error("no such submission")]
    NotFound,
    /// A work form's token came back with other values than the submission stored with it
    /// (`first`): nothing new was stored.
    #[error("submit token of submission {first} reused with other values")]
    TokenReused { first: i64 },
    /// The submission is not (or no longer) in a status that allows this.
    #[error("the submission is {now:?}; it cannot be {verb}")]
    Conflict {
        now: SubmissionStatus,
        verb: &'static str,
    },
    /// The facility's state has no Metrc configured (a state removed from `METRC_STATES`).
    #[error(transparent)]
    State(#[from] crate::ssr::metrc_states::StateError),
    #[error("key vault: {0}")]
    Vault(#[from] VaultError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<crate::ssr::input::InputError> for OutboxError {
    fn from(err: crate::ssr::input::InputError) -> Self {
        OutboxError::BadInput(err.to_string())
    }
}

impl From<OutboxError> for AppError {
    fn from(err: OutboxError) -> Self {
        match err {
            OutboxError::BadInput(text) | OutboxError::Blocked(text) => AppError::BadInput(text),
            OutboxError::NeedsConfirmation(warning) => AppError::BadInput(format!(
                "{warning} Confirm that you understand to submit anyway."
            )),
            OutboxError::UnknownUser => AppError::Unauthenticated,
            OutboxError::UnknownFacility(license) => AppError::BadInput(format!(
                "Tracekeeper does not know the facility {license}: an admin adds it with its facility key on the Integrations page."
            )),
            OutboxError::NotFound => AppError::NotFound,
            OutboxError::TokenReused { first } => AppError::BadInput(format!(
                "This form was already submitted (submission {first}) with other values: nothing new was stored. To submit these values too, reload the page and submit them again."
            )),
            OutboxError::Conflict { now, verb } => AppError::BadInput(format!(
                "This submission is {}: it cannot be {verb} now. Reload to see where it stands.",
                now.label()
            )),
            OutboxError::State(err) => err.into(),
            OutboxError::Vault(err) => {
                tracing::error!(error = %err, "key vault error");
                AppError::Internal
            }
            OutboxError::Db(err) => err.into(),
        }
    }
}
