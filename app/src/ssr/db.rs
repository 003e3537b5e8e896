//! Connecting to the database (SQLite or PostgreSQL) and bringing its schema up to date.

use super::config::DbKind;
use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
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
    migrate(&db).await.map_err(DbError::Migrate)?;
    Ok(db)
}

/// The advisory lock [`migrate`] holds on PostgreSQL ("TRKMIGR" in ASCII).
const MIGRATIONS_LOCK: i64 = 0x0054_524b_4d49_4752;

/// Runs every pending migration. On PostgreSQL under an advisory lock held by a transaction of
/// its own (the migrations run on other connections of the pool meanwhile), so servers that
/// start together migrate one after the other: the first applies them, the others find nothing
/// pending (docs/design.md §11). SQLite has one server.
async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != DbBackend::Postgres {
        return Migrator::up(db, None).await;
    }
    let lock = db.begin().await?;
    lock.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_advisory_xact_lock($1)",
        [MIGRATIONS_LOCK.into()],
    ))
    .await?;
    let migrated = Migrator::up(db, None).await;
    lock.commit().await?;
    migrated
}

/// Starts a transaction that writes. On SQLite it takes the write lock at `BEGIN` (`BEGIN
/// IMMEDIATE`), waiting up to the busy timeout for another writer to finish. A plain (deferred)
/// transaction that reads and then writes fails at once with "database is locked" when another
/// connection writes meanwhile: SQLite cannot move its read snapshot forward and does not wait
/// (the busy timeout does not apply to that upgrade). PostgreSQL ignores the mode.
///
/// Every transaction in Tracekeeper writes, so every one starts here.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// The advisory lock [`lock_key_writes`] takes on PostgreSQL (any constant every server shares:
/// "TRKKEYS" in ASCII).
const KEY_WRITES_LOCK: i64 = 0x0054_524b_4b45_5953;

/// Serializes the Update Key guard's check-and-write across every server on the database
/// (docs/design.md §5, §11): call it first in the write's transaction ([`begin_write`]), then
/// check, then write. On PostgreSQL a transaction-scoped advisory lock (released at commit or
/// rollback); on SQLite nothing more is needed: a write transaction already excludes every other
/// writer from its `BEGIN IMMEDIATE`.
///
/// # Errors
/// The database's.
pub async fn lock_key_writes(txn: &impl ConnectionTrait) -> Result<(), DbErr> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [KEY_WRITES_LOCK.into()],
        ))
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn exec(db: &impl ConnectionTrait, sql: &str) -> Result<(), DbErr> {
        db.execute_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .map(drop)
    }

    /// Connection A writes and commits while B's read-then-write transaction is open: begun
    /// deferred, B fails at its write ("database is locked"); begun with `begin_write`, B waits
    /// for A and goes through.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_transaction_waits_for_another_writer_instead_of_failing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
        let db = connect_and_migrate(&url).await.expect("database");
        exec(&db, "CREATE TABLE counter (n INTEGER NOT NULL)")
            .await
            .unwrap();
        exec(&db, "INSERT INTO counter VALUES (0)").await.unwrap();

        // The hazard, shown with a deferred transaction: B reads, A writes and commits, B writes.
        let b = db.begin().await.unwrap();
        exec(&b, "SELECT n FROM counter").await.unwrap();
        exec(&db, "UPDATE counter SET n = n + 1").await.unwrap();
        let deferred = exec(&b, "UPDATE counter SET n = n + 10").await;
        assert!(
            deferred
                .as_ref()
                .is_err_and(|e| e.to_string().contains("locked")),
            "a deferred read-then-write transaction fails: {deferred:?}"
        );
        drop(b);

        // With begin_write: A holds the write lock; B starts, waits, then reads and writes.
        let a = begin_write(&db).await.unwrap();
        exec(&a, "UPDATE counter SET n = n + 1").await.unwrap();
        let second = db.clone();
        let b = tokio::spawn(async move {
            let b = begin_write(&second).await?;
            exec(&b, "SELECT n FROM counter").await?;
            exec(&b, "UPDATE counter SET n = n + 10").await?;
            b.commit().await
        });
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        a.commit().await.unwrap();
        b.await.unwrap().expect("B waited for A and then wrote");
        let n: i64 = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "SELECT n FROM counter",
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get("", "n")
            .unwrap();
        assert_eq!(n, 12);
    }
}
