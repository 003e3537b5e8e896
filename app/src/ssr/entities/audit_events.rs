use crate::ssr::queries::audit_events::AuditAction;
use sea_orm::entity::prelude::*;

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
