//! Metrc Submissions for admins: the list (filters, tabs, pages), one submission in detail, and
//! the decisions on it: Retry, Cancel, Approve, Deny (with a reason) and, for an unknown outcome,
//! "Mark accepted" / "Mark not recorded". Every decision is one conditional status change and one
//! audit event, in one transaction.

use super::OutboxError;
use super::paging::{ROWS_PER_PAGE, page_of, with_states};
use super::view::{self, CANCEL_FROM, RETRY_FROM};
use crate::ssr::actor::Actor;
use crate::ssr::entities::audit_events::AuditAction;
use crate::ssr::input;
use crate::ssr::queries::audit_events::{self, NewAuditEvent};
use crate::ssr::queries::submissions::{self, Change, Selection};
use crate::ssr::queries::{facilities, submission_attempts};
use crate::ssr::state::AppState;
use crate::types::inventory::{Page, Total, state_filter};
use crate::types::submissions::{
    SubmissionDetail, SubmissionFilter, SubmissionRow, SubmissionStatus, SubmissionTab,
};
use chrono::Utc;
use sea_orm::{ActiveEnum, ConnectionTrait};

pub use super::paging::page_with_states;

/// The statuses of each tab (empty: any). "Failed" gathers what did not go through, or may not
/// have: `Failed`, `Rejected` and `Unknown`.
fn tab_statuses(tab: SubmissionTab) -> Vec<SubmissionStatus> {
    match tab {
        SubmissionTab::All | SubmissionTab::NotCompliant => Vec::new(),
        SubmissionTab::PendingApproval => vec![SubmissionStatus::PendingApproval],
        SubmissionTab::Failed => vec![
            SubmissionStatus::Failed,
            SubmissionStatus::Rejected,
            SubmissionStatus::Unknown,
        ],
    }
}

/// The rows a filter selects; `None` when its parts contradict each other (nothing matches), or
/// its state is not two letters ([`check`] refuses that first).
pub fn selection(filter: &SubmissionFilter) -> Option<Selection> {
    let state = state_filter(filter.state.as_deref()).ok()?;
    let mut statuses = tab_statuses(filter.tab);
    if let Some(status) = filter.status {
        if !statuses.is_empty() && !statuses.contains(&status) {
            return None;
        }
        statuses = vec![status];
    }
    let mut compliant = filter.compliant;
    if filter.tab == SubmissionTab::NotCompliant {
        if compliant == Some(true) {
            return None;
        }
        compliant = Some(false);
    }
    Some(Selection {
        user_id: filter.user_id,
        license_number: filter
            .license
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned),
        state,
        statuses,
        compliant,
    })
}

/// The filter's bounds: its facility a short text, its state two letters (else `BadInput`).
fn check(filter: &SubmissionFilter) -> Result<(), OutboxError> {
    input::filter(filter.license.as_deref(), "facility")?;
    state_filter(filter.state.as_deref())
        .map_err(|message| OutboxError::BadInput(message.into()))?;
    Ok(())
}

/// One page of Metrc Submissions, newest first, each row with its facility's state.
pub async fn list(
    state: &AppState,
    filter: &SubmissionFilter,
) -> Result<Page<SubmissionRow>, OutboxError> {
    check(filter)?;
    match selection(filter) {
        Some(selection) => {
            page_with_states(state, page_of(state, &selection, filter.page).await?).await
        }
        None => Ok(Page::new(
            Vec::new(),
            Total::default(),
            filter.page,
            ROWS_PER_PAGE,
        )),
    }
}

/// Every row a filter selects (paging ignored), newest first, at most `limit`, each with its
/// facility's state. A filter out of bounds is refused (`BadInput`).
pub async fn all_rows(
    state: &AppState,
    filter: &SubmissionFilter,
    limit: u64,
) -> Result<Vec<SubmissionRow>, OutboxError> {
    selected_rows(&state.db, filter, limit).await
}

/// [`all_rows`], read from `db`.
pub(super) async fn selected_rows(
    db: &impl ConnectionTrait,
    filter: &SubmissionFilter,
    limit: u64,
) -> Result<Vec<SubmissionRow>, OutboxError> {
    check(filter)?;
    let Some(selection) = selection(filter) else {
        return Ok(Vec::new());
    };
    let models = submissions::all(db, &selection, limit).await?;
    let names = submissions::user_names(db, models.iter().map(|m| m.user_id)).await?;
    with_states(db, models.iter().map(|m| view::row(m, &names)).collect()).await
}

/// One submission: request and response bodies, attempts, decision, what may be done with it.
pub async fn detail(state: &AppState, id: i64) -> Result<SubmissionDetail, OutboxError> {
    let model = submissions::find(&state.db, id)
        .await?
        .ok_or(OutboxError::NotFound)?;
    let names = submissions::user_names(&state.db, [model.user_id]).await?;
    let attempts = submission_attempts::for_submission(&state.db, id).await?;
    let mut detail = view::detail(&model, &names, &attempts);
    // With several states served, the facility's state beside it.
    if state.metrc.several()
        && let Some(code) = facilities::states_by_license(&state.db, [model.license_number])
            .await?
            .into_values()
            .next()
    {
        detail.row.state = code;
    }
    Ok(detail)
}

/// An admin's decision: `id` moves from one of `from` to `to` (else `Conflict`), audited.
struct Decision<'a> {
    from: &'a [SubmissionStatus],
    to: SubmissionStatus,
    verb: &'static str,
    audit_action: AuditAction,
    change: Change,
    reason: Option<&'a str>,
}

async fn decide(
    state: &AppState,
    actor: Actor<'_>,
    id: i64,
    decision: Decision<'_>,
) -> Result<SubmissionDetail, OutboxError> {
    let before = submissions::find(&state.db, id)
        .await?
        .ok_or(OutboxError::NotFound)?;
    let txn = crate::ssr::db::begin_write(&state.db).await?;
    let moved =
        submissions::transition(&txn, id, decision.from, decision.to, decision.change).await?;
    if !moved {
        txn.rollback().await?;
        let now = submissions::find(&state.db, id)
            .await?
            .map_or(SubmissionStatus::Unknown, |m| view::status_of(&m));
        return Err(OutboxError::Conflict {
            now,
            verb: decision.verb,
        });
    }
    audit_events::record(
        &txn,
        NewAuditEvent {
            actor,
            action: decision.audit_action,
            subject: &format!("submission:{id}"),
            detail: serde_json::json!({
                "submission_id": id,
                "license": before.license_number,
                "user_id": before.user_id,
                "action": before.action.to_value(),
                "from": before.status.as_str(),
                "to": decision.to.as_str(),
                "reason": decision.reason,
            }),
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(
        submission = id,
        %actor,
        from = before.status.as_str(),
        to = decision.to.as_str(),
        "submission decided by an admin"
    );
    if decision.to == SubmissionStatus::Queued {
        state.outbox.wake();
    }
    detail(state, id).await
}

fn queued_now(message: String, decision: Option<String>, actor: Actor<'_>) -> Change {
    Change {
        message: Some(Some(message)),
        next_attempt_at: Some(Some(Utc::now())),
        decision: decision.map(Some),
        decided_by: Some(actor.user_id()),
        ..Default::default()
    }
}

/// "Retry": a failed (or backing-off) submission is queued to be sent now.
pub async fn retry(
    state: &AppState,
    actor: Actor<'_>,
    id: i64,
) -> Result<SubmissionDetail, OutboxError> {
    decide(
        state,
        actor,
        id,
        Decision {
            from: &RETRY_FROM,
            to: SubmissionStatus::Queued,
            verb: "retried",
            audit_action: AuditAction::SubmissionRetry,
            change: queued_now(format!("Queued again by {}.", actor.name()), None, actor),
            reason: None,
        },
    )
    .await
}

/// "Cancel": a submission not sent (and not possibly in Metrc) will never be.
pub async fn cancel(
    state: &AppState,
    actor: Actor<'_>,
    id: i64,
) -> Result<SubmissionDetail, OutboxError> {
    decide(
        state,
        actor,
        id,
        Decision {
            from: &CANCEL_FROM,
            to: SubmissionStatus::Cancelled,
            verb: "cancelled",
            audit_action: AuditAction::SubmissionCancel,
            change: Change {
                message: Some(Some(format!(
                    "Cancelled by {}: not sent to Metrc.",
                    actor.name()
                ))),
                decided_by: Some(actor.user_id()),
                next_attempt_at: Some(None),
                ..Default::default()
            },
            reason: None,
        },
    )
    .await
}

/// "Approve": a submission waiting for review is queued.
pub async fn approve(
    state: &AppState,
    actor: Actor<'_>,
    id: i64,
) -> Result<SubmissionDetail, OutboxError> {
    let text = format!("Approved by {}.", actor.name());
    decide(
        state,
        actor,
        id,
        Decision {
            from: &[SubmissionStatus::PendingApproval],
            to: SubmissionStatus::Queued,
            verb: "approved",
            audit_action: AuditAction::SubmissionApprove,
            change: queued_now(text.clone(), Some(text), actor),
            reason: None,
        },
    )
    .await
}

/// "Deny": a submission waiting for review is never sent; the reason is required and shown.
pub async fn deny(
    state: &AppState,
    actor: Actor<'_>,
    id: i64,
    reason: &str,
) -> Result<SubmissionDetail, OutboxError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(OutboxError::BadInput(
            "Give a reason for denying it: the user sees it.".into(),
        ));
    }
    input::note(reason, "reason")?;
    let text = format!("Denied by {}: {reason}", actor.name());
    decide(
        state,
        actor,
        id,
        Decision {
            from: &[SubmissionStatus::PendingApproval],
            to: SubmissionStatus::Denied,
            verb: "denied",
            audit_action: AuditAction::SubmissionDeny,
            change: Change {
                message: Some(Some(text.clone())),
                decision: Some(Some(text)),
                decided_by: Some(actor.user_id()),
                next_attempt_at: Some(None),
                ..Default::default()
            },
            reason: Some(reason),
        },
    )
    .await
}

/// "Mark accepted" / "Mark not recorded" for an unknown outcome, after the admin looked in
/// Metrc: accepted, or queued to be sent again.
pub async fn reconcile_by_hand(
    state: &AppState,
    actor: Actor<'_>,
    id: i64,
    accepted: bool,
) -> Result<SubmissionDetail, OutboxError> {
    let (to, text) = if accepted {
        (
            SubmissionStatus::Accepted,
            format!("Marked accepted by {} after checking Metrc.", actor.name()),
        )
    } else {
        (
            SubmissionStatus::Queued,
            format!(
                "Marked not recorded by {} after checking Metrc: queued to be sent again.",
                actor.name()
            ),
        )
    };
    decide(
        state,
        actor,
        id,
        Decision {
            from: &[SubmissionStatus::Unknown],
            to,
            verb: "reconciled",
            audit_action: AuditAction::SubmissionReconcile,
            change: queued_now(text.clone(), Some(text), actor),
            reason: Some(if accepted { "accepted" } else { "not recorded" }),
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_and_filters_combine() {
        let failed = SubmissionFilter {
            tab: SubmissionTab::Failed,
            ..Default::default()
        };
        assert_eq!(selection(&failed).unwrap().statuses.len(), 3);
        let contradiction = SubmissionFilter {
            tab: SubmissionTab::PendingApproval,
            status: Some(SubmissionStatus::Accepted),
            ..Default::default()
        };
        assert!(selection(&contradiction).is_none());
        let not_compliant = SubmissionFilter {
            tab: SubmissionTab::NotCompliant,
            license: Some("  ".into()),
            ..Default::default()
        };
        let s = selection(&not_compliant).unwrap();
        assert_eq!(s.compliant, Some(false));
        assert_eq!(s.license_number, None);
        assert_eq!(s.state, None);
    }

    #[test]
    fn a_state_is_two_letters_upper_cased_or_refused() {
        let in_state = |state: &str| SubmissionFilter {
            state: Some(state.into()),
            ..Default::default()
        };
        assert_eq!(
            selection(&in_state(" co ")).unwrap().state.as_deref(),
            Some("CO")
        );
        assert_eq!(selection(&in_state("")).unwrap().state, None);
        assert!(check(&in_state("MI")).is_ok());
        for bad in ["Colorado", "C", "C0"] {
            assert!(
                selection(&in_state(bad)).is_none(),
                "{bad}: selects nothing"
            );
            match check(&in_state(bad)) {
                Err(OutboxError::BadInput(message)) => {
                    assert_eq!(message, "The state must be two letters, such as CO.");
                }
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
