//! Storing what a walk brought: each Metrc record as a row (the fields the work screens filter on,
//! derived from the typed view, plus the whole record exactly as Metrc sent it, as JSON),
//! deduplicated by Metrc id, inserted in bulk in chunks under the database's bind limit, together
//! with the list's cursor in one transaction.
//!
//! Writes never go backwards: a record replaces a stored one only if it is at least as new
//! (`LastModified`, in the list and in its sibling lists), and a cursor only moves forward. A run
//! stores under its facility's `sync:` lease ([`store`]'s fence): a run whose lease was taken over
//! stores nothing (docs/design.md §7).

use super::schedule;
use crate::ssr::queries::leases::{self, Held};
use crate::ssr::queries::synced_records::{self, MAX_ROWS, NewRecord};
use crate::ssr::queries::{facilities, sync_cursors};
use chrono::{DateTime, Utc};
use metrc::types::time::Tz;
use metrc::types::{Harvest, Item, Location, Package, Plant, PlantBatch, Strain, Transfer};
use metrc::{MetrcTime, Resource, state_time_zone};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// A Metrc record sync can store.
pub trait SyncRecord: DeserializeOwned + Serialize + Send + 'static {
    /// The row to store; `None` for a record without an `Id` (it cannot be stored by id).
    /// `zone` is the facility's (its state's) time zone: a Metrc time without an offset is
    /// local there (docs/metrc.md §6).
    fn row(&self, zone: Option<Tz>) -> Option<NewRecord>;
}

/// A Metrc timestamp that carries its offset (`2026-02-08T07:05:59.804361+00:00`, `...Z`), in
/// UTC; `None` for a placeholder, or a time without an offset (which needs the facility's zone:
/// [`MetrcTime::to_utc`]).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    MetrcTime::parse(text)
        .filter(MetrcTime::has_offset)?
        .to_utc(None)
}

/// The instant of a record's `LastModified`, read in the facility's zone when Metrc sent no
/// offset; `None` when absent, a placeholder, or local to an unknown zone.
fn instant(time: Option<MetrcTime>, zone: Option<Tz>) -> Option<DateTime<Utc>> {
    time?.to_utc(zone)
}

/// The record as Metrc sent it (every field, its own key spelling), as JSON text.
fn json(raw: &serde_json::Map<String, serde_json::Value>) -> String {
    serde_json::to_string(raw).unwrap_or_else(|_| "{}".into())
}

impl SyncRecord for Package {
    fn row(&self, zone: Option<Tz>) -> Option<NewRecord> {
        let item = self.item.as_ref();
        Some(NewRecord {
            metrc_id: self.id?,
            label: self.label.clone(),
            name: None,
            item: item.and_then(|i| i.name.clone()),
            location: self.location_name.clone(),
            strain: item.and_then(|i| i.strain_name.clone()),
            quantity: self.quantity,
            unit: self.unit_of_measure_name.clone(),
            last_modified: instant(self.last_modified, zone),
            data: json(&self.raw),
        })
    }
}

impl SyncRecord for Plant {
    fn row(&self, zone: Option<Tz>) -> Option<NewRecord> {
        Some(NewRecord {
            metrc_id: self.id?,
            label: self.label.clone(),
            name: self.plant_batch_name.clone(),
            location: self.location_name.clone(),
            strain: self.strain_name.clone(),
            last_modified: instant(self.last_modified, zone),
            data: json(&self.raw),
            ..Default::default()
        })
    }
}

impl SyncRecord for PlantBatch {
    fn row(&self, zone: Option<Tz>) -> Option<NewRecord> {
        Some(NewRecord {
            metrc_id: self.id?,
            name: self.name.clone(),
            location: self.location_name.clone(),
            strain: self.strain_name.clone(),
            // The plants still untracked in the batch (v2 `UntrackedCount`, v1 `Count`).
            quantity: self.count.map(|c| c as f64),
            last_modified: instant(self.last_modified, zone),
            data: json(&self.raw),
            ..Default::default()
        })
    }
}

impl SyncRecord for Harvest {
    fn row(&self, zone: Option<Tz>) -> Option<NewRecord> {
        Some(NewRecord {
            metrc_id: self.id?,
            name: self.name.clone(),
            location: self.drying_location_name.clone(),
            quantity: self.current_weight,
            unit: self.unit_of_weight_name.clone(),
            last_modified: instant(self.last_modified, zone),
            data: json(&self.raw),
            ..Default::default()
        })
    }
}

impl SyncRecord for Item {
    fn row(&self, zone: Option<Tz>) -> Option<NewRecord> {
        Some(NewRecord {
            metrc_id: self.id?,
            name: self.name.clone(),
            strain: self.strain_name.clone(),
            unit: self.unit_of_measure_name.clone(),
            last_modified: instant(self.last_modified, zone),
            data: json(&self.raw),
            ..Default::default()
        })
    }
}

impl SyncRecord for Location {
    fn row(&self, zone: Option<Tz>) -> Option<NewRecord> {
        Some(NewRecord {
            metrc_id: self.id?,
            name: self.name.clone(),
            last_modified: instant(self.last_modified, zone),
            data: json(&self.raw),
            ..Default::default()
        })
    }
}

impl SyncRecord for Strain {
    fn row(&self, zone: Option<Tz>) -> Option<NewRecord> {
        Some(NewRecord {
            metrc_id: self.id?,
            name: self.name.clone(),
            last_modified: instant(self.last_modified, zone),
            data: json(&self.raw),
            ..Default::default()
        })
    }
}

impl SyncRecord for Transfer {
    fn row(&self, zone: Option<Tz>) -> Option<NewRecord> {
        Some(NewRecord {
            metrc_id: self.id?,
            label: self.manifest_number.clone(),
            name: self.shipper_facility_name.clone(),
            quantity: self.package_count.map(|c| c as f64),
            last_modified: instant(self.last_modified, zone),
            data: json(&self.raw),
            ..Default::default()
        })
    }
}

/// The time zone of a facility: its state's (`facilities.state`, from Metrc's host), `None` when
/// the state is unknown (the sandbox on a local address) or not one of Metrc's.
pub async fn facility_zone(db: &impl ConnectionTrait, license: &str) -> Result<Option<Tz>, DbErr> {
    Ok(facilities::find_by_license(db, license)
        .await?
        .and_then(|f| state_time_zone(&f.state)))
}

/// The rows in order, each Metrc id once: the last one seen wins (a later page or window holds
/// the newer record).
pub fn dedup_last(rows: Vec<NewRecord>) -> Vec<NewRecord> {
    let mut at: HashMap<i64, usize> = HashMap::with_capacity(rows.len());
    let mut out: Vec<NewRecord> = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(&i) = at.get(&row.metrc_id) {
            out[i] = row;
        } else {
            at.insert(row.metrc_id, out.len());
            out.push(row);
        }
    }
    out
}

/// The rows not older than the same record stored in a sibling list (`elsewhere`: Metrc id → its
/// `last_modified` there): a package read active before it turned inactive does not move back.
/// A row whose time, or the other's, is unknown is kept (the later read wins).
pub fn not_older_than<S: std::hash::BuildHasher>(
    rows: Vec<NewRecord>,
    elsewhere: &HashMap<i64, DateTime<Utc>, S>,
) -> Vec<NewRecord> {
    rows.into_iter()
        .filter(
            |row| match (row.last_modified, elsewhere.get(&row.metrc_id)) {
                (Some(incoming), Some(stored)) => incoming >= *stored,
                _ => true,
            },
        )
        .collect()
}

/// `rows` cut into statements of at most `size` rows (at least 1).
pub fn chunks(rows: Vec<NewRecord>, size: usize) -> Vec<Vec<NewRecord>> {
    let size = size.max(1);
    let mut out = Vec::with_capacity(rows.len().div_ceil(size));
    let mut rest = rows.into_iter().peekable();
    while rest.peek().is_some() {
        out.push(rest.by_ref().take(size).collect());
    }
    out
}

/// Stores records of one list's window and, in the same transaction, moves the list's cursor to
/// `cursor` (`None`: records of a wide window stored as they come, the cursor left where it is
/// until the window's last ones): after a crash either both are stored or neither, so the next
/// run resumes with no gap, and the unique key plus upsert make a record read twice one row.
/// `zone` is the facility's ([`facility_zone`]; the caller has the facility at hand, so it is not
/// read again per window).
///
/// `fence`: the run's `sync:` lease. The transaction first checks it is still held, and on
/// PostgreSQL keeps its row locked (`FOR SHARE`) until the commit, so a takeover waits for this
/// write to end instead of overlapping it; on SQLite the write transaction excludes every other
/// writer already. Returns the records stored, or `None` when the lease is no longer held:
/// nothing was written.
pub async fn store<T: SyncRecord>(
    db: &DatabaseConnection,
    license: &str,
    zone: Option<Tz>,
    resource: Resource,
    records: Vec<T>,
    cursor: Option<DateTime<Utc>>,
    fence: Option<&Held>,
) -> Result<Option<u64>, DbErr> {
    let seen = records.len();
    let rows = dedup_last(records.iter().filter_map(|r| r.row(zone)).collect());
    if rows.len() < seen {
        tracing::debug!(
            license,
            resource = schedule::name(resource),
            seen,
            stored = rows.len(),
            "records without an Id or seen twice in one window"
        );
    }
    let stored = rows.len() as u64;
    let list = schedule::name(resource);
    let siblings: Vec<&str> = schedule::siblings(resource)
        .iter()
        .map(|r| schedule::name(*r))
        .collect();
    let now = Utc::now();
    let txn = crate::ssr::db::begin_write(db).await?;
    if let Some(held) = fence
        && !leases::hold_for_write(&txn, held, now).await?
    {
        return Ok(None);
    }
    for chunk in chunks(rows, MAX_ROWS) {
        let ids: Vec<i64> = chunk.iter().map(|r| r.metrc_id).collect();
        let elsewhere = synced_records::last_modified_in(&txn, license, &siblings, &ids).await?;
        let chunk = not_older_than(chunk, &elsewhere);
        let ids: Vec<i64> = chunk.iter().map(|r| r.metrc_id).collect();
        synced_records::remove(&txn, license, &siblings, &ids).await?;
        synced_records::upsert_chunk(&txn, license, list, chunk, now).await?;
    }
    if let Some(end) = cursor {
        sync_cursors::set(&txn, license, list, end).await?;
    }
    txn.commit().await?;
    Ok(Some(stored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;
    use metrc::types::tolerant::decode;
    use serde_json::json;

    fn row(id: i64, label: &str) -> NewRecord {
        NewRecord {
            metrc_id: id,
            label: Some(label.into()),
            ..Default::default()
        }
    }

    #[test]
    fn chunks_stay_under_the_bind_limit() {
        const { assert!(MAX_ROWS * synced_records::BINDS_PER_ROW <= 32_766) };
        const { assert!(MAX_ROWS >= 1_000, "big enough to be bulk") };
        let rows: Vec<NewRecord> = (0..5).map(|i| row(i, "x")).collect();
        let cut = chunks(rows.clone(), 2);
        assert_eq!(cut.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2, 1]);
        assert_eq!(cut.concat(), rows);
        assert_eq!(chunks(rows.clone(), 5).len(), 1);
        assert_eq!(chunks(rows, 0).len(), 5);
        assert!(chunks(Vec::new(), 3).is_empty());
    }

    #[test]
    fn duplicates_keep_the_last_record_in_first_place() {
        let rows = vec![row(1, "old"), row(2, "b"), row(1, "new"), row(3, "c")];
        let out = dedup_last(rows);
        let labels: Vec<_> = out
            .iter()
            .map(|r| (r.metrc_id, r.label.clone().unwrap_or_default()))
            .collect();
        assert_eq!(
            labels,
            vec![(1, "new".into()), (2, "b".into()), (3, "c".into())]
        );
    }

    #[test]
    fn packages_map_to_rows_with_the_record_as_metrc_sent_it() {
        let sent = json!({
            "Id": 7, "Label": "1A4000000000000000000123", "Quantity": 2.5,
            "UnitOfMeasureName": "Grams", "LocationName": "Vault",
            "LastModified": "2026-01-17T06:30:00+00:00",
            "Item": {"Id": 3, "Name": "Blue Dream Flower", "StrainName": "Blue Dream"},
            "SourceHarvestNames": "H1", "PatientLicenseNumber": null, "IsOnHold": "unreadable"
        });
        let p: Package = decode(sent.clone()).unwrap();
        let r = p.row(None).unwrap();
        assert_eq!(r.metrc_id, 7);
        assert_eq!(r.item.as_deref(), Some("Blue Dream Flower"));
        assert_eq!(r.strain.as_deref(), Some("Blue Dream"));
        assert_eq!(r.location.as_deref(), Some("Vault"));
        assert_eq!(r.last_modified, parse_time("2026-01-17T06:30:00Z"));
        // Every field as sent: the unread one, the null one, the mistyped one.
        let stored: serde_json::Value = serde_json::from_str(&r.data).unwrap();
        assert_eq!(stored, sent);
        let no_id: Package = decode(json!({"Label": "x"})).unwrap();
        assert!(no_id.row(None).is_none());
        assert_eq!(parse_time("not a time"), None);
        assert_eq!(
            parse_time("2026-01-17T06:30:00"),
            None,
            "no offset: needs a zone"
        );
    }

    /// A camelCase answer (field case-06) is stored in its own spelling, and its row reads alike.
    #[test]
    fn camel_case_records_are_stored_as_sent() {
        let sent = json!({"id": 8, "label": "1A08", "quantity": 1.0, "lastModified": "2026-01-17T06:30:00+00:00",
                          "item": {"name": "Trim", "strainName": "OG"}});
        let r = decode::<Package>(sent.clone()).unwrap().row(None).unwrap();
        assert_eq!(
            (r.metrc_id, r.label.as_deref(), r.strain.as_deref()),
            (8, Some("1A08"), Some("OG"))
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&r.data).unwrap(),
            sent
        );
    }

    /// Field case-04: a v2 plant batch's quantity is its `UntrackedCount`.
    #[test]
    fn case_04_plant_batch_quantity_is_its_untracked_count() {
        let b: PlantBatch = decode(json!({
            "Id": 5, "Name": "Example Batch 1", "PlantBatchTypeName": "Seed",
            "UntrackedCount": 80, "TrackedCount": 10, "LocationName": "Veg Room",
            "StrainName": "Example Kush", "LastModified": "2026-01-12T09:30:00+00:00"
        }))
        .unwrap();
        let r = b.row(None).unwrap();
        assert_eq!((r.metrc_id, r.quantity), (5, Some(80.0)));
        assert_eq!(r.location.as_deref(), Some("Veg Room"));
    }

    /// A time without an offset is the facility's local time; placeholders are absent.
    #[test]
    fn times_without_offset_are_local_to_the_facilitys_state() {
        let l: Location =
            decode(json!({"Id": 1, "Name": "Room 1", "LastModified": "2026-01-17T06:30:00"}))
                .unwrap();
        // Colorado in January: UTC-7.
        assert_eq!(
            l.row(state_time_zone("CO")).unwrap().last_modified,
            parse_time("2026-01-17T13:30:00Z")
        );
        // No known state: no instant, never a silent UTC.
        assert_eq!(l.row(None).unwrap().last_modified, None);
        let placeholder: Plant =
            decode(json!({"Id": 2, "LastModified": "0001-01-01T00:00:00+00:00"})).unwrap();
        assert_eq!(
            placeholder
                .row(state_time_zone("CO"))
                .unwrap()
                .last_modified,
            None
        );
    }

    #[tokio::test]
    async fn storing_twice_keeps_one_row_and_inactive_leaves_active() {
        let db = test_db::fresh().await;
        let package = |id: i64, qty: f64| -> Package {
            decode(json!({"Id": id, "Label": format!("1A{id}"), "Quantity": qty})).unwrap()
        };
        let end = parse_time("2026-11-28T10:00:00Z").unwrap();
        let stored = store(
            &db,
            "A-1",
            None,
            Resource::PackagesActive,
            vec![package(1, 1.0), package(2, 2.0), package(1, 1.5)],
            Some(end),
            None,
        )
        .await
        .unwrap();
        assert_eq!(stored, Some(2));
        store(
            &db,
            "A-1",
            None,
            Resource::PackagesActive,
            vec![package(2, 3.0)],
            None,
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            synced_records::count(&db, "A-1", "PackagesActive")
                .await
                .unwrap(),
            2
        );
        let one = synced_records::find(&db, "A-1", "PackagesActive", 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(one.quantity, Some(1.5));
        store(
            &db,
            "A-1",
            None,
            Resource::PackagesInactive,
            vec![package(2, 0.0)],
            None,
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            synced_records::count(&db, "A-1", "PackagesActive")
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            synced_records::count(&db, "A-1", "PackagesInactive")
                .await
                .unwrap(),
            1
        );
        let cursors = sync_cursors::for_license(&db, "A-1").await.unwrap();
        assert_eq!(cursors.get("PackagesActive"), Some(&end));
        assert_eq!(cursors.get("PackagesInactive"), None);
    }

    #[tokio::test]
    async fn a_record_read_before_it_moved_lists_does_not_move_it_back() {
        let db = test_db::fresh().await;
        let package = |qty: f64, modified: &str| -> Package {
            decode(json!({"Id": 7, "Label": "1A7", "Quantity": qty, "LastModified": modified}))
                .unwrap()
        };
        let put = |resource, p: Package| {
            let db = db.clone();
            async move {
                store(&db, "A-1", None, resource, vec![p], None, None)
                    .await
                    .unwrap()
            }
        };
        put(
            Resource::PackagesActive,
            package(2.0, "2026-01-17T10:00:00Z"),
        )
        .await;
        put(
            Resource::PackagesInactive,
            package(0.0, "2026-01-17T11:00:00Z"),
        )
        .await;
        // A stalled run's older read of the active package: the inactive one stays, alone.
        put(
            Resource::PackagesActive,
            package(2.0, "2026-01-17T10:00:00Z"),
        )
        .await;
        let count = |resource| synced_records::count(&db, "A-1", resource);
        assert_eq!(count("PackagesActive").await.unwrap(), 0);
        assert_eq!(count("PackagesInactive").await.unwrap(), 1);
        // Active again, later: it moves back.
        put(
            Resource::PackagesActive,
            package(1.0, "2026-01-17T12:00:00Z"),
        )
        .await;
        assert_eq!(count("PackagesActive").await.unwrap(), 1);
        assert_eq!(count("PackagesInactive").await.unwrap(), 0);
    }

    #[tokio::test]
    async fn nothing_is_stored_under_a_lease_no_longer_held() {
        use crate::ssr::queries::leases as lease_rows;
        let db = test_db::fresh().await;
        let ttl = std::time::Duration::from_secs(30);
        let held = lease_rows::acquire(&db, "sync:A-1", "a", ttl, Utc::now())
            .await
            .unwrap()
            .unwrap();
        let location = || -> Location { decode(json!({"Id": 1, "Name": "Vault"})).unwrap() };
        let end = parse_time("2026-11-28T10:00:00Z").unwrap();
        let put = |fence: Held| {
            let db = db.clone();
            async move {
                let list = Resource::LocationsActive;
                store(
                    &db,
                    "A-1",
                    None,
                    list,
                    vec![location()],
                    Some(end),
                    Some(&fence),
                )
                .await
                .unwrap()
            }
        };
        assert_eq!(put(held.clone()).await, Some(1));
        lease_rows::release(&db, &held).await.unwrap();
        let other = lease_rows::acquire(&db, "sync:A-1", "b", ttl, Utc::now())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(put(held).await, None, "taken over: nothing written");
        assert_eq!(put(other).await, Some(1));
    }

    #[tokio::test]
    async fn store_reads_local_times_in_the_facilitys_state() {
        let db = test_db::fresh().await;
        test_db::add_facility(&db, "CO-1", "CO").await;
        let sent = json!({"Id": 1, "Name": "Vault", "LastModified": "2026-07-01T08:00:00"});
        for license in ["CO-1", "UNKNOWN-1"] {
            let location: Location = decode(sent.clone()).unwrap();
            store(
                &db,
                license,
                facility_zone(&db, license).await.unwrap(),
                Resource::LocationsActive,
                vec![location],
                None,
                None,
            )
            .await
            .unwrap();
        }
        let co = synced_records::find(&db, "CO-1", "LocationsActive", 1)
            .await
            .unwrap()
            .unwrap();
        // Mountain Daylight Time, UTC-6.
        assert_eq!(co.last_modified, parse_time("2026-07-01T14:00:00Z"));
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&co.data).unwrap(),
            sent
        );
        let unknown = synced_records::find(&db, "UNKNOWN-1", "LocationsActive", 1)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(unknown.last_modified, None);
    }
}
