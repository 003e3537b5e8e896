//! The `facilities` table: the licenses Tracekeeper knows, each with its facility key (sealed by
//! the vault: ciphertext and fingerprint, never the key).

use super::super::entities::facilities::{self, Entity as Facilities};
use super::super::vault::sealed::SealedKey;
use super::counting::total;
use super::text_match::contains;
use crate::types::inventory::{SyncState, Total};
use crate::types::keys::KeyStatus;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use std::collections::HashMap;

/// A license as Metrc's facilities response describes it.
pub struct NewFacility<'a> {
    pub license_number: &'a str,
    pub name: &'a str,
    pub license_type: &'a str,
    /// Two-letter state code.
    pub state: &'a str,
    /// The license's capabilities (`FacilityType`) as JSON text.
    pub capabilities: String,
}

/// Who a facility key belongs to, per Metrc's facilities response.
pub struct KeyOwner<'a> {
    pub name: &'a str,
    /// `IsOwner` for this license.
    pub is_owner: bool,
}

/// A facility without a key.
pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewFacility<'_>,
) -> Result<facilities::Model, DbErr> {
    let now = Utc::now();
    facilities::ActiveModel {
        license_number: Set(new.license_number.trim().to_owned()),
        name: Set(new.name.to_owned()),
        license_type: Set(new.license_type.to_owned()),
        state: Set(new.state.to_owned()),
        capabilities: Set(new.capabilities),
        key_status: Set(KeyStatus::Missing),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Every facility, by license number.
pub async fn list(db: &impl ConnectionTrait) -> Result<Vec<facilities::Model>, DbErr> {
    Facilities::find()
        .order_by_asc(facilities::Column::LicenseNumber)
        .all(db)
        .await
}

/// `(license number, name, state)` of the facilities `licenses` (every facility when `None`),
/// of `state` only when given, by license number: the three columns a facility picker shows.
pub async fn names(
    db: &impl ConnectionTrait,
    licenses: Option<&[String]>,
    state: Option<&str>,
) -> Result<Vec<(String, String, String)>, DbErr> {
    let mut query = Facilities::find()
        .select_only()
        .columns([
            facilities::Column::LicenseNumber,
            facilities::Column::Name,
            facilities::Column::State,
        ])
        .order_by_asc(facilities::Column::LicenseNumber);
    if let Some(licenses) = licenses {
        query = query.filter(facilities::Column::LicenseNumber.is_in(licenses.iter().cloned()));
    }
    if let Some(state) = state {
        query = query.filter(facilities::Column::State.eq(state));
    }
    query.into_tuple().all(db).await
}

/// The states of the facilities `licenses` (every facility's when `None`), each once, sorted:
/// one column read, however many facilities there are.
pub async fn states(
    db: &impl ConnectionTrait,
    licenses: Option<&[String]>,
) -> Result<Vec<String>, DbErr> {
    let mut query = Facilities::find()
        .select_only()
        .column(facilities::Column::State)
        .distinct()
        .order_by_asc(facilities::Column::State);
    if let Some(licenses) = licenses {
        query = query.filter(facilities::Column::LicenseNumber.is_in(licenses.iter().cloned()));
    }
    query.into_tuple().all(db).await
}

/// The state of each of these licenses' facilities (what lists show beside a facility when
/// several states are served) (two upper-case letters; `""` for one stored
/// before states were recorded), in one query; a license with no facility is left out.
pub async fn states_by_license(
    db: &impl ConnectionTrait,
    licenses: impl IntoIterator<Item = String>,
) -> Result<HashMap<String, String>, DbErr> {
    let mut licenses: Vec<String> = licenses.into_iter().collect();
    licenses.sort_unstable();
    licenses.dedup();
    if licenses.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(Facilities::find()
        .select_only()
        .column(facilities::Column::LicenseNumber)
        .column(facilities::Column::State)
        .filter(facilities::Column::LicenseNumber.is_in(licenses))
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect())
}

/// One page of the facilities whose license number or name contains `search` (ignoring case;
/// every facility when `None`), by license number: `limit` rows from the `offset`th, and how
/// many match in all.
pub async fn page(
    db: &impl ConnectionTrait,
    search: Option<&str>,
    offset: u64,
    limit: u64,
) -> Result<(Vec<facilities::Model>, Total), DbErr> {
    let mut select = Facilities::find();
    if let Some(part) = search.map(str::trim).filter(|p| !p.is_empty()) {
        select = select.filter(
            Condition::any()
                .add(contains(
                    (Facilities, facilities::Column::LicenseNumber),
                    part,
                ))
                .add(contains((Facilities, facilities::Column::Name), part)),
        );
    }
    let rows = select
        .clone()
        .order_by_asc(facilities::Column::LicenseNumber)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?;
    let total = total(db, select, offset, rows.len(), limit).await?;
    Ok((rows, total))
}

/// The facilities the key-health banner names, by license number: those whose key Metrc
/// refused, and those whose key was set at or before `old_from` (old enough to lapse soon).
pub async fn unhealthy(
    db: &impl ConnectionTrait,
    old_from: DateTime<Utc>,
) -> Result<Vec<facilities::Model>, DbErr> {
    Facilities::find()
        .filter(
            Condition::any()
                .add(facilities::Column::KeyStatus.eq(KeyStatus::Invalid))
                .add(facilities::Column::KeySetAt.lte(old_from)),
        )
        .order_by_asc(facilities::Column::LicenseNumber)
        .all(db)
        .await
}

pub async fn find_by_license(
    db: &impl ConnectionTrait,
    license_number: &str,
) -> Result<Option<facilities::Model>, DbErr> {
    Facilities::find()
        .filter(facilities::Column::LicenseNumber.eq(license_number.trim()))
        .one(db)
        .await
}

/// The facilities whose key has this fingerprint (one key often serves several licenses).
pub async fn find_by_fingerprint(
    db: &impl ConnectionTrait,
    fingerprint: &str,
) -> Result<Vec<facilities::Model>, DbErr> {
    Facilities::find()
        .filter(facilities::Column::KeyFingerprint.eq(fingerprint))
        .order_by_asc(facilities::Column::LicenseNumber)
        .all(db)
        .await
}

/// Gives the facility a new key, validated just now with the given status.
pub async fn set_key(
    db: &impl ConnectionTrait,
    id: i32,
    key: &SealedKey,
    owner: KeyOwner<'_>,
    status: KeyStatus,
) -> Result<(), DbErr> {
    let now = Utc::now();
    update(
        db,
        facilities::ActiveModel {
            id: Set(id),
            facility_key_ciphertext: Set(Some(key.ciphertext().to_owned())),
            key_fingerprint: Set(Some(key.fingerprint().to_owned())),
            masked_key: Set(Some(key.masked().to_owned())),
            key_status: Set(status),
            key_owner_name: Set(Some(owner.name.to_owned())),
            key_is_owner: Set(Some(owner.is_owner)),
            key_set_at: Set(Some(now)),
            last_validated_at: Set(Some(now)),
            updated_at: Set(now),
            ..Default::default()
        },
    )
    .await
}

/// Records the outcome of a (re)validation of a facility key on every facility that still holds
/// it (`fingerprint`, as read before the Metrc call). Metrc's verdict is on the key, not the
/// license (a 401 from the facilities call: docs/design.md §7), so one check speaks for every
/// holder; a key set meanwhile keeps its own status (issue 13, item 10). Returns how many
/// facilities were written.
pub async fn set_key_status(
    db: &impl ConnectionTrait,
    fingerprint: &str,
    status: KeyStatus,
) -> Result<u64, DbErr> {
    let now = Utc::now();
    let written = facilities::Entity::update_many()
        .col_expr(facilities::Column::KeyStatus, Expr::value(status))
        .col_expr(facilities::Column::LastValidatedAt, Expr::value(now))
        .col_expr(facilities::Column::UpdatedAt, Expr::value(now))
        .filter(facilities::Column::KeyFingerprint.eq(fingerprint))
        .exec(db)
        .await?;
    Ok(written.rows_affected)
}

/// Gives the facilities stored before states were recorded (`""`) the state `state`; returns how
/// many.
pub async fn adopt_state(db: &impl ConnectionTrait, state: &str) -> Result<u64, DbErr> {
    Ok(facilities::Entity::update_many()
        .col_expr(facilities::Column::State, Expr::value(state))
        .filter(facilities::Column::State.eq(""))
        .exec(db)
        .await?
        .rows_affected)
}

/// Records the state of facility `id` (two letters), for a facility stored before states were.
pub async fn set_state(db: &impl ConnectionTrait, id: i32, state: &str) -> Result<(), DbErr> {
    facilities::Entity::update_many()
        .col_expr(facilities::Column::State, Expr::value(state))
        .col_expr(facilities::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(facilities::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// `(id, ciphertext, mask)` of every facility that has a key.
pub async fn key_ciphertexts(
    db: &impl ConnectionTrait,
) -> Result<Vec<(i32, String, Option<String>)>, DbErr> {
    Facilities::find()
        .select_only()
        .column(facilities::Column::Id)
        .column(facilities::Column::FacilityKeyCiphertext)
        .column(facilities::Column::MaskedKey)
        .filter(facilities::Column::FacilityKeyCiphertext.is_not_null())
        .order_by_asc(facilities::Column::Id)
        .into_tuple()
        .all(db)
        .await
}

/// The same key sealed anew (identity rotation): nothing else about the key changes.
pub async fn replace_key_ciphertext(
    db: &impl ConnectionTrait,
    id: i32,
    key: &SealedKey,
) -> Result<(), DbErr> {
    update(
        db,
        facilities::ActiveModel {
            id: Set(id),
            facility_key_ciphertext: Set(Some(key.ciphertext().to_owned())),
            key_fingerprint: Set(Some(key.fingerprint().to_owned())),
            masked_key: Set(Some(key.masked().to_owned())),
            ..Default::default()
        },
    )
    .await
}

/// A facility's sync state as the sync service records it (`ssr::sync`).
pub struct SyncStatus<'a> {
    pub state: SyncState,
    pub message: Option<&'a str>,
    /// JSON text.
    pub progress: Option<String>,
    pub failures: i32,
    pub retry_at: Option<chrono::DateTime<Utc>>,
}

/// Records the facility's sync state; `synced_at` (a run that completed) moves `last_sync_at`.
/// `fence`: only while it holds (a run's `sync:` lease, `leases::still_held`), so a run whose
/// facility was taken over writes nothing. Returns whether the row was written.
pub async fn set_sync_status(
    db: &impl ConnectionTrait,
    id: i32,
    status: SyncStatus<'_>,
    synced_at: Option<chrono::DateTime<Utc>>,
    fence: Option<SimpleExpr>,
) -> Result<bool, DbErr> {
    let mut update = Facilities::update_many()
        .col_expr(facilities::Column::SyncState, Expr::value(status.state))
        .col_expr(
            facilities::Column::SyncMessage,
            Expr::value(status.message.map(str::to_owned)),
        )
        .col_expr(
            facilities::Column::SyncProgress,
            Expr::value(status.progress),
        )
        .col_expr(
            facilities::Column::SyncFailures,
            Expr::value(status.failures),
        )
        .col_expr(
            facilities::Column::SyncRetryAt,
            Expr::value(status.retry_at),
        )
        .filter(facilities::Column::Id.eq(id));
    if let Some(at) = synced_at {
        update = update.col_expr(facilities::Column::LastSyncAt, Expr::value(Some(at)));
    }
    if let Some(fence) = fence {
        update = update.filter(fence);
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// Records how far the running sync is (JSON text), while `fence` holds (see
/// [`set_sync_status`]). Returns whether the row was written.
pub async fn set_sync_progress(
    db: &impl ConnectionTrait,
    id: i32,
    progress: String,
    fence: Option<SimpleExpr>,
) -> Result<bool, DbErr> {
    let mut update = Facilities::update_many()
        .col_expr(
            facilities::Column::SyncProgress,
            Expr::value(Some(progress)),
        )
        .filter(facilities::Column::Id.eq(id));
    if let Some(fence) = fence {
        update = update.filter(fence);
    }
    Ok(update.exec(db).await?.rows_affected == 1)
}

/// "Sync now" pressed at `now`: recorded for whichever server runs it. A request already waiting
/// keeps its time (requests run oldest first).
pub async fn request_sync(
    db: &impl ConnectionTrait,
    id: i32,
    now: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    Facilities::update_many()
        .col_expr(facilities::Column::SyncRequestedAt, Expr::value(Some(now)))
        .filter(facilities::Column::Id.eq(id))
        .filter(facilities::Column::SyncRequestedAt.is_null())
        .exec(db)
        .await
        .map(drop)
}

/// Shows the facility syncing at once after "Sync now" (running; no message, progress nor
/// backoff), unless the lease `lease` (its `sync:` lease) is live at `now`: a run under way keeps
/// the progress it shows.
pub async fn show_sync_requested(
    db: &impl ConnectionTrait,
    id: i32,
    lease: &str,
    now: chrono::DateTime<Utc>,
) -> Result<(), DbErr> {
    let run_under_way = super::leases::held_by_anyone(lease, now);
    Facilities::update_many()
        .col_expr(
            facilities::Column::SyncState,
            Expr::value(SyncState::Running),
        )
        .col_expr(
            facilities::Column::SyncMessage,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            facilities::Column::SyncProgress,
            Expr::value(Option::<String>::None),
        )
        .col_expr(
            facilities::Column::SyncRetryAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(facilities::Column::Id.eq(id))
        .filter(run_under_way.not())
        .exec(db)
        .await
        .map(drop)
}

/// A starting run takes the facility's "Sync now" request, if one waits: `true` when it did
/// (the run then covers it and nobody else runs it).
pub async fn claim_sync_request(db: &impl ConnectionTrait, id: i32) -> Result<bool, DbErr> {
    let claimed = Facilities::update_many()
        .col_expr(
            facilities::Column::SyncRequestedAt,
            Expr::value(Option::<chrono::DateTime<Utc>>::None),
        )
        .filter(facilities::Column::Id.eq(id))
        .filter(facilities::Column::SyncRequestedAt.is_not_null())
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

async fn update(db: &impl ConnectionTrait, row: facilities::ActiveModel) -> Result<(), DbErr> {
    row.update(db).await.map(drop)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ssr::queries::test_db;
    use crate::ssr::vault::KeyVault;
    use secrecy::SecretString;

    pub(crate) fn new_facility(license_number: &str) -> NewFacility<'_> {
        NewFacility {
            license_number,
            name: "Green Acres",
            license_type: "Cultivation",
            state: "CO",
            capabilities: r#"{"CanGrowPlants":true}"#.into(),
        }
    }

    #[tokio::test]
    async fn pickers_read_names_and_states_of_the_facilities_asked_for() {
        let db = test_db::fresh().await;
        for (license, state) in [("B-2", "CO"), ("A-1", "CA"), ("C-3", "CO")] {
            insert(
                &db,
                NewFacility {
                    state,
                    ..new_facility(license)
                },
            )
            .await
            .unwrap();
        }
        let licenses = |found: Vec<(String, String, String)>| -> Vec<String> {
            found.into_iter().map(|(license, _, _)| license).collect()
        };
        assert_eq!(
            licenses(names(&db, None, None).await.unwrap()),
            ["A-1", "B-2", "C-3"]
        );
        assert_eq!(
            licenses(names(&db, None, Some("CO")).await.unwrap()),
            ["B-2", "C-3"]
        );
        let only = ["C-3".to_owned(), "A-1".to_owned()];
        assert_eq!(
            names(&db, Some(&only), Some("CA")).await.unwrap(),
            [("A-1".to_owned(), "Green Acres".to_owned(), "CA".to_owned())]
        );
        assert_eq!(states(&db, None).await.unwrap(), ["CA", "CO"]);
        assert_eq!(states(&db, Some(&only[..1])).await.unwrap(), ["CO"]);
        assert!(states(&db, Some(&[])).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn license_numbers_are_unique_and_new_facilities_have_no_key() {
        let db = test_db::fresh().await;
        let facility = insert(&db, new_facility("403-X0001")).await.unwrap();
        assert!(insert(&db, new_facility("403-X0001")).await.is_err());
        assert_eq!(facility.key_status, KeyStatus::Missing);
        assert!(facility.facility_key_ciphertext.is_none());
        assert_eq!(
            find_by_license(&db, " 403-X0001 ").await.unwrap(),
            Some(facility)
        );
        assert!(key_ciphertexts(&db).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_key_is_stored_sealed_found_by_fingerprint_and_resealed() {
        let db = test_db::fresh().await;
        let vault = KeyVault::ephemeral();
        let key = SecretString::from("metrc-user-key-0001");
        let a = insert(&db, new_facility("403-X0001")).await.unwrap();
        let b = insert(&db, new_facility("403-X0002")).await.unwrap();
        insert(&db, new_facility("403-X0003")).await.unwrap();
        let sealed = vault.seal(&key).unwrap();
        let owner = || KeyOwner {
            name: "Olive Owner",
            is_owner: true,
        };
        set_key(&db, a.id, &sealed, owner(), KeyStatus::Valid)
            .await
            .unwrap();
        set_key(&db, b.id, &sealed, owner(), KeyStatus::Valid)
            .await
            .unwrap();
        let found = find_by_fingerprint(&db, sealed.fingerprint())
            .await
            .unwrap();
        assert_eq!(
            found.iter().map(|f| f.id).collect::<Vec<_>>(),
            vec![a.id, b.id]
        );
        assert_eq!(found[0].key_owner_name.as_deref(), Some("Olive Owner"));
        assert_eq!(found[0].key_is_owner, Some(true));
        assert!(found[0].key_set_at.is_some());

        let stored = key_ciphertexts(&db).await.unwrap();
        assert_eq!(stored.len(), 2);
        assert!(!stored[0].1.contains("metrc-user-key-0001"));

        // Both facilities hold the key: the verdict lands on both.
        assert_eq!(
            set_key_status(&db, sealed.fingerprint(), KeyStatus::Invalid)
                .await
                .unwrap(),
            2
        );
        let resealed = vault.seal(&key).unwrap();
        replace_key_ciphertext(&db, a.id, &resealed).await.unwrap();
        let row = find_by_license(&db, "403-X0001").await.unwrap().unwrap();
        assert_eq!(row.key_status, KeyStatus::Invalid);
        assert_eq!(
            row.facility_key_ciphertext.as_deref(),
            Some(resealed.ciphertext())
        );
        assert_eq!(row.key_set_at, found[0].key_set_at);
    }

    #[tokio::test]
    async fn a_validation_outcome_lands_only_on_the_key_it_validated() {
        let db = test_db::fresh().await;
        let vault = KeyVault::ephemeral();
        let f = insert(&db, new_facility("403-X0001")).await.unwrap();
        let owner = || KeyOwner {
            name: "Olive Owner",
            is_owner: true,
        };
        let old = vault.seal(&SecretString::from("metrcuserkey0001")).unwrap();
        set_key(&db, f.id, &old, owner(), KeyStatus::Valid)
            .await
            .unwrap();
        // A revalidation has read the old key; meanwhile an admin sets a new, valid one.
        let new = vault.seal(&SecretString::from("metrcuserkey0002")).unwrap();
        set_key(&db, f.id, &new, owner(), KeyStatus::Valid)
            .await
            .unwrap();
        // Metrc refuses the old key: that verdict does not land on the new key.
        let written = set_key_status(&db, old.fingerprint(), KeyStatus::Invalid)
            .await
            .unwrap();
        assert_eq!(written, 0);
        let status = |db| async move {
            find_by_license(db, "403-X0001")
                .await
                .unwrap()
                .unwrap()
                .key_status
        };
        assert_eq!(status(&db).await, KeyStatus::Valid);
        let written = set_key_status(&db, new.fingerprint(), KeyStatus::Invalid)
            .await
            .unwrap();
        assert_eq!(written, 1);
        assert_eq!(status(&db).await, KeyStatus::Invalid);
    }
}
