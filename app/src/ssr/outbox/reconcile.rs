//! Settling `Unknown` submissions (sent, answer lost) from Metrc's own data, where it tells:
//!
//! - recorded: the package is finished (finish), or at the new location (move);
//! - not recorded: the package (or its label) shows no change since the write was sent, once
//!   [`OutboxSettings::reconcile_after`] has passed (a call still inside Metrc could land until
//!   then); the submission is then queued again, in its place;
//! - otherwise (an adjustment that changed the package, plant waste) an admin decides after
//!   looking in Metrc ("Mark accepted" / "Mark not recorded").
//!
//! [`OutboxSettings::reconcile_after`]: super::OutboxSettings::reconcile_after

use super::{KeyKind, OutboxError};
use crate::ssr::entities::submissions::Model as Submission;
use crate::ssr::queries::submission_attempts::{self, NewAttempt};
use crate::ssr::queries::submissions::{self, Change};
use crate::ssr::queries::{facilities, user_metrc_keys};
use crate::ssr::state::AppState;
use crate::types::keys::KeyStatus;
use crate::types::submissions::{SubmissionAction, SubmissionStatus};
use chrono::{DateTime, Utc};
use secrecy::SecretString;
use serde_json::Value;
use std::time::Duration;

/// Rows looked at per pass.
const PER_PASS: u64 = 50;
/// How much earlier than the send Metrc's `LastModified` must be to prove the write did not land.
const CLOCK_MARGIN: chrono::Duration = chrono::Duration::seconds(1);

/// What Metrc's data says about one unknown write.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Recorded(String),
    NotRecorded(String),
    /// Not (yet) known: look again at this time.
    Undecided(DateTime<Utc>),
}

/// Looks at every due `Unknown` submission once; returns how many were settled.
pub async fn reconcile_due(state: &AppState) -> Result<usize, OutboxError> {
    let now = Utc::now();
    let rows = submissions::unknown_due(&state.db, now, PER_PASS).await?;
    let mut settled = 0;
    let mut requeued = false;
    for row in rows {
        let verdict = look(state, &row, now).await?;
        let (to, message, outcome) = match &verdict {
            Verdict::Undecided(at) => {
                submissions::transition(
                    &state.db,
                    row.id,
                    &[SubmissionStatus::Unknown],
                    SubmissionStatus::Unknown,
                    Change {
                        next_attempt_at: Some(Some(*at)),
                        ..Default::default()
                    },
                )
                .await?;
                continue;
            }
            Verdict::Recorded(evidence) => (
                SubmissionStatus::Accepted,
                format!("Accepted: Metrc's data shows it was recorded ({evidence})."),
                format!("Reconciled: recorded ({evidence})"),
            ),
            Verdict::NotRecorded(evidence) => (
                SubmissionStatus::Queued,
                format!("Not recorded in Metrc ({evidence}): queued to be sent again."),
                format!("Reconciled: not recorded ({evidence})"),
            ),
        };
        let txn = crate::ssr::db::begin_write(&state.db).await?;
        let moved = submissions::transition(
            &txn,
            row.id,
            &[SubmissionStatus::Unknown],
            to,
            Change {
                message: Some(Some(message)),
                decision: Some(Some(format!(
                    "Reconciled automatically from Metrc's data: {}",
                    outcome.trim_start_matches("Reconciled: ")
                ))),
                next_attempt_at: Some(Some(now)),
                ..Default::default()
            },
        )
        .await?;
        if moved {
            submission_attempts::record_many(
                &txn,
                &[NewAttempt {
                    submission_id: row.id,
                    at: now,
                    http_status: None,
                    outcome: &outcome,
                    duration_ms: 0,
                }],
            )
            .await?;
        }
        txn.commit().await?;
        if moved {
            settled += 1;
            requeued |= to == SubmissionStatus::Queued;
            tracing::info!(submission = row.id, to = to.as_str(), %outcome, "unknown submission reconciled");
        }
    }
    if requeued {
        state.outbox.wake();
    }
    Ok(settled)
}

/// A key that may read the facility's packages: its facility key, else the submission's own key.
async fn reading_key(
    state: &AppState,
    row: &Submission,
) -> Result<Option<SecretString>, OutboxError> {
    if let Some(f) = facilities::find_by_license(&state.db, &row.license_number).await?
        && f.key_status == KeyStatus::Valid.as_str()
        && let Some(ciphertext) = f.facility_key_ciphertext
    {
        return Ok(Some(state.vault.decrypt(&ciphertext)?));
    }
    if KeyKind::parse(&row.key_kind) == Some(KeyKind::User)
        && let Some(key) = user_metrc_keys::find_for_user(&state.db, row.user_id).await?
        && key.status != KeyStatus::Invalid.as_str()
    {
        return Ok(Some(state.vault.decrypt(&key.ciphertext)?));
    }
    Ok(None)
}

fn text<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value.get(field).and_then(Value::as_str).map(str::trim)
}

async fn look(
    state: &AppState,
    row: &Submission,
    now: DateTime<Utc>,
) -> Result<Verdict, OutboxError> {
    let settings = state.outbox.settings();
    let after = chrono::Duration::from_std(settings.reconcile_after).unwrap_or_default();
    let recheck = now
        + chrono::Duration::from_std(
            settings
                .reconcile_after
                .clamp(Duration::from_secs(1), Duration::from_secs(60)),
        )
        .unwrap_or_default();
    let action = SubmissionAction::parse(&row.action);
    let request: Value = serde_json::from_str(&row.request).unwrap_or(Value::Null);
    let label = text(&request, "Label").filter(|l| !l.is_empty());
    let (Some(action), Some(label)) = (action, label) else {
        // Plant waste: nothing to look up; an admin decides.
        return Ok(Verdict::Undecided(now + chrono::Duration::days(1)));
    };
    let Some(key) = reading_key(state, row).await? else {
        return Ok(Verdict::Undecided(recheck));
    };
    let found = state
        .metrc
        .package_by_label(&key, &row.license_number, label)
        .await;
    drop(key);
    let sent_at = row.sent_at.unwrap_or(row.updated_at);
    let settled_in_metrc = now >= sent_at + after;
    let package = match found {
        Ok(Some(package)) => package,
        Ok(None) if settled_in_metrc => {
            return Ok(Verdict::NotRecorded(format!(
                "Metrc knows no package {label}"
            )));
        }
        Ok(None) => return Ok(Verdict::Undecided(recheck)),
        Err(error) => {
            tracing::debug!(submission = row.id, %error, "package lookup failed; looked at again later");
            return Ok(Verdict::Undecided(recheck));
        }
    };
    match action {
        SubmissionAction::FinishPackage
            if package.is_finished == Some(true) || package.finished_date.is_some() =>
        {
            return Ok(Verdict::Recorded(format!("package {label} is finished")));
        }
        SubmissionAction::ChangePackageLocation => {
            if let (Some(at), Some(wanted)) =
                (package.location_name.as_deref(), text(&request, "Location"))
                && at.trim().eq_ignore_ascii_case(wanted)
            {
                return Ok(Verdict::Recorded(format!("package {label} is at {at}")));
            }
        }
        _ => {}
    }
    // Without an offset, Metrc's time is the facility's local time (docs/metrc.md §6).
    let zone = crate::ssr::sync::upsert::facility_zone(&state.db, &row.license_number).await?;
    let last_modified = package.last_modified.and_then(|t| t.to_utc(zone));
    match last_modified {
        // A second of margin for clocks that disagree: closer than that proves nothing.
        Some(changed) if changed + CLOCK_MARGIN < sent_at && settled_in_metrc => {
            Ok(Verdict::NotRecorded(format!(
                "package {label} unchanged since before it was sent (last modified {})",
                changed.format("%Y-%m-%d %H:%M:%S UTC")
            )))
        }
        _ => Ok(Verdict::Undecided(recheck)),
    }
}
