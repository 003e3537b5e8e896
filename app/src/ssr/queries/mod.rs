//! Hand-written queries, one module per table, each taking `&impl ConnectionTrait`.

pub mod audit_events;
pub mod counting;
pub mod facilities;
pub mod leases;
pub mod login_throttle;
pub mod servers;
pub mod sessions;
pub mod submission_attempts;
pub mod submissions;
pub mod sync_cursors;
pub mod synced_records;
pub mod text_match;
pub mod user_facilities;
pub mod user_metrc_keys;
pub mod users;

#[cfg(test)]
pub(crate) mod test_db {
    use sea_orm::{Database, DatabaseConnection};

    /// A fresh in-memory SQLite database with the real migrations applied.
    pub async fn fresh() -> DatabaseConnection {
        use migrations::{Migrator, MigratorTrait};
        let db = Database::connect("sqlite::memory:")
            .await
            .expect("in-memory sqlite");
        Migrator::up(&db, None).await.expect("migrations");
        db
    }
}
