//! The `leases` table: which server holds a piece of shared work, and until when
//! (docs/design.md §11). Every change is one conditional statement, so two servers racing for a
//! lease cannot both get it, on PostgreSQL (a row lock, the condition checked again after it)
//! and on SQLite (one writer at a time) alike.
//!
//! Times are the servers' clocks: they are assumed to agree within a small fraction of a lease
//! (NTP), which is why a lease lasts seconds, not milliseconds.

use super::super::entities::leases::{self, Entity as Leases};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set,
};
use std::time::Duration;

/// A lease this server holds: what, under which token, until when (as last written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub name: String,
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// `now + ttl`, saturating.
fn until(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Takes the lease `name` for `holder` until `now + ttl` if nobody holds it or its holder's
/// lease has expired (a holder's own live lease is not taken again: see [`renew`]). `None`: a
/// live lease of someone else's (or an earlier one of this holder's) stands.
pub async fn acquire(
    db: &impl ConnectionTrait,
    name: &str,
    holder: &str,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<Option<Held>, DbErr> {
    let held = Held {
        name: name.to_owned(),
        token: new_token(),
        expires_at: until(now, ttl),
    };
    let inserted = Leases::insert(leases::ActiveModel {
        name: Set(held.name.clone()),
        holder: Set(holder.to_owned()),
        token: Set(held.token.clone()),
        acquired_at: Set(now),
        expires_at: Set(held.expires_at),
    })
    .on_conflict(
        OnConflict::column(leases::Column::Name)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if inserted == 1 {
        return Ok(Some(held));
    }
    let taken = Leases::update_many()
        .col_expr(leases::Column::Holder, Expr::value(holder))
        .col_expr(leases::Column::Token, Expr::value(held.token.clone()))
        .col_expr(leases::Column::AcquiredAt, Expr::value(now))
        .col_expr(leases::Column::ExpiresAt, Expr::value(held.expires_at))
        .filter(leases::Column::Name.eq(name))
        .filter(leases::Column::ExpiresAt.lte(now))
        .exec(db)
        .await?
        .rows_affected;
    Ok((taken == 1).then_some(held))
}

/// Extends a lease still held to `now + ttl`. `false`: it expired (and may have been taken
/// over) or was released: the work under it must stop.
pub async fn renew(
    db: &impl ConnectionTrait,
    held: &mut Held,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let expires_at = until(now, ttl);
    let renewed = Leases::update_many()
        .col_expr(leases::Column::ExpiresAt, Expr::value(expires_at))
        .filter(leases::Column::Name.eq(held.name.as_str()))
        .filter(leases::Column::Token.eq(held.token.as_str()))
        .filter(leases::Column::ExpiresAt.gt(now))
        .exec(db)
        .await?
        .rows_affected
        == 1;
    if renewed {
        held.expires_at = expires_at;
    }
    Ok(renewed)
}

/// Gives the lease up (if it is still this one), so another server may take it at once.
pub async fn release(db: &impl ConnectionTrait, held: &Held) -> Result<(), DbErr> {
    Leases::delete_many()
        .filter(leases::Column::Name.eq(held.name.as_str()))
        .filter(leases::Column::Token.eq(held.token.as_str()))
        .exec(db)
        .await
        .map(drop)
}

/// The lease `name`, live at `now` (whoever holds it).
fn live_named(name: &str, now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(leases::Column::Name.eq(name))
        .add(leases::Column::ExpiresAt.gt(now))
}

/// The lease `held` itself, live at `now`: its name, its token, not expired.
fn this_lease_live(held: &Held, now: DateTime<Utc>) -> Condition {
    live_named(&held.name, now).add(leases::Column::Token.eq(held.token.as_str()))
}

/// A condition for a statement that must only take effect while `held` is still live at `now`
/// (a fence: a holder whose lease was taken over writes nothing under it).
pub fn still_held(held: &Held, now: DateTime<Utc>) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::value(1))
            .from(Leases)
            .cond_where(this_lease_live(held, now))
            .to_owned(),
    )
}

/// A condition true while some server holds the lease `name` at `now` (whoever holds it).
pub fn held_by_anyone(name: &str, now: DateTime<Utc>) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::value(1))
            .from(Leases)
            .cond_where(live_named(name, now))
            .to_owned(),
    )
}

/// Whether `held` is still live at `now`, its row then locked until the transaction `txn` ends
/// (`FOR SHARE` on PostgreSQL, so a takeover waits for this transaction's writes instead of
/// overlapping them; a SQLite write transaction excludes every other writer already). The row's
/// own columns are checked rather than [`still_held`]'s `EXISTS`, so that PostgreSQL checks them
/// again on the row version it locks when a takeover commits meanwhile.
pub async fn hold_for_write(
    txn: &impl ConnectionTrait,
    held: &Held,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(Leases::find()
        .filter(this_lease_live(held, now))
        .lock_shared()
        .one(txn)
        .await?
        .is_some())
}

/// The live leases whose names start with `prefix`, at `now`.
pub async fn live(
    db: &impl ConnectionTrait,
    prefix: &str,
    now: DateTime<Utc>,
) -> Result<Vec<leases::Model>, DbErr> {
    Leases::find()
        .filter(leases::Column::Name.starts_with(prefix))
        .filter(leases::Column::ExpiresAt.gt(now))
        .all(db)
        .await
}

/// What the live leases named `<prefix><rest>` hold, at `now`: each `rest` (the license of an
/// `outbox:` or `sync:` lease).
pub async fn live_under<C: FromIterator<String>>(
    db: &impl ConnectionTrait,
    prefix: &str,
    now: DateTime<Utc>,
) -> Result<C, DbErr> {
    Ok(live(db, prefix, now)
        .await?
        .into_iter()
        .filter_map(|lease| lease.name.strip_prefix(prefix).map(str::to_owned))
        .collect())
}

/// 128 random bits, hex.
fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;

    const TTL: Duration = Duration::from_secs(30);

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[tokio::test]
    async fn one_holder_at_a_time_until_the_lease_expires() {
        let db = test_db::fresh().await;
        let a = acquire(&db, "outbox:L1", "a", TTL, at(0)).await.unwrap();
        let a = a.expect("a free lease is taken");
        assert_eq!(a.expires_at, at(30));
        assert!(
            acquire(&db, "outbox:L1", "b", TTL, at(29))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            acquire(&db, "outbox:L1", "a", TTL, at(29))
                .await
                .unwrap()
                .is_none(),
            "not even its holder takes a live lease twice"
        );
        assert!(
            acquire(&db, "outbox:L2", "b", TTL, at(1))
                .await
                .unwrap()
                .is_some(),
            "another name is another lease"
        );
        let b = acquire(&db, "outbox:L1", "b", TTL, at(30)).await.unwrap();
        let b = b.expect("an expired lease is taken over");
        assert_ne!(a.token, b.token);
    }

    #[tokio::test]
    async fn renewing_keeps_it_and_a_lease_taken_over_cannot_be_renewed() {
        let db = test_db::fresh().await;
        let mut a = acquire(&db, "sync:L1", "a", TTL, at(0))
            .await
            .unwrap()
            .unwrap();
        assert!(renew(&db, &mut a, TTL, at(20)).await.unwrap());
        assert_eq!(a.expires_at, at(50));
        assert!(
            acquire(&db, "sync:L1", "b", TTL, at(40))
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            !renew(&db, &mut a, TTL, at(50)).await.unwrap(),
            "expired at 50"
        );
        let mut b = acquire(&db, "sync:L1", "b", TTL, at(51))
            .await
            .unwrap()
            .unwrap();
        assert!(!renew(&db, &mut a, TTL, at(52)).await.unwrap(), "b's now");
        assert!(renew(&db, &mut b, TTL, at(52)).await.unwrap());
    }

    #[tokio::test]
    async fn a_release_frees_it_at_once_but_only_the_holders_own() {
        let db = test_db::fresh().await;
        let a = acquire(&db, "job:x", "a", TTL, at(0))
            .await
            .unwrap()
            .unwrap();
        let stale = Held {
            token: "someone-else".into(),
            ..a.clone()
        };
        release(&db, &stale).await.unwrap();
        assert!(
            acquire(&db, "job:x", "b", TTL, at(1))
                .await
                .unwrap()
                .is_none()
        );
        release(&db, &a).await.unwrap();
        assert!(
            acquire(&db, "job:x", "b", TTL, at(1))
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn the_fence_holds_only_while_the_lease_does() {
        use crate::ssr::entities::leases::Entity;
        let db = test_db::fresh().await;
        let a = acquire(&db, "outbox:L1", "a", TTL, at(0))
            .await
            .unwrap()
            .unwrap();
        let fenced = |now| Entity::find().filter(still_held(&a, now));
        assert_eq!(fenced(at(29)).all(&db).await.unwrap().len(), 1);
        assert!(fenced(at(30)).all(&db).await.unwrap().is_empty(), "expired");
        acquire(&db, "outbox:L1", "b", TTL, at(31))
            .await
            .unwrap()
            .unwrap();
        assert!(
            fenced(at(1)).all(&db).await.unwrap().is_empty(),
            "taken over"
        );
        assert_eq!(live(&db, "outbox:", at(31)).await.unwrap().len(), 1);
        assert!(live(&db, "sync:", at(31)).await.unwrap().is_empty());
    }
}
