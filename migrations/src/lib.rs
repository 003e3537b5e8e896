//! The database schema. Only the schema lives here: no application code, no data.
//! Every migration runs unchanged on SQLite and PostgreSQL.

pub use sea_orm_migration::prelude::*;

mod change;
mod m20261128_000001_users;
mod m20261128_000002_sessions;
mod m20261128_000003_metrc_keys;
mod m20261128_000004_user_profiles;
mod m20261128_000005_sync;
mod m20261128_000006_submissions;
mod m20261201_000001_users_must_change_password;
mod m20261201_000002_submissions_idempotency;
mod m20261201_000003_key_masks;
mod m20261201_000004_leases;
mod m20261201_000005_login_throttle;
mod m20261202_000001_user_key_states;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_users::Migration),
            Box::new(m20261128_000002_sessions::Migration),
            Box::new(m20261128_000003_metrc_keys::Migration),
            Box::new(m20261128_000004_user_profiles::Migration),
            Box::new(m20261128_000005_sync::Migration),
            Box::new(m20261128_000006_submissions::Migration),
            Box::new(m20261201_000001_users_must_change_password::Migration),
            Box::new(m20261201_000002_submissions_idempotency::Migration),
            Box::new(m20261201_000003_key_masks::Migration),
            Box::new(m20261201_000004_leases::Migration),
            Box::new(m20261201_000005_login_throttle::Migration),
            Box::new(m20261202_000001_user_key_states::Migration),
        ]
    }
}
