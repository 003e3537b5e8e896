//! A submission is stored once per form (issue 13, item 8): the token the work form sends with
//! "Submit to Metrc", unique per submitting user, so a repeated submit (a retry after a lost
//! answer, a double click) finds the first submission instead of making another. Rows stored
//! before this migration have none (NULL: the index does not compare them). Why per user:
//! docs/decisions.md, "A submission is submitted once".

use crate::change;
use sea_orm_migration::{prelude::*, schema::string_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The unique index on (user, token).
const INDEX: &str = "idx_submissions_user_submit_token";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::add_columns(
            manager,
            Submissions::Table,
            [string_null(Submissions::SubmitToken)],
        )
        .await?;
        change::create_unique_index(
            manager,
            INDEX,
            Submissions::Table,
            [Submissions::UserId, Submissions::SubmitToken],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::drop_index(manager, INDEX, Submissions::Table).await?;
        change::drop_columns(manager, Submissions::Table, [Submissions::SubmitToken]).await
    }
}

#[derive(DeriveIden)]
enum Submissions {
    Table,
    /// The submitting user.
    UserId,
    /// The work form's token (32 lowercase hex digits), NULL for rows stored before it existed.
    SubmitToken,
}
