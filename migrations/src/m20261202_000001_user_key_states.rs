//! User keys per state (issue 17): a person's Metrc account, and so their key, is per state, so a
//! user has at most one key per state instead of one in all. `user_metrc_keys` gains `state`
//! (two letters; `""` for a key stored before, which the server gives its one state at start,
//! `ssr::metrc_states`), and its one-key-per-user rule becomes one key per user and state. SQLite
//! cannot drop a column's `UNIQUE`, so the table is rebuilt (the same on both databases).

use crate::change;
use sea_orm::DatabaseBackend;
use sea_orm_migration::{
    prelude::*,
    schema::{
        integer, pk_auto, string, string_null, string_uniq, text, text_null,
        timestamp_with_time_zone, timestamp_with_time_zone_null,
    },
};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The columns both shapes share, in the order they are copied.
const SHARED: [UserMetrcKeys; 10] = [
    UserMetrcKeys::Id,
    UserMetrcKeys::UserId,
    UserMetrcKeys::Ciphertext,
    UserMetrcKeys::Fingerprint,
    UserMetrcKeys::MaskedKey,
    UserMetrcKeys::Status,
    UserMetrcKeys::LastValidatedAt,
    UserMetrcKeys::Report,
    UserMetrcKeys::CreatedAt,
    UserMetrcKeys::UpdatedAt,
];

/// The table's shape as `table`, with a `state` column or without (a unique `user_id`).
fn shape(table: UserMetrcKeys, per_state: bool) -> TableCreateStatement {
    let mut create = Table::create();
    create.table(table).col(pk_auto(UserMetrcKeys::Id));
    if per_state {
        create
            .col(integer(UserMetrcKeys::UserId))
            .col(string(UserMetrcKeys::State).default(""));
    } else {
        create.col(integer(UserMetrcKeys::UserId).unique_key());
    }
    create
        .col(text(UserMetrcKeys::Ciphertext))
        .col(string_uniq(UserMetrcKeys::Fingerprint))
        .col(string_null(UserMetrcKeys::MaskedKey))
        .col(string(UserMetrcKeys::Status).default("unvalidated"))
        .col(timestamp_with_time_zone_null(
            UserMetrcKeys::LastValidatedAt,
        ))
        .col(text_null(UserMetrcKeys::Report))
        .col(timestamp_with_time_zone(UserMetrcKeys::CreatedAt))
        .col(timestamp_with_time_zone(UserMetrcKeys::UpdatedAt))
        .foreign_key(
            ForeignKey::create()
                .name(if per_state {
                    "fk_user_metrc_keys_state_user_id"
                } else {
                    "fk_user_metrc_keys_user_id"
                })
                .from(table, UserMetrcKeys::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

/// Replaces `user_metrc_keys` by a table of the other shape holding its rows (`keep`: which).
async fn rebuild(
    manager: &SchemaManager<'_>,
    per_state: bool,
    keep: SelectStatement,
) -> Result<(), DbErr> {
    let mut create = shape(UserMetrcKeys::Rebuilt, per_state);
    change::create_table(manager, &mut create).await?;
    let mut columns = SHARED.to_vec();
    if per_state {
        columns.push(UserMetrcKeys::State);
    }
    manager
        .exec_stmt(
            Query::insert()
                .into_table(UserMetrcKeys::Rebuilt)
                .columns(columns)
                .select_from(keep)
                .map_err(|e| DbErr::Migration(e.to_string()))?
                .to_owned(),
        )
        .await?;
    change::drop_tables(manager, [UserMetrcKeys::Table.into_iden()]).await?;
    manager
        .rename_table(
            Table::rename()
                .table(UserMetrcKeys::Rebuilt, UserMetrcKeys::Table)
                .to_owned(),
        )
        .await?;
    if manager.get_database_backend() == DatabaseBackend::Postgres {
        // The ids were copied: the next one continues after them.
        manager
            .get_connection()
            .execute_unprepared(
                "SELECT setval(pg_get_serial_sequence('user_metrc_keys', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM user_metrc_keys",
            )
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// In one transaction on SQLite too: the rebuild is all or nothing, and every statement runs
    /// on the transaction's one connection (a pooled connection still reading the schema before
    /// the old table was dropped refuses the rename).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let every = Query::select()
            .columns(SHARED)
            .expr(Expr::val(""))
            .from(UserMetrcKeys::Table)
            .to_owned();
        rebuild(manager, true, every).await?;
        change::create_unique_index(
            manager,
            "idx_user_metrc_keys_user_state",
            UserMetrcKeys::Table,
            [UserMetrcKeys::UserId, UserMetrcKeys::State],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One key per user again: each user's first key is kept, the others are dropped.
        let first = Query::select()
            .columns(SHARED)
            .from(UserMetrcKeys::Table)
            .and_where(
                Expr::col(UserMetrcKeys::Id).in_subquery(
                    Query::select()
                        .expr(Expr::col(UserMetrcKeys::Id).min())
                        .from(UserMetrcKeys::Table)
                        .group_by_col(UserMetrcKeys::UserId)
                        .to_owned(),
                ),
            )
            .to_owned();
        rebuild(manager, false, first).await
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum UserMetrcKeys {
    Table,
    /// The table being built, renamed to `Table` once filled.
    #[sea_orm(iden = "user_metrc_keys_rebuilt")]
    Rebuilt,
    Id,
    UserId,
    /// The state whose Metrc the key is of: two letters, or `""` until the server's start gives a
    /// key stored before this migration its one state.
    State,
    Ciphertext,
    Fingerprint,
    MaskedKey,
    Status,
    LastValidatedAt,
    Report,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
