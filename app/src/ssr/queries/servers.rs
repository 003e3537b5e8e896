//! The `servers` table: the Tracekeeper servers running on this database, each seen every few
//! seconds, so that each takes its share of Metrc's rate limits (docs/design.md §11).

use super::super::entities::servers::{self, Entity as Servers};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

/// Records that server `id` is alive at `now` (first seen: started now).
pub async fn seen(db: &impl ConnectionTrait, id: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    Servers::insert(servers::ActiveModel {
        id: Set(id.to_owned()),
        started_at: Set(now),
        seen_at: Set(now),
    })
    .on_conflict(
        OnConflict::column(servers::Column::Id)
            .update_column(servers::Column::SeenAt)
            .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map(drop)
}

/// How many servers were seen since `since` (this one included once it has been seen).
pub async fn alive_since(db: &impl ConnectionTrait, since: DateTime<Utc>) -> Result<u64, DbErr> {
    Servers::find()
        .filter(servers::Column::SeenAt.gt(since))
        .count(db)
        .await
}

/// Forgets server `id` (it is stopping), and every server not seen since `stale`.
pub async fn forget(
    db: &impl ConnectionTrait,
    id: &str,
    stale: DateTime<Utc>,
) -> Result<(), DbErr> {
    Servers::delete_many()
        .filter(
            Condition::any()
                .add(servers::Column::Id.eq(id))
                .add(servers::Column::SeenAt.lt(stale)),
        )
        .exec(db)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[tokio::test]
    async fn servers_count_while_seen_and_not_once_forgotten() {
        let db = test_db::fresh().await;
        seen(&db, "a", at(0)).await.unwrap();
        seen(&db, "b", at(5)).await.unwrap();
        assert_eq!(alive_since(&db, at(-1)).await.unwrap(), 2);
        assert_eq!(
            alive_since(&db, at(1)).await.unwrap(),
            1,
            "a not seen since 0"
        );
        seen(&db, "a", at(10)).await.unwrap();
        assert_eq!(
            alive_since(&db, at(6)).await.unwrap(),
            1,
            "b not seen since 5"
        );
        forget(&db, "a", at(-100)).await.unwrap();
        assert_eq!(alive_since(&db, at(-1)).await.unwrap(), 1);
        forget(&db, "nobody", at(6)).await.unwrap();
        assert_eq!(alive_since(&db, at(-1)).await.unwrap(), 0, "b was stale");
    }
}
