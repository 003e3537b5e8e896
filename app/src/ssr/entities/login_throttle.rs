use sea_orm::entity::prelude::*;

/// One throttled account or client address, shared by every server (docs/design.md §6).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_throttle")]
pub struct Model {
    /// `account:<email>` or `address:<IP or IPv6 prefix>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// When the key's allowance is full again (GCRA's theoretical arrival time).
    pub full_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
