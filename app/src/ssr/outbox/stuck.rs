//! `Sending` rows whose answer was never stored become `Unknown` (never sent again blindly;
//! [`super::reconcile`] then settles them from Metrc's data, or an admin does).
//!
//! A row is marked `Sending` under its facility's outbox lease (`outbox:<license>`, the lease's
//! token stored in `claim_token`; docs/design.md §11), and its answer is stored only while it is
//! still `Sending` under that token. A server that takes the lease ([`super::send::drain`]) first
//! looks for rows of the facility still `Sending` under another token (or none: rows claimed
//! before tokens were stored): their server lost the lease before storing their answer. It
//! stopped (killed, or a stop cut its call off), or storing failed and its drain gave the lease
//! up. Their lease had expired or was released, so their call is over or past saving: they
//! become `Unknown` ([`take_over`]) before anything else of the facility is sent, so nothing
//! overtakes them. Were the old holder still to store its answer, whichever of the two
//! conditional writes comes first stands.
//!
//! Nothing else touches `Sending` rows: a server starting, or restarting, leaves another live
//! server's calls alone; only a holder of the facility's lease acts, and only once the previous
//! holder's lease has gone.

use super::OutboxError;
use crate::ssr::entities::submissions::Model as Submission;
use crate::ssr::queries::leases::{self, Held};
use crate::ssr::queries::submission_attempts::{self, NewAttempt};
use crate::ssr::queries::submissions::{self, Change};
use crate::ssr::state::AppState;
use crate::types::submissions::SubmissionStatus;
use chrono::Utc;

/// What a row says after its server stopped (or failed to store the answer) during its call.
pub const INTERRUPTED: &str = "Sent, but the server stopped before Metrc answered: it may or may not be recorded. It is not sent again until Metrc's data (or an admin) says it was not recorded.";

/// The attempt recorded for such a row.
pub const INTERRUPTED_OUTCOME: &str = "No answer: the server stopped during the call";

/// Whether a row `Sending` was claimed under another lease than the one whose token is `token`
/// (or before claims were recorded): its call belongs to a holder that is gone.
pub fn left_behind(row: &Submission, token: &str) -> bool {
    row.claim_token.as_deref() != Some(token)
}

/// Under the facility's lease `claim`, just taken: every row of `license` still `Sending` under
/// another claim becomes `Unknown` ([`INTERRUPTED`], an attempt saying [`INTERRUPTED_OUTCOME`]),
/// fenced by `claim` (a holder that lost the lease meanwhile changes nothing). Returns how many.
///
/// # Errors
/// [`OutboxError::Db`].
pub async fn take_over(
    state: &AppState,
    license: &str,
    claim: &Held,
) -> Result<usize, OutboxError> {
    let rows: Vec<Submission> = submissions::sending(&state.db, Some(license))
        .await?
        .into_iter()
        .filter(|row| left_behind(row, &claim.token))
        .collect();
    let moved = to_unknown(state, &rows, claim).await?;
    if moved > 0 {
        tracing::warn!(
            license,
            count = moved,
            "submissions were being sent by a server that stopped (or could not store the answer): now Unknown until reconciled"
        );
    }
    Ok(moved)
}

/// Moves `rows` (as read, `Sending`) to `Unknown` with [`INTERRUPTED`], each with an attempt
/// saying [`INTERRUPTED_OUTCOME`], in one transaction, while `claim` is live; a row changed since
/// it was read is left alone. Returns how many moved.
async fn to_unknown(
    state: &AppState,
    rows: &[Submission],
    claim: &Held,
) -> Result<usize, OutboxError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let now = Utc::now();
    let txn = crate::ssr::db::begin_write(&state.db).await?;
    let mut attempts = Vec::with_capacity(rows.len());
    for row in rows {
        let moved = submissions::transition_examined_fenced(
            &txn,
            row,
            SubmissionStatus::Unknown,
            Change {
                message: Some(Some(INTERRUPTED.to_owned())),
                next_attempt_at: Some(Some(now)),
                metrc_status: Some(None),
                ..Default::default()
            },
            leases::still_held(claim, now),
        )
        .await?;
        if moved {
            let at = row.sent_at.unwrap_or(now);
            attempts.push(NewAttempt {
                submission_id: row.id,
                at,
                http_status: None,
                outcome: INTERRUPTED_OUTCOME,
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
    fn a_row_is_left_behind_unless_claimed_under_this_lease() {
        let row = |claim: Option<&str>| Submission {
            claim_token: claim.map(str::to_owned),
            ..super::super::verdict::tests::rows(1).remove(0)
        };
        assert!(!left_behind(&row(Some("mine")), "mine"));
        assert!(left_behind(&row(Some("theirs")), "mine"));
        assert!(left_behind(&row(None), "mine"), "claimed before tokens");
    }
}
