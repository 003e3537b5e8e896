//! `Sending` rows whose answer was never stored become `Unknown` (never sent again blindly;
//! [`super::reconcile`] then settles them from Metrc's data, or an admin does):
//!
//! - at start-up, every row still `Sending`: the previous run stopped during its call
//!   ([`recover_interrupted`], before the worker sends anything);
//! - while running, a row `Sending` for longer than any call and its bookkeeping can take
//!   ([`stuck_after`]): its answer came but could not be stored (the database failed at that
//!   moment). The worker sweeps for these on every pass ([`sweep_stuck`]); until then the
//!   facility's later rows wait (`send::claim`), so nothing overtakes it.

use super::OutboxError;
use crate::ssr::entities::submissions::Model as Submission;
use crate::ssr::queries::submission_attempts::{self, NewAttempt};
use crate::ssr::queries::submissions::{self, Change};
use crate::ssr::state::AppState;
use crate::types::submissions::SubmissionStatus;
use chrono::{DateTime, Utc};
use std::time::Duration;

/// What a row says after a crash left its call without an answer.
pub const INTERRUPTED: &str = "Sent, but the server stopped before Metrc answered: it may or may not be recorded. It is not sent again until Metrc's data (or an admin) says it was not recorded.";

/// What a row says when its answer could not be stored.
pub const UNSTORED: &str = "Sent, but Metrc's answer could not be stored: it may or may not be recorded. It is not sent again until Metrc's data (or an admin) says it was not recorded.";

/// How long a row may stay `Sending` before it counts as stuck: the write timeout twice (the
/// call, then the key check that may follow a refusal) and a minute for storing the answer.
pub fn stuck_after(write_timeout: Duration) -> Duration {
    write_timeout * 2 + Duration::from_secs(60)
}

/// Whether a row `Sending` since `sent_at` (none: unknown, so stuck) is stuck at `now`.
pub fn is_stuck(
    sent_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    write_timeout: Duration,
) -> bool {
    let limit =
        chrono::Duration::from_std(stuck_after(write_timeout)).unwrap_or(chrono::Duration::MAX);
    sent_at.is_none_or(|at| now - at > limit)
}

/// Start-up, before the worker runs: every row still `Sending` was in a call the previous run
/// never saw answered. It becomes `Unknown`. Returns how many.
pub async fn recover_interrupted(state: &AppState) -> Result<usize, OutboxError> {
    let rows = submissions::sending(&state.db, None).await?;
    let moved = to_unknown(
        state,
        &rows,
        INTERRUPTED,
        "No answer: the server stopped during the call",
    )
    .await?;
    if moved > 0 {
        tracing::warn!(
            count = moved,
            "submissions were being sent when the server stopped: now Unknown until reconciled"
        );
    }
    Ok(moved)
}

/// Every row `Sending` for longer than [`stuck_after`] becomes `Unknown`. Returns how many.
pub async fn sweep_stuck(state: &AppState) -> Result<usize, OutboxError> {
    let now = Utc::now();
    let write_timeout = state.outbox.settings().write_timeout;
    let rows: Vec<Submission> = submissions::sending(&state.db, None)
        .await?
        .into_iter()
        .filter(|row| is_stuck(row.sent_at, now, write_timeout))
        .collect();
    let moved = to_unknown(
        state,
        &rows,
        UNSTORED,
        "No answer stored: the row stayed Sending",
    )
    .await?;
    if moved > 0 {
        tracing::warn!(
            count = moved,
            "submissions stayed Sending (their answer could not be stored): now Unknown until reconciled"
        );
    }
    Ok(moved)
}

/// Moves `rows` (as read, `Sending`) to `Unknown` with `message`, each with an attempt saying
/// `outcome`, in one transaction; a row changed since it was read is left alone. Returns how many
/// moved.
async fn to_unknown(
    state: &AppState,
    rows: &[Submission],
    message: &str,
    outcome: &str,
) -> Result<usize, OutboxError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let txn = crate::ssr::db::begin_write(&state.db).await?;
    let mut attempts = Vec::with_capacity(rows.len());
    for row in rows {
        let moved = submissions::transition_examined(
            &txn,
            row,
            SubmissionStatus::Unknown,
            Change {
                message: Some(Some(message.to_owned())),
                next_attempt_at: Some(Some(now)),
                metrc_status: Some(None),
                ..Default::default()
            },
        )
        .await?;
        if moved {
            let at = row.sent_at.unwrap_or(now);
            attempts.push(NewAttempt {
                submission_id: row.id,
                at,
                http_status: None,
                outcome,
                duration_ms: u64::try_from((now - at).num_milliseconds()).unwrap_or_default(),
            });
        }
    }
    submission_attempts::record_many(&txn, &attempts).await?;
    txn.commit().await?;
    Ok(attempts.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_stuck_only_after_two_write_timeouts_and_a_minute() {
        let now = Utc::now();
        let timeout = Duration::from_secs(30);
        assert_eq!(stuck_after(timeout), Duration::from_secs(120));
        assert!(!is_stuck(
            Some(now - chrono::Duration::seconds(120)),
            now,
            timeout
        ));
        assert!(is_stuck(
            Some(now - chrono::Duration::seconds(121)),
            now,
            timeout
        ));
        assert!(is_stuck(None, now, timeout));
    }
}
