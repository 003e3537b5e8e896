//! The `sync_cursors` table: for each license and Metrc list, the `lastModifiedEnd` up to which
//! every record is stored. Sync resumes from here (docs/design.md §7, §8). A cursor only moves
//! forward ([`set`]): a run that read earlier (a server that stalled while another took its
//! facility over) never takes a list back.

use super::super::entities::sync_cursors::{self, Entity as SyncCursors};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use std::collections::HashMap;

/// The cursors of one license, by list name.
pub async fn for_license(
    db: &impl ConnectionTrait,
    license_number: &str,
) -> Result<HashMap<String, DateTime<Utc>>, DbErr> {
    Ok(SyncCursors::find()
        .filter(sync_cursors::Column::LicenseNumber.eq(license_number))
        .all(db)
        .await?
        .into_iter()
        .map(|c| (c.resource, c.last_modified_end))
        .collect())
}

/// Every cursor, by license and then list name (one query for the scheduler's pass).
pub async fn all(
    db: &impl ConnectionTrait,
) -> Result<HashMap<String, HashMap<String, DateTime<Utc>>>, DbErr> {
    let mut out: HashMap<String, HashMap<String, DateTime<Utc>>> = HashMap::new();
    for c in SyncCursors::find().all(db).await? {
        out.entry(c.license_number)
            .or_default()
            .insert(c.resource, c.last_modified_end);
    }
    Ok(out)
}

/// Creates the cursor of one list, or moves it forward to `last_modified_end`: a stored cursor at
/// or after it stays where it is (`ON CONFLICT DO UPDATE ... WHERE stored < new`, one statement on
/// SQLite and PostgreSQL alike). Returns whether the cursor was written.
pub async fn set(
    db: &impl ConnectionTrait,
    license_number: &str,
    resource: &str,
    last_modified_end: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let stored = Expr::col((SyncCursors, sync_cursors::Column::LastModifiedEnd));
    let incoming = Expr::col((
        Alias::new("excluded"),
        sync_cursors::Column::LastModifiedEnd,
    ));
    SyncCursors::insert(sync_cursors::ActiveModel {
        license_number: Set(license_number.to_owned()),
        resource: Set(resource.to_owned()),
        last_modified_end: Set(last_modified_end),
        updated_at: Set(Utc::now()),
        ..Default::default()
    })
    .on_conflict(
        OnConflict::columns([
            sync_cursors::Column::LicenseNumber,
            sync_cursors::Column::Resource,
        ])
        .update_columns([
            sync_cursors::Column::LastModifiedEnd,
            sync_cursors::Column::UpdatedAt,
        ])
        .action_and_where(stored.lt(incoming))
        .to_owned(),
    )
    .exec_without_returning(db)
    .await
    .map(|written| written == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;
    use chrono::TimeZone;

    #[tokio::test]
    async fn one_cursor_per_license_and_list_moved_in_place() {
        let db = test_db::fresh().await;
        let t = |h| Utc.with_ymd_and_hms(2026, 1, 1, h, 0, 0).unwrap();
        set(&db, "A-1", "PackagesActive", t(1)).await.unwrap();
        set(&db, "A-1", "PackagesActive", t(2)).await.unwrap();
        set(&db, "A-1", "ItemsActive", t(3)).await.unwrap();
        set(&db, "B-2", "PackagesActive", t(4)).await.unwrap();
        let a = for_license(&db, "A-1").await.unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a["PackagesActive"], t(2));
        assert_eq!(a["ItemsActive"], t(3));
        let every = all(&db).await.unwrap();
        assert_eq!(every["B-2"]["PackagesActive"], t(4));
        assert_eq!(SyncCursors::find().all(&db).await.unwrap().len(), 3);
    }

    #[tokio::test]
    async fn a_cursor_never_moves_backwards() {
        let db = test_db::fresh().await;
        let t = |h, s| Utc.with_ymd_and_hms(2026, 1, 1, h, 0, s).unwrap();
        assert!(set(&db, "A-1", "PackagesActive", t(5, 0)).await.unwrap());
        // A run that read earlier (a stalled server's) writes an older end: ignored.
        assert!(!set(&db, "A-1", "PackagesActive", t(4, 59)).await.unwrap());
        assert!(!set(&db, "A-1", "PackagesActive", t(5, 0)).await.unwrap());
        assert_eq!(
            for_license(&db, "A-1").await.unwrap()["PackagesActive"],
            t(5, 0)
        );
        // Forward by a second, and by a fraction of one (sub-second ends compare as instants).
        assert!(set(&db, "A-1", "PackagesActive", t(5, 1)).await.unwrap());
        let later = t(5, 1) + chrono::Duration::milliseconds(250);
        assert!(set(&db, "A-1", "PackagesActive", later).await.unwrap());
        assert!(!set(&db, "A-1", "PackagesActive", t(5, 1)).await.unwrap());
        assert_eq!(
            for_license(&db, "A-1").await.unwrap()["PackagesActive"],
            later
        );
    }
}
