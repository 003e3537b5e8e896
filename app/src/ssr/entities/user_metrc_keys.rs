use crate::types::keys::KeyStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "user_metrc_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub user_id: i32,
    /// The state whose Metrc the key is of (two letters; `""` only for the one state of a
    /// deployment whose Metrc host names none). One key per user and state.
    pub state: String,
    /// age ciphertext (armored).
    pub ciphertext: String,
    #[sea_orm(unique)]
    pub fingerprint: String,
    /// What pages show of the key (`••••` and its last four characters), stored when it was
    /// sealed (`None` only for a key stored before masks were, until the next start).
    pub masked_key: Option<String>,
    pub status: KeyStatus,
    pub last_validated_at: Option<ChronoDateTimeUtc>,
    /// What Metrc said the key reaches at its last validation (`KeyValidation` JSON; no key).
    pub report: Option<String>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
