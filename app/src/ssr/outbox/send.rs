//! The worker's side of the outbox: which facilities have something due, and for one facility,
//! sending its queue in order.
//!
//! One server at a time sends a facility's queue: [`drain`] holds the facility's lease
//! (`outbox:<license>`, renewed while it works, released when it ends; docs/design.md §11), so
//! with several servers on one database each submission is claimed by one of them, and a
//! facility's rows go out one call at a time, in id order. Taking the lease, it first turns the
//! rows another holder left `Sending` into `Unknown` ([`super::stuck::take_over`]). Claims are
//! fenced by the lease (a holder whose lease was taken over claims nothing) and carry its token
//! (`claim_token`); answers are stored only on rows still `Sending` under that token.
//!
//! A batch is the head of the facility's queue and the rows right behind it with the same action
//! carried by the same key, at most [`MAX_WRITE_ROWS`]: Metrc records a call's rows all or none,
//! in order, so one call sends them as the user made them. The rows are marked `Sending` and that
//! is committed before the call; the answer then settles each row as [`super::verdict`] says (the
//! table is there): this module claims, calls and stores.

use super::verdict::{Answer, KeyProbe, Verdict, verdict};
use super::{KeyKind, OutboxError};
use crate::ssr::entities::submissions::Model as Submission;
use crate::ssr::lease::Lease;
use crate::ssr::queries::leases::{self, Held};
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
use sea_orm::ActiveEnum;
use secrecy::SecretString;
use std::collections::{BTreeSet, VecDeque};
use std::time::Instant;

/// What the outbox leases are called: `outbox:<license>`.
pub const LEASE_PREFIX: &str = "outbox:";

/// The name of the lease on `license`'s queue.
pub fn lease_name(license: &str) -> String {
    format!("{LEASE_PREFIX}{license}")
}

/// The facilities a [`drain`] should be started for now, oldest head first: those whose next
/// submission is due (a head waiting for its backoff holds the rest of its facility back, to
/// keep the order), and those with rows left `Sending` (a takeover is due); not those whose
/// lease is live (a server is at them, maybe this one).
///
/// # Errors
/// [`OutboxError::Db`].
pub async fn due_facilities(state: &AppState) -> Result<Vec<String>, OutboxError> {
    let now = Utc::now();
    let heads = submissions::queue_heads(&state.db).await?;
    let ids: Vec<i64> = heads.iter().map(|(_, id)| *id).collect();
    let heads = submissions::by_ids(&state.db, &ids).await?;
    let sending: Vec<String> = submissions::sending(&state.db, None)
        .await?
        .into_iter()
        .map(|row| row.license_number)
        .collect();
    let leased: BTreeSet<String> = leases::live_under(&state.db, LEASE_PREFIX, now).await?;
    Ok(due(&heads, &sending, &leased, now))
}

/// [`due_facilities`] from what it read: `heads` (each queue's oldest row, by id), the licenses
/// of the rows `Sending`, and the licenses whose lease is live at `now`.
fn due(
    heads: &[Submission],
    sending: &[String],
    leased: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let ready = heads
        .iter()
        .filter(|row| row.next_attempt_at.is_none_or(|at| at <= now))
        .map(|row| &row.license_number);
    let mut due: Vec<String> = Vec::new();
    for license in ready.chain(sending) {
        if !leased.contains(license) && !due.contains(license) {
            due.push(license.clone());
        }
    }
    due
}

/// Sends the facility's due submissions, in order, under its lease, until none is due, the
/// server is stopping ([`super::OutboxHandle::stop`]: the batch under way finishes, no other is
/// claimed) or the lease is lost; then gives the lease up (on an error too, as far as the
/// database lets it: else it expires by itself). Returns how many rows were sent (each try
/// counts); 0 when another server holds the lease.
///
/// # Errors
/// [`OutboxError::Db`], [`OutboxError::Vault`]: rows claimed then stay `Sending`, and whoever
/// takes the lease next makes them `Unknown`.
pub async fn drain(state: &AppState, license: &str) -> Result<usize, OutboxError> {
    let name = lease_name(license);
    let Some(lease) = Lease::take(&state.db, &name, &state.server_id, state.config.lease).await?
    else {
        tracing::debug!(license, "another server is sending this facility's queue");
        return Ok(0);
    };
    let sent = drain_under(state, license, &lease).await;
    if let Err(error) = lease.release().await {
        tracing::warn!(license, %error, "giving the outbox lease up failed: it expires by itself");
    }
    sent
}

/// [`drain`]'s work, under `lease`.
async fn drain_under(state: &AppState, license: &str, lease: &Lease) -> Result<usize, OutboxError> {
    super::stuck::take_over(state, license, &lease.held().await).await?;
    let mut sent = 0;
    loop {
        if state.outbox.is_stopping() {
            return Ok(sent);
        }
        if lease.is_lost() {
            tracing::warn!(license, "the outbox lease was lost: sending stops here");
            return Ok(sent);
        }
        let claim = lease.held().await;
        let batch = claim_batch(state, license, &claim).await?;
        if batch.is_empty() {
            return Ok(sent);
        }
        sent += send_batch(state, &claim, batch).await?;
    }
}

/// What makes rows share one call: the action and the key that carries them.
fn call_group(row: &Submission) -> (SubmissionAction, KeyKind, Option<i32>) {
    let user = (row.key_kind == KeyKind::User).then_some(row.user_id);
    (row.action, row.key_kind, user)
}

/// The next batch of the facility's queue, marked `Sending` under `claim` (committed); empty
/// when nothing is due, while a row of the facility is still `Sending` (later rows never overtake
/// it), or when the lease is no longer live.
async fn claim_batch(
    state: &AppState,
    license: &str,
    claim: &Held,
) -> Result<Vec<Submission>, OutboxError> {
    if !submissions::sending(&state.db, Some(license))
        .await?
        .is_empty()
    {
        tracing::debug!(
            license,
            "a row is still Sending: the facility's queue waits"
        );
        return Ok(Vec::new());
    }
    let now = Utc::now();
    let queue = submissions::queue(&state.db, license, MAX_WRITE_ROWS as u64).await?;
    let queue = without_departed_users(state, queue, Place::Queue).await?;
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
    if submissions::mark_sending(&state.db, &ids, now, claim).await? < ids.len() as u64 {
        // An admin cancelled or held one meanwhile, or the lease is gone.
        tracing::debug!(license, "not every row of the batch was claimed");
    }
    claimed(state, &ids, claim).await
}

/// Those of rows `ids` that are `Sending` under `claim`, by id.
async fn claimed(
    state: &AppState,
    ids: &[i64],
    claim: &Held,
) -> Result<Vec<Submission>, OutboxError> {
    Ok(submissions::by_ids(&state.db, ids)
        .await?
        .into_iter()
        .filter(|row| {
            row.status == SubmissionStatus::Sending
                && row.claim_token.as_deref() == Some(claim.token.as_str())
        })
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

/// The key a batch goes with, decrypted for this call only; `Err` with the reason it cannot go.
async fn carrier_key(
    state: &AppState,
    row: &Submission,
    us_state: &str,
) -> Result<Result<SecretString, String>, OutboxError> {
    if row.key_kind == KeyKind::User {
        let owner = &row.key_owner;
        let for_state = super::preflight::in_state(state, us_state);
        match user_metrc_keys::find_for_user(&state.db, row.user_id, us_state).await? {
            None => Ok(Err(format!(
                "{owner} has no Metrc API key{for_state} any more: nothing was sent. Set their key on their profile, then Retry."
            ))),
            Some(key) if key.status == KeyStatus::Invalid => Ok(Err(format!(
                "{owner}'s Metrc API key{for_state} is invalid (Metrc refused it): nothing was sent. Set the current key on their profile, then Retry."
            ))),
            Some(key) => Ok(Ok(state.vault.decrypt(&key.ciphertext)?)),
        }
    } else {
        let facility = facilities::find_by_license(&state.db, &row.license_number).await?;
        match facility {
            Some(f) if f.key_status == KeyStatus::Valid => match f.facility_key_ciphertext {
                Some(ciphertext) => Ok(Ok(state.vault.decrypt(&ciphertext)?)),
                None => Ok(Err(no_facility_key(&row.license_number))),
            },
            Some(f) if f.facility_key_ciphertext.is_some() => Ok(Err(format!(
                "The facility key of {} is invalid (Metrc refused it): nothing was sent. Update it on the Integrations page, then Retry.",
                row.license_number
            ))),
            _ => Ok(Err(no_facility_key(&row.license_number))),
        }
    }
}

fn no_facility_key(license: &str) -> String {
    format!(
        "{license} has no facility key: nothing was sent. Set one on the Integrations page, then Retry."
    )
}

/// Sends one batch (claimed under `claim`), then any rows Metrc's answer says to send again at
/// once; returns how many rows were sent.
async fn send_batch(
    state: &AppState,
    claim: &Held,
    batch: Vec<Submission>,
) -> Result<usize, OutboxError> {
    let mut calls: VecDeque<Vec<Submission>> = VecDeque::from([batch]);
    let mut sent = 0;
    let mut first = true;
    while let Some(rows) = calls.pop_front() {
        let rows = if first {
            rows
        } else {
            // Sent again at once: its user may have been deactivated during the last call.
            let rows = without_departed_users(state, rows, Place::Claim(&claim.token)).await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            if ids.is_empty() {
                continue;
            }
            // Claimed again, fenced like the first time: a lease lost meanwhile sends nothing
            // more (the rows stay `Sending`; the next holder makes them `Unknown`).
            let counted = submissions::count_attempt(&state.db, &ids, Utc::now(), claim).await?;
            if counted < ids.len() as u64 {
                tracing::warn!(
                    license = %rows[0].license_number,
                    "the outbox lease was lost between calls: the rows to send again wait for the next holder"
                );
                return Ok(sent);
            }
            claimed(state, &ids, claim).await?
        };
        if rows.is_empty() {
            continue;
        }
        first = false;
        sent += rows.len();
        let tried = send_once(state, &rows).await?;
        settle(state, &claim.token, &tried).await?;
        // Rows sent again go first, in their order.
        for group in tried.verdict.again.iter().rev() {
            calls.push_front(group.iter().map(|&i| rows[i].clone()).collect());
        }
    }
    Ok(sent)
}

/// Where rows to send come from: the facility's queue, or a call of this drain (`Sending` under
/// the claim with this token).
#[derive(Debug, Clone, Copy)]
enum Place<'a> {
    Queue,
    Claim(&'a str),
}

/// The rows that may go, in their order. A row (in `from`) whose user was deactivated
/// after it was queued waits for an admin instead, `Pending approval` like the rest of that
/// user's work ([`super::hold_for_user`]): it was in a call at the deactivation and came back to
/// be sent again (a retry, the innocent rows of a refused call, an unknown outcome found not
/// recorded). A row an admin has decided on (approved, retried, marked not recorded) goes; an
/// unknown outcome reconciled automatically carries no admin's decision any more
/// ([`super::reconcile`] clears it), so it is held.
async fn without_departed_users(
    state: &AppState,
    rows: Vec<Submission>,
    from: Place<'_>,
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
        let change = Change {
            message: Some(Some(super::HELD_MESSAGE.to_owned())),
            next_attempt_at: Some(None),
            ..Default::default()
        };
        let to = SubmissionStatus::PendingApproval;
        match from {
            Place::Queue => {
                let queue = [SubmissionStatus::Queued, SubmissionStatus::Retrying];
                submissions::transition(&state.db, row.id, &queue, to, change).await?
            }
            Place::Claim(token) => {
                submissions::transition_claimed(&state.db, row.id, token, to, change).await?
            }
        };
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
    verdict: Verdict,
    /// When the call started, and how long it took (0 when nothing was sent).
    at: DateTime<Utc>,
    duration_ms: u64,
}

/// One call for `rows` (all `Sending`, one action, one key), and the verdict on its answer.
async fn send_once(state: &AppState, rows: &[Submission]) -> Result<Tried, OutboxError> {
    let at = Utc::now();
    let (answer, duration_ms) = call(state, rows).await?;
    let settings = state.outbox.settings();
    let verdict = verdict(&answer, rows, Utc::now(), &settings, rand::random());
    Ok(Tried {
        verdict,
        at,
        duration_ms,
    })
}

/// The call itself: Metrc's answer (a refusal with its key probed), and the call's duration in
/// ms (0 when nothing was sent).
async fn call(state: &AppState, rows: &[Submission]) -> Result<(Answer, u64), OutboxError> {
    let first = &rows[0];
    let license = first.license_number.as_str();
    let action = first.action;
    let typed = match Rows::of(action, rows) {
        Ok(typed) => typed,
        Err(why) => {
            tracing::error!(license, %why, "a stored submission cannot be sent");
            let why = format!("Not sent: {why}.");
            let outcome = "Not sent: unreadable";
            return Ok((Answer::NotSent { why, outcome }, 0));
        }
    };
    // The facility's state's Metrc, with the key of that state (docs/design.md §12).
    let us_state = facilities::find_by_license(&state.db, license)
        .await?
        .map(|f| f.state)
        .unwrap_or_default();
    let metrc = match state.metrc.get(&us_state) {
        Ok(metrc) => metrc,
        Err(err) => {
            let why = format!("Not sent: {}", crate::error::AppError::from(err));
            let outcome = "Not sent: no Metrc for its state";
            return Ok((Answer::NotSent { why, outcome }, 0));
        }
    };
    let key = match carrier_key(state, first, &us_state).await? {
        Ok(key) => key,
        Err(why) => {
            let outcome = "Not sent: no usable key";
            return Ok((Answer::NotSent { why, outcome }, 0));
        }
    };

    let write_timeout = state.outbox.settings().write_timeout;
    let started = Instant::now();
    let answer = tokio::time::timeout(write_timeout, typed.send(metrc, &key, license)).await;
    let elapsed = started.elapsed();
    let ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    tracing::info!(
        license,
        action = %action.to_value(),
        rows = rows.len(),
        elapsed_ms = ms,
        ok = matches!(answer, Ok(Ok(_))),
        "outbox call"
    );
    let answer = match answer {
        Err(_) => Answer::NoAnswer {
            waited: write_timeout,
        },
        Ok(Ok(accepted)) => Answer::Accepted(accepted),
        Ok(Err(metrc::Error::NoAccess { status, .. })) => Answer::Refused {
            status,
            key: probe_key(state, metrc, first, &key).await?,
        },
        Ok(Err(metrc::Error::KeyInvalid)) => Answer::Refused {
            status: 401,
            key: probe_key(state, metrc, first, &key).await?,
        },
        Ok(Err(error)) => Answer::Failed {
            error,
            took: elapsed,
        },
    };
    Ok((answer, ms))
}

/// Metrc refused a write with 401/403: the key is dead (regenerated, revoked), or its user lacks
/// a permission. Only `GET /facilities/v2/` can tell (docs/metrc.md §3); a dead key is marked
/// invalid here (a user key on the user, a facility key on the facility).
async fn probe_key(
    state: &AppState,
    metrc: &metrc::Client,
    row: &Submission,
    key: &SecretString,
) -> Result<KeyProbe, OutboxError> {
    let license = &row.license_number;
    Ok(match metrc.facilities(key).await {
        Err(metrc::Error::KeyInvalid) => {
            // Onto the key that was refused only: one set meanwhile keeps its status.
            let refused = state.vault.fingerprint(key);
            match row.key_kind {
                KeyKind::User => {
                    user_metrc_keys::set_status(
                        &state.db,
                        row.user_id,
                        &refused,
                        KeyStatus::Invalid,
                    )
                    .await?;
                    tracing::warn!(user_id = row.user_id, license = %license, "user key refused by Metrc on a write: marked invalid");
                }
                KeyKind::Facility => {
                    let holders =
                        facilities::set_key_status(&state.db, &refused, KeyStatus::Invalid).await?;
                    tracing::warn!(license = %license, facilities = holders, "facility key refused by Metrc on a write: marked invalid");
                }
            }
            KeyProbe::Dead
        }
        Ok(_) => KeyProbe::Alive,
        Err(other) => KeyProbe::Unasked(other.to_string()),
    })
}

/// Records how each row settled, and one attempt per row, in one transaction; a row settles only
/// if it is still `Sending` under the claim `token` (else another server made it `Unknown`
/// meanwhile, and it stays so). Rows that stay `Sending` (sent again at once) get only their
/// attempt.
async fn settle(state: &AppState, token: &str, tried: &Tried) -> Result<(), OutboxError> {
    let txn = crate::ssr::db::begin_write(&state.db).await?;
    let mut attempts = Vec::with_capacity(tried.verdict.settled.len());
    for s in &tried.verdict.settled {
        if s.status != SubmissionStatus::Sending {
            let moved = submissions::transition_claimed(
                &txn,
                s.id,
                token,
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
                tracing::warn!(
                    submission = s.id,
                    "a row left this server's claim during its call (another server made it Unknown): its answer is only recorded as an attempt"
                );
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

    fn head(id: i64, license: &str, next: Option<DateTime<Utc>>) -> Submission {
        Submission {
            id,
            license_number: license.into(),
            status: SubmissionStatus::Queued,
            next_attempt_at: next,
            ..super::super::verdict::tests::rows(1).remove(0)
        }
    }

    #[test]
    fn due_are_ready_heads_and_left_sending_rows_unless_their_lease_is_live() {
        let now = Utc::now();
        let later = Some(now + chrono::Duration::seconds(5));
        let heads = [
            head(1, "READY", Some(now)),
            head(2, "BACKOFF", later),
            head(3, "LEASED", None),
            head(4, "ALSO-SENDING", None),
        ];
        let sending = ["ALSO-SENDING", "ORPHAN", "LEASED-SENDING", "ORPHAN"].map(String::from);
        let leased: BTreeSet<String> = ["LEASED", "LEASED-SENDING"].map(String::from).into();
        assert_eq!(
            due(&heads, &sending, &leased, now),
            ["READY", "ALSO-SENDING", "ORPHAN"],
            "oldest head first, each once; a backoff waits; a live lease is another's work"
        );
    }
}
