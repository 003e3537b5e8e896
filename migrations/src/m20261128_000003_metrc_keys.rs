//! Metrc keys at rest: the facilities (each with its facility key), the users' own keys, and the
//! audit log of who changed which key. Keys are stored only as age ciphertext plus an HMAC
//! fingerprint; the audit log never holds a key.

use crate::change;
use sea_orm_migration::{
    prelude::*,
    schema::{
        boolean_null, integer_null, integer_uniq, pk_auto, string, string_null, string_uniq, text,
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
                .table(Facilities::Table)
                .col(pk_auto(Facilities::Id))
                .col(string_uniq(Facilities::LicenseNumber))
                .col(string(Facilities::Name))
                .col(string(Facilities::LicenseType))
                .col(string(Facilities::State))
                .col(text(Facilities::Capabilities).default("[]"))
                .col(text_null(Facilities::FacilityKeyCiphertext))
                .col(string_null(Facilities::KeyFingerprint))
                .col(string(Facilities::KeyStatus).default("none"))
                .col(string_null(Facilities::KeyOwnerName))
                .col(boolean_null(Facilities::KeyIsOwner))
                .col(timestamp_with_time_zone_null(Facilities::KeySetAt))
                .col(timestamp_with_time_zone_null(Facilities::LastValidatedAt))
                .col(timestamp_with_time_zone_null(Facilities::LastSyncAt))
                .col(timestamp_with_time_zone(Facilities::CreatedAt))
                .col(timestamp_with_time_zone(Facilities::UpdatedAt)),
        )
        .await?;
        change::create_index(
            manager,
            "idx_facilities_key_fingerprint",
            Facilities::Table,
            [Facilities::KeyFingerprint],
        )
        .await?;
        change::create_table(
            manager,
            Table::create()
                .table(UserMetrcKeys::Table)
                .col(pk_auto(UserMetrcKeys::Id))
                .col(integer_uniq(UserMetrcKeys::UserId))
                .col(text(UserMetrcKeys::Ciphertext))
                .col(string_uniq(UserMetrcKeys::Fingerprint))
                .col(string(UserMetrcKeys::Status).default("unvalidated"))
                .col(timestamp_with_time_zone_null(
                    UserMetrcKeys::LastValidatedAt,
                ))
                .col(timestamp_with_time_zone(UserMetrcKeys::CreatedAt))
                .col(timestamp_with_time_zone(UserMetrcKeys::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_user_metrc_keys_user_id")
                        .from(UserMetrcKeys::Table, UserMetrcKeys::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                ),
        )
        .await?;
        change::create_table(
            manager,
            Table::create()
                .table(AuditEvents::Table)
                .col(pk_auto(AuditEvents::Id))
                .col(timestamp_with_time_zone(AuditEvents::At))
                // No foreign key: the record outlives the account.
                .col(integer_null(AuditEvents::ActorUserId))
                .col(string_null(AuditEvents::ActorIp))
                .col(string(AuditEvents::Action))
                .col(string(AuditEvents::Subject))
                .col(text(AuditEvents::Detail).default("{}")),
        )
        .await?;
        change::create_index(
            manager,
            "idx_audit_events_at",
            AuditEvents::Table,
            [AuditEvents::At],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::drop_tables(
            manager,
            [
                AuditEvents::Table.into_iden(),
                UserMetrcKeys::Table.into_iden(),
                Facilities::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Facilities {
    Table,
    Id,
    LicenseNumber,
    Name,
    LicenseType,
    State,
    /// The license's capabilities (`FacilityType`) as JSON text.
    Capabilities,
    FacilityKeyCiphertext,
    KeyFingerprint,
    KeyStatus,
    KeyOwnerName,
    KeyIsOwner,
    KeySetAt,
    LastValidatedAt,
    LastSyncAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserMetrcKeys {
    Table,
    Id,
    UserId,
    Ciphertext,
    Fingerprint,
    Status,
    LastValidatedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    ActorUserId,
    ActorIp,
    Action,
    Subject,
    /// What changed, as JSON text (fingerprint prefixes, facility numbers): never a key.
    Detail,
}
