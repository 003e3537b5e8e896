//! Every admin page: the admin-only guard, and the key-health banner above the page
//! (docs/design.md §3; shown while any key is invalid or ageing), which the pages that change keys
//! refresh.

use crate::api::facility_keys::{facility_key_health, list_facilities};
use crate::components::auth::RequireRole;
use crate::error::AppError;
use crate::types::auth::Role;
use crate::types::facilities::{FacilityRow, KeyHealth};
use crate::types::key_validation::plural;
use leptos::prelude::*;
use leptos_router::components::A;

/// The facilities the key-health banner names (keys invalid or ageing), fetched once per admin
/// page. A page that changes a key refetches it.
#[derive(Clone, Copy)]
pub struct KeyHealthRows(pub Resource<Result<Vec<FacilityRow>, AppError>>);

pub fn use_key_health() -> KeyHealthRows {
    expect_context::<KeyHealthRows>()
}

/// Every facility, for the admin screens that show or choose among them all (Integrations, the
/// user form, Metrc Submissions' filter). Facility Management pages through them instead.
pub fn all_facilities() -> Resource<Result<Vec<FacilityRow>, AppError>> {
    Resource::new(|| (), |()| list_facilities())
}

#[component]
pub fn AdminPage(
    /// The page's content: shown only to an admin, below the key-health banner, and able to
    /// refresh it (`use_key_health`).
    children: ChildrenFn,
) -> impl IntoView {
    let children = StoredValue::new(children);
    view! {
        <RequireRole role=Role::Admin>
            {
                let health = KeyHealthRows(Resource::new(|| (), |()| facility_key_health()));
                provide_context(health);
                view! {
                    <KeyHealthBanner health />
                    {children.read_value()()}
                }
            }
        </RequireRole>
    }
}

/// Counts facilities whose key is invalid (no sync) or old enough to lapse soon, and links to
/// them. Shows nothing while every key is healthy.
#[component]
fn KeyHealthBanner(
    /// The facilities with an invalid or ageing key, whose statuses the banner counts.
    health: KeyHealthRows,
) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let rows = health.0.await.unwrap_or_default();
                let health = KeyHealth::of(&rows);
                let invalid = (!health.invalid.is_empty()).then(|| invalid_banner(&health));
                let expiring = (!health.expiring.is_empty()).then(|| expiring_banner(&health));
                view! {
                    {invalid}
                    {expiring}
                }
            })}
        </Transition>
    }
}

fn names(rows: &[&FacilityRow]) -> String {
    rows.iter()
        .map(|r| r.license_number.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn invalid_banner(health: &KeyHealth) -> impl IntoView + use<> {
    let n = health.invalid.len();
    let text = format!(
        "{n} {} {} an invalid Metrc key: data no longer syncs with Metrc for {}.",
        plural(n, "facility", "facilities"),
        plural(n, "has", "have"),
        names(&health.invalid)
    );
    view! {
        <div class="banner banner-danger" role="alert">
            <p>{text} " " <A href="/admin/facilities">"Show in Facility Management"</A></p>
        </div>
    }
}

fn expiring_banner(health: &KeyHealth) -> impl IntoView + use<> {
    let n = health.expiring.len();
    let owners: Vec<String> = health
        .expiring
        .iter()
        .filter_map(|r| r.key_owner_name.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let who = if owners.is_empty() {
        "The License Owner".to_owned()
    } else {
        format!("The License Owner ({})", owners.join(", "))
    };
    let text = format!(
        "{n} facility {} {} nearly a year old ({}): Metrc lapses keys after about a year. {who} must generate a new key in Metrc; then paste it on Integrations.",
        plural(n, "key", "keys"),
        plural(n, "is", "are"),
        names(&health.expiring)
    );
    view! {
        <div class="banner banner-warn" role="status">
            <p>{text}</p>
        </div>
    }
}
