//! Synced Metrc data for the work screens (`/inventory/...`): packages and plants, paged and
//! filtered, limited to the facilities the user works at (admins: all of them).

use super::input::{self, InputError};
use super::queries::synced_records::{self, RecordQuery, RecordSummary};
use super::queries::{facilities, user_facilities, users};
use super::sync::schedule;
use crate::error::AppError;
use crate::types::auth::CurrentUser;
use crate::types::inventory::{
    MyFacility, OfFacility, PAGE_SIZE, PackageFilter, PackageRow, Page, PlantFilter, PlantRow,
    state_filter,
};
use metrc::Resource;
use sea_orm::{ConnectionTrait, DbErr};

/// Why a work-screen read did not happen.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("the user does not work at {0}")]
    NotAtFacility(String),
    #[error(transparent)]
    Input(#[from] InputError),
    /// A state filter that is not two letters; the text says so.
    #[error("{0}")]
    BadState(&'static str),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<InventoryError> for AppError {
    fn from(err: InventoryError) -> Self {
        match err {
            InventoryError::NotAtFacility(_) => AppError::Forbidden,
            InventoryError::Input(err) => err.into(),
            InventoryError::BadState(message) => AppError::BadInput(message.to_owned()),
            InventoryError::Db(err) => err.into(),
        }
    }
}

/// The facilities a user works at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorksAt {
    /// Admins, and users with `all_facilities`.
    All,
    /// These license numbers (`user_facilities`).
    Only(Vec<String>),
}

impl WorksAt {
    pub fn allows(&self, license: &str) -> bool {
        match self {
            WorksAt::All => true,
            WorksAt::Only(licenses) => licenses.iter().any(|l| l == license),
        }
    }

    /// The licenses, `None` for all of them.
    pub fn licenses(self) -> Option<Vec<String>> {
        match self {
            WorksAt::All => None,
            WorksAt::Only(licenses) => Some(licenses),
        }
    }
}

/// Where `user` works.
pub async fn works_at(db: &impl ConnectionTrait, user: &CurrentUser) -> Result<WorksAt, DbErr> {
    if user.is_admin() {
        return Ok(WorksAt::All);
    }
    match users::find(db, user.id).await? {
        Some(u) if u.all_facilities => Ok(WorksAt::All),
        Some(u) => Ok(WorksAt::Only(user_facilities::for_user(db, u.id).await?)),
        None => Ok(WorksAt::Only(Vec::new())),
    }
}

/// `Ok` if `user` works at `license`.
pub async fn require_works_at(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    license: &str,
) -> Result<(), InventoryError> {
    let license = license.trim();
    input::text(license, "license number")?;
    if works_at(db, user).await?.allows(license) {
        Ok(())
    } else {
        Err(InventoryError::NotAtFacility(license.to_owned()))
    }
}

/// `(license number, name)` of every facility the user works at, by license number; with a
/// `state` ([`state_filter`]), only that state's.
pub async fn my_facilities(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    state: Option<&str>,
) -> Result<Vec<MyFacility>, InventoryError> {
    let state = state_filter(state).map_err(InventoryError::BadState)?;
    let licenses = works_at(db, user).await?.licenses();
    Ok(facilities::names(db, licenses.as_deref(), state.as_deref())
        .await?
        .into_iter()
        .map(|(license_number, name, state)| MyFacility {
            license_number,
            name,
            state,
        })
        .collect())
}

/// The licenses a list reads: the one asked for (if the user works there), else all of the
/// user's (`None`: every license).
fn scope(works: WorksAt, license: Option<&str>) -> Result<Option<Vec<String>>, InventoryError> {
    match license.map(str::trim).filter(|l| !l.is_empty()) {
        Some(license) if works.allows(license) => Ok(Some(vec![license.to_owned()])),
        Some(license) => Err(InventoryError::NotAtFacility(license.to_owned())),
        None => Ok(works.licenses()),
    }
}

fn window(page: u32) -> (u64, u64) {
    (u64::from(page) * u64::from(PAGE_SIZE), u64::from(PAGE_SIZE))
}

/// Active packages, by license and label, [`PAGE_SIZE`] a page.
pub async fn list_packages(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    filter: &PackageFilter,
) -> Result<Page<PackageRow>, InventoryError> {
    input::filter(filter.license.as_deref(), "facility")?;
    input::filter(filter.label.as_deref(), "label")?;
    input::filter(filter.item.as_deref(), "item")?;
    input::filter(filter.location.as_deref(), "location")?;
    let state = state_filter(filter.state.as_deref()).map_err(InventoryError::BadState)?;
    let licenses = scope(works_at(db, user).await?, filter.license.as_deref())?;
    let (offset, limit) = window(filter.page);
    let resources = [schedule::name(Resource::PackagesActive)];
    let (rows, total) = synced_records::page(
        db,
        &RecordQuery {
            resources: &resources,
            licenses: licenses.as_deref(),
            state: state.as_deref(),
            label: filter.label.as_deref(),
            item: filter.item.as_deref(),
            location: filter.location.as_deref(),
            strain: None,
            offset,
            limit,
        },
    )
    .await?;
    Ok(Page::new(
        rows.into_iter().map(package_row).collect(),
        total,
        filter.page,
        PAGE_SIZE,
    ))
}

/// Each row's facility's state, in one query for the page: what the work screens show beside
/// the facility when the deployment serves several states.
pub async fn with_states<R: OfFacility>(
    db: &impl ConnectionTrait,
    mut page: Page<R>,
) -> Result<Page<R>, InventoryError> {
    let states =
        facilities::states_by_license(db, page.rows.iter().map(|r| r.license_number().to_owned()))
            .await?;
    for row in &mut page.rows {
        if let Some(state) = states.get(row.license_number()) {
            state.clone_into(row.state_mut());
        }
    }
    Ok(page)
}

fn package_row(r: RecordSummary) -> PackageRow {
    PackageRow {
        license_number: r.license_number,
        state: String::new(),
        metrc_id: r.metrc_id,
        label: r.label.unwrap_or_default(),
        item: r.item.unwrap_or_default(),
        quantity: r.quantity.unwrap_or_default(),
        unit: r.unit.unwrap_or_default(),
        location: r.location,
        last_modified: r.last_modified,
    }
}

/// Vegetative and flowering plants, by license and label, [`PAGE_SIZE`] a page.
pub async fn list_plants(
    db: &impl ConnectionTrait,
    user: &CurrentUser,
    filter: &PlantFilter,
) -> Result<Page<PlantRow>, InventoryError> {
    input::filter(filter.license.as_deref(), "facility")?;
    input::filter(filter.label.as_deref(), "label")?;
    let state = state_filter(filter.state.as_deref()).map_err(InventoryError::BadState)?;
    let licenses = scope(works_at(db, user).await?, filter.license.as_deref())?;
    let (offset, limit) = window(filter.page);
    let resources = [
        schedule::name(Resource::PlantsVegetative),
        schedule::name(Resource::PlantsFlowering),
    ];
    let (rows, total) = synced_records::page(
        db,
        &RecordQuery {
            resources: &resources,
            licenses: licenses.as_deref(),
            state: state.as_deref(),
            label: filter.label.as_deref(),
            offset,
            limit,
            ..Default::default()
        },
    )
    .await?;
    Ok(Page::new(
        rows.into_iter().map(plant_row).collect(),
        total,
        filter.page,
        PAGE_SIZE,
    ))
}

fn plant_row(r: RecordSummary) -> PlantRow {
    let phase = if r.resource == schedule::name(Resource::PlantsFlowering) {
        "Flowering"
    } else {
        "Vegetative"
    };
    PlantRow {
        license_number: r.license_number,
        state: String::new(),
        metrc_id: r.metrc_id,
        label: r.label.unwrap_or_default(),
        strain: r.strain,
        phase: phase.to_owned(),
        location: r.location,
        last_modified: r.last_modified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::synced_records::{NewRecord, upsert_chunk};
    use crate::ssr::queries::test_db;
    use crate::types::auth::Role;
    use chrono::Utc;

    #[test]
    fn scope_keeps_users_to_their_facilities() {
        let only = || WorksAt::Only(vec!["A-1".into()]);
        assert_eq!(scope(only(), None).unwrap(), Some(vec!["A-1".into()]));
        assert_eq!(
            scope(only(), Some(" A-1 ")).unwrap(),
            Some(vec!["A-1".into()])
        );
        assert!(matches!(
            scope(only(), Some("B-2")),
            Err(InventoryError::NotAtFacility(_))
        ));
        assert_eq!(scope(WorksAt::All, Some("")).unwrap(), None);
        assert_eq!(
            scope(WorksAt::All, Some("B-2")).unwrap(),
            Some(vec!["B-2".into()])
        );
    }

    #[tokio::test]
    async fn employees_see_only_their_facilities_packages_in_pages() {
        use sea_orm::{ActiveModelTrait, Set};
        let db = test_db::fresh().await;
        for (license, n) in [("A-1", 60), ("B-2", 5)] {
            let rows = (0..n)
                .map(|i| NewRecord {
                    metrc_id: i,
                    label: Some(format!("1A{license}{i:03}")),
                    item: Some("Flower".into()),
                    data: "{}".into(),
                    ..Default::default()
                })
                .collect();
            upsert_chunk(&db, license, "PackagesActive", rows, Utc::now())
                .await
                .unwrap();
        }
        let user = test_db::add_employee(&db, "e@example.test", "E", false).await;
        let me = users::to_current(&user).unwrap();
        let everything = list_packages(&db, &me, &PackageFilter::default())
            .await
            .unwrap();
        assert_eq!(everything.total, 65, "all_facilities by default");
        crate::ssr::entities::users::ActiveModel {
            id: Set(user.id),
            all_facilities: Set(false),
            ..Default::default()
        }
        .update(&db)
        .await
        .unwrap();
        user_facilities::replace_for_user(&db, user.id, &["B-2".into()])
            .await
            .unwrap();
        let mine = list_packages(&db, &me, &PackageFilter::default())
            .await
            .unwrap();
        assert_eq!((mine.total, mine.rows.len()), (5, 5));
        assert!(mine.rows.iter().all(|r| r.license_number == "B-2"));
        let asked = PackageFilter {
            license: Some("A-1".into()),
            ..Default::default()
        };
        assert!(matches!(
            list_packages(&db, &me, &asked).await,
            Err(InventoryError::NotAtFacility(_))
        ));
        let admin = CurrentUser {
            role: Role::Admin,
            ..me.clone()
        };
        let second = PackageFilter {
            license: Some("A-1".into()),
            page: 1,
            ..Default::default()
        };
        let page = list_packages(&db, &admin, &second).await.unwrap();
        assert_eq!((page.total, page.rows.len(), page.page), (60, 10, 1));
        assert_eq!(page.rows[0].label, "1AA-1050");
    }

    #[tokio::test]
    async fn a_state_keeps_the_work_screens_to_its_facilities() {
        let db = test_db::fresh().await;
        for (license, state) in [("CO-1", "CO"), ("MI-1", "MI")] {
            test_db::add_facility(&db, license, state).await;
            let record = |i: i64| NewRecord {
                metrc_id: i,
                label: Some(format!("1A{license}{i}")),
                data: "{}".into(),
                ..Default::default()
            };
            for resource in ["PackagesActive", "PlantsVegetative"] {
                upsert_chunk(
                    &db,
                    license,
                    resource,
                    (0..2).map(record).collect(),
                    Utc::now(),
                )
                .await
                .unwrap();
            }
        }
        let user = test_db::add_employee(&db, "e@example.test", "E", false).await;
        let me = users::to_current(&user).unwrap();
        let packages = |state: &str| PackageFilter {
            state: Some(state.into()),
            ..Default::default()
        };
        let co = list_packages(&db, &me, &packages("co")).await.unwrap();
        assert_eq!(co.total, 2);
        assert!(co.rows.iter().all(|r| r.license_number == "CO-1"));
        let plants = PlantFilter {
            state: Some("MI".into()),
            ..Default::default()
        };
        let mi = list_plants(&db, &me, &plants).await.unwrap();
        assert_eq!(mi.total, 2);
        assert!(mi.rows.iter().all(|r| r.license_number == "MI-1"));
        assert_eq!(
            list_packages(&db, &me, &PackageFilter::default())
                .await
                .unwrap()
                .total,
            4
        );
        for bad in ["Colorado", "C1"] {
            let refused = list_packages(&db, &me, &packages(bad)).await;
            assert!(
                matches!(refused, Err(InventoryError::BadState(_))),
                "{bad}: {refused:?}"
            );
        }
        assert_eq!(
            AppError::from(InventoryError::BadState(crate::types::inventory::BAD_STATE)),
            AppError::BadInput("The state must be two letters, such as CO.".into())
        );
        assert_eq!(
            my_facilities(&db, &me, Some("MI")).await.unwrap(),
            vec![MyFacility {
                license_number: "MI-1".into(),
                name: "MI-1".into(),
                state: "MI".into(),
            }]
        );
        assert_eq!(my_facilities(&db, &me, None).await.unwrap().len(), 2);
    }
}
