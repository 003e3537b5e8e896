//! Sync with Metrc: one cursor per license and list (`sync_cursors`: up to where that list has
//! been stored), the synced records of every list in one table (`synced_records`, unique per
//! license, list and Metrc id, so a record stored twice is updated, never duplicated), and each
//! facility's sync state for Facility Management.

use crate::change;
use sea_orm_migration::{
    prelude::*,
    schema::{
        big_integer, big_pk_auto, double_null, integer, pk_auto, string, string_null, text,
        text_null, timestamp_with_time_zone, timestamp_with_time_zone_null,
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
                .table(SyncCursors::Table)
                .col(pk_auto(SyncCursors::Id))
                .col(string(SyncCursors::LicenseNumber))
                .col(string(SyncCursors::Resource))
                .col(timestamp_with_time_zone(SyncCursors::LastModifiedEnd))
                .col(timestamp_with_time_zone(SyncCursors::UpdatedAt)),
        )
        .await?;
        change::create_unique_index(
            manager,
            "idx_sync_cursors_license_resource",
            SyncCursors::Table,
            [SyncCursors::LicenseNumber, SyncCursors::Resource],
        )
        .await?;
        change::create_table(
            manager,
            Table::create()
                .table(SyncedRecords::Table)
                .col(big_pk_auto(SyncedRecords::Id))
                .col(string(SyncedRecords::LicenseNumber))
                .col(string(SyncedRecords::Resource))
                .col(big_integer(SyncedRecords::MetrcId))
                .col(string_null(SyncedRecords::Label))
                .col(string_null(SyncedRecords::Name))
                .col(string_null(SyncedRecords::Item))
                .col(string_null(SyncedRecords::Location))
                .col(string_null(SyncedRecords::Strain))
                .col(double_null(SyncedRecords::Quantity))
                .col(string_null(SyncedRecords::Unit))
                .col(timestamp_with_time_zone_null(SyncedRecords::LastModified))
                .col(text(SyncedRecords::Data))
                .col(timestamp_with_time_zone(SyncedRecords::SyncedAt)),
        )
        .await?;
        change::create_unique_index(
            manager,
            "idx_synced_records_license_resource_id",
            SyncedRecords::Table,
            [
                SyncedRecords::LicenseNumber,
                SyncedRecords::Resource,
                SyncedRecords::MetrcId,
            ],
        )
        .await?;
        change::create_index(
            manager,
            "idx_synced_records_resource_license_label",
            SyncedRecords::Table,
            [
                SyncedRecords::Resource,
                SyncedRecords::LicenseNumber,
                SyncedRecords::Label,
            ],
        )
        .await?;
        change::add_columns(
            manager,
            Facilities::Table,
            [
                string(Facilities::SyncState).default("never").to_owned(),
                text_null(Facilities::SyncMessage),
                text_null(Facilities::SyncProgress),
                integer(Facilities::SyncFailures).default(0).to_owned(),
                timestamp_with_time_zone_null(Facilities::SyncRetryAt),
            ],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::drop_columns(
            manager,
            Facilities::Table,
            [
                Facilities::SyncRetryAt,
                Facilities::SyncFailures,
                Facilities::SyncProgress,
                Facilities::SyncMessage,
                Facilities::SyncState,
            ],
        )
        .await?;
        change::drop_tables(
            manager,
            [
                SyncedRecords::Table.into_iden(),
                SyncCursors::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden)]
enum SyncCursors {
    Table,
    Id,
    LicenseNumber,
    /// The Metrc list (`PackagesActive`, `PlantsVegetative`, ...).
    Resource,
    /// Every record of the list last modified up to here is stored.
    LastModifiedEnd,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum SyncedRecords {
    Table,
    Id,
    LicenseNumber,
    /// The Metrc list the record is in now (`PackagesActive`, `PackagesInactive`, ...).
    Resource,
    /// Metrc's `Id`.
    MetrcId,
    Label,
    Name,
    Item,
    Location,
    Strain,
    Quantity,
    Unit,
    LastModified,
    /// The whole record as Metrc sent it (JSON text).
    Data,
    SyncedAt,
}

#[derive(DeriveIden)]
enum Facilities {
    Table,
    /// `never`, `idle`, `running`, `paused`, `failed`.
    SyncState,
    SyncMessage,
    /// `{"windows_done", "windows_total", "records"}` (JSON text) of the current or last run.
    SyncProgress,
    /// Failed runs in a row (the backoff grows with them).
    SyncFailures,
    /// No scheduled run before this time (backoff after a failure).
    SyncRetryAt,
}
