//! Server-side sessions. The cookie holds only the session id; the data lives here, with the
//! signed-in user's id in its own column so all of a user's sessions can be ended at once.

use crate::change;
use sea_orm_migration::{
    prelude::*,
    schema::{integer_null, string_len, text, timestamp_with_time_zone},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::create_table(
            manager,
            Table::create()
                .table(Sessions::Table)
                .col(string_len(Sessions::Id, 32).primary_key())
                .col(integer_null(Sessions::UserId))
                .col(text(Sessions::Data))
                .col(timestamp_with_time_zone(Sessions::ExpiresAt)),
        )
        .await?;
        change::create_index(
            manager,
            "idx_sessions_user_id",
            Sessions::Table,
            [Sessions::UserId],
        )
        .await?;
        change::create_index(
            manager,
            "idx_sessions_expires_at",
            Sessions::Table,
            [Sessions::ExpiresAt],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::drop_tables(manager, [Sessions::Table.into_iden()]).await
    }
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    Data,
    ExpiresAt,
}
