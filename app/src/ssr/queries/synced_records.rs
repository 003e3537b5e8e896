//! The `synced_records` table: every record of every synced Metrc list, one row per license, list
//! and Metrc id (upserted, never duplicated), with the fields the work screens filter on and the
//! whole record as JSON. A stored record is only replaced by one at least as new (Metrc's
//! `LastModified`): an older read, a stalled server's, never overwrites a newer one.

use super::super::entities::facilities::{self, Entity as Facilities};
use super::super::entities::synced_records::{self, Column, Entity as SyncedRecords};
use super::counting::total;
use super::text_match::contains;
use crate::types::inventory::Total;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

/// A record as sync stores it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewRecord {
    pub metrc_id: i64,
    pub label: Option<String>,
    pub name: Option<String>,
    pub item: Option<String>,
    pub location: Option<String>,
    pub strain: Option<String>,
    pub quantity: Option<f64>,
    pub unit: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
    /// The whole record, JSON text.
    pub data: String,
}

/// Values one row binds in an insert: every column but `id`.
pub const BINDS_PER_ROW: usize = 13;
/// Most bind parameters in one statement: SQLite's limit (32,766 since 3.32; sqlx bundles a newer
/// SQLite); PostgreSQL allows 65,535.
pub const MAX_BINDS: usize = 32_766;
/// Most rows in one insert.
pub const MAX_ROWS: usize = MAX_BINDS / BINDS_PER_ROW;

/// Inserts `rows` into one license's list, updating the rows already there (by Metrc id) unless
/// the stored one is newer ([`not_newer_than_incoming`]), in one statement. At most [`MAX_ROWS`]
/// rows, each Metrc id once (PostgreSQL refuses to update one row twice in a statement).
pub async fn upsert_chunk(
    db: &impl ConnectionTrait,
    license_number: &str,
    resource: &str,
    rows: Vec<NewRecord>,
    synced_at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    debug_assert!(rows.len() <= MAX_ROWS);
    if rows.is_empty() {
        return Ok(0);
    }
    let models = rows.into_iter().map(|r| synced_records::ActiveModel {
        license_number: Set(license_number.to_owned()),
        resource: Set(resource.to_owned()),
        metrc_id: Set(r.metrc_id),
        label: Set(r.label),
        name: Set(r.name),
        item: Set(r.item),
        location: Set(r.location),
        strain: Set(r.strain),
        quantity: Set(r.quantity),
        unit: Set(r.unit),
        last_modified: Set(r.last_modified),
        data: Set(r.data),
        synced_at: Set(synced_at),
        ..Default::default()
    });
    SyncedRecords::insert_many(models)
        .on_conflict(
            OnConflict::columns([Column::LicenseNumber, Column::Resource, Column::MetrcId])
                .update_columns([
                    Column::Label,
                    Column::Name,
                    Column::Item,
                    Column::Location,
                    Column::Strain,
                    Column::Quantity,
                    Column::Unit,
                    Column::LastModified,
                    Column::Data,
                    Column::SyncedAt,
                ])
                .action_cond_where(not_newer_than_incoming())
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
}

/// The upsert's condition to replace a stored row: its `last_modified` is not after the incoming
/// one's. When either is unknown (no `LastModified`, or a local time in an unknown zone) they
/// cannot be compared, and the later read wins, as it always did.
fn not_newer_than_incoming() -> Condition {
    let stored = || Expr::col((SyncedRecords, Column::LastModified));
    let incoming = || Expr::col((Alias::new("excluded"), Column::LastModified));
    Condition::any()
        .add(stored().is_null())
        .add(incoming().is_null())
        .add(stored().lte(incoming()))
}

/// The `last_modified` of the records with these Metrc ids in the license's `resources` (a
/// package's other list), where known: what an incoming record is compared with before it moves
/// lists. `ids`: at most [`MAX_ROWS`].
pub async fn last_modified_in(
    db: &impl ConnectionTrait,
    license_number: &str,
    resources: &[&str],
    ids: &[i64],
) -> Result<HashMap<i64, DateTime<Utc>>, DbErr> {
    if resources.is_empty() || ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found: Vec<(i64, Option<DateTime<Utc>>)> = SyncedRecords::find()
        .select_only()
        .column(Column::MetrcId)
        .column(Column::LastModified)
        .filter(Column::LicenseNumber.eq(license_number))
        .filter(Column::Resource.is_in(resources.iter().copied()))
        .filter(Column::MetrcId.is_in(ids.iter().copied()))
        .filter(Column::LastModified.is_not_null())
        .into_tuple()
        .all(db)
        .await?;
    Ok(found
        .into_iter()
        .filter_map(|(id, at)| Some((id, at?)))
        .collect())
}

/// Deletes the records with these Metrc ids from the license's `resources` (a package that
/// turned inactive leaves the active list). `ids`: at most [`MAX_ROWS`].
pub async fn remove(
    db: &impl ConnectionTrait,
    license_number: &str,
    resources: &[&str],
    ids: &[i64],
) -> Result<u64, DbErr> {
    if resources.is_empty() || ids.is_empty() {
        return Ok(0);
    }
    Ok(SyncedRecords::delete_many()
        .filter(Column::LicenseNumber.eq(license_number))
        .filter(Column::Resource.is_in(resources.iter().copied()))
        .filter(Column::MetrcId.is_in(ids.iter().copied()))
        .exec(db)
        .await?
        .rows_affected)
}

/// Records in one license's list.
pub async fn count(
    db: &impl ConnectionTrait,
    license_number: &str,
    resource: &str,
) -> Result<u64, DbErr> {
    SyncedRecords::find()
        .filter(Column::LicenseNumber.eq(license_number))
        .filter(Column::Resource.eq(resource))
        .count(db)
        .await
}

/// One stored record, by Metrc id.
pub async fn find(
    db: &impl ConnectionTrait,
    license_number: &str,
    resource: &str,
    metrc_id: i64,
) -> Result<Option<synced_records::Model>, DbErr> {
    SyncedRecords::find()
        .filter(Column::LicenseNumber.eq(license_number))
        .filter(Column::Resource.eq(resource))
        .filter(Column::MetrcId.eq(metrc_id))
        .one(db)
        .await
}

/// The distinct names in one license's list (locations for the work forms), sorted.
pub async fn names(
    db: &impl ConnectionTrait,
    license_number: &str,
    resource: &str,
) -> Result<Vec<String>, DbErr> {
    let names: Vec<Option<String>> = SyncedRecords::find()
        .select_only()
        .column(Column::Name)
        .distinct()
        .filter(Column::LicenseNumber.eq(license_number))
        .filter(Column::Resource.eq(resource))
        .filter(Column::Name.is_not_null())
        .order_by_asc(Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    Ok(names.into_iter().flatten().collect())
}

/// What a work screen's list asks for.
#[derive(Debug, Clone, Default)]
pub struct RecordQuery<'a> {
    /// The lists to read (e.g. `PlantsVegetative` and `PlantsFlowering`).
    pub resources: &'a [&'a str],
    /// Only these licenses; `None`: every license.
    pub licenses: Option<&'a [String]>,
    /// Only the licenses of the facilities of this state (two upper-case letters, as
    /// `facilities.state` holds them); `None`: every state.
    pub state: Option<&'a str>,
    /// Parts of the label, item name, location and strain, matched case-insensitively.
    pub label: Option<&'a str>,
    pub item: Option<&'a str>,
    pub location: Option<&'a str>,
    pub strain: Option<&'a str>,
    pub offset: u64,
    pub limit: u64,
}

/// A record without its JSON, for lists.
#[derive(Debug, Clone, PartialEq, FromQueryResult)]
pub struct RecordSummary {
    pub license_number: String,
    pub resource: String,
    pub metrc_id: i64,
    pub label: Option<String>,
    pub name: Option<String>,
    pub item: Option<String>,
    pub location: Option<String>,
    pub strain: Option<String>,
    pub quantity: Option<f64>,
    pub unit: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
}

/// One page of records matching `q`, by license then label, and how many match in all
/// (counted only so far past the page, or not at all when the page ends the list: [`total`]).
pub async fn page(
    db: &impl ConnectionTrait,
    q: &RecordQuery<'_>,
) -> Result<(Vec<RecordSummary>, Total), DbErr> {
    let mut condition = Condition::all().add(Column::Resource.is_in(q.resources.iter().copied()));
    if let Some(licenses) = q.licenses {
        condition = condition.add(Column::LicenseNumber.is_in(licenses.iter().cloned()));
    }
    if let Some(state) = q.state {
        // license_number IN (SELECT license_number FROM facilities WHERE state = <state>)
        condition = condition.add(
            Expr::col((SyncedRecords, Column::LicenseNumber)).in_subquery(
                Query::select()
                    .column((Facilities, facilities::Column::LicenseNumber))
                    .from(Facilities)
                    .and_where(Expr::col((Facilities, facilities::Column::State)).eq(state))
                    .to_owned(),
            ),
        );
    }
    for (column, part) in [
        (Column::Label, q.label),
        (Column::Item, q.item),
        (Column::Location, q.location),
        (Column::Strain, q.strain),
    ] {
        if let Some(part) = part.map(str::trim).filter(|p| !p.is_empty()) {
            condition = condition.add(contains((SyncedRecords, column), part));
        }
    }
    let select = SyncedRecords::find().filter(condition);
    let rows = select
        .clone()
        .select_only()
        .columns([
            Column::LicenseNumber,
            Column::Resource,
            Column::MetrcId,
            Column::Label,
            Column::Name,
            Column::Item,
            Column::Location,
            Column::Strain,
            Column::Quantity,
            Column::Unit,
            Column::LastModified,
        ])
        .order_by_asc(Column::LicenseNumber)
        .order_by_asc(Column::Label)
        .order_by_asc(Column::MetrcId)
        .offset(q.offset)
        .limit(q.limit)
        .into_model::<RecordSummary>()
        .all(db)
        .await?;
    let total = total(db, select, q.offset, rows.len(), q.limit).await?;
    Ok((rows, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;

    fn record(id: i64, label: &str, item: &str) -> NewRecord {
        NewRecord {
            metrc_id: id,
            label: Some(label.into()),
            item: Some(item.into()),
            quantity: Some(1.5),
            data: format!(r#"{{"Id":{id}}}"#),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn upserts_update_in_place_and_removal_is_per_list() {
        let db = test_db::fresh().await;
        let now = Utc::now();
        let rows = vec![record(1, "1A01", "Flower"), record(2, "1A02", "Trim")];
        upsert_chunk(&db, "A-1", "PackagesActive", rows, now)
            .await
            .unwrap();
        let mut changed = record(2, "1A02", "Trim");
        changed.quantity = Some(0.5);
        upsert_chunk(&db, "A-1", "PackagesActive", vec![changed], now)
            .await
            .unwrap();
        upsert_chunk(
            &db,
            "B-2",
            "PackagesActive",
            vec![record(2, "1B02", "X")],
            now,
        )
        .await
        .unwrap();
        assert_eq!(count(&db, "A-1", "PackagesActive").await.unwrap(), 2);
        let two = find(&db, "A-1", "PackagesActive", 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(two.quantity, Some(0.5));
        assert_eq!(
            remove(&db, "A-1", &["PackagesActive"], &[2, 3])
                .await
                .unwrap(),
            1
        );
        assert_eq!(count(&db, "A-1", "PackagesActive").await.unwrap(), 1);
        assert_eq!(count(&db, "B-2", "PackagesActive").await.unwrap(), 1);
    }

    #[tokio::test]
    async fn an_older_record_never_overwrites_a_newer_one() {
        fn at(s: &str) -> DateTime<Utc> {
            DateTime::parse_from_rfc3339(s).unwrap().to_utc()
        }
        let db = test_db::fresh().await;
        let version = |qty: f64, modified: Option<&str>| NewRecord {
            quantity: Some(qty),
            last_modified: modified.map(at),
            ..record(1, "1A01", "Flower")
        };
        let stored = |db| async move {
            let row = find(db, "A-1", "PackagesActive", 1).await.unwrap().unwrap();
            (row.quantity, row.last_modified)
        };
        let upsert = |row: NewRecord| {
            let db = db.clone();
            async move {
                upsert_chunk(&db, "A-1", "PackagesActive", vec![row], Utc::now())
                    .await
                    .unwrap()
            }
        };
        upsert(version(2.0, Some("2026-01-17T10:00:00.500Z"))).await;
        // Read earlier (a stalled server's window): the newer row stays.
        upsert(version(1.0, Some("2026-01-17T10:00:00Z"))).await;
        upsert(version(1.5, Some("2026-01-17T09:59:59.750Z"))).await;
        assert_eq!(
            stored(&db).await,
            (Some(2.0), Some(at("2026-01-17T10:00:00.500Z")))
        );
        // As new (read again) or newer: replaced.
        upsert(version(2.5, Some("2026-01-17T10:00:00.500Z"))).await;
        assert_eq!(stored(&db).await.0, Some(2.5));
        upsert(version(3.0, Some("2026-01-17T10:00:01Z"))).await;
        assert_eq!(
            stored(&db).await,
            (Some(3.0), Some(at("2026-01-17T10:00:01Z")))
        );
        // No time to compare (incoming or stored): the later read wins.
        upsert(version(4.0, None)).await;
        assert_eq!(stored(&db).await, (Some(4.0), None));
        upsert(version(5.0, Some("2026-01-01T00:00:00Z"))).await;
        assert_eq!(stored(&db).await.0, Some(5.0));
        assert_eq!(count(&db, "A-1", "PackagesActive").await.unwrap(), 1);
        let elsewhere = last_modified_in(&db, "A-1", &["PackagesActive"], &[1, 2])
            .await
            .unwrap();
        assert_eq!(elsewhere, HashMap::from([(1, at("2026-01-01T00:00:00Z"))]));
    }

    #[tokio::test]
    async fn pages_filter_case_insensitively_and_take_wildcards_literally() {
        let db = test_db::fresh().await;
        let rows = (0..7)
            .map(|i| {
                record(
                    i,
                    &format!("1A00{i}"),
                    if i % 2 == 0 {
                        "Blue Dream Flower"
                    } else {
                        "50%_Off"
                    },
                )
            })
            .collect();
        upsert_chunk(&db, "A-1", "PackagesActive", rows, Utc::now())
            .await
            .unwrap();
        let all = ["PackagesActive"];
        let q = |item: Option<&'static str>, offset| RecordQuery {
            resources: &all,
            item,
            offset,
            limit: 3,
            ..Default::default()
        };
        let (rows, total) = page(&db, &q(Some("blue DREAM"), 0)).await.unwrap();
        assert_eq!((rows.len(), total), (3, Total::exact(4)));
        let (rows, total) = page(&db, &q(Some("blue"), 3)).await.unwrap();
        assert_eq!((rows.len(), total), (1, Total::exact(4)));
        assert_eq!(rows[0].label.as_deref(), Some("1A006"));
        assert_eq!(
            page(&db, &q(Some("%_o"), 0)).await.unwrap().1,
            Total::exact(3)
        );
        assert_eq!(
            page(&db, &q(Some("0_"), 0)).await.unwrap().1,
            Total::exact(0)
        );
        let none: [String; 0] = [];
        let q = RecordQuery {
            resources: &all,
            licenses: Some(&none),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(page(&db, &q).await.unwrap().1, Total::exact(0));
    }

    #[tokio::test]
    async fn a_state_keeps_only_the_records_of_its_facilities() {
        let db = test_db::fresh().await;
        for (license, state) in [("CO-1", "CO"), ("MI-1", "MI")] {
            test_db::add_facility(&db, license, state).await;
        }
        let now = Utc::now();
        for (license, n) in [("CO-1", 3), ("MI-1", 2), ("XX-1", 1)] {
            let rows = (0..n)
                .map(|i| record(i, &format!("1A{license}{i}"), "Flower"))
                .collect();
            upsert_chunk(&db, license, "PackagesActive", rows, now)
                .await
                .unwrap();
        }
        let all = ["PackagesActive"];
        let q = |state: Option<&'static str>, licenses: Option<&'static [String]>| RecordQuery {
            resources: &all,
            state,
            licenses,
            limit: 10,
            ..Default::default()
        };
        let licenses = |rows: Vec<RecordSummary>| {
            rows.into_iter()
                .map(|r| r.license_number)
                .collect::<Vec<_>>()
        };
        let (rows, total) = page(&db, &q(Some("CO"), None)).await.unwrap();
        assert_eq!(total, Total::exact(3));
        assert_eq!(licenses(rows), vec!["CO-1"; 3]);
        let (rows, total) = page(&db, &q(Some("MI"), None)).await.unwrap();
        assert_eq!(total, Total::exact(2));
        assert_eq!(licenses(rows), vec!["MI-1"; 2]);
        assert_eq!(
            page(&db, &q(Some("CA"), None)).await.unwrap().1,
            Total::exact(0)
        );
        assert_eq!(page(&db, &q(None, None)).await.unwrap().1, Total::exact(6));
        // With the user's licenses: both must hold.
        let co_only: &'static [String] = Box::leak(Box::new(["CO-1".to_owned()]));
        assert_eq!(
            page(&db, &q(Some("MI"), Some(co_only))).await.unwrap().1,
            Total::exact(0)
        );
        assert_eq!(
            page(&db, &q(Some("CO"), Some(co_only))).await.unwrap().1,
            Total::exact(3)
        );
    }
}
