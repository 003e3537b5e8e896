//! SeaORM entities, one per table, mirroring `migrations/`. Queries live in `ssr::queries`.

pub mod sessions;
pub mod users;
