//! The `servers` table: the Tracekeeper servers running on this database, each seen every few
//! seconds, so that each takes its share of Metrc's rate limits (docs/design.md §11).

use super::super::entities::servers::{self, Entity as Servers};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};

/// A server seen lately: its id and the share of Metrc's rate limits it holds to (0 before its
/// first beat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Live {
    pub id: String,
    pub share: u32,
}

/// Records that server `id` is alive at `now` and holds to `share` (first seen: started now).
pub async fn seen(
    db: &impl ConnectionTrait,
    id: &str,
    now: DateTime<Utc>,
    share: u32,
) -> Result<(), DbErr> {
    Servers::insert(servers::ActiveModel {
        id: Set(id.to_owned()),
        started_at: Set(now),
        seen_at: Set(now),
        share: Set(i32::try_from(share).unwrap_or(i32::MAX)),
    })
    .on_conflict(
        OnConflict::column(servers::Column::Id)
            .update_columns([servers::Column::SeenAt, servers::Column::Share])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map(drop)
}

/// The servers seen since `since`, by id, with their shares.
pub async fn live(db: &impl ConnectionTrait, since: DateTime<Utc>) -> Result<Vec<Live>, DbErr> {
    let rows: Vec<(String, i32)> = Servers::find()
        .select_only()
        .column(servers::Column::Id)
        .column(servers::Column::Share)
        .filter(servers::Column::SeenAt.gt(since))
        .order_by_asc(servers::Column::Id)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, share)| Live {
            id,
            share: u32::try_from(share).unwrap_or(0),
        })
        .collect())
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
        seen(&db, "a", at(0), 0).await.unwrap();
        seen(&db, "b", at(5), 0).await.unwrap();
        assert_eq!(alive_since(&db, at(-1)).await.unwrap(), 2);
        assert_eq!(
            alive_since(&db, at(1)).await.unwrap(),
            1,
            "a not seen since 0"
        );
        seen(&db, "a", at(10), 0).await.unwrap();
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

    #[tokio::test]
    async fn live_servers_come_with_the_share_they_last_reported() {
        let db = test_db::fresh().await;
        seen(&db, "b", at(0), 0).await.unwrap();
        seen(&db, "a", at(1), 1).await.unwrap();
        seen(&db, "b", at(2), 2).await.unwrap();
        let live_since = |s| live(&db, at(s));
        assert_eq!(
            live_since(-1).await.unwrap(),
            [
                Live {
                    id: "a".into(),
                    share: 1
                },
                Live {
                    id: "b".into(),
                    share: 2
                }
            ]
        );
        assert_eq!(
            live_since(1).await.unwrap(),
            [Live {
                id: "b".into(),
                share: 2
            }],
            "a not seen since 1"
        );
    }
}
