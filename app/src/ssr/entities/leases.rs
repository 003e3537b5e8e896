use sea_orm::entity::prelude::*;

/// A piece of work shared by the servers on one database, held by one of them until
/// `expires_at` (docs/design.md §11).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "leases")]
pub struct Model {
    /// `outbox:<license>`, `sync:<license>`, `job:<name>`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub name: String,
    /// The holding server's id (`servers.id`).
    pub holder: String,
    /// New at every acquisition; work done under the lease carries it.
    pub token: String,
    pub acquired_at: ChronoDateTimeUtc,
    pub expires_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
