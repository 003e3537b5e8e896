//! Sync with Metrc: one cursor per license and list (`sync_cursors`: up to where that list has
//! been stored), the synced records of every list in one table (`synced_records`, unique per
//! license, list and Metrc id, so a record stored twice is updated, never duplicated), and each
//! facility's sync state for Facility Management.

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
        manager
            .create_table(
                Table::create()
                    .table(SyncCursors::Table)
                    .if_not_exists()
                    .col(pk_auto(SyncCursors::Id))
                    .col(string(SyncCursors::LicenseNumber))
                    .col(string(SyncCursors::Resource))
                    .col(timestamp_with_time_zone(SyncCursors::LastModifiedEnd))
                    .col(timestamp_with_time_zone(SyncCursors::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sync_cursors_license_resource")
                    .table(SyncCursors::Table)
                    .col(SyncCursors::LicenseNumber)
                    .col(SyncCursors::Resource)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SyncedRecords::Table)
                    .if_not_exists()
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
                    .col(timestamp_with_time_zone(SyncedRecords::SyncedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_synced_records_license_resource_id")
                    .table(SyncedRecords::Table)
                    .col(SyncedRecords::LicenseNumber)
                    .col(SyncedRecords::Resource)
                    .col(SyncedRecords::MetrcId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_synced_records_resource_license_label")
                    .table(SyncedRecords::Table)
                    .col(SyncedRecords::Resource)
                    .col(SyncedRecords::LicenseNumber)
                    .col(SyncedRecords::Label)
                    .to_owned(),
            )
            .await?;
        // One column per statement: SQLite alters one column at a time.
        for column in [
            string(Facilities::SyncState).default("never").to_owned(),
            text_null(Facilities::SyncMessage),
            text_null(Facilities::SyncProgress),
            integer(Facilities::SyncFailures).default(0).to_owned(),
            timestamp_with_time_zone_null(Facilities::SyncRetryAt),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Facilities::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            Facilities::SyncRetryAt,
            Facilities::SyncFailures,
            Facilities::SyncProgress,
            Facilities::SyncMessage,
            Facilities::SyncState,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Facilities::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        for table in [
            SyncedRecords::Table.into_iden(),
            SyncCursors::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
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
