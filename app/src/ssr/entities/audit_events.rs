//! `audit_events`: who changed what, when, from where (written by `queries::audit_events`).

use sea_orm::entity::prelude::*;

/// What an audit event records (`audit_events.action`, stored as the string each names). A
/// stored value none names is an error when read, never a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sea_orm::EnumIter, sea_orm::DeriveActiveEnum)]
#[sea_orm(
    rs_type = "String",
    db_type = "String(sea_orm::sea_query::StringLen::None)"
)]
pub enum AuditAction {
    /// A facility key was set (`ssr::facility_keys`).
    #[sea_orm(string_value = "facility_key.set")]
    FacilityKeySet,
    /// A user's own key was set (`ssr::user_keys`).
    #[sea_orm(string_value = "user_key.set")]
    UserKeySet,
    /// A user's own key was deleted on deactivation (`ssr::user_admin`).
    #[sea_orm(string_value = "user_key.deleted")]
    UserKeyDeleted,
    /// The `ssr::user_admin` changes.
    #[sea_orm(string_value = "user.created")]
    UserCreated,
    #[sea_orm(string_value = "user.updated")]
    UserUpdated,
    #[sea_orm(string_value = "user.deactivated")]
    UserDeactivated,
    #[sea_orm(string_value = "user.reactivated")]
    UserReactivated,
    /// A user changed their own password (`ssr::profile`).
    #[sea_orm(string_value = "user.password_changed")]
    UserPasswordChanged,
    /// An admin's decisions on a submission (`ssr::outbox::admin`).
    #[sea_orm(string_value = "submission.approve")]
    SubmissionApprove,
    #[sea_orm(string_value = "submission.deny")]
    SubmissionDeny,
    #[sea_orm(string_value = "submission.retry")]
    SubmissionRetry,
    #[sea_orm(string_value = "submission.cancel")]
    SubmissionCancel,
    #[sea_orm(string_value = "submission.reconcile")]
    SubmissionReconcile,
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub at: ChronoDateTimeUtc,
    pub actor_user_id: Option<i32>,
    pub actor_ip: Option<String>,
    pub action: AuditAction,
    pub subject: String,
    /// JSON text; never a key.
    pub detail: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
