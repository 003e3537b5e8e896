//! Connecting to the database (SQLite or PostgreSQL) and bringing its schema up to date.

use super::config::DbKind;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL must start with sqlite:// or postgres://")]
    UnsupportedUrl,
    #[error("cannot connect to the database: {0}")]
    Connect(DbErr),
    #[error("cannot apply database migrations: {0}")]
    Migrate(DbErr),
}

/// Opens a pool for `url` and runs every pending migration.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbError> {
    let kind = DbKind::of_url(url).ok_or(DbError::UnsupportedUrl)?;
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if kind == DbKind::Sqlite {
        // One writer at a time is SQLite's nature: WAL lets readers go on meanwhile, and the busy
        // timeout makes a second writer wait instead of failing.
        options.max_connections(8).map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    }
    let db = Database::connect(options).await.map_err(DbError::Connect)?;
    Migrator::up(&db, None).await.map_err(DbError::Migrate)?;
    Ok(db)
}
