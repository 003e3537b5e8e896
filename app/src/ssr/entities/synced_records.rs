use sea_orm::entity::prelude::*;

/// One record of one Metrc list of one license, as last synced.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "synced_records")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub license_number: String,
    /// `metrc::Resource` as its `Debug` name (`PackagesActive`, ...): the list the record is in.
    pub resource: String,
    /// Metrc's `Id`.
    pub metrc_id: i64,
    pub label: Option<String>,
    pub name: Option<String>,
    pub item: Option<String>,
    pub location: Option<String>,
    pub strain: Option<String>,
    pub quantity: Option<f64>,
    pub unit: Option<String>,
    pub last_modified: Option<ChronoDateTimeUtc>,
    /// The whole record as Metrc sent it (JSON text).
    pub data: String,
    pub synced_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
