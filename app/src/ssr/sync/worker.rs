//! One facility's sync run ([`sync_facility`]), "Sync now" ([`request_now`]), and the steps of
//! the background loop in `server/src/jobs/sync.rs`: [`resume_interrupted`], [`next_runs`] and
//! [`run_logged`].

use super::schedule;
use super::upsert::{self, SyncRecord};
use super::{RunGuard, SyncError, parse_progress, progress_json};
use crate::ssr::entities::facilities as facility;
use crate::ssr::queries::facilities::{self, SyncStatus};
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
use secrecy::SecretString;
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
fn plan_windows(state: &AppState, from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
    u32::try_from(state.metrc.window_plan(from, to).len()).unwrap_or(u32::MAX)
}

/// What stopped a list's walk.
enum PullError {
    Metrc(metrc::Error),
    Db(DbErr),
}

/// Syncs one facility now: every applicable list that is due (`force`: every applicable list),
/// from its cursor. Records the facility's state and progress as it goes; a refused key pauses
/// the facility (and marks the key invalid), a Metrc failure marks it failed with backoff. `Err`
/// only for what could not even be recorded (database, vault) and for a facility that is
/// syncing already.
pub async fn sync_facility(
    state: &AppState,
    license: &str,
    force: bool,
) -> Result<RunReport, SyncError> {
    let guard = state
        .sync
        .begin(license)
        .ok_or_else(|| SyncError::AlreadyRunning(license.to_owned()))?;
    run(state, license, force, guard).await
}

/// "Sync now": checks the facility can sync (it has a valid key), shows it as syncing, and asks
/// the worker to run it whatever the schedule.
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
    if !state.sync.is_running(&f.license_number) {
        facilities::set_sync_status(
            &state.db,
            f.id,
            SyncStatus {
                state: SyncState::Running,
                message: None,
                progress: None,
                failures: f.sync_failures,
                retry_at: None,
            },
            None,
        )
        .await?;
    }
    state.sync.request(&f.license_number);
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

async fn run(
    state: &AppState,
    license: &str,
    force: bool,
    _guard: RunGuard,
) -> Result<RunReport, SyncError> {
    let f = facilities::find_by_license(&state.db, license)
        .await?
        .ok_or(SyncError::UnknownFacility)?;
    let license = f.license_number.as_str();
    let Some(ciphertext) = f.facility_key_ciphertext.as_deref() else {
        return pause(state, &f, NO_KEY, None).await;
    };
    if !key_usable(&f) {
        return pause(state, &f, KEY_INVALID, None).await;
    }
    let key = state.vault.decrypt(ciphertext)?;
    // A facility paused for its key resumes every list from its cursors once the key is valid.
    let force = force || f.sync_state == SyncState::Paused;
    // Metrc's window bounds are whole seconds: the run's windows end at the next whole second,
    // so everything modified before the run began is in them.
    let now = end_of_second(Utc::now());
    let cursors = sync_cursors::for_license(&state.db, license).await?;
    let settings = &state.config.sync;
    let overlap = state.metrc.config().window_overlap;
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
                windows: plan_windows(state, from, now),
            })
        })
        .collect::<Vec<_>>();
    if plan.is_empty() {
        return Ok(RunReport {
            state: f.sync_state,
            progress: parse_progress(f.sync_progress.as_deref()).unwrap_or_default(),
            message: f.sync_message.clone(),
            resources: Vec::new(),
        });
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
        let error = match pull(state, &key, &f, &mut plan, i, now, &mut progress).await {
            Ok(()) => continue,
            Err(PullError::Db(err)) => {
                let _ = failed(state, &f, progress, "Could not store the synced records.").await;
                return Err(err.into());
            }
            Err(PullError::Metrc(err)) => err,
        };
        if !matches!(error, metrc::Error::NoAccess { .. }) {
            return failed(state, &f, progress, &format!("Metrc failed: {error}.")).await;
        }
        // 401/403 on a license's list: the key is dead, or its owner lacks this section. Only
        // the facilities call can tell (docs/metrc.md §3).
        match state.metrc.facilities(&key).await {
            Err(metrc::Error::KeyInvalid) => return refused(state, &f, progress).await,
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
                )
                .await;
            }
            Err(err) => {
                return failed(state, &f, progress, &format!("Metrc failed: {err}.")).await;
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
    facilities::set_sync_status(
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
    )
    .await?;
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

/// The facility cannot sync with its key: paused until a valid key is set.
async fn pause(
    state: &AppState,
    f: &facility::Model,
    message: &str,
    progress: Option<SyncProgress>,
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
) -> Result<RunReport, SyncError> {
    let Some(fingerprint) = f.key_fingerprint.as_deref() else {
        return pause(state, f, KEY_REFUSED, Some(progress)).await;
    };
    let holders = facilities::find_by_fingerprint(&state.db, fingerprint).await?;
    for holder in &holders {
        facilities::set_key_status(&state.db, holder.id, fingerprint, KeyStatus::Invalid).await?;
    }
    tracing::warn!(
        license = %f.license_number,
        facilities = holders.len(),
        "Metrc refused the facility key during sync: marked invalid, sync paused"
    );
    pause(state, f, KEY_REFUSED, Some(progress)).await
}

/// Metrc failed (5xx, 429 beyond the client's retries, timeouts): failed, retried after a
/// backoff that grows with each failure in a row. Every window stored so far stays stored.
async fn failed(
    state: &AppState,
    f: &facility::Model,
    progress: SyncProgress,
    reason: &str,
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
    )
    .await?;
    Ok(RunReport {
        state: SyncState::Failed,
        progress,
        message: Some(message),
        resources: Vec::new(),
    })
}

/// Walks list `plan[i]` up to `to` and stores it window by window.
async fn pull(
    state: &AppState,
    key: &SecretString,
    f: &facility::Model,
    plan: &mut [Planned],
    i: usize,
    to: DateTime<Utc>,
    progress: &mut SyncProgress,
) -> Result<(), PullError> {
    let walk = Walk {
        state,
        key,
        f,
        zone: metrc::state_time_zone(&f.state),
        to,
    };
    match plan[i].resource {
        Resource::PackagesActive | Resource::PackagesInactive => {
            walk.pull_as::<Package>(plan, i, progress).await
        }
        Resource::PlantsVegetative | Resource::PlantsFlowering | Resource::PlantsInactive => {
            walk.pull_as::<Plant>(plan, i, progress).await
        }
        Resource::PlantBatchesActive => walk.pull_as::<PlantBatch>(plan, i, progress).await,
        Resource::HarvestsActive => walk.pull_as::<Harvest>(plan, i, progress).await,
        Resource::ItemsActive => walk.pull_as::<Item>(plan, i, progress).await,
        Resource::LocationsActive => walk.pull_as::<Location>(plan, i, progress).await,
        Resource::StrainsActive => walk.pull_as::<Strain>(plan, i, progress).await,
        Resource::TransfersIncoming | Resource::TransfersOutgoing => {
            walk.pull_as::<Transfer>(plan, i, progress).await
        }
        // Not synced (not in `schedule::RESOURCES`).
        Resource::SalesReceiptsActive | Resource::PatientsActive | Resource::ProcessingActive => {
            Ok(())
        }
    }
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
    state: &AppState,
    key: &SecretString,
    license: &str,
    resource: Resource,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Pages<T> {
    let walk = state.metrc.walk::<T>(key, license, resource, from, to);
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
    key: &'a SecretString,
    f: &'a facility::Model,
    /// The facility's time zone (its state's): Metrc's times without an offset are local there.
    zone: Option<metrc::types::time::Tz>,
    to: DateTime<Utc>,
}

impl Walk<'_> {
    /// Walks `plan[i]` and stores what it brings: a window's records as they come (at most
    /// [`HOLD_RECORDS`] held at once), the last of them with the cursor moved to the window's
    /// end in the same transaction; a run of empty windows moves the cursor about once a
    /// second ([`schedule::store_now`]). A run cut off mid-window leaves the cursor where it
    /// was: the window is read again, and its records stored again by id.
    async fn pull_as<T: SyncRecord>(
        &self,
        plan: &mut [Planned],
        i: usize,
        progress: &mut SyncProgress,
    ) -> Result<(), PullError> {
        let (state, license) = (self.state, self.f.license_number.as_str());
        let (resource, from) = (plan[i].resource, plan[i].from);
        let mut pages = spawn_walk::<T>(state, self.key, license, resource, from, self.to);
        let mut held: Vec<T> = Vec::new();
        // Windows read to their end since the last store, and the end of the last of them.
        let (mut closed, mut cursor) = (0, None);
        let mut windows = 0;
        let mut stored_at = Instant::now();
        while let Some(page) = pages.rx.recv().await {
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
        let stored = upsert::store(db, license, self.zone, resource, records, cursor)
            .await
            .map_err(PullError::Db)?;
        advance(self.state, self.f, progress, stored, windows).await
    }

    /// The walk of `plan[i]` now expects `windows` windows. More than planned means Metrc made
    /// the client narrow its windows: the lists after it are planned again at the new width.
    fn replan(&self, plan: &mut [Planned], i: usize, windows: u32, progress: &mut SyncProgress) {
        let narrowed = windows > plan[i].windows;
        plan[i].windows = windows;
        if narrowed {
            for later in plan.iter_mut().skip(i + 1) {
                later.windows = plan_windows(self.state, later.from, self.to);
            }
        }
        progress.windows_total = plan.iter().map(|p| p.windows).sum();
    }
}

/// Stored records (and `windows` more windows done): the facility row shows it.
async fn advance(
    state: &AppState,
    f: &facility::Model,
    progress: &mut SyncProgress,
    stored: u64,
    windows: u32,
) -> Result<(), PullError> {
    progress.windows_done += windows;
    progress.records += stored;
    facilities::set_sync_progress(&state.db, f.id, progress_json(progress))
        .await
        .map_err(PullError::Db)
}

/// A run cut short by a stop still says "running": it is requested again, so it resumes first,
/// from its cursors.
pub async fn resume_interrupted(state: &AppState) {
    match facilities::list(&state.db).await {
        Ok(all) => {
            for f in all {
                if f.sync_state == SyncState::Running {
                    state.sync.request(&f.license_number);
                }
            }
        }
        Err(err) => tracing::warn!(error = %err, "sync: could not read the facilities"),
    }
}

/// A facility picked to sync now: its license, whether it was asked for ("Sync now": every list,
/// whatever the schedule), and the guard that marks it running.
pub struct Picked {
    pub license: String,
    pub force: bool,
    pub guard: RunGuard,
}

/// Runs a picked facility and logs how the run ended.
pub async fn run_logged(state: &AppState, picked: Picked) {
    let result = run(state, &picked.license, picked.force, picked.guard).await;
    log_run(&picked.license, &result);
}

/// The facilities to start now (up to `free`): "Sync now" requests first, then due ones.
pub async fn next_runs(state: &AppState, free: usize) -> Result<Vec<Picked>, DbErr> {
    let mut picked = Vec::new();
    let mut later = Vec::new();
    for license in state.sync.take_requested() {
        if picked.len() >= free {
            later.push(license);
        } else if let Some(guard) = state.sync.begin(&license) {
            picked.push(Picked {
                license,
                force: true,
                guard,
            });
        }
        // Already running: that run covers the request.
    }
    state.sync.requeue(later);
    let settings = &state.config.sync;
    if !settings.scheduled || picked.len() >= free {
        return Ok(picked);
    }
    let now = Utc::now();
    let cursors = sync_cursors::all(&state.db).await?;
    for f in facilities::list(&state.db).await? {
        if picked.len() >= free {
            break;
        }
        if state.sync.is_running(&f.license_number) {
            continue;
        }
        let current = f.sync_state;
        if !key_usable(&f) {
            if current != SyncState::Paused {
                let message = if f.facility_key_ciphertext.is_none() {
                    NO_KEY
                } else {
                    KEY_INVALID
                };
                if let Err(err) = pause(state, &f, message, None).await {
                    tracing::warn!(license = %f.license_number, error = %err, "sync: could not record the pause");
                }
            }
            continue;
        }
        if current == SyncState::Failed && f.sync_retry_at.is_some_and(|at| at > now) {
            continue;
        }
        let lists = cursors.get(&f.license_number);
        let due = current == SyncState::Paused
            || schedule::applicable(&f.capabilities).into_iter().any(|r| {
                let cursor = lists.and_then(|l| l.get(schedule::name(r))).copied();
                schedule::is_due(r, cursor, f.last_sync_at, now, settings)
            });
        if due && let Some(guard) = state.sync.begin(&f.license_number) {
            picked.push(Picked {
                license: f.license_number.clone(),
                force: false,
                guard,
            });
        }
    }
    Ok(picked)
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
}
