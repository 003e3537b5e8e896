//! Settling `Unknown` submissions (sent, answer lost) from Metrc's own data, where it tells:
//!
//! - recorded: the package is finished (finish), or at the new location (move);
//! - not recorded: the package (or its label) shows no change since the write was sent, once
//!   [`OutboxSettings::reconcile_after`] has passed (a call still inside Metrc could land until
//!   then); the submission is then queued again, in its place;
//! - otherwise (an adjustment that changed the package, plant waste) an admin decides after
//!   looking in Metrc ("Mark accepted" / "Mark not recorded").
//!
//! A settled row's decision is the reconciliation's, no admin's: an earlier approval or Retry is
//! cleared (`decided_by`), so a row queued again whose user has been deactivated meanwhile is
//! held for an admin by the send path like the rest of that user's work, never sent on the
//! strength of a decision made while the user was active (docs/decisions.md, "Conditional
//! transitions").
//!
//! With several servers on one database, one pass runs at a time: under the lease
//! [`LEASE`] (docs/design.md §11), taken for the pass and given up after it; a server that finds
//! it held skips its pass. Every verdict is a conditional write all the same.
//!
//! [`OutboxSettings::reconcile_after`]: crate::ssr::config::OutboxSettings::reconcile_after

use super::{KeyKind, OutboxError};
use crate::ssr::entities::submissions::Model as Submission;
use crate::ssr::lease::Lease;
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

/// The lease a reconciliation pass runs under: one server at a time.
pub const LEASE: &str = "job:outbox-reconcile";

/// What Metrc's data says about one unknown write.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Recorded(String),
    NotRecorded(String),
    /// Not (yet) known: look again at this time.
    Undecided(DateTime<Utc>),
}

/// Looks at every due `Unknown` submission once (at most [`PER_PASS`]), under the lease
/// [`LEASE`]; returns how many were settled: 0 when none is due, or when another server holds
/// the lease (its pass looks at them).
///
/// # Errors
/// [`OutboxError::Db`], [`OutboxError::Vault`].
pub async fn reconcile_due(state: &AppState) -> Result<usize, OutboxError> {
    // Most passes find nothing: they read, and leave the lease alone.
    if submissions::unknown_due(&state.db, Utc::now(), 1)
        .await?
        .is_empty()
    {
        return Ok(0);
    }
    let Some(lease) = Lease::take(&state.db, LEASE, &state.server_id, state.config.lease).await?
    else {
        tracing::debug!("another server is reconciling unknown outcomes");
        return Ok(0);
    };
    let settled = reconcile_under(state, &lease).await;
    if let Err(error) = lease.release().await {
        tracing::warn!(%error, "giving the reconciliation lease up failed: it expires by itself");
    }
    settled
}

/// [`reconcile_due`]'s pass, under `lease` (it stops early if the lease is lost).
async fn reconcile_under(state: &AppState, lease: &Lease) -> Result<usize, OutboxError> {
    let now = Utc::now();
    let rows = submissions::unknown_due(&state.db, now, PER_PASS).await?;
    let mut settled = 0;
    let mut requeued = false;
    for row in rows {
        if lease.is_lost() {
            tracing::warn!("the reconciliation lease was lost: the pass stops here");
            break;
        }
        let verdict = look(state, &row, now).await?;
        let (to, message, outcome) = match &verdict {
            Verdict::Undecided(at) => {
                submissions::transition_examined(
                    &state.db,
                    &row,
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
        let moved = submissions::transition_examined(
            &txn,
            &row,
            to,
            Change {
                message: Some(Some(message)),
                decision: Some(Some(format!(
                    "Reconciled automatically from Metrc's data: {}",
                    outcome.trim_start_matches("Reconciled: ")
                ))),
                // No admin made this decision: an earlier one does not carry over to the next
                // attempt (a departed user's row is held when it comes up to be sent).
                decided_by: Some(None),
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
) -> Result<Option<(SecretString, String)>, OutboxError> {
    let facility = facilities::find_by_license(&state.db, &row.license_number).await?;
    let us_state = facility
        .as_ref()
        .map(|f| f.state.clone())
        .unwrap_or_default();
    if let Some(f) = facility
        && f.key_status == KeyStatus::Valid
        && let Some(ciphertext) = f.facility_key_ciphertext
    {
        return Ok(Some((state.vault.decrypt(&ciphertext)?, us_state)));
    }
    if row.key_kind == KeyKind::User
        && let Some(key) = user_metrc_keys::find_for_user(&state.db, row.user_id, &us_state).await?
        && key.status != KeyStatus::Invalid
    {
        return Ok(Some((state.vault.decrypt(&key.ciphertext)?, us_state)));
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
    let timing = Timing {
        sent_at: row.sent_at.unwrap_or(row.updated_at),
        now,
        reconcile_after: chrono::Duration::from_std(settings.reconcile_after).unwrap_or_default(),
        clock_margin: chrono::Duration::from_std(settings.clock_margin).unwrap_or_default(),
        recheck: now
            + chrono::Duration::from_std(
                settings
                    .reconcile_after
                    .clamp(Duration::from_secs(1), Duration::from_secs(60)),
            )
            .unwrap_or_default(),
    };
    let action = Some(row.action);
    let request: Value = serde_json::from_str(&row.request).unwrap_or(Value::Null);
    let label = text(&request, "Label").filter(|l| !l.is_empty());
    let (Some(action), Some(label)) = (action, label) else {
        // Plant waste: nothing to look up; an admin decides.
        return Ok(Verdict::Undecided(now + chrono::Duration::days(1)));
    };
    let Some((key, us_state)) = reading_key(state, row).await? else {
        return Ok(Verdict::Undecided(timing.recheck));
    };
    let found = state
        .metrc
        .get(&us_state)?
        .package_by_label(&key, &row.license_number, label)
        .await;
    drop(key);
    let package = match found {
        Ok(found) => found,
        Err(error) => {
            tracing::debug!(submission = row.id, %error, "package lookup failed; looked at again later");
            return Ok(Verdict::Undecided(timing.recheck));
        }
    };
    let seen = match &package {
        None => None,
        Some(package) => {
            // Without an offset, Metrc's time is the facility's local time (docs/metrc.md §6).
            let zone =
                crate::ssr::sync::upsert::facility_zone(&state.db, &row.license_number).await?;
            Some(Seen {
                finished: package.is_finished == Some(true) || package.finished_date.is_some(),
                location: package.location_name.as_deref(),
                last_modified: package.last_modified.as_ref().and_then(|t| t.to_utc(zone)),
            })
        }
    };
    let write = Write {
        action,
        label,
        location: text(&request, "Location"),
    };
    Ok(judge(&write, seen.as_ref(), &timing))
}

/// The write a submission made, as far as Metrc's package data can confirm it.
struct Write<'a> {
    action: SubmissionAction,
    label: &'a str,
    /// Where a change of location moves the package.
    location: Option<&'a str>,
}

/// What Metrc shows of the package now.
struct Seen<'a> {
    finished: bool,
    location: Option<&'a str>,
    last_modified: Option<DateTime<Utc>>,
}

/// When the write was sent, and how long Metrc's data needs before it can say "not recorded".
struct Timing {
    sent_at: DateTime<Utc>,
    now: DateTime<Utc>,
    /// [`crate::ssr::config::OutboxSettings::reconcile_after`].
    reconcile_after: chrono::Duration,
    /// [`crate::ssr::config::OutboxSettings::clock_margin`]: Metrc's `LastModified` must be this much earlier
    /// than the send to prove the write did not land (the clocks may disagree).
    clock_margin: chrono::Duration,
    /// When to look again if Metrc's data cannot tell yet.
    recheck: DateTime<Utc>,
}

/// What Metrc's package data (`seen`, `None` when Metrc knows no such package) says about
/// `write`: a pure decision, one unit test per case.
fn judge(write: &Write, seen: Option<&Seen>, t: &Timing) -> Verdict {
    let label = write.label;
    let settled_in_metrc = t.now >= t.sent_at + t.reconcile_after;
    let Some(seen) = seen else {
        return if settled_in_metrc {
            Verdict::NotRecorded(format!("Metrc knows no package {label}"))
        } else {
            Verdict::Undecided(t.recheck)
        };
    };
    match write.action {
        SubmissionAction::FinishPackage if seen.finished => {
            return Verdict::Recorded(format!("package {label} is finished"));
        }
        SubmissionAction::ChangePackageLocation => {
            if let (Some(at), Some(wanted)) = (seen.location, write.location)
                && at.trim().eq_ignore_ascii_case(wanted)
            {
                return Verdict::Recorded(format!("package {label} is at {at}"));
            }
        }
        _ => {}
    }
    match seen.last_modified {
        Some(changed) if changed + t.clock_margin < t.sent_at && settled_in_metrc => {
            Verdict::NotRecorded(format!(
                "package {label} unchanged since before it was sent (last modified {})",
                changed.format("%Y-%m-%d %H:%M:%S UTC")
            ))
        }
        _ => Verdict::Undecided(t.recheck),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap() + chrono::Duration::seconds(secs)
    }

    /// Sent at 0, looked at `now`, "not recorded" allowed from 120 s, a clock margin of 60 s.
    fn timing(now: i64) -> Timing {
        Timing {
            sent_at: at(0),
            now: at(now),
            reconcile_after: chrono::Duration::seconds(120),
            clock_margin: chrono::Duration::seconds(60),
            recheck: at(now + 60),
        }
    }

    const FINISH: Write = Write {
        action: SubmissionAction::FinishPackage,
        label: "1A4000000000000000000001",
        location: None,
    };

    fn seen(finished: bool, location: Option<&str>, modified: Option<i64>) -> Seen<'_> {
        Seen {
            finished,
            location,
            last_modified: modified.map(at),
        }
    }

    #[test]
    fn a_finished_package_says_a_finish_was_recorded_at_once() {
        let verdict = judge(&FINISH, Some(&seen(true, None, Some(5))), &timing(1));
        assert!(matches!(verdict, Verdict::Recorded(e) if e.ends_with("is finished")));
    }

    #[test]
    fn a_package_at_the_new_location_says_a_move_was_recorded() {
        let write = Write {
            action: SubmissionAction::ChangePackageLocation,
            location: Some("Vault B"),
            ..FINISH
        };
        let verdict = judge(
            &write,
            Some(&seen(false, Some(" vault b "), None)),
            &timing(1),
        );
        assert!(matches!(verdict, Verdict::Recorded(e) if e.ends_with("is at  vault b ")));
        let elsewhere = judge(
            &write,
            Some(&seen(false, Some("Vault A"), None)),
            &timing(1),
        );
        assert_eq!(elsewhere, Verdict::Undecided(at(61)));
    }

    #[test]
    fn no_such_package_is_not_recorded_only_once_reconcile_after_has_passed() {
        assert_eq!(
            judge(&FINISH, None, &timing(119)),
            Verdict::Undecided(at(179))
        );
        assert!(matches!(
            judge(&FINISH, None, &timing(120)),
            Verdict::NotRecorded(e) if e.starts_with("Metrc knows no package")
        ));
    }

    #[test]
    fn an_unchanged_package_is_not_recorded_only_beyond_the_clock_margin() {
        // Last modified 61 s before the send: beyond the 60 s margin, so not recorded.
        let old = seen(false, None, Some(-61));
        assert!(matches!(
            judge(&FINISH, Some(&old), &timing(120)),
            Verdict::NotRecorded(e) if e.contains("unchanged since before it was sent")
        ));
        // ... but not before `reconcile_after`.
        assert_eq!(
            judge(&FINISH, Some(&old), &timing(119)),
            Verdict::Undecided(at(179))
        );
        // Within the margin (the clocks may disagree by that much), it proves nothing.
        let close = seen(false, None, Some(-59));
        assert_eq!(
            judge(&FINISH, Some(&close), &timing(600)),
            Verdict::Undecided(at(660))
        );
        // Changed after the send, or no time at all: an admin decides.
        let later = seen(false, None, Some(3));
        assert_eq!(
            judge(&FINISH, Some(&later), &timing(600)),
            Verdict::Undecided(at(660))
        );
        let timeless = seen(false, None, None);
        assert_eq!(
            judge(&FINISH, Some(&timeless), &timing(600)),
            Verdict::Undecided(at(660))
        );
    }
}
