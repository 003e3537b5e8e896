//! Users' work and keys in more detail: the facilities each user works at (or all of them), and
//! for each user key what Metrc said it can reach at its last validation (a report with no key).

use crate::change;
use sea_orm_migration::{
    prelude::*,
    schema::{boolean, integer, pk_auto, string, text_null},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::add_columns(
            manager,
            Users::Table,
            [boolean(Users::AllFacilities).default(true).to_owned()],
        )
        .await?;
        change::create_table(
            manager,
            Table::create()
                .table(UserFacilities::Table)
                .col(pk_auto(UserFacilities::Id))
                .col(integer(UserFacilities::UserId))
                .col(string(UserFacilities::LicenseNumber))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_user_facilities_user_id")
                        .from(UserFacilities::Table, UserFacilities::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                ),
        )
        .await?;
        change::create_unique_index(
            manager,
            "idx_user_facilities_user_license",
            UserFacilities::Table,
            [UserFacilities::UserId, UserFacilities::LicenseNumber],
        )
        .await?;
        change::add_columns(
            manager,
            UserMetrcKeys::Table,
            [text_null(UserMetrcKeys::Report)],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::drop_columns(manager, UserMetrcKeys::Table, [UserMetrcKeys::Report]).await?;
        change::drop_tables(manager, [UserFacilities::Table.into_iden()]).await?;
        change::drop_columns(manager, Users::Table, [Users::AllFacilities]).await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    AllFacilities,
}

#[derive(DeriveIden)]
enum UserFacilities {
    Table,
    Id,
    UserId,
    LicenseNumber,
}

#[derive(DeriveIden)]
enum UserMetrcKeys {
    Table,
    Report,
}
