//! Submissions: the work screens' pre-flight check and "Submit to Metrc", the signed-in user's own
//! submissions, and Metrc Submissions for admins (list, detail, Retry, Cancel, Approve, Deny,
//! reconcile an unknown outcome). No answer ever holds a key.

use crate::api::encoding::TextJson;
use crate::error::AppError;
use crate::types::inventory::Page;
// `submission_detail` below defines a `SubmissionDetail` (its arguments), hence the path.
use crate::types::submissions::{
    self as types, NewSubmission, Preflight, SubmissionAction, SubmissionFilter, SubmissionRow,
};
use leptos::prelude::*;

/// What would happen if the signed-in user submitted `action` at `license` now: the key that
/// would carry it, why it cannot be sent (a missing Metrc permission named exactly), what to
/// confirm first, whether an admin reviews it.
#[server(endpoint = "preflight_submission", output = TextJson)]
pub async fn preflight_submission(
    license: String,
    action: SubmissionAction,
) -> Result<Preflight, AppError> {
    use crate::ssr::{caller, outbox, state::state};

    let st = state()?;
    let me = caller::caller(&st).await?;
    Ok(outbox::preflight(&st, me.user.id, &license, action).await?)
}

/// "Submit to Metrc": stores the submission (checked first) and queues it, or holds it for an
/// admin's approval. The body is JSON: `{"input": {"license": "...", "input": {"AdjustPackage":
/// {...}}, "confirm_facility_key": false, "submit_token": "<32 lowercase hex digits>"}}`. A
/// token already stored by this user answers with that submission (nothing new is stored); with
/// other values it is refused (400), as is a missing or malformed token
/// (docs/decisions.md, "A submission is submitted once").
#[server(endpoint = "submit", input = leptos::server_fn::codec::Json, output = TextJson)]
pub async fn submit(input: NewSubmission) -> Result<SubmissionRow, AppError> {
    use crate::ssr::{caller, outbox, state::state};

    let st = state()?;
    let me = caller::caller(&st).await?;
    Ok(outbox::submit(&st, me.user.id, input).await?)
}

/// The signed-in user's own submissions, newest first (`page` is 0-based), each with its
/// facility's state.
#[server(endpoint = "my_submissions", output = TextJson)]
pub async fn my_submissions(page: u32) -> Result<Page<SubmissionRow>, AppError> {
    use crate::ssr::{caller, outbox, state::state};

    let st = state()?;
    let me = caller::caller(&st).await?;
    let page = outbox::my_submissions(&st, me.user.id, page).await?;
    Ok(outbox::admin::page_with_states(&st, page).await?)
}

/// Metrc Submissions: one page of the rows the filter selects, newest first, each with its
/// facility's state (`"state": "CO"` beside the row's fields). Admin only. The body is JSON:
/// `{"filter": {"tab": "Failed", "user_id": null, "license": null, "state": "CO", "status": null,
/// "compliant": null, "page": 0}}` (`state` may be left out: every state; not two letters: 400).
#[server(endpoint = "list_submissions", input = leptos::server_fn::codec::Json, output = TextJson)]
pub async fn list_submissions(filter: SubmissionFilter) -> Result<Page<SubmissionRow>, AppError> {
    use crate::ssr::{caller, outbox, state::state};

    let st = state()?;
    caller::admin(&st).await?;
    Ok(outbox::list(&st, &filter).await?)
}

/// One submission in detail. Admin only.
#[server(endpoint = "submission_detail", output = TextJson)]
pub async fn submission_detail(id: i64) -> Result<types::SubmissionDetail, AppError> {
    use crate::ssr::{caller, outbox, state::state};

    let st = state()?;
    caller::admin(&st).await?;
    Ok(outbox::detail(&st, id).await?)
}

/// "Retry": a failed submission (or one waiting for a backoff) is sent again now. Admin only.
#[server(endpoint = "retry_submission", output = TextJson)]
pub async fn retry_submission(id: i64) -> Result<types::SubmissionDetail, AppError> {
    use crate::ssr::{caller, outbox, state::state};

    let st = state()?;
    let me = caller::admin(&st).await?;
    Ok(outbox::retry(&st, me.actor(), id).await?)
}

/// "Cancel": a submission not sent yet never will be. Admin only.
#[server(endpoint = "cancel_submission", output = TextJson)]
pub async fn cancel_submission(id: i64) -> Result<types::SubmissionDetail, AppError> {
    use crate::ssr::{caller, outbox, state::state};

    let st = state()?;
    let me = caller::admin(&st).await?;
    Ok(outbox::cancel(&st, me.actor(), id).await?)
}

/// "Approve" a submission waiting for review: it is queued (audited). Admin only.
#[server(endpoint = "approve_submission", output = TextJson)]
pub async fn approve_submission(id: i64) -> Result<types::SubmissionDetail, AppError> {
    use crate::ssr::{caller, outbox, state::state};

    let st = state()?;
    let me = caller::admin(&st).await?;
    Ok(outbox::approve(&st, me.actor(), id).await?)
}

/// "Deny" a submission waiting for review, with a reason (required; audited). Admin only.
#[server(endpoint = "deny_submission", output = TextJson)]
pub async fn deny_submission(id: i64, reason: String) -> Result<types::SubmissionDetail, AppError> {
    use crate::ssr::{caller, outbox, state::state};

    let st = state()?;
    let me = caller::admin(&st).await?;
    Ok(outbox::deny(&st, me.actor(), id, &reason).await?)
}

/// "Mark accepted" (`accepted: true`) or "Mark not recorded" (queued to be sent again) for a
/// submission whose outcome is unknown, after looking in Metrc (audited). Admin only.
#[server(endpoint = "reconcile_submission", output = TextJson)]
pub async fn reconcile_submission(
    id: i64,
    accepted: bool,
) -> Result<types::SubmissionDetail, AppError> {
    use crate::ssr::{caller, outbox, state::state};

    let st = state()?;
    let me = caller::admin(&st).await?;
    Ok(outbox::reconcile_by_hand(&st, me.actor(), id, accepted).await?)
}
