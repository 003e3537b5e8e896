//! One facility's sync run ([`sync_facility`]), "Sync now" ([`request_now`]), and the steps of
//! the background loop in `server/src/jobs/sync.rs`: [`next_runs`] and [`run_logged`].
//!
//! Every run holds its facility's `sync:<license>` lease ([`lease_name`]) from before it reads
//! the facility until after it records how it ended, so across every server on the database one
//! run per facility goes at a time. Under the lease, its record and cursor writes are fenced in
//! their transaction (`upsert::store`) and its facility-row writes by `leases::still_held`; it
//! also stops at the next page once the lease is found lost. A run whose lease was taken over
//! therefore writes nothing more, and what it wrote before never goes backwards anyway.

use super::schedule;
use super::upsert::{self, SyncRecord};
use super::{SyncError, parse_progress, progress_json};
use crate::ssr::entities::facilities as facility;
use crate::ssr::lease::Lease;
use crate::ssr::queries::facilities::{self, SyncStatus};
use crate::ssr::queries::leases::{self, Held};
use crate::ssr::queries::sync_cursors;
use crate::ssr::state::AppState;
use crate::types::inventory::{SyncProgress, SyncState};
use crate::types::keys::KeyStatus;
use chrono::{DateTime, SubsecRound, Utc};
use futures::StreamExt;
use metrc::types::{Harvest, Item, Location, Package, Plant, PlantBatch, Strain, Transfer};
use metrc::{Resource, WindowPage};
use sea_orm::ActiveEnum;
use sea_orm::DbErr;
use sea_orm::sea_query::SimpleExpr;
use secrecy::SecretString;
use std::collections::{HashMap, HashSet};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Pages a walk may fetch ahead of the database (a window of 100,000 packages over 30 days is
/// about 170 pages).
const PAGES_AHEAD: usize = 512;
/// Records of a window held before they are stored without moving the cursor: a wide window
/// (a license's whole history in one) is stored as it comes, not held whole in memory. One
/// statement's worth.
const HOLD_RECORDS: usize = crate::ssr::queries::synced_records::MAX_ROWS;

const NO_KEY: &str =
    "No facility key: set one on Integrations. Sync starts as soon as a valid key is set.";
const KEY_INVALID: &str = "The facility key is invalid: data no longer syncs with Metrc. Sync resumes where it stopped once a valid key is set on Integrations.";
const KEY_REFUSED: &str = "Metrc refused the facility key (401): it was revoked or regenerated. Sync resumes where it stopped once a valid key is set on Integrations.";

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// The facility's state after the run.
    pub state: SyncState,
    pub progress: SyncProgress,
    pub message: Option<String>,
    /// The lists this run set out to walk.
    pub resources: Vec<Resource>,
}

/// One list to walk in a run.
struct Planned {
    resource: Resource,
    from: DateTime<Utc>,
    /// The windows its walk takes, as far as is known: revised when Metrc makes the client
    /// narrow its windows.
    windows: u32,
}

/// The windows a walk of `from..to` takes at the client's window width now.
fn plan_windows(metrc: &metrc::Client, from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    u32::try_from(metrc.window_plan(from, to).len()).unwrap_or(u32::MAX)
}

/// What stopped a list's walk.
enum PullError {
    Metrc(metrc::Error),
    Db(DbErr),
    /// The run's lease was found lost: it stops, writing nothing more.
    LeaseLost,
}

/// Prefix of the facilities' sync leases.
const LEASE_PREFIX: &str = "sync:";

/// The lease a facility's run holds: `sync:<license>`.
pub fn lease_name(license: &str) -> String {
    format!("{LEASE_PREFIX}{license}")
}

/// A run's lease on its facility ([`lease_name`]), renewed in the background while held. Given
/// back when the run ends ([`RunLease::release`]); when the run is cut off instead (its future
/// dropped: the server stops, a caller's timeout) it is given back as soon as the runtime gets to
/// it, and otherwise expires by itself (a server that died).
pub struct RunLease {
    lease: Option<Lease>,
    /// As taken: its name and token are what the fences check.
    held: Held,
}

impl RunLease {
    /// Takes the facility's lease for this server; `None` while a run holds it (here or on
    /// another server).
    async fn take(state: &AppState, license: &str) -> Result<Option<RunLease>, DbErr> {
        let name = lease_name(license);
        let ttl = state.config.lease;
        let Some(lease) = Lease::take(&state.db, &name, &state.server_id, ttl).await? else {
            return Ok(None);
        };
        let held = lease.held().await;
        Ok(Some(RunLease {
            lease: Some(lease),
            held,
        }))
    }

    /// A renewal found the lease expired or taken over.
    fn is_lost(&self) -> bool {
        self.lease.as_ref().is_none_or(Lease::is_lost)
    }

    /// The condition for a write to the facility row: the lease is still this run's.
    fn fence(&self) -> SimpleExpr {
        leases::still_held(&self.held, Utc::now())
    }

    /// Gives the lease back, so any server may run the facility at once.
    async fn release(mut self) {
        if let Some(lease) = self.lease.take()
            && let Err(error) = lease.release().await
        {
            tracing::warn!(lease = %self.held.name, %error, "could not give a sync lease back; it expires by itself");
        }
    }
}

impl Drop for RunLease {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = lease.release().await;
            });
        }
    }
}

/// Why a facility is run: what [`next_runs`] saw, checked again once the lease is held, since
/// another server may have run it in between ([`still_wanted`]). In the order runs are picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// "Sync now" was pressed (on any server): every list, whatever the schedule.
    Requested,
    /// Marked running with no live lease: its server died or stopped mid-run. Every list, from
    /// its cursor.
    Interrupted,
    /// A list is due on the schedule.
    Due,
    /// Asked for directly ([`sync_facility`]).
    Direct,
}

/// Whether a facility picked for `reason` still needs the run, as read under its lease.
fn still_wanted(reason: Reason, f: &facility::Model) -> bool {
    match reason {
        Reason::Requested => f.sync_requested_at.is_some(),
        Reason::Interrupted => f.sync_state == SyncState::Running,
        // The run's plan holds only what is due.
        Reason::Due | Reason::Direct => true,
    }
}

/// Whether a run walks every list rather than those due: asked to (`force`), a "Sync now" it
/// took (`requested`), a run resumed, or a facility paused for its key.
fn walks_every_list(reason: Reason, force: bool, requested: bool, state: SyncState) -> bool {
    force
        || requested
        || matches!(reason, Reason::Requested | Reason::Interrupted)
        || state == SyncState::Paused
}

/// Syncs one facility now: every applicable list that is due (`force`: every applicable list),
/// from its cursor, under its `sync:` lease. Records the facility's state and progress as it
/// goes; a refused key pauses the facility (and marks the key invalid), a Metrc failure marks it
/// failed with backoff. `Err` for what could not even be recorded (database, vault), for a
/// facility whose run is under way (`AlreadyRunning`, on this server or another) and for a run
/// whose lease was lost under it (`LeaseLost`).
pub async fn sync_facility(
    state: &AppState,
    license: &str,
    force: bool,
) -> Result<RunReport, SyncError> {
    let license = license.trim();
    let lease = RunLease::take(state, license)
        .await?
        .ok_or_else(|| SyncError::AlreadyRunning(license.to_owned()))?;
    let result = run(state, license, Reason::Direct, force, &lease).await;
    lease.release().await;
    result
}

/// "Sync now": checks the facility can sync (it has a valid key), records the request in the
/// database (whichever server has room runs it: [`next_runs`] takes requests first), shows the
/// facility as syncing unless a run is under way, and wakes this server's worker, so the run
/// starts at once when this server has room.
pub async fn request_now(state: &AppState, license: &str) -> Result<(), SyncError> {
    crate::ssr::input::text(license, "license number")?;
    let f = facilities::find_by_license(&state.db, license)
        .await?
        .ok_or(SyncError::UnknownFacility)?;
    if f.facility_key_ciphertext.is_none() {
        return Err(SyncError::NoKey(f.license_number));
    }
    if f.key_status != KeyStatus::Valid {
        return Err(SyncError::KeyNotValid(f.license_number));
    }
    let now = Utc::now();
    facilities::request_sync(&state.db, f.id, now).await?;
    facilities::show_sync_requested(&state.db, f.id, &lease_name(&f.license_number), now).await?;
    state.sync.wake();
    Ok(())
}

/// `at` rounded up to a whole second.
fn end_of_second(at: DateTime<Utc>) -> DateTime<Utc> {
    let whole = at.trunc_subsecs(0);
    if whole == at {
        at
    } else {
        whole + chrono::Duration::seconds(1)
    }
}

fn key_usable(f: &facility::Model) -> bool {
    f.facility_key_ciphertext.is_some() && f.key_status == KeyStatus::Valid
}

/// The facility's state as it stands: what a run that had nothing to do reports.
fn unchanged(f: &facility::Model) -> RunReport {
    RunReport {
        state: f.sync_state,
        progress: parse_progress(f.sync_progress.as_deref()).unwrap_or_default(),
        message: f.sync_message.clone(),
        resources: Vec::new(),
    }
}

/// One run of a facility, `lease` held.
async fn run(
    state: &AppState,
    license: &str,
    reason: Reason,
    force: bool,
    lease: &RunLease,
) -> Result<RunReport, SyncError> {
    let f = facilities::find_by_license(&state.db, license)
        .await?
        .ok_or(SyncError::UnknownFacility)?;
    if !still_wanted(reason, &f) {
        tracing::debug!(license, ?reason, "sync: run by another server meanwhile");
        return Ok(unchanged(&f));
    }
    let requested = facilities::claim_sync_request(&state.db, f.id).await?;
    let license = f.license_number.as_str();
    let Some(ciphertext) = f.facility_key_ciphertext.as_deref() else {
        return pause(state, &f, NO_KEY, None, Some(lease)).await;
    };
    if !key_usable(&f) {
        return pause(state, &f, KEY_INVALID, None, Some(lease)).await;
    }
    // The facility's state's Metrc (docs/design.md §12).
    let metrc = match state.metrc.get(&f.state) {
        Ok(metrc) => metrc,
        Err(err) => {
            let progress = parse_progress(f.sync_progress.as_deref()).unwrap_or_default();
            let reason = crate::error::AppError::from(err).to_string();
            return failed(state, &f, progress, &reason, Some(lease)).await;
        }
    };
    let key = match state.vault.decrypt(ciphertext) {
        Ok(key) => key,
        Err(err) => {
            // Recorded with backoff, so the facility is not picked again at once.
            let progress = parse_progress(f.sync_progress.as_deref()).unwrap_or_default();
            let reason = "Could not open the stored facility key.";
            failed(state, &f, progress, reason, Some(lease)).await?;
            return Err(err.into());
        }
    };
    // A facility paused for its key resumes every list from its cursors once the key is valid.
    let force = walks_every_list(reason, force, requested, f.sync_state);
    // Metrc's window bounds are whole seconds: the run's windows end at the next whole second,
    // so everything modified before the run began is in them.
    let now = end_of_second(Utc::now());
    let cursors = sync_cursors::for_license(&state.db, license).await?;
    let settings = &state.config.sync;
    let overlap = metrc.config().window_overlap;
    let mut plan: Vec<Planned> = schedule::applicable(&f.capabilities)
        .into_iter()
        .filter_map(|resource| {
            let cursor = cursors.get(schedule::name(resource)).copied();
            if !force && !schedule::is_due(resource, cursor, f.last_sync_at, now, settings) {
                return None;
            }
            let from = schedule::walk_from(cursor, now, overlap, settings.history_start);
            Some(Planned {
                resource,
                from,
                windows: plan_windows(metrc, from, now),
            })
        })
        .collect::<Vec<_>>();
    if plan.is_empty() {
        return nothing_due(state, &f, lease).await;
    }
    let resources: Vec<Resource> = plan.iter().map(|p| p.resource).collect();
    let mut progress = SyncProgress {
        windows_done: 0,
        windows_total: plan.iter().map(|p| p.windows).sum(),
        records: 0,
    };
    facilities::set_sync_status(
        &state.db,
        f.id,
        SyncStatus {
            state: SyncState::Running,
            message: None,
            progress: Some(progress_json(&progress)),
            failures: f.sync_failures,
            retry_at: None,
        },
        None,
        Some(lease.fence()),
    )
    .await?;
    tracing::info!(
        license,
        lists = plan.len(),
        windows = progress.windows_total,
        force,
        "sync started"
    );
    let started = std::time::Instant::now();
    let mut no_access: Vec<&str> = Vec::new();
    for i in 0..plan.len() {
        let before = progress.windows_done;
        let walk = Walk {
            state,
            metrc,
            key: &key,
            f: &f,
            zone: metrc::state_time_zone(&f.state),
            to: now,
            lease,
        };
        let error = match walk.pull(&mut plan, i, &mut progress).await {
            Ok(()) => continue,
            Err(PullError::LeaseLost) => return Err(SyncError::LeaseLost(license.to_owned())),
            Err(PullError::Db(err)) => {
                let why = "Could not store the synced records.";
                let _ = failed(state, &f, progress, why, Some(lease)).await;
                return Err(err.into());
            }
            Err(PullError::Metrc(err)) => err,
        };
        if !matches!(error, metrc::Error::NoAccess { .. }) {
            let why = format!("Metrc failed: {error}.");
            return failed(state, &f, progress, &why, Some(lease)).await;
        }
        // 401/403 on a license's list: the key is dead, or its owner lacks this section. Only
        // the facilities call can tell (docs/metrc.md §3).
        match metrc.facilities(&key).await {
            Err(metrc::Error::KeyInvalid) => return refused(state, &f, progress, lease).await,
            Ok(reached) if reached.iter().any(|r| r.license_number() == license) => {
                let p = &plan[i];
                tracing::warn!(
                    license,
                    list = schedule::name(p.resource),
                    "no access to this Metrc list; skipped"
                );
                no_access.push(p.resource.section().name());
                progress.windows_done = before + p.windows;
            }
            Ok(_) => {
                return failed(
                    state,
                    &f,
                    progress,
                    "Metrc says the facility key's owner no longer works at this license: generate the key from the License Owner's account.",
                    Some(lease),
                )
                .await;
            }
            Err(err) => {
                let why = format!("Metrc failed: {err}.");
                return failed(state, &f, progress, &why, Some(lease)).await;
            }
        }
    }
    no_access.dedup();
    let message = (!no_access.is_empty()).then(|| {
        format!(
            "No access in Metrc to {}: the key owner lacks those permissions. The other lists are up to date.",
            no_access.join(", ")
        )
    });
    let recorded = facilities::set_sync_status(
        &state.db,
        f.id,
        SyncStatus {
            state: SyncState::Idle,
            message: message.as_deref(),
            progress: Some(progress_json(&progress)),
            failures: 0,
            retry_at: None,
        },
        Some(Utc::now()),
        Some(lease.fence()),
    )
    .await?;
    if !recorded {
        return Err(SyncError::LeaseLost(license.to_owned()));
    }
    tracing::info!(
        license,
        windows = progress.windows_done,
        records = progress.records,
        elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "sync done"
    );
    Ok(RunReport {
        state: SyncState::Idle,
        progress,
        message,
        resources,
    })
}

/// Nothing was due after all (another server ran the lists meanwhile): a facility still shown
/// running (a resumed run, a request) shows idle again, its last completed run unchanged.
async fn nothing_due(
    state: &AppState,
    f: &facility::Model,
    lease: &RunLease,
) -> Result<RunReport, SyncError> {
    let mut report = unchanged(f);
    if f.sync_state != SyncState::Running {
        return Ok(report);
    }
    let idle = SyncStatus {
        state: SyncState::Idle,
        message: f.sync_message.as_deref(),
        progress: f.sync_progress.clone(),
        failures: f.sync_failures,
        retry_at: None,
    };
    facilities::set_sync_status(&state.db, f.id, idle, None, Some(lease.fence())).await?;
    report.state = SyncState::Idle;
    Ok(report)
}

/// The facility cannot sync with its key: paused until a valid key is set. `lease`: the run's,
/// when a run pauses it (the write is fenced by it).
async fn pause(
    state: &AppState,
    f: &facility::Model,
    message: &str,
    progress: Option<SyncProgress>,
    lease: Option<&RunLease>,
) -> Result<RunReport, SyncError> {
    let progress = progress.or_else(|| parse_progress(f.sync_progress.as_deref()));
    facilities::set_sync_status(
        &state.db,
        f.id,
        SyncStatus {
            state: SyncState::Paused,
            message: Some(message),
            progress: progress.as_ref().map(progress_json),
            failures: 0,
            retry_at: None,
        },
        None,
        lease.map(RunLease::fence),
    )
    .await?;
    Ok(RunReport {
        state: SyncState::Paused,
        progress: progress.unwrap_or_default(),
        message: Some(message.to_owned()),
        resources: Vec::new(),
    })
}

/// Metrc refused the key (401 on the facilities call): the key is marked invalid on every
/// facility that holds it (their rows turn red) and this facility pauses.
async fn refused(
    state: &AppState,
    f: &facility::Model,
    progress: SyncProgress,
    lease: &RunLease,
) -> Result<RunReport, SyncError> {
    let Some(fingerprint) = f.key_fingerprint.as_deref() else {
        return pause(state, f, KEY_REFUSED, Some(progress), Some(lease)).await;
    };
    let holders = facilities::set_key_status(&state.db, fingerprint, KeyStatus::Invalid).await?;
    tracing::warn!(
        license = %f.license_number,
        facilities = holders,
        "Metrc refused the facility key during sync: marked invalid, sync paused"
    );
    pause(state, f, KEY_REFUSED, Some(progress), Some(lease)).await
}

/// Metrc failed (5xx, 429 beyond the client's retries, timeouts): failed, retried after a
/// backoff that grows with each failure in a row. Every window stored so far stays stored.
async fn failed(
    state: &AppState,
    f: &facility::Model,
    progress: SyncProgress,
    reason: &str,
    lease: Option<&RunLease>,
) -> Result<RunReport, SyncError> {
    let failures = f.sync_failures.saturating_add(1);
    let wait = schedule::backoff(u32::try_from(failures).unwrap_or(u32::MAX), rand::random());
    let retry_at = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
    let message = format!(
        "{reason} Retrying after {}.",
        retry_at.format("%Y-%m-%d %H:%M UTC")
    );
    tracing::warn!(license = %f.license_number, failures, reason, "sync failed");
    facilities::set_sync_status(
        &state.db,
        f.id,
        SyncStatus {
            state: SyncState::Failed,
            message: Some(&message),
            progress: Some(progress_json(&progress)),
            failures,
            retry_at: Some(retry_at),
        },
        None,
        lease.map(RunLease::fence),
    )
    .await?;
    Ok(RunReport {
        state: SyncState::Failed,
        progress,
        message: Some(message),
        resources: Vec::new(),
    })
}

/// A walk running in its own task, so Metrc is read while the database writes: its pages, in
/// order. Dropping it stops the walk.
struct Pages<T> {
    rx: mpsc::Receiver<Result<WindowPage<T>, metrc::Error>>,
    task: JoinHandle<()>,
}

impl<T> Drop for Pages<T> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn spawn_walk<T: SyncRecord>(
    metrc: &metrc::Client,
    key: &SecretString,
    license: &str,
    resource: Resource,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Pages<T> {
    let walk = metrc.walk::<T>(key, license, resource, from, to);
    let (tx, rx) = mpsc::channel(PAGES_AHEAD);
    let task = tokio::spawn(async move {
        let mut walk = std::pin::pin!(walk);
        while let Some(page) = walk.next().await {
            let last = page.is_err();
            if tx.send(page).await.is_err() || last {
                break;
            }
        }
    });
    Pages { rx, task }
}

/// What the walk of one list in a run needs.
struct Walk<'a> {
    state: &'a AppState,
    /// The Metrc of the facility's state.
    metrc: &'a metrc::Client,
    key: &'a SecretString,
    f: &'a facility::Model,
    /// The facility's time zone (its state's): Metrc's times without an offset are local there.
    zone: Option<metrc::types::time::Tz>,
    to: DateTime<Utc>,
    /// The run's lease: every write is fenced by it.
    lease: &'a RunLease,
}

impl Walk<'_> {
    /// Walks list `plan[i]` up to `to` and stores it window by window.
    async fn pull(
        &self,
        plan: &mut [Planned],
        i: usize,
        progress: &mut SyncProgress,
    ) -> Result<(), PullError> {
        match plan[i].resource {
            Resource::PackagesActive | Resource::PackagesInactive => {
                self.pull_as::<Package>(plan, i, progress).await
            }
            Resource::PlantsVegetative | Resource::PlantsFlowering | Resource::PlantsInactive => {
                self.pull_as::<Plant>(plan, i, progress).await
            }
            Resource::PlantBatchesActive => self.pull_as::<PlantBatch>(plan, i, progress).await,
            Resource::HarvestsActive => self.pull_as::<Harvest>(plan, i, progress).await,
            Resource::ItemsActive => self.pull_as::<Item>(plan, i, progress).await,
            Resource::LocationsActive => self.pull_as::<Location>(plan, i, progress).await,
            Resource::StrainsActive => self.pull_as::<Strain>(plan, i, progress).await,
            Resource::TransfersIncoming | Resource::TransfersOutgoing => {
                self.pull_as::<Transfer>(plan, i, progress).await
            }
            // Not synced (not in `schedule::RESOURCES`).
            Resource::SalesReceiptsActive
            | Resource::PatientsActive
            | Resource::ProcessingActive => Ok(()),
        }
    }

    /// Walks `plan[i]` and stores what it brings: a window's records as they come (at most
    /// [`HOLD_RECORDS`] held at once), the last of them with the cursor moved to the window's
    /// end in the same transaction; a run of empty windows moves the cursor about once a
    /// second ([`schedule::store_now`]). A run cut off mid-window leaves the cursor where it
    /// was: the window is read again, and its records stored again by id. Stops with
    /// `LeaseLost` at the first page after a renewal found the lease lost.
    async fn pull_as<T: SyncRecord>(
        &self,
        plan: &mut [Planned],
        i: usize,
        progress: &mut SyncProgress,
    ) -> Result<(), PullError> {
        let license = self.f.license_number.as_str();
        let (resource, from) = (plan[i].resource, plan[i].from);
        let mut pages = spawn_walk::<T>(self.metrc, self.key, license, resource, from, self.to);
        let mut held: Vec<T> = Vec::new();
        // Windows read to their end since the last store, and the end of the last of them.
        let (mut closed, mut cursor) = (0, None);
        let mut windows = 0;
        let mut stored_at = Instant::now();
        while let Some(page) = pages.rx.recv().await {
            if self.lease.is_lost() {
                return Err(PullError::LeaseLost);
            }
            let page = page.map_err(PullError::Metrc)?;
            let expected = u32::try_from(page.window_count).unwrap_or(u32::MAX);
            if expected != plan[i].windows {
                self.replan(plan, i, expected, progress);
            }
            held.extend(page.records);
            if page.window_complete {
                (closed, cursor) = (closed + 1, Some(page.window_end));
            }
            let since = stored_at.elapsed();
            if schedule::store_now(held.len(), HOLD_RECORDS, page.window_complete, since) {
                windows += closed;
                self.store(
                    resource,
                    std::mem::take(&mut held),
                    cursor.take(),
                    closed,
                    progress,
                )
                .await?;
                (closed, stored_at) = (0, Instant::now());
            }
        }
        if cursor.is_some() {
            // Empty windows at the walk's end, not stored yet.
            windows += closed;
            self.store(resource, Vec::<T>::new(), cursor, closed, progress)
                .await?;
        }
        if windows != plan[i].windows {
            plan[i].windows = windows;
            progress.windows_total = plan.iter().map(|p| p.windows).sum();
        }
        Ok(())
    }

    /// Stores `records` of `resource` and moves its cursor to `cursor` in one transaction, and
    /// counts `windows` more windows done on the facility's progress.
    async fn store<T: SyncRecord>(
        &self,
        resource: Resource,
        records: Vec<T>,
        cursor: Option<DateTime<Utc>>,
        windows: u32,
        progress: &mut SyncProgress,
    ) -> Result<(), PullError> {
        let license = self.f.license_number.as_str();
        let db = &self.state.db;
        let fence = Some(&self.lease.held);
        let stored = upsert::store(db, license, self.zone, resource, records, cursor, fence)
            .await
            .map_err(PullError::Db)?
            .ok_or(PullError::LeaseLost)?;
        self.advance(progress, stored, windows).await
    }

    /// Stored records (and `windows` more windows done): the facility row shows it.
    async fn advance(
        &self,
        progress: &mut SyncProgress,
        stored: u64,
        windows: u32,
    ) -> Result<(), PullError> {
        progress.windows_done += windows;
        progress.records += stored;
        let (db, id, fence) = (&self.state.db, self.f.id, Some(self.lease.fence()));
        let shown = facilities::set_sync_progress(db, id, progress_json(progress), fence)
            .await
            .map_err(PullError::Db)?;
        if shown {
            Ok(())
        } else {
            Err(PullError::LeaseLost)
        }
    }

    /// The walk of `plan[i]` now expects `windows` windows. More than planned means Metrc made
    /// the client narrow its windows: the lists after it are planned again at the new width.
    fn replan(&self, plan: &mut [Planned], i: usize, windows: u32, progress: &mut SyncProgress) {
        let narrowed = windows > plan[i].windows;
        plan[i].windows = windows;
        if narrowed {
            for later in plan.iter_mut().skip(i + 1) {
                later.windows = plan_windows(self.metrc, later.from, self.to);
            }
        }
        progress.windows_total = plan.iter().map(|p| p.windows).sum();
    }
}

/// A facility picked to sync now, its lease taken: its license and why it runs.
pub struct Picked {
    pub license: String,
    pub reason: Reason,
    lease: RunLease,
}

/// Runs a picked facility, gives its lease back, and logs how the run ended.
pub async fn run_logged(state: &AppState, picked: Picked) {
    let Picked {
        license,
        reason,
        lease,
    } = picked;
    let result = run(state, &license, reason, false, &lease).await;
    lease.release().await;
    log_run(&license, &result);
}

/// The facilities to start on this server now (up to `free`), their leases taken: "Sync now"
/// requests first (oldest first, pressed on any server), then runs interrupted (marked running,
/// no live lease: their server died; taken over once the lease expired), then (when the schedule
/// is on) facilities with a list due. A facility whose lease another server holds is skipped.
/// Facilities without a usable key are recorded paused on the way (schedule on).
pub async fn next_runs(state: &AppState, free: usize) -> Result<Vec<Picked>, DbErr> {
    if free == 0 {
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let all = facilities::list(&state.db).await?;
    let busy: HashSet<String> = leases::live_under(&state.db, LEASE_PREFIX, now).await?;
    let settings = &state.config.sync;
    let cursors = if settings.scheduled {
        record_pauses(state, &all, &busy).await;
        sync_cursors::all(&state.db).await?
    } else {
        HashMap::new()
    };
    let due = |f: &facility::Model| {
        settings.scheduled && is_due_now(f, cursors.get(&f.license_number), now, settings)
    };
    let mut picked = Vec::new();
    for (license, reason) in candidates(&all, &busy, due) {
        if picked.len() >= free {
            break;
        }
        // `None`: another server took it since `busy` was read.
        if let Some(lease) = RunLease::take(state, &license).await? {
            picked.push(Picked {
                license,
                reason,
                lease,
            });
        }
    }
    Ok(picked)
}

/// The facilities to run and why, in the order to run them ([`Reason`]'s, then the oldest
/// request first, then by license): every facility but those `busy` (a live `sync:` lease) that
/// has a request, is marked running, or is `due`.
fn candidates(
    all: &[facility::Model],
    busy: &HashSet<String>,
    due: impl Fn(&facility::Model) -> bool,
) -> Vec<(String, Reason)> {
    let mut out: Vec<(Reason, Option<DateTime<Utc>>, &str)> = all
        .iter()
        .filter(|f| !busy.contains(&f.license_number))
        .filter_map(|f| {
            let reason = if f.sync_requested_at.is_some() {
                Reason::Requested
            } else if f.sync_state == SyncState::Running {
                Reason::Interrupted
            } else if due(f) {
                Reason::Due
            } else {
                return None;
            };
            Some((reason, f.sync_requested_at, f.license_number.as_str()))
        })
        .collect();
    out.sort();
    out.into_iter()
        .map(|(reason, _, license)| (license.to_owned(), reason))
        .collect()
}

/// Whether the schedule wants a run of `f` at `now`: its key is usable, it is not waiting out a
/// backoff, and it is paused (for a key since made valid) or has a list due (`lists`: its
/// cursors by list name).
fn is_due_now(
    f: &facility::Model,
    lists: Option<&HashMap<String, DateTime<Utc>>>,
    now: DateTime<Utc>,
    settings: &crate::ssr::config::SyncSettings,
) -> bool {
    if !key_usable(f) {
        return false;
    }
    if f.sync_state == SyncState::Failed && f.sync_retry_at.is_some_and(|at| at > now) {
        return false;
    }
    f.sync_state == SyncState::Paused
        || schedule::applicable(&f.capabilities).into_iter().any(|r| {
            let cursor = lists.and_then(|l| l.get(schedule::name(r))).copied();
            schedule::is_due(r, cursor, f.last_sync_at, now, settings)
        })
}

/// Records as paused the facilities without a usable key that do not show it yet (none running).
async fn record_pauses(state: &AppState, all: &[facility::Model], busy: &HashSet<String>) {
    for f in all {
        if key_usable(f) || f.sync_state == SyncState::Paused || busy.contains(&f.license_number) {
            continue;
        }
        let message = if f.facility_key_ciphertext.is_none() {
            NO_KEY
        } else {
            KEY_INVALID
        };
        if let Err(err) = pause(state, f, message, None, None).await {
            tracing::warn!(license = %f.license_number, error = %err, "sync: could not record the pause");
        }
    }
}

fn log_run(license: &str, result: &Result<RunReport, SyncError>) {
    match result {
        Ok(report) if report.state == SyncState::Idle => {
            tracing::debug!(license, records = report.progress.records, "sync run ended");
        }
        Ok(report) => tracing::warn!(
            license,
            state = %report.state.to_value(),
            message = report.message.as_deref().unwrap_or_default(),
            "sync run stopped"
        ),
        Err(SyncError::AlreadyRunning(_)) => {}
        Err(err @ SyncError::LeaseLost(_)) => {
            tracing::warn!(license, error = %err, "sync run stopped");
        }
        Err(err) => tracing::warn!(license, error = %err, "sync run failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_end_on_the_next_whole_second() {
        let at = upsert::parse_time("2026-11-28T10:00:00.250Z").unwrap();
        assert_eq!(
            end_of_second(at),
            upsert::parse_time("2026-11-28T10:00:01Z").unwrap()
        );
        let whole = upsert::parse_time("2026-11-28T10:00:00Z").unwrap();
        assert_eq!(end_of_second(whole), whole);
    }

    fn facility(license: &str, state: SyncState, requested: Option<&str>) -> facility::Model {
        let at = upsert::parse_time("2026-11-28T10:00:00Z").unwrap();
        facility::Model {
            id: 1,
            license_number: license.to_owned(),
            name: license.to_owned(),
            license_type: "Retail".into(),
            state: "CO".into(),
            capabilities: "{}".into(),
            facility_key_ciphertext: Some("sealed".into()),
            key_fingerprint: Some("fp".into()),
            masked_key: None,
            key_status: KeyStatus::Valid,
            key_owner_name: None,
            key_is_owner: None,
            key_set_at: None,
            last_validated_at: None,
            last_sync_at: None,
            sync_state: state,
            sync_message: None,
            sync_progress: None,
            sync_failures: 0,
            sync_retry_at: None,
            sync_requested_at: requested.and_then(upsert::parse_time),
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn requests_go_first_oldest_first_then_interrupted_runs_then_due_ones_none_busy() {
        let all = [
            facility("A-1", SyncState::Idle, None),
            facility("B-2", SyncState::Running, None),
            facility("C-3", SyncState::Running, Some("2026-11-28T10:00:05Z")),
            facility("D-4", SyncState::Idle, Some("2026-11-28T10:00:01Z")),
            facility("E-5", SyncState::Running, None),
            facility("F-6", SyncState::Failed, None),
            facility("G-7", SyncState::Idle, Some("2026-11-28T09:00:00Z")),
        ];
        // E-5 runs (its lease is live), G-7's request waits for the run under way.
        let busy = HashSet::from(["E-5".to_owned(), "G-7".to_owned()]);
        let due = |f: &facility::Model| f.license_number != "F-6";
        let picked = candidates(&all, &busy, due);
        let expected = [
            ("D-4", Reason::Requested),
            ("C-3", Reason::Requested),
            ("B-2", Reason::Interrupted),
            ("A-1", Reason::Due),
        ];
        let expected: Vec<(String, Reason)> = expected
            .map(|(l, r)| (l.to_owned(), r))
            .into_iter()
            .collect();
        assert_eq!(picked, expected);
        assert!(
            candidates(&all, &busy, |_| false)
                .iter()
                .all(|(_, r)| *r != Reason::Due)
        );
    }

    #[test]
    fn a_run_picked_is_dropped_when_another_server_ran_it_meanwhile() {
        let requested = facility("A-1", SyncState::Running, Some("2026-11-28T10:00:00Z"));
        let ran = facility("A-1", SyncState::Idle, None);
        assert!(still_wanted(Reason::Requested, &requested));
        assert!(
            !still_wanted(Reason::Requested, &ran),
            "its request was taken"
        );
        assert!(still_wanted(Reason::Interrupted, &requested));
        assert!(!still_wanted(Reason::Interrupted, &ran), "resumed and done");
        assert!(still_wanted(Reason::Due, &ran) && still_wanted(Reason::Direct, &ran));
    }

    #[test]
    fn requests_resumed_runs_and_paused_facilities_walk_every_list() {
        let idle = SyncState::Idle;
        assert!(!walks_every_list(Reason::Due, false, false, idle));
        assert!(!walks_every_list(Reason::Direct, false, false, idle));
        assert!(walks_every_list(Reason::Direct, true, false, idle));
        assert!(
            walks_every_list(Reason::Due, false, true, idle),
            "a request it took"
        );
        assert!(walks_every_list(Reason::Requested, false, false, idle));
        assert!(walks_every_list(Reason::Interrupted, false, false, idle));
        assert!(walks_every_list(
            Reason::Due,
            false,
            false,
            SyncState::Paused
        ));
    }

    #[test]
    fn leases_are_named_per_license() {
        assert_eq!(lease_name("403-X0001"), "sync:403-X0001");
        assert!(lease_name("A-1").starts_with(LEASE_PREFIX));
    }
}
