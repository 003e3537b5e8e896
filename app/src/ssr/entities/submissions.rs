use crate::ssr::outbox::KeyKind;
use crate::types::submissions::{SubmissionAction, SubmissionStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "submissions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub idempotency_key: String,
    pub user_id: i32,
    pub license_number: String,
    pub action: SubmissionAction,
    /// The Metrc row as sent (JSON text); never a key.
    #[sea_orm(column_type = "Text")]
    pub request: String,
    pub key_kind: KeyKind,
    pub key_owner: String,
    pub compliant: bool,
    pub status: SubmissionStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<ChronoDateTimeUtc>,
    pub metrc_status: Option<i32>,
    #[sea_orm(column_type = "Text", nullable)]
    pub metrc_response: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub message: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub decision: Option<String>,
    pub decided_by: Option<i32>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
    pub sent_at: Option<ChronoDateTimeUtc>,
    /// The work form's token ([`crate::types::submissions::NewSubmission::submit_token`]),
    /// unique per `user_id`; `None` for rows stored before it existed.
    pub submit_token: Option<String>,
    /// The outbox lease token ([`crate::ssr::queries::leases`]) the row was last marked
    /// `Sending` under: a server that takes the facility's queue over after that lease expired
    /// knows the row's call was another's and never answered.
    pub claim_token: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
