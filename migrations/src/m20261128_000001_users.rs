//! Tracekeeper accounts: who signs in, with which role.

use crate::change;
use sea_orm_migration::{
    prelude::*,
    schema::{boolean, pk_auto, string, string_uniq, timestamp_with_time_zone},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::create_table(
            manager,
            Table::create()
                .table(Users::Table)
                .col(pk_auto(Users::Id))
                .col(string_uniq(Users::Email))
                .col(string(Users::Name))
                .col(string(Users::PasswordHash))
                .col(string(Users::Role))
                .col(boolean(Users::CanSubmit).default(false))
                .col(boolean(Users::RequiresReview).default(false))
                .col(boolean(Users::Active).default(true))
                .col(timestamp_with_time_zone(Users::CreatedAt))
                .col(timestamp_with_time_zone(Users::UpdatedAt)),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::drop_tables(manager, [Users::Table.into_iden()]).await
    }
}

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    Email,
    Name,
    PasswordHash,
    Role,
    CanSubmit,
    RequiresReview,
    Active,
    CreatedAt,
    UpdatedAt,
}
