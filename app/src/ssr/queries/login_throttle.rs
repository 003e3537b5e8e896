//! The `login_throttle` table: for each throttled account and client address, when its allowance
//! of sign-in attempts is full again; shared by every server (docs/design.md §6, §11).

use super::super::entities::login_throttle::{self, Entity as LoginThrottle};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set};
use std::collections::HashMap;

/// The `full_at` of each of `keys`, their rows locked until the transaction `db` ends (on
/// PostgreSQL `FOR UPDATE`; a SQLite write transaction holds the whole database). A key without
/// a row gets one, full at `now`.
pub async fn lock(
    db: &impl ConnectionTrait,
    keys: &[String],
    now: DateTime<Utc>,
) -> Result<HashMap<String, DateTime<Utc>>, DbErr> {
    for key in keys {
        LoginThrottle::insert(login_throttle::ActiveModel {
            key: Set(key.clone()),
            full_at: Set(now),
        })
        .on_conflict(
            OnConflict::column(login_throttle::Column::Key)
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(LoginThrottle::find()
        .filter(login_throttle::Column::Key.is_in(keys.iter().cloned()))
        .lock_exclusive()
        .all(db)
        .await?
        .into_iter()
        .map(|row| (row.key, row.full_at))
        .collect())
}

/// Stores when `key`'s allowance is full again.
pub async fn set(
    db: &impl ConnectionTrait,
    key: &str,
    full_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    LoginThrottle::update_many()
        .col_expr(
            login_throttle::Column::FullAt,
            sea_orm::sea_query::Expr::value(full_at),
        )
        .filter(login_throttle::Column::Key.eq(key))
        .exec(db)
        .await
        .map(drop)
}

/// Deletes the rows whose allowance is full again by `now` (they hold nothing); returns how many.
pub async fn delete_recovered(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(LoginThrottle::delete_many()
        .filter(login_throttle::Column::FullAt.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}
