//! The worker's side of the outbox: which facilities have something due, and for one facility,
//! sending its queue in order.
//!
//! A batch is the head of the facility's queue and the rows right behind it with the same action
//! carried by the same key, at most [`MAX_WRITE_ROWS`]: Metrc records a call's rows all or none,
//! in order, so one call sends them as the user made them. The rows are marked `Sending` and that
//! is committed before the call; the answer then settles each row:
//!
//! | Metrc's answer | the rows |
//! |---|---|
//! | 2xx | `Accepted` |
//! | 400 with row errors | the rows at fault `Rejected` with Metrc's messages; the others (not recorded either) sent again at once |
//! | 400 without row numbers | a lone row `Rejected`; several are sent again one by one, to tell which |
//! | 400 that is a server fault (an exception or infrastructure message, no row numbers: [`metrc::classify_bad_request`], field case-10) | as a 5xx below: the whole batch `Retrying`, never split; `Failed` with Metrc's text after [`OutboxSettings::max_attempts`] |
//! | 401/403 | `Failed`. `GET /facilities/v2/` with the same key tells a dead key (then marked invalid: a user key on the user, a facility key on the facility) from a missing permission |
//! | 429, 5xx, no connection | `Retrying` after a backoff (a `Retry-After` wins); `Failed` after [`OutboxSettings::max_attempts`] |
//! | no answer (timeout, connection lost after sending) | `Unknown`: never resent blindly; see [`super::reconcile`] |
//! | anything else | `Failed` with what Metrc said |
//!

use super::{KeyKind, OutboxError, OutboxSettings};
use crate::ssr::entities::submissions::Model as Submission;
use crate::ssr::queries::submission_attempts::{self, NewAttempt};
use crate::ssr::queries::submissions::{self, Change};
use crate::ssr::queries::{facilities, user_metrc_keys, users};
use crate::ssr::state::AppState;
use crate::types::keys::KeyStatus;
use crate::types::submissions::{SubmissionAction, SubmissionStatus};
use chrono::{DateTime, Utc};
use metrc::{
    MAX_WRITE_ROWS, PackageAdjustment, PackageFinish, PackageLocationChange, PlantWaste,
    WriteAccepted,
};
use secrecy::SecretString;
use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

/// What a row says after a crash left its call without an answer.
pub const INTERRUPTED: &str = "Sent, but the server stopped before Metrc answered: it may or may not be recorded. It is not sent again until Metrc's data (or an admin) says it was not recorded.";

/// Start-up, before the worker runs: every row still `Sending` was in a call the previous run
/// never saw answered. It becomes `Unknown` (never sent again blindly). Returns how many.
pub async fn recover_interrupted(state: &AppState) -> Result<usize, OutboxError> {
    let rows = submissions::sending(&state.db).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let txn = crate::ssr::db::begin_write(&state.db).await?;
    let mut attempts = Vec::with_capacity(rows.len());
    for row in &rows {
        submissions::transition(
            &txn,
            row.id,
            &[SubmissionStatus::Sending],
            SubmissionStatus::Unknown,
            Change {
                message: Some(Some(INTERRUPTED.to_owned())),
                next_attempt_at: Some(Some(now)),
                metrc_status: Some(None),
                ..Default::default()
            },
        )
        .await?;
        let at = row.sent_at.unwrap_or(now);
        attempts.push(NewAttempt {
            submission_id: row.id,
            at,
            http_status: None,
            outcome: "No answer: the server stopped during the call",
            duration_ms: u64::try_from((now - at).num_milliseconds()).unwrap_or_default(),
        });
    }
    submission_attempts::record_many(&txn, &attempts).await?;
    txn.commit().await?;
    tracing::warn!(
        count = rows.len(),
        "submissions were being sent when the server stopped: now Unknown until reconciled"
    );
    Ok(rows.len())
}

/// The facilities whose next submission is due now (the head of each queue: a head waiting for
/// its backoff holds the rest of its facility back, to keep the order).
pub async fn due_facilities(state: &AppState) -> Result<Vec<String>, OutboxError> {
    let heads = submissions::queue_heads(&state.db).await?;
    let ids: Vec<i64> = heads.iter().map(|(_, id)| *id).collect();
    let now = Utc::now();
    Ok(submissions::by_ids(&state.db, &ids)
        .await?
        .into_iter()
        .filter(|row| row.next_attempt_at.is_none_or(|at| at <= now))
        .map(|row| row.license_number)
        .collect())
}

/// Sends the facility's due submissions, in order, until none is due. Returns how many rows were
/// sent (each try counts).
pub async fn drain(state: &AppState, license: &str) -> Result<usize, OutboxError> {
    let mut sent = 0;
    loop {
        let batch = claim(state, license).await?;
        if batch.is_empty() {
            return Ok(sent);
        }
        sent += send_batch(state, batch).await?;
    }
}

/// What makes rows share one call: the action and the key that carries them.
fn call_group(row: &Submission) -> (&str, &str, Option<i32>) {
    let user = (row.key_kind == KeyKind::User.as_str()).then_some(row.user_id);
    (row.action.as_str(), row.key_kind.as_str(), user)
}

/// The next batch of the facility's queue, marked `Sending` (committed); empty when nothing is
/// due.
async fn claim(state: &AppState, license: &str) -> Result<Vec<Submission>, OutboxError> {
    let now = Utc::now();
    let queue = submissions::queue(&state.db, license, MAX_WRITE_ROWS as u64).await?;
    let queue = without_departed_users(
        state,
        queue,
        &[SubmissionStatus::Queued, SubmissionStatus::Retrying],
    )
    .await?;
    let Some(head) = queue.first() else {
        return Ok(Vec::new());
    };
    if head.next_attempt_at.is_some_and(|at| at > now) {
        return Ok(Vec::new());
    }
    let group = call_group(head);
    let ids: Vec<i64> = queue
        .iter()
        .take_while(|row| {
            call_group(row) == group && row.next_attempt_at.is_none_or(|at| at <= now)
        })
        .map(|row| row.id)
        .collect();
    if submissions::mark_sending(&state.db, &ids, now).await? < ids.len() as u64 {
        // An admin cancelled or held one meanwhile; the others are ours all the same.
        tracing::debug!(license, "a row left the queue while being claimed");
    }
    // Only this facility's worker marks rows Sending, so every Sending row here is this batch.
    Ok(submissions::by_ids(&state.db, &ids)
        .await?
        .into_iter()
        .filter(|row| row.status == SubmissionStatus::Sending.as_str())
        .collect())
}

/// The typed Metrc rows of a batch.
enum Rows {
    Adjust(Vec<PackageAdjustment>),
    Finish(Vec<PackageFinish>),
    Move(Vec<PackageLocationChange>),
    Waste(Vec<PlantWaste>),
}

fn parse_all<T: serde::de::DeserializeOwned>(rows: &[Submission]) -> Result<Vec<T>, String> {
    rows.iter()
        .map(|r| {
            serde_json::from_str(&r.request).map_err(|e| {
                format!(
                    "the stored request of submission {} is unreadable: {e}",
                    r.id
                )
            })
        })
        .collect()
}

impl Rows {
    fn of(action: SubmissionAction, rows: &[Submission]) -> Result<Rows, String> {
        Ok(match action {
            SubmissionAction::AdjustPackage => Rows::Adjust(parse_all(rows)?),
            SubmissionAction::FinishPackage => Rows::Finish(parse_all(rows)?),
            SubmissionAction::ChangePackageLocation => Rows::Move(parse_all(rows)?),
            SubmissionAction::RecordPlantWaste => Rows::Waste(parse_all(rows)?),
        })
    }

    async fn send(
        &self,
        client: &metrc::Client,
        key: &SecretString,
        license: &str,
    ) -> Result<WriteAccepted, metrc::Error> {
        match self {
            Rows::Adjust(rows) => client.adjust_packages(key, license, rows).await,
            Rows::Finish(rows) => client.finish_packages(key, license, rows).await,
            Rows::Move(rows) => client.change_package_locations(key, license, rows).await,
            Rows::Waste(rows) => client.record_plant_waste(key, license, rows).await,
        }
    }
}

/// How one row comes out of a try.
struct Settle {
    id: i64,
    status: SubmissionStatus,
    http_status: Option<u16>,
    response: Option<String>,
    message: String,
    next_attempt_at: Option<DateTime<Utc>>,
    /// The attempt's outcome, in a few words.
    outcome: String,
}

/// The key a batch goes with, decrypted for this call only; `Err` with the reason it cannot go.
async fn carrier_key(
    state: &AppState,
    row: &Submission,
) -> Result<Result<SecretString, String>, OutboxError> {
    match KeyKind::parse(&row.key_kind) {
        Some(KeyKind::User) => {
            let owner = &row.key_owner;
            match user_metrc_keys::find_for_user(&state.db, row.user_id).await? {
                None => Ok(Err(format!(
                    "{owner} has no Metrc API key any more: nothing was sent. Set their key on their profile, then Retry."
                ))),
                Some(key) if key.status == KeyStatus::Invalid.as_str() => Ok(Err(format!(
                    "{owner}'s Metrc API key is invalid (Metrc refused it): nothing was sent. Set the current key on their profile, then Retry."
                ))),
                Some(key) => Ok(Ok(state.vault.decrypt(&key.ciphertext)?)),
            }
        }
        _ => {
            let facility = facilities::find_by_license(&state.db, &row.license_number).await?;
            match facility {
                Some(f) if f.key_status == KeyStatus::Valid.as_str() => {
                    match f.facility_key_ciphertext {
                        Some(ciphertext) => Ok(Ok(state.vault.decrypt(&ciphertext)?)),
                        None => Ok(Err(no_facility_key(&row.license_number))),
                    }
                }
                Some(f) if f.facility_key_ciphertext.is_some() => Ok(Err(format!(
                    "The facility key of {} is invalid (Metrc refused it): nothing was sent. Update it on the Integrations page, then Retry.",
                    row.license_number
                ))),
                _ => Ok(Err(no_facility_key(&row.license_number))),
            }
        }
    }
}

fn no_facility_key(license: &str) -> String {
    format!(
        "{license} has no facility key: nothing was sent. Set one on the Integrations page, then Retry."
    )
}

/// The backoff before try `attempts + 1`, at most [`OutboxSettings::backoff_max`]: Metrc's
/// `Retry-After` plus up to a tenth more when it gave one, else "equal jitter" on the exponential
/// delay (`backoff_base` doubled per try): between half and all of it. `spread` (0 to 1, drawn
/// once per call so that a batch's rows come back together) says where in that range, so that
/// facilities an outage failed together do not all return at once.
fn backoff(
    settings: &OutboxSettings,
    attempts: i32,
    retry_after: Option<Duration>,
    spread: f64,
) -> Duration {
    let wait = match retry_after {
        Some(after) => metrc::backoff::after_plus_tenth(after, spread),
        None => metrc::backoff::equal_jitter(
            metrc::backoff::doubling(
                settings.backoff_base,
                settings.backoff_max,
                u32::try_from(attempts).unwrap_or_default(),
            ),
            spread,
        ),
    };
    wait.min(settings.backoff_max)
}

/// Sends one batch, then any rows Metrc's answer says to send again at once; returns how many
/// rows were sent.
async fn send_batch(state: &AppState, batch: Vec<Submission>) -> Result<usize, OutboxError> {
    let mut calls: VecDeque<Vec<Submission>> = VecDeque::from([batch]);
    let mut sent = 0;
    let mut first = true;
    while let Some(rows) = calls.pop_front() {
        let rows = if first {
            rows
        } else {
            // Sent again at once: its user may have been deactivated during the last call.
            without_departed_users(state, rows, &[SubmissionStatus::Sending]).await?
        };
        if rows.is_empty() {
            continue;
        }
        if !first {
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            submissions::count_attempt(&state.db, &ids, Utc::now()).await?;
        }
        first = false;
        sent += rows.len();
        let tried = send_once(state, &rows).await?;
        settle(state, &tried).await?;
        // Rows sent again go first, in their order.
        for group in tried.again.into_iter().rev() {
            calls.push_front(group);
        }
    }
    Ok(sent)
}

/// The rows that may go, in their order. A row (in status `from`) whose user was deactivated
/// after it was queued waits for an admin instead, `Pending approval` like the rest of that
/// user's work ([`super::hold_for_user`]): it was in a call at the deactivation and came back to
/// be sent again (a retry, the innocent rows of a refused call, an unknown outcome found not
/// recorded). A row an admin has decided on (approved, retried) goes.
async fn without_departed_users(
    state: &AppState,
    rows: Vec<Submission>,
    from: &[SubmissionStatus],
) -> Result<Vec<Submission>, OutboxError> {
    let undecided: BTreeSet<i32> = rows
        .iter()
        .filter(|r| r.decided_by.is_none())
        .map(|r| r.user_id)
        .collect();
    let mut departed = BTreeSet::new();
    for user_id in undecided {
        if !users::find(&state.db, user_id)
            .await?
            .is_some_and(|u| u.active)
        {
            departed.insert(user_id);
        }
    }
    if departed.is_empty() {
        return Ok(rows);
    }
    let (held, going): (Vec<_>, Vec<_>) = rows
        .into_iter()
        .partition(|r| r.decided_by.is_none() && departed.contains(&r.user_id));
    for row in &held {
        submissions::transition(
            &state.db,
            row.id,
            from,
            SubmissionStatus::PendingApproval,
            Change {
                message: Some(Some(super::HELD_MESSAGE.to_owned())),
                next_attempt_at: Some(None),
                ..Default::default()
            },
        )
        .await?;
        tracing::info!(
            submission = row.id,
            user_id = row.user_id,
            "submission of a deactivated user held for an admin"
        );
    }
    Ok(going)
}

/// One try at a batch: how each row settles now, and the groups of rows to send again at once.
struct Tried {
    settled: Vec<Settle>,
    again: Vec<Vec<Submission>>,
    /// When the call started, and how long it took (0 when nothing was sent).
    at: DateTime<Utc>,
    duration_ms: u64,
}

/// One call for `rows` (all `Sending`, one action, one key).
async fn send_once(state: &AppState, rows: &[Submission]) -> Result<Tried, OutboxError> {
    let at = Utc::now();
    let (settled, again, duration_ms) = call(state, rows).await?;
    Ok(Tried {
        settled,
        again,
        at,
        duration_ms,
    })
}

/// The call itself: settled rows, rows to send again, and the call's duration in ms.
#[allow(clippy::type_complexity)]
async fn call(
    state: &AppState,
    rows: &[Submission],
) -> Result<(Vec<Settle>, Vec<Vec<Submission>>, u64), OutboxError> {
    let first = &rows[0];
    let license = first.license_number.as_str();
    let action = SubmissionAction::parse(&first.action).unwrap_or(SubmissionAction::AdjustPackage);
    let fail_all = |why: String, outcome: &str| {
        rows.iter()
            .map(|r| Settle {
                id: r.id,
                status: SubmissionStatus::Failed,
                http_status: None,
                response: None,
                message: why.clone(),
                next_attempt_at: None,
                outcome: outcome.to_owned(),
            })
            .collect::<Vec<_>>()
    };
    let typed = match Rows::of(action, rows) {
        Ok(typed) => typed,
        Err(why) => {
            tracing::error!(license, %why, "a stored submission cannot be sent");
            return Ok((
                fail_all(format!("Not sent: {why}."), "Not sent: unreadable"),
                Vec::new(),
                0,
            ));
        }
    };
    let key = match carrier_key(state, first).await? {
        Ok(key) => key,
        Err(why) => return Ok((fail_all(why, "Not sent: no usable key"), Vec::new(), 0)),
    };

    let write_timeout = state.outbox.settings().write_timeout;
    let started = Instant::now();
    let answer = tokio::time::timeout(write_timeout, typed.send(&state.metrc, &key, license)).await;
    let elapsed = started.elapsed();
    let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let n = rows.len();
    tracing::info!(
        license,
        action = action.as_str(),
        rows = n,
        elapsed_ms = elapsed.as_millis() as u64,
        ok = matches!(answer, Ok(Ok(_))),
        "outbox call"
    );
    let now = Utc::now();
    let each = |status, http: Option<u16>, message: String, outcome: String| {
        rows.iter()
            .map(|r| Settle {
                id: r.id,
                status,
                http_status: http,
                response: None,
                message: message.clone(),
                next_attempt_at: None,
                outcome: outcome.clone(),
            })
            .collect::<Vec<_>>()
    };
    let unknown = |detail: String| {
        let mut settled = each(
            SubmissionStatus::Unknown,
            None,
            format!(
                "Sent, but Metrc's answer never came ({detail}): it may or may not be recorded. It is not sent again until Metrc's data (or an admin) says it was not recorded."
            ),
            format!("No answer: {detail}"),
        );
        for s in &mut settled {
            s.next_attempt_at = Some(now);
        }
        settled
    };

    let error = match answer {
        Err(_) => {
            return Ok((
                unknown(format!(
                    "no answer within {} s",
                    write_timeout.as_secs_f64()
                )),
                Vec::new(),
                ms,
            ));
        }
        Ok(Ok(accepted)) => {
            let response = (!accepted.ids.is_empty() || accepted.warnings.is_some()).then(|| {
                serde_json::json!({ "Ids": accepted.ids, "Warnings": accepted.warnings })
                    .to_string()
            });
            let settled = rows
                .iter()
                .enumerate()
                .map(|(i, r)| Settle {
                    id: r.id,
                    status: SubmissionStatus::Accepted,
                    http_status: Some(200),
                    response: response.clone(),
                    message: match accepted.ids.get(i) {
                        Some(id) => format!("Accepted by Metrc (Id {id})."),
                        None => "Accepted by Metrc.".to_owned(),
                    },
                    next_attempt_at: None,
                    outcome: if n > 1 {
                        format!("Accepted (one call of {n} rows)")
                    } else {
                        "Accepted".to_owned()
                    },
                })
                .collect();
            return Ok((settled, Vec::new(), ms));
        }
        Ok(Err(error)) => error,
    };

    let (settled, again) = match error {
        metrc::Error::OutcomeUnknown(detail) => (unknown(detail), Vec::new()),
        metrc::Error::Rejected {
            rows: row_errors,
            message,
        } => {
            let numbered =
                !row_errors.is_empty() && row_errors.iter().all(|e| e.row.is_some_and(|r| r < n));
            let response = if row_errors.is_empty() {
                serde_json::json!({ "Message": message }).to_string()
            } else {
                serde_json::to_string(&row_errors).unwrap_or_default()
            };
            if numbered {
                let mut settled = Vec::new();
                let mut innocent = Vec::new();
                for (i, r) in rows.iter().enumerate() {
                    let messages: Vec<&str> = row_errors
                        .iter()
                        .filter(|e| e.row == Some(i))
                        .map(|e| e.message.as_str())
                        .collect();
                    if messages.is_empty() {
                        innocent.push(r.clone());
                        settled.push(Settle {
                            id: r.id,
                            status: SubmissionStatus::Sending,
                            http_status: Some(400),
                            response: None,
                            message: String::new(),
                            next_attempt_at: None,
                            outcome:
                                "Not recorded: another row of the call was rejected; sent again"
                                    .into(),
                        });
                    } else {
                        settled.push(Settle {
                            id: r.id,
                            status: SubmissionStatus::Rejected,
                            http_status: Some(400),
                            response: Some(response.clone()),
                            message: format!(
                                "Rejected by Metrc (HTTP 400), nothing recorded: {}",
                                messages.join(" ")
                            ),
                            next_attempt_at: None,
                            outcome: format!("Rejected: {}", messages.join(" ")),
                        });
                    }
                }
                (settled, vec![innocent])
            } else if n == 1 {
                let text = message
                    .or_else(|| row_errors.first().map(|e| e.message.clone()))
                    .unwrap_or_else(|| "no reason given".into());
                let mut settled = each(
                    SubmissionStatus::Rejected,
                    Some(400),
                    format!("Rejected by Metrc (HTTP 400), nothing recorded: {text}"),
                    format!("Rejected: {text}"),
                );
                settled[0].response = Some(response);
                (settled, Vec::new())
            } else {
                // Which row is at fault is not said: each goes again alone, in order.
                let mut settled = each(
                    SubmissionStatus::Sending,
                    Some(400),
                    String::new(),
                    "Not recorded: Metrc refused the call without naming a row; sent again one by one".into(),
                );
                for s in &mut settled {
                    s.response = None;
                }
                (settled, rows.iter().map(|r| vec![r.clone()]).collect())
            }
        }
        metrc::Error::NoAccess { status, .. } => (
            refused(state, first, action, &key, status)
                .await?
                .apply(rows),
            Vec::new(),
        ),
        metrc::Error::KeyInvalid => (
            refused(state, first, action, &key, 401).await?.apply(rows),
            Vec::new(),
        ),
        retryable @ (metrc::Error::RateLimited { .. }
        | metrc::Error::Server { .. }
        | metrc::Error::Transport(_)
        | metrc::Error::Timeout) => {
            let http = match &retryable {
                metrc::Error::RateLimited { .. } => Some(429),
                metrc::Error::Server { status, .. } => Some(*status),
                _ => None,
            };
            let retry_after = match &retryable {
                metrc::Error::RateLimited { retry_after } => *retry_after,
                _ => None,
            };
            let what = match &retryable {
                metrc::Error::RateLimited { .. } => {
                    "Metrc answered HTTP 429 (too many requests)".to_owned()
                }
                // A server fault sent as 400 (field case-10): Metrc's own words, which are not
                // about the user's rows.
                metrc::Error::Server {
                    status: 400,
                    excerpt,
                } => format!(
                    "Metrc failed inside (HTTP 400 with a server error, not a rejection: {excerpt})"
                ),
                metrc::Error::Server { status, .. } => format!("Metrc failed with HTTP {status}"),
                other => format!("Metrc could not be reached ({other})"),
            };
            let response = match &retryable {
                metrc::Error::Server {
                    status: 400,
                    excerpt,
                } => Some(serde_json::json!({ "Message": excerpt }).to_string()),
                _ => None,
            };
            let settings = state.outbox.settings();
            let max = settings.max_attempts;
            let spread: f64 = rand::random();
            let settled = rows
                .iter()
                .map(|r| {
                    let tries = u32::try_from(r.attempts).unwrap_or_default();
                    if tries >= max {
                        Settle {
                            id: r.id,
                            status: SubmissionStatus::Failed,
                            http_status: http,
                            response: response.clone(),
                            message: format!(
                                "{what}, nothing recorded; it kept failing ({tries} tries). Retry once Metrc is back."
                            ),
                            next_attempt_at: None,
                            outcome: format!("Failed: {what}"),
                        }
                    } else {
                        let at = now
                            + chrono::Duration::from_std(backoff(&settings, r.attempts, retry_after, spread))
                                .unwrap_or_default();
                        Settle {
                            id: r.id,
                            status: SubmissionStatus::Retrying,
                            http_status: http,
                            response: response.clone(),
                            message: format!(
                                "{what}, nothing recorded. Sending again at {} UTC (try {}).",
                                at.format("%H:%M:%S"),
                                tries + 1
                            ),
                            next_attempt_at: Some(at),
                            outcome: format!("Retrying: {what}"),
                        }
                    }
                })
                .collect();
            (settled, Vec::new())
        }
        metrc::Error::UnexpectedStatus { status, excerpt } => (
            each(
                SubmissionStatus::Failed,
                Some(status),
                format!("Metrc answered HTTP {status}, nothing recorded: {excerpt}"),
                format!("Failed: HTTP {status}"),
            ),
            Vec::new(),
        ),
        other => (
            each(
                SubmissionStatus::Failed,
                None,
                format!("Not sent: {other}."),
                format!("Failed: {other}"),
            ),
            Vec::new(),
        ),
    };
    Ok((settled, again, ms))
}

/// The verdict on a 401/403 for a whole batch.
struct Refusal {
    status: u16,
    message: String,
    outcome: &'static str,
}

impl Refusal {
    fn apply(self, rows: &[Submission]) -> Vec<Settle> {
        rows.iter()
            .map(|r| Settle {
                id: r.id,
                status: SubmissionStatus::Failed,
                http_status: Some(self.status),
                response: None,
                message: self.message.clone(),
                next_attempt_at: None,
                outcome: self.outcome.to_owned(),
            })
            .collect()
    }
}

/// Metrc refused a write with 401/403: the key is dead (regenerated, revoked), or its user lacks
/// a permission. Only `GET /facilities/v2/` can tell (docs/metrc.md §3); a dead key is marked
/// invalid.
async fn refused(
    state: &AppState,
    row: &Submission,
    action: SubmissionAction,
    key: &SecretString,
    status: u16,
) -> Result<Refusal, OutboxError> {
    let license = &row.license_number;
    let owner = &row.key_owner;
    let kind = KeyKind::parse(&row.key_kind).unwrap_or(KeyKind::Facility);
    Ok(match state.metrc.facilities(key).await {
        Err(metrc::Error::KeyInvalid) => {
            let whose = match kind {
                KeyKind::User => {
                    user_metrc_keys::set_status(&state.db, row.user_id, KeyStatus::Invalid).await?;
                    tracing::warn!(user_id = row.user_id, license = %license, "user key refused by Metrc on a write: marked invalid");
                    format!(
                        "{owner}'s Metrc API key; it was revoked or regenerated in Metrc and is now marked invalid. Set the current key on their profile, then Retry"
                    )
                }
                KeyKind::Facility => {
                    if let Some(f) = facilities::find_by_license(&state.db, license).await? {
                        facilities::set_key_status(&state.db, f.id, KeyStatus::Invalid).await?;
                    }
                    tracing::warn!(license = %license, "facility key refused by Metrc on a write: marked invalid");
                    format!(
                        "the facility key of {license} ({owner}); it was revoked or regenerated in Metrc and is now marked invalid (sync stops too). Update it on the Integrations page, then Retry"
                    )
                }
            };
            Refusal {
                status,
                message: format!("Metrc refused {whose}. Nothing was recorded."),
                outcome: "Failed: key refused (invalid)",
            }
        }
        Ok(_) => Refusal {
            status,
            message: format!(
                "Metrc refused this (HTTP {status}), nothing recorded: {owner}'s Metrc user lacks access for \"{}\" at {license} (it needs {}). Ask your Metrc admin to grant it, then Retry.",
                action.label(),
                super::preflight::needs(action).join(" and ")
            ),
            outcome: "Failed: no access",
        },
        Err(other) => Refusal {
            status,
            message: format!(
                "Metrc refused this (HTTP {status}), nothing recorded; whether the key or a permission is at fault could not be asked ({other}). Retry later."
            ),
            outcome: "Failed: refused",
        },
    })
}

/// Records how each row settled, and one attempt per row, in one transaction. Rows that stay
/// `Sending` (sent again at once) get only their attempt.
async fn settle(state: &AppState, tried: &Tried) -> Result<(), OutboxError> {
    let txn = crate::ssr::db::begin_write(&state.db).await?;
    let mut attempts = Vec::with_capacity(tried.settled.len());
    for s in &tried.settled {
        if s.status != SubmissionStatus::Sending {
            let moved = submissions::transition(
                &txn,
                s.id,
                &[SubmissionStatus::Sending],
                s.status,
                Change {
                    metrc_status: Some(s.http_status.map(i32::from)),
                    metrc_response: Some(s.response.clone()),
                    message: Some(Some(s.message.clone())),
                    next_attempt_at: Some(s.next_attempt_at),
                    ..Default::default()
                },
            )
            .await?;
            if !moved {
                tracing::warn!(submission = s.id, "a row left Sending during its call");
            }
        }
        attempts.push(NewAttempt {
            submission_id: s.id,
            at: tried.at,
            http_status: s.http_status,
            outcome: &s.outcome,
            duration_ms: tried.duration_ms,
        });
    }
    submission_attempts::record_many(&txn, &attempts).await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> OutboxSettings {
        OutboxSettings {
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            ..OutboxSettings::default()
        }
    }

    #[test]
    fn backoff_is_equal_jitter_on_a_doubling_delay_up_to_the_cap() {
        let s = settings();
        // Try 1 failed: between half and all of 1 s; try 3: of 4 s.
        assert_eq!(backoff(&s, 1, None, 0.0), Duration::from_millis(500));
        assert_eq!(backoff(&s, 1, None, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(&s, 3, None, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(&s, 3, None, 0.5), Duration::from_secs(3));
        assert_eq!(backoff(&s, 3, None, 1.0), Duration::from_secs(4));
        // Two facilities failed by one outage come back apart.
        assert_ne!(backoff(&s, 3, None, 0.1), backoff(&s, 3, None, 0.9));
        // The cap holds however many tries, and jitters below it.
        assert_eq!(backoff(&s, 40, None, 1.0), Duration::from_secs(300));
        assert_eq!(backoff(&s, 40, None, 0.0), Duration::from_secs(150));
        // A spread out of range is clamped, never a negative or endless wait.
        assert_eq!(backoff(&s, 1, None, -3.0), Duration::from_millis(500));
        assert_eq!(backoff(&s, 1, None, f64::NAN), Duration::from_millis(500));
        assert_eq!(backoff(&s, 1, None, 7.0), Duration::from_secs(1));
    }

    #[test]
    fn a_retry_after_is_waited_in_full_plus_up_to_a_tenth_within_the_cap() {
        let s = settings();
        let after = Some(Duration::from_secs(30));
        assert_eq!(backoff(&s, 1, after, 0.0), Duration::from_secs(30));
        assert_eq!(backoff(&s, 1, after, 1.0), Duration::from_secs(33));
        assert_eq!(
            backoff(&s, 1, Some(Duration::from_secs(3_600)), 0.0),
            Duration::from_secs(300)
        );
    }
}
