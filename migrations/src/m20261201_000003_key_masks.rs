//! What a page shows of each stored key (`••••` and its last four characters), stored when the
//! key is sealed, so that no page decrypts a key to show it (issue 15, item 6). Keys stored
//! before this migration get theirs at the next start (`KeyVault::open`).

use crate::change;
use sea_orm_migration::{prelude::*, schema::string_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::add_columns(
            manager,
            Facilities::Table,
            [string_null(Facilities::MaskedKey)],
        )
        .await?;
        change::add_columns(
            manager,
            UserMetrcKeys::Table,
            [string_null(UserMetrcKeys::MaskedKey)],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::drop_columns(manager, UserMetrcKeys::Table, [UserMetrcKeys::MaskedKey]).await?;
        change::drop_columns(manager, Facilities::Table, [Facilities::MaskedKey]).await
    }
}

#[derive(DeriveIden)]
enum Facilities {
    Table,
    /// The facility key's mask, NULL without a key (or until the next start, for keys stored
    /// before this migration).
    MaskedKey,
}

#[derive(DeriveIden)]
enum UserMetrcKeys {
    Table,
    /// The user key's mask (NULL until the next start, for keys stored before this migration).
    MaskedKey,
}
