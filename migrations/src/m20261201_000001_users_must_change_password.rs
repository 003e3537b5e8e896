//! A user who must change their password before doing anything else: the first admin, when
//! Tracekeeper generated their password (docs/decisions.md, "The first admin's password").
//! Existing users are not asked to.

use crate::change;
use sea_orm_migration::{prelude::*, schema::boolean};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::add_columns(
            manager,
            Users::Table,
            [boolean(Users::MustChangePassword).default(false).to_owned()],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::drop_columns(manager, Users::Table, [Users::MustChangePassword]).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    MustChangePassword,
}
