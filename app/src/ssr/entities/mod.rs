//! SeaORM entities, one per table, mirroring `migrations/`. Queries live in `ssr::queries`.

pub mod audit_events;
pub mod facilities;
pub mod sessions;
pub mod submission_attempts;
pub mod submissions;
pub mod sync_cursors;
pub mod synced_records;
pub mod user_facilities;
pub mod user_metrc_keys;
pub mod users;
