//! One page of stored submissions as every list shows them (Metrc Submissions, a user's own).

use super::OutboxError;
use super::view;
use crate::ssr::queries::facilities;
use crate::ssr::queries::submissions::{self, Selection};
use crate::ssr::state::AppState;
use crate::types::inventory::{PAGE_SIZE, Page};
use crate::types::submissions::SubmissionRow;
use sea_orm::ConnectionTrait;

/// Rows per page of every submissions list.
pub(super) const ROWS_PER_PAGE: u32 = PAGE_SIZE;

/// Page `page` (0-based) of the rows `selection` selects, newest first, with their users' names.
pub(super) async fn page_of(
    state: &AppState,
    selection: &Selection,
    page: u32,
) -> Result<Page<SubmissionRow>, OutboxError> {
    let (models, total) = submissions::page(
        &state.db,
        selection,
        u64::from(page),
        u64::from(ROWS_PER_PAGE),
    )
    .await?;
    let names = submissions::user_names(&state.db, models.iter().map(|m| m.user_id)).await?;
    Ok(Page::new(
        models.iter().map(|m| view::row(m, &names)).collect(),
        total,
        page,
        ROWS_PER_PAGE,
    ))
}

/// `rows` with the states of their facilities (`state`), looked up in one query (`""` for a
/// license without a facility, or one stored before states were recorded).
pub(super) async fn with_states(
    db: &impl ConnectionTrait,
    rows: Vec<SubmissionRow>,
) -> Result<Vec<SubmissionRow>, OutboxError> {
    let states =
        facilities::states_by_license(db, rows.iter().map(|r| r.license_number.clone())).await?;
    Ok(rows
        .into_iter()
        .map(|mut row| {
            row.state = states.get(&row.license_number).cloned().unwrap_or_default();
            row
        })
        .collect())
}

/// A page of rows with the states of their facilities ([`with_states`]).
pub async fn page_with_states(
    state: &AppState,
    page: Page<SubmissionRow>,
) -> Result<Page<SubmissionRow>, OutboxError> {
    let Page {
        rows,
        total,
        more,
        page,
        page_size,
    } = page;
    Ok(Page {
        rows: with_states(&state.db, rows).await?,
        total,
        more,
        page,
        page_size,
    })
}
