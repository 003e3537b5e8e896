//! One page of stored submissions as every list shows them (Metrc Submissions, a user's own).

use super::OutboxError;
use super::view;
use crate::ssr::queries::submissions::{self, Selection};
use crate::ssr::state::AppState;
use crate::types::inventory::{PAGE_SIZE, Page};
use crate::types::submissions::SubmissionRow;

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
