//! Facility Management for an operator with hundreds of facilities (issue 15, item 6): the list
//! is searched by name or license number and paged on the server, 50 a page, and the admin
//! pages' key-health banner reads only the facilities it names, not every facility.

use crate::support;

use app::error::AppError;
use app::ssr::entities::facilities;
use app::ssr::queries::facilities::{NewFacility, insert};
use app::types::auth::Role;
use app::types::facilities::FacilityRow;
use app::types::inventory::Page;
use app::types::keys::KeyStatus;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use support::facility_keys::{Answer, admin};
use support::{Backend, TestServer};

/// `search_facilities` with `search` and `page`, as the page calls it.
async fn search(
    server: &TestServer,
    client: &reqwest::Client,
    search: Option<&str>,
    page: u32,
) -> Answer {
    Answer::of(
        server
            .call_json(
                client,
                "search_facilities",
                &json!({ "filter": { "search": search, "page": page } }),
            )
            .await,
    )
    .await
}

fn licenses(page: &Page<FacilityRow>) -> Vec<&str> {
    page.rows
        .iter()
        .map(|r| r.license_number.as_str())
        .collect()
}

/// Adds a facility without a key straight to the database.
async fn facility(server: &TestServer, license: &str, name: &str) {
    insert(
        &server.state.db,
        NewFacility {
            license_number: license,
            name,
            license_type: "Medicinal and Adult-Use Retail",
            state: "CA",
            capabilities: "{}".into(),
        },
    )
    .await
    .expect("facility");
}

each_backend!(facility_management_searches_and_pages_hundreds_of_facilities);
async fn facility_management_searches_and_pages_hundreds_of_facilities(backend: Backend) {
    let server = TestServer::start(&backend).await;
    // 120 facilities: every tenth a greenhouse, the others stores.
    for i in 1..=120 {
        let name = if i % 10 == 0 {
            format!("North Greenhouse {i}")
        } else {
            format!("Store {i}")
        };
        facility(&server, &format!("LIC-{i:03}"), &name).await;
    }
    let client = admin(&server).await;

    let first: Page<FacilityRow> = search(&server, &client, None, 0).await.ok();
    assert_eq!((first.total, first.page, first.page_size), (120, 0, 50));
    let expected: Vec<String> = (1..=50).map(|i| format!("LIC-{i:03}")).collect();
    assert_eq!(licenses(&first), expected, "by license number");
    let last: Page<FacilityRow> = search(&server, &client, None, 2).await.ok();
    let expected: Vec<String> = (101..=120).map(|i| format!("LIC-{i:03}")).collect();
    assert_eq!(licenses(&last), expected);
    let beyond: Page<FacilityRow> = search(&server, &client, None, 9).await.ok();
    assert_eq!((beyond.rows.len(), beyond.total), (0, 120));

    // By name, ignoring case; by part of the license number; blank is everything.
    let greenhouses: Page<FacilityRow> = search(&server, &client, Some("GREENhouse"), 0).await.ok();
    assert_eq!(greenhouses.total, 12);
    assert!(
        greenhouses
            .rows
            .iter()
            .all(|r| r.name.starts_with("North Greenhouse")),
        "{greenhouses:?}"
    );
    let by_number: Page<FacilityRow> = search(&server, &client, Some("lic-11"), 0).await.ok();
    let expected: Vec<String> = (110..=119).map(|i| format!("LIC-{i:03}")).collect();
    assert_eq!(licenses(&by_number), expected);
    let blank: Page<FacilityRow> = search(&server, &client, Some("  "), 0).await.ok();
    assert_eq!(blank.total, 120);
    // A wildcard is a character like any other.
    let percent: Page<FacilityRow> = search(&server, &client, Some("%"), 0).await.ok();
    assert_eq!(percent.total, 0);

    // Bounded before it is used: one clear message.
    let long = "x".repeat(10_000);
    let refused = search(&server, &client, Some(&long), 0).await;
    assert_eq!(
        refused.status,
        reqwest::StatusCode::BAD_REQUEST,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("search"), "{}", refused.body);

    // Admins only.
    server
        .add_user("emp@example.test", "employee-password", Role::Employee)
        .await;
    let employee = server.client();
    assert!(
        server
            .login(&employee, "emp@example.test", "employee-password")
            .await
            .status()
            .is_success()
    );
    for (client, expected) in [
        (&server.client(), AppError::Unauthenticated),
        (&employee, AppError::Forbidden),
    ] {
        assert_eq!(search(&server, client, None, 0).await.err(), expected);
        let health = Answer::of(server.call(client, "facility_key_health", &[]).await).await;
        assert_eq!(health.err(), expected);
    }
}

each_backend!(the_key_health_banner_reads_only_invalid_and_ageing_keys);
async fn the_key_health_banner_reads_only_invalid_and_ageing_keys(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let db = &server.state.db;
    let warn_days = i64::from(server.state.config.key_warn_after_days);
    // A: a healthy key set today; B: refused by Metrc; C: set just past the warning age; D: set
    // a day before it; E: no key.
    for (license, status, age_days) in [
        ("A", KeyStatus::Valid, Some(0)),
        ("B", KeyStatus::Invalid, Some(0)),
        ("C", KeyStatus::Valid, Some(warn_days)),
        ("D", KeyStatus::Valid, Some(warn_days - 1)),
        ("E", KeyStatus::Missing, None),
    ] {
        facility(&server, license, &format!("Facility {license}")).await;
        let set_at = age_days.map(|days| Utc::now() - chrono::Duration::days(days));
        facilities::Entity::update_many()
            .col_expr(facilities::Column::KeyStatus, Expr::value(status))
            .col_expr(facilities::Column::KeySetAt, Expr::value(set_at))
            .filter(facilities::Column::LicenseNumber.eq(license))
            .exec(db)
            .await
            .expect("update");
    }
    let client = admin(&server).await;
    let rows: Vec<FacilityRow> = Answer::of(server.call(&client, "facility_key_health", &[]).await)
        .await
        .ok();
    let named: Vec<(&str, KeyStatus, bool)> = rows
        .iter()
        .map(|r| (r.license_number.as_str(), r.key_status, r.key_expiring))
        .collect();
    assert_eq!(
        named,
        vec![
            ("B", KeyStatus::Invalid, false),
            ("C", KeyStatus::Valid, true)
        ]
    );
}
