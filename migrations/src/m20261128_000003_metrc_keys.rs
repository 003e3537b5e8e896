//! Metrc keys at rest: the facilities (each with its facility key), the users' own keys, and the
//! audit log of who changed which key. Keys are stored only as age ciphertext plus an HMAC
//! fingerprint; the audit log never holds a key.

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
        manager
            .create_table(
                Table::create()
                    .table(Facilities::Table)
                    .if_not_exists()
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
                    .col(timestamp_with_time_zone(Facilities::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_facilities_key_fingerprint")
                    .table(Facilities::Table)
                    .col(Facilities::KeyFingerprint)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UserMetrcKeys::Table)
                    .if_not_exists()
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
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AuditEvents::Table)
                    .if_not_exists()
                    .col(pk_auto(AuditEvents::Id))
                    .col(timestamp_with_time_zone(AuditEvents::At))
                    // No foreign key: the record outlives the account.
                    .col(integer_null(AuditEvents::ActorUserId))
                    .col(string_null(AuditEvents::ActorIp))
                    .col(string(AuditEvents::Action))
                    .col(string(AuditEvents::Subject))
                    .col(text(AuditEvents::Detail).default("{}"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_audit_events_at")
                    .table(AuditEvents::Table)
                    .col(AuditEvents::At)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AuditEvents::Table.into_iden(),
            UserMetrcKeys::Table.into_iden(),
            Facilities::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
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
