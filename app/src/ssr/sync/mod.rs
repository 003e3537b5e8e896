//! Sync with Metrc: each facility with a valid facility key pulls its lists (packages, plants,
//! batches, harvests, items, locations, strains, transfers) in `lastModified` windows from each
//! list's cursor, and upserts them (docs/design.md §7, §8).
//!
//! - [`schedule`]: which lists apply to a license, when each is due, backoff after failures.
//! - [`upsert`]: records to rows, bulk upserts in chunks, cursors moved with the data.
//! - [`worker`]: one facility's run ([`sync_facility`]) and the steps of the background loop
//!   (`server/src/jobs/sync.rs`).
//! - [`reference`]: the reference lists the work forms choose from, cached for an hour.
//!
//! A run stores each window and moves the list's cursor in one transaction, so a crash or restart
//! resumes with no gap; the unique (license, list, id) key makes a record read twice one row.
//!
//! Several servers on one database (docs/design.md §7, §11): the database, not this process, says
//! what to run. A run holds its facility's `sync:<license>` lease (one run per facility across
//! the servers), "Sync now" is `facilities.sync_requested_at` (any server runs it), a facility
//! left `running` with no live lease (its server died) is resumed from its cursors by whichever
//! server takes the lease, and the writes never go backwards ([`upsert`]).

pub mod reference;
pub mod schedule;
pub mod upsert;
pub mod worker;

pub use worker::{
    Picked, Reason, RunReport, lease_name, next_runs, request_now, run_logged, sync_facility,
};

use super::vault::VaultError;
use crate::error::AppError;
use crate::types::inventory::SyncProgress;
use sea_orm::DbErr;
use std::sync::{Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// Why a sync (or a read with the facility key) did not happen. No variant holds a key.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("unknown facility")]
    UnknownFacility,
    #[error("the facility {0} has no key")]
    NoKey(String),
    /// The stored key is marked invalid (or not validated): nothing is sent with it.
    #[error("the facility key of {0} is not valid")]
    KeyNotValid(String),
    /// Metrc refused the key just now (401 on `/facilities/v2/`); it is marked invalid.
    #[error("Metrc refused the facility key of {0} (401)")]
    KeyRefused(String),
    /// Its `sync:` lease is held: a run is under way, on this server or another.
    #[error("the facility {0} is syncing already")]
    AlreadyRunning(String),
    /// The run's `sync:` lease expired under it (this server stalled, or lost the database for
    /// longer than the lease) and may have been taken over: the run stopped, writing nothing more.
    #[error("the sync of {0} lost its lease and stopped")]
    LeaseLost(String),
    #[error("Metrc: {0}")]
    Metrc(#[from] metrc::Error),
    #[error(transparent)]
    State(#[from] crate::ssr::metrc_states::StateError),
    #[error("key vault: {0}")]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Input(#[from] crate::ssr::input::InputError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<SyncError> for AppError {
    fn from(err: SyncError) -> Self {
        match err {
            SyncError::UnknownFacility => AppError::NotFound,
            SyncError::Input(err) => err.into(),
            SyncError::NoKey(license) => AppError::BadInput(format!(
                "{license} has no facility key yet: set one on the Integrations page."
            )),
            SyncError::KeyNotValid(license) | SyncError::KeyRefused(license) => {
                AppError::KeyRefused(format!(
                    "The facility key of {license} is invalid: Metrc refuses it (revoked or regenerated). Set the current key on the Integrations page; sync resumes where it stopped."
                ))
            }
            SyncError::AlreadyRunning(license) | SyncError::LeaseLost(license) => {
                AppError::BadInput(format!("{license} is syncing already."))
            }
            SyncError::Metrc(err) => {
                tracing::warn!(error = %err, "Metrc call failed");
                AppError::MetrcUnavailable(err.to_string())
            }
            SyncError::State(err) => err.into(),
            SyncError::Vault(err) => {
                tracing::error!(error = %err, "key vault error");
                AppError::Internal
            }
            SyncError::Db(err) => err.into(),
        }
    }
}

/// Reads `facilities.sync_progress`.
pub fn parse_progress(value: Option<&str>) -> Option<SyncProgress> {
    value.and_then(|v| serde_json::from_str(v).ok())
}

pub(crate) fn progress_json(progress: &SyncProgress) -> String {
    serde_json::to_string(progress).unwrap_or_default()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What this server's sync worker and server functions share (in `AppState`): the worker's
/// wake-up and the reference-list cache. What to run, and who runs it, is in the database
/// ("Sync now" requests, `sync:` leases), shared by every server.
#[derive(Default)]
pub struct SyncHandle {
    wake: Notify,
    pub reference: reference::ReferenceCache,
}

impl SyncHandle {
    /// Wakes the worker (a request came in here: it looks at once rather than at its next poll).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Resolves when the worker should look again.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_round_trips() {
        let p = SyncProgress {
            windows_done: 3,
            windows_total: 31,
            records: 1200,
        };
        assert_eq!(parse_progress(Some(&progress_json(&p))), Some(p));
        assert_eq!(parse_progress(Some("nope")), None);
    }

    #[test]
    fn messages_name_the_facility_and_the_fix() {
        let msg = AppError::from(SyncError::KeyRefused("C10-1".into())).to_string();
        assert!(
            msg.contains("C10-1") && msg.contains("Integrations"),
            "{msg}"
        );
        assert_eq!(
            AppError::from(SyncError::UnknownFacility),
            AppError::NotFound
        );
    }
}
