//! The outbox (docs/design.md §7, §8): every write Tracekeeper sends to Metrc on a user's behalf,
//! stored before anything is sent, and each try at sending it. No key is ever stored here: a
//! submission records which kind of key carries it and whose it is, never the key.

use crate::change;
use sea_orm_migration::{
    prelude::*,
    schema::{
        big_integer, big_pk_auto, boolean, integer, integer_null, string, string_uniq, text,
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
                .table(Submissions::Table)
                .col(big_pk_auto(Submissions::Id))
                .col(string_uniq(Submissions::IdempotencyKey))
                // No foreign key: the record outlives the account.
                .col(integer(Submissions::UserId))
                .col(string(Submissions::LicenseNumber))
                .col(string(Submissions::Action))
                .col(text(Submissions::Request))
                .col(string(Submissions::KeyKind))
                .col(string(Submissions::KeyOwner))
                .col(boolean(Submissions::Compliant))
                .col(string(Submissions::Status))
                .col(integer(Submissions::Attempts).default(0))
                .col(timestamp_with_time_zone_null(Submissions::NextAttemptAt))
                .col(integer_null(Submissions::MetrcStatus))
                .col(text_null(Submissions::MetrcResponse))
                .col(text_null(Submissions::Message))
                .col(text_null(Submissions::Decision))
                .col(integer_null(Submissions::DecidedBy))
                .col(timestamp_with_time_zone(Submissions::CreatedAt))
                .col(timestamp_with_time_zone(Submissions::UpdatedAt))
                .col(timestamp_with_time_zone_null(Submissions::SentAt)),
        )
        .await?;
        for (name, columns) in [
            (
                "idx_submissions_license_status_id",
                &[
                    Submissions::LicenseNumber,
                    Submissions::Status,
                    Submissions::Id,
                ][..],
            ),
            (
                "idx_submissions_user_id",
                &[Submissions::UserId, Submissions::Id],
            ),
            (
                "idx_submissions_status_id",
                &[Submissions::Status, Submissions::Id],
            ),
        ] {
            change::create_index(manager, name, Submissions::Table, columns.iter().copied())
                .await?;
        }
        change::create_table(
            manager,
            Table::create()
                .table(SubmissionAttempts::Table)
                .col(big_pk_auto(SubmissionAttempts::Id))
                .col(big_integer(SubmissionAttempts::SubmissionId))
                .col(timestamp_with_time_zone(SubmissionAttempts::At))
                .col(integer_null(SubmissionAttempts::HttpStatus))
                .col(text(SubmissionAttempts::Outcome))
                .col(big_integer(SubmissionAttempts::DurationMs))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_submission_attempts_submission_id")
                        .from(SubmissionAttempts::Table, SubmissionAttempts::SubmissionId)
                        .to(Submissions::Table, Submissions::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                ),
        )
        .await?;
        change::create_index(
            manager,
            "idx_submission_attempts_submission_id",
            SubmissionAttempts::Table,
            [SubmissionAttempts::SubmissionId, SubmissionAttempts::Id],
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        change::drop_tables(
            manager,
            [
                SubmissionAttempts::Table.into_iden(),
                Submissions::Table.into_iden(),
            ],
        )
        .await
    }
}

#[derive(Clone, Copy, DeriveIden)]
enum Submissions {
    Table,
    Id,
    /// Unique per submission, made when it is stored.
    IdempotencyKey,
    /// The acting user.
    UserId,
    LicenseNumber,
    /// `adjust_package`, `finish_package`, `change_package_location`, `record_plant_waste`.
    Action,
    /// The Metrc row as it is sent (JSON text): never a key.
    Request,
    /// `user` or `facility`: which key carries it.
    KeyKind,
    /// Whose key that is (the user's name, or the facility key owner's).
    KeyOwner,
    Compliant,
    Status,
    Attempts,
    NextAttemptAt,
    MetrcStatus,
    /// Metrc's answer (JSON text), when there is one.
    MetrcResponse,
    /// The outcome in one line, for people.
    Message,
    /// An admin's decision (approve, deny, reconcile) and its reason.
    Decision,
    DecidedBy,
    CreatedAt,
    UpdatedAt,
    SentAt,
}

#[derive(DeriveIden)]
enum SubmissionAttempts {
    Table,
    Id,
    SubmissionId,
    At,
    HttpStatus,
    Outcome,
    DurationMs,
}
