use crate::types::inventory::SyncState;
use crate::types::keys::KeyStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "facilities")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub license_number: String,
    pub name: String,
    pub license_type: String,
    pub state: String,
    /// JSON text.
    pub capabilities: String,
    /// age ciphertext (armored); `None` while the facility has no key.
    pub facility_key_ciphertext: Option<String>,
    pub key_fingerprint: Option<String>,
    /// What pages show of the key (`••••` and its last four characters), stored when it was
    /// sealed; `None` without a key.
    pub masked_key: Option<String>,
    pub key_status: KeyStatus,
    pub key_owner_name: Option<String>,
    pub key_is_owner: Option<bool>,
    pub key_set_at: Option<ChronoDateTimeUtc>,
    pub last_validated_at: Option<ChronoDateTimeUtc>,
    pub last_sync_at: Option<ChronoDateTimeUtc>,
    /// Stored as `never`, `idle`, `running`, `paused`, `failed`.
    pub sync_state: SyncState,
    pub sync_message: Option<String>,
    /// The current or last run's progress, JSON text.
    pub sync_progress: Option<String>,
    /// Failed runs in a row.
    pub sync_failures: i32,
    /// No scheduled run before this time (backoff).
    pub sync_retry_at: Option<ChronoDateTimeUtc>,
    /// "Sync now" pressed (on any server) and the run not started yet.
    pub sync_requested_at: Option<ChronoDateTimeUtc>,
    pub created_at: ChronoDateTimeUtc,
    pub updated_at: ChronoDateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
