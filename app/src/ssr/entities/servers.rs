use sea_orm::entity::prelude::*;

/// A running Tracekeeper server on this database, seen every few seconds while it runs
/// (docs/design.md §11).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "servers")]
pub struct Model {
    /// `host:pid:random`, new at every start.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub started_at: ChronoDateTimeUtc,
    pub seen_at: ChronoDateTimeUtc,
    /// The share of Metrc's rate limits the server holds to: each limit divided by it, never
    /// more than the share in force; written at every beat (`ssr::servers`).
    pub share: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
