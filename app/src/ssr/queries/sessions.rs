//! The `sessions` table, behind `ssr::session_store`.

use super::super::entities::sessions::{self, Entity as Sessions};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

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
    Sessions::insert(row)
        .on_conflict(
            OnConflict::column(sessions::Column::Id)
                .update_columns([
                    sessions::Column::UserId,
                    sessions::Column::Data,
                    sessions::Column::ExpiresAt,
                ])
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
}
