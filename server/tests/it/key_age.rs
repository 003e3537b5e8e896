//! The key-age warning, on every backend: a facility key warns from `TRACEKEEPER_KEY_WARN_DAYS`
//! (330) days on, in Facility Management's list and in the banner of every admin page, naming the
//! License Owner who must generate a new key; a day younger it does not.

use crate::support;

use app::ssr::entities::facilities;
use app::types::facilities::{AssignOutcome, FacilityRow};
use chrono::Utc;
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use support::facility_keys::{CULTIVATION, RETAIL, admin, assign, list, owner_key};
use support::{Backend, Endpoint, TestServer};

/// Makes the facility's key `age` old, as if it had been set that long ago.
async fn backdate(server: &TestServer, license: &str, age: chrono::Duration) {
    let updated = facilities::Entity::update_many()
        .col_expr(facilities::Column::KeySetAt, Expr::value(Utc::now() - age))
        .filter(facilities::Column::LicenseNumber.eq(license))
        .exec(&server.state.db)
        .await
        .expect("backdate");
    assert_eq!(updated.rows_affected, 1);
}

fn row<'a>(rows: &'a [FacilityRow], license: &str) -> &'a FacilityRow {
    rows.iter()
        .find(|r| r.license_number == license)
        .unwrap_or_else(|| panic!("{license} not listed: {rows:?}"))
}

/// The text of the ageing-key banner on `path` (an admin page), or `None` when there is none.
/// The page also carries its data for hydration: only the banner's element counts.
async fn age_banner(site: &Endpoint, admin: &reqwest::Client, path: &str) -> Option<String> {
    let page = site.page(admin, path).await;
    assert_eq!(page.status(), StatusCode::OK, "{path}");
    let html = page.text().await.expect("html");
    let start = html.find("class=\"banner banner-warn\"")?;
    let end = start + html[start..].find("</div>").expect("banner end");
    let mut text = String::new();
    let mut in_tag = false;
    for c in html[start..end].chars().skip_while(|c| *c != '>').skip(1) {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    Some(text)
}

each_backend!(a_facility_key_warns_from_330_days_on_naming_its_license_owner);
async fn a_facility_key_warns_from_330_days_on_naming_its_license_owner(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    assert_eq!(server.state.config.key_warn_after_days, 330);
    for (owner, license) in [("Olivia Owner", RETAIL), ("Carl Cultivator", CULTIVATION)] {
        let (_, key) = owner_key(&server, owner, &[license]).await;
        let _: AssignOutcome = assign(&server, &client, &key, &[license], false).await.ok();
    }
    let fresh: Vec<FacilityRow> = list(&server, &client).await.ok();
    assert!(
        fresh
            .iter()
            .all(|r| r.key_age_days == Some(0) && !r.key_expiring)
    );
    assert_eq!(
        age_banner(&server, &client, "/admin/facilities").await,
        None
    );

    // A minute short of 330 days: 329 days old, no warning.
    let day_short = chrono::Duration::days(330) - chrono::Duration::minutes(1);
    backdate(&server, RETAIL, day_short).await;
    backdate(&server, CULTIVATION, day_short).await;
    let rows: Vec<FacilityRow> = list(&server, &client).await.ok();
    for license in [RETAIL, CULTIVATION] {
        assert_eq!(row(&rows, license).key_age_days, Some(329));
        assert!(!row(&rows, license).key_expiring, "{license}");
    }
    for path in ["/admin/facilities", "/admin/users"] {
        assert_eq!(age_banner(&server, &client, path).await, None, "{path}");
    }

    // 330 days: the cultivation key warns, naming its License Owner; the retail one does not.
    backdate(&server, CULTIVATION, chrono::Duration::days(330)).await;
    let rows: Vec<FacilityRow> = list(&server, &client).await.ok();
    let old = row(&rows, CULTIVATION);
    assert_eq!(old.key_age_days, Some(330));
    assert!(old.key_expiring);
    assert_eq!(old.key_owner_name.as_deref(), Some("Carl Cultivator"));
    assert!(!row(&rows, RETAIL).key_expiring);
    for path in ["/admin/facilities", "/admin/users", "/admin/integrations"] {
        let banner = age_banner(&server, &client, path)
            .await
            .unwrap_or_else(|| panic!("no key-age banner on {path}"));
        assert!(
            banner.contains(&format!(
                "1 facility key is nearly a year old ({CULTIVATION})"
            )),
            "{path}: {banner}"
        );
        assert!(
            banner.contains("The License Owner (Carl Cultivator) must generate a new key"),
            "{path}: {banner}"
        );
        assert!(
            !banner.contains(RETAIL) && !banner.contains("Olivia"),
            "{path}: {banner}"
        );
    }

    // Both old: one banner naming both keys and both owners.
    backdate(&server, RETAIL, chrono::Duration::days(400)).await;
    let banner = age_banner(&server, &client, "/admin/facilities")
        .await
        .expect("banner");
    assert!(
        banner.contains("2 facility keys are nearly a year old"),
        "{banner}"
    );
    assert!(
        banner.contains("The License Owner (Carl Cultivator, Olivia Owner)"),
        "{banner}"
    );
}
