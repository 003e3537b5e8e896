//! tower-sessions' store over our own `sessions` table, so sessions live in the same database
//! (SQLite or PostgreSQL) as everything else and survive restarts.

use super::queries::sessions as q;
use super::session::USER_ID_KEY;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

#[derive(Clone)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

fn backend(err: sea_orm::DbErr) -> Error {
    Error::Backend(err.to_string())
}

fn to_chrono(t: time::OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or(DateTime::UNIX_EPOCH)
}

fn to_time(t: DateTime<Utc>) -> Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp())
        .map_err(|e| Error::Decode(e.to_string()))
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn save(&self, record: &Record) -> Result<()> {
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        let user_id = record
            .data
            .get(USER_ID_KEY)
            .and_then(serde_json::Value::as_i64)
            .and_then(|v| i32::try_from(v).ok());
        q::upsert(
            &self.db,
            record.id.to_string(),
            user_id,
            data,
            to_chrono(record.expiry_date),
        )
        .await
        .map_err(backend)
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some(row) = q::load_live(&self.db, &id.to_string(), Utc::now())
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&row.data).map_err(|e| Error::Decode(e.to_string()))?,
            expiry_date: to_time(row.expires_at)?,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        q::delete(&self.db, &id.to_string()).await.map_err(backend)
    }
}
