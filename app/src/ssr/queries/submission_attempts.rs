//! The `submission_attempts` table: each try at sending a submission, with Metrc's status and how
//! long it took.

use super::super::entities::submission_attempts::{self, Entity as SubmissionAttempts};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set};

pub struct NewAttempt<'a> {
    pub submission_id: i64,
    pub at: DateTime<Utc>,
    pub http_status: Option<u16>,
    pub outcome: &'a str,
    pub duration_ms: u64,
}

/// Records attempts (one statement).
pub async fn record_many(
    db: &impl ConnectionTrait,
    attempts: &[NewAttempt<'_>],
) -> Result<(), DbErr> {
    if attempts.is_empty() {
        return Ok(());
    }
    SubmissionAttempts::insert_many(attempts.iter().map(|a| submission_attempts::ActiveModel {
        submission_id: Set(a.submission_id),
        at: Set(a.at),
        http_status: Set(a.http_status.map(i32::from)),
        outcome: Set(a.outcome.to_owned()),
        duration_ms: Set(i64::try_from(a.duration_ms).unwrap_or(i64::MAX)),
        ..Default::default()
    }))
    .exec_without_returning(db)
    .await
    .map(drop)
}

/// The submission's attempts, oldest first.
pub async fn for_submission(
    db: &impl ConnectionTrait,
    submission_id: i64,
) -> Result<Vec<submission_attempts::Model>, DbErr> {
    SubmissionAttempts::find()
        .filter(submission_attempts::Column::SubmissionId.eq(submission_id))
        .order_by_asc(submission_attempts::Column::Id)
        .all(db)
        .await
}
