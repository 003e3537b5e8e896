//! Users' work and keys in more detail: the facilities each user works at (or all of them), and
//! for each user key what Metrc said it can reach at its last validation (a report with no key).

use sea_orm_migration::{
    prelude::*,
    schema::{boolean, integer, pk_auto, string, text_null},
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(boolean(Users::AllFacilities).default(true))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserFacilities::Table)
                    .if_not_exists()
                    .col(pk_auto(UserFacilities::Id))
                    .col(integer(UserFacilities::UserId))
                    .col(string(UserFacilities::LicenseNumber))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_facilities_user_id")
                            .from(UserFacilities::Table, UserFacilities::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_user_facilities_user_license")
                    .table(UserFacilities::Table)
                    .col(UserFacilities::UserId)
                    .col(UserFacilities::LicenseNumber)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(UserMetrcKeys::Table)
                    .add_column(text_null(UserMetrcKeys::Report))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(UserMetrcKeys::Table)
                    .drop_column(UserMetrcKeys::Report)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(UserFacilities::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::AllFacilities)
                    .to_owned(),
            )
            .await
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
