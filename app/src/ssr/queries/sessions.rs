//! The `sessions` table, behind `ssr::session_store`.

use super::super::entities::sessions::{self, Entity as Sessions};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

/// How stale a stored session's expiry may get before a request writes it again: a session used
/// all the time is written every 5 minutes at most, not on every request (its idle timeout is
/// 12 hours; it ends at most this much earlier than a write per request would make it).
pub const EXPIRY_SLACK: chrono::Duration = chrono::Duration::minutes(5);

/// Stores a session: inserted if new; otherwise written only when its data changed or its stored
/// expiry is more than [`EXPIRY_SLACK`] before `expires_at` (one statement, so servers sharing the
/// table need no lock).
pub async fn upsert(
    db: &impl ConnectionTrait,
    id: String,
    user_id: Option<i32>,
    data: String,
    expires_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let row = sessions::ActiveModel {
        id: Set(id),
        user_id: Set(user_id),
        data: Set(data),
        expires_at: Set(expires_at),
    };
    let incoming = Alias::new("excluded");
    Sessions::insert(row)
        .on_conflict(
            OnConflict::column(sessions::Column::Id)
                .update_columns([
                    sessions::Column::UserId,
                    sessions::Column::Data,
                    sessions::Column::ExpiresAt,
                ])
                .action_and_where(
                    Expr::col((Sessions, sessions::Column::Data))
                        .ne(Expr::col((incoming, sessions::Column::Data)))
                        .or(Expr::col((Sessions, sessions::Column::ExpiresAt))
                            .lt(expires_at - EXPIRY_SLACK)),
                )
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The session's data, unless it is missing or expired.
pub async fn load_live(
    db: &impl ConnectionTrait,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<sessions::Model>, DbErr> {
    Sessions::find_by_id(id.to_owned())
        .filter(sessions::Column::ExpiresAt.gt(now))
        .one(db)
        .await
}

pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    Sessions::delete_by_id(id.to_owned()).exec(db).await?;
    Ok(())
}

/// Ends every session of a user at once.
pub async fn delete_for_user(db: &impl ConnectionTrait, user_id: i32) -> Result<u64, DbErr> {
    Ok(Sessions::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(db)
        .await?
        .rows_affected)
}

pub async fn delete_expired(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(Sessions::delete_many()
        .filter(sessions::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;
    use chrono::Duration;

    #[tokio::test]
    async fn upsert_replaces_and_expired_sessions_do_not_load() {
        let db = test_db::fresh().await;
        let now = Utc::now();
        upsert(&db, "a".into(), None, "{}".into(), now + Duration::hours(1))
            .await
            .unwrap();
        upsert(
            &db,
            "a".into(),
            Some(7),
            "{\"x\":1}".into(),
            now + Duration::hours(1),
        )
        .await
        .unwrap();
        let live = load_live(&db, "a", now).await.unwrap().unwrap();
        assert_eq!(live.user_id, Some(7));
        assert_eq!(live.data, "{\"x\":1}");

        upsert(
            &db,
            "old".into(),
            Some(7),
            "{}".into(),
            now - Duration::seconds(1),
        )
        .await
        .unwrap();
        assert!(load_live(&db, "old", now).await.unwrap().is_none());
        assert_eq!(delete_expired(&db, now).await.unwrap(), 1);
        assert_eq!(delete_for_user(&db, 7).await.unwrap(), 1);
        assert!(load_live(&db, "a", now).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_session_in_use_is_written_again_only_when_its_data_changes_or_its_expiry_is_stale() {
        let db = test_db::fresh().await;
        let now = Utc::now();
        let first = now + Duration::hours(12);
        let expiry = |db| async move { load_live(db, "s", now).await.unwrap().unwrap() };
        upsert(&db, "s".into(), Some(1), "{}".into(), first)
            .await
            .unwrap();

        // A request within the slack: the stored expiry stays (no write).
        let soon = first + EXPIRY_SLACK - Duration::seconds(1);
        upsert(&db, "s".into(), Some(1), "{}".into(), soon)
            .await
            .unwrap();
        assert_eq!(expiry(&db).await.expires_at, first);
        // Its data changed: written at once, expiry included.
        upsert(&db, "s".into(), Some(2), "{\"u\":2}".into(), soon)
            .await
            .unwrap();
        let changed = expiry(&db).await;
        assert_eq!((changed.user_id, changed.expires_at), (Some(2), soon));
        // Past the slack: the expiry moves on.
        let later = soon + EXPIRY_SLACK + Duration::seconds(1);
        upsert(&db, "s".into(), Some(2), "{\"u\":2}".into(), later)
            .await
            .unwrap();
        assert_eq!(expiry(&db).await.expires_at, later);
    }
}
