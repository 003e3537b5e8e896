use sea_orm::entity::prelude::*;

/// Up to where one Metrc list of one license is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sync_cursors")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub license_number: String,
    /// `metrc::Resource` as its `Debug` name (`PackagesActive`, ...).
    pub resource: String,
    pub last_modified_end: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
