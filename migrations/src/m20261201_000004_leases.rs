//! Work shared by several servers on one database (docs/design.md §11): `leases` (who holds a
//! piece of shared work, e.g. a facility's outbox queue or its sync, and until when), `servers`
//! (which servers are alive, so each takes its share of Metrc's rate limits), the claim token a
//! submission is sent under, and "Sync now" recorded on the facility so any server picks it up.

use crate::change;
use sea_orm_migration::{
    prelude::*,
    schema::{
        integer, string, string_null, timestamp_with_time_zone, timestamp_with_time_zone_null,
    },
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::create_table(
            manager,
            Table::create()
                .table(Leases::Table)
                .col(string(Leases::Name).primary_key())
                .col(string(Leases::Holder))
                .col(string(Leases::Token))
                .col(timestamp_with_time_zone(Leases::AcquiredAt))
                .col(timestamp_with_time_zone(Leases::ExpiresAt)),
        )
        .await?;
        change::create_table(
            manager,
            Table::create()
                .table(Servers::Table)
                .col(string(Servers::Id).primary_key())
                .col(timestamp_with_time_zone(Servers::StartedAt))
                .col(timestamp_with_time_zone(Servers::SeenAt))
                .col(integer(Servers::Share).default(0)),
        )
        .await?;
        change::add_columns(
            manager,
            Submissions::Table,
            [string_null(Submissions::ClaimToken)],
        )
        .await?;
        change::add_columns(
            manager,
            Facilities::Table,
            [timestamp_with_time_zone_null(Facilities::SyncRequestedAt)],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::drop_columns(manager, Facilities::Table, [Facilities::SyncRequestedAt]).await?;
        change::drop_columns(manager, Submissions::Table, [Submissions::ClaimToken]).await?;
        change::drop_tables(
            manager,
            [Servers::Table.into_iden(), Leases::Table.into_iden()],
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    /// What is held: `outbox:<license>`, `sync:<license>`, `job:<name>`.
    Name,
    /// The server holding it (`servers.id`).
    Holder,
    /// Random per acquisition: work done under the lease carries it, so a holder whose lease
    /// expired and was taken over cannot write as if it still held it.
    Token,
    AcquiredAt,
    /// Past this, any server may take the lease over.
    ExpiresAt,
}

#[derive(DeriveIden)]
enum Servers {
    Table,
    /// `host:pid:random`, new at every start.
    Id,
    StartedAt,
    /// Renewed at every heartbeat; a server not seen for three beats counts as gone.
    SeenAt,
    /// The share of Metrc's rate limits the server holds to (each limit divided by it; 0 before
    /// its first beat): never more than the share in force, so a server that joins spends
    /// nothing until every server's share counts it (docs/design.md §11).
    Share,
}

#[derive(DeriveIden)]
enum Submissions {
    Table,
    /// The outbox lease token the row was marked `Sending` under (NULL before this migration).
    ClaimToken,
}

#[derive(DeriveIden)]
enum Facilities {
    Table,
    /// "Sync now" pressed on any server and not yet started; NULL otherwise.
    SyncRequestedAt,
}
