//! Sign-in throttling shared by every server on the database (docs/design.md §6, §11): one row
//! per throttled account or client address, holding when its allowance is full again.

use crate::change;
use sea_orm_migration::{
    prelude::*,
    schema::{string, timestamp_with_time_zone},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::create_table(
            manager,
            Table::create()
                .table(LoginThrottle::Table)
                .col(string(LoginThrottle::Key).primary_key())
                .col(timestamp_with_time_zone(LoginThrottle::FullAt)),
        )
        .await?;
        change::create_index(
            manager,
            "idx_login_throttle_full_at",
            LoginThrottle::Table,
            [LoginThrottle::FullAt],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::drop_tables(manager, [LoginThrottle::Table.into_iden()]).await
    }
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    /// `account:<email>` or `address:<IP or IPv6 prefix>`.
    Key,
    /// When the key's allowance of attempts is full again (GCRA's theoretical arrival time);
    /// a row past it holds nothing and is deleted.
    FullAt,
}
