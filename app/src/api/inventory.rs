//! Synced Metrc data for the work screens. Any signed-in user reads the data of the facilities
//! they work at (admins: all).

use crate::api::encoding::TextJson;
use crate::error::AppError;
use crate::types::inventory::{PackageFilter, PackageRow, Page, PlantFilter, PlantRow};
use leptos::prelude::*;

/// Active packages of the user's facilities, filtered and paged, each with its facility's state
/// when several states are served. The body is JSON:
/// `{"filter": {"license": null, "label": "0001", "item": null, "location": null, "state": "CO",
/// "page": 0}}` (`state` may be left out: every state).
#[server(endpoint = "list_packages", input = leptos::server_fn::codec::Json, output = TextJson)]
pub async fn list_packages(filter: PackageFilter) -> Result<Page<PackageRow>, AppError> {
    use crate::ssr::{caller, inventory, state::state};

    let st = state()?;
    let user = caller::caller(&st).await?.user;
    let page = inventory::list_packages(&st.db, &user, &filter).await?;
    Ok(if st.metrc.several() {
        inventory::with_states(&st.db, page).await?
    } else {
        page
    })
}

/// Vegetative and flowering plants of the user's facilities, filtered and paged, each with its
/// facility's state when several states are served. The body is
/// JSON: `{"filter": {"license": null, "label": null, "state": null, "page": 0}}` (`state` may be
/// left out: every state).
#[server(endpoint = "list_plants", input = leptos::server_fn::codec::Json, output = TextJson)]
pub async fn list_plants(filter: PlantFilter) -> Result<Page<PlantRow>, AppError> {
    use crate::ssr::{caller, inventory, state::state};

    let st = state()?;
    let user = caller::caller(&st).await?.user;
    let page = inventory::list_plants(&st.db, &user, &filter).await?;
    Ok(if st.metrc.several() {
        inventory::with_states(&st.db, page).await?
    } else {
        page
    })
}

/// Each facility the user works at; with `state` (two letters), only
/// that state's (the work screens' facility picker, narrowed by their state filter).
#[server(endpoint = "my_facilities", output = TextJson)]
pub async fn my_facilities(
    #[server(default)] state: Option<String>,
) -> Result<Vec<crate::types::inventory::MyFacility>, AppError> {
    use crate::ssr::{caller, inventory, state::state as shared_state};

    let st = shared_state()?;
    let user = caller::caller(&st).await?.user;
    Ok(inventory::my_facilities(&st.db, &user, state.as_deref()).await?)
}

/// What the work forms of `license` choose from: adjustment reasons, units, waste methods and
/// reasons (from Metrc with the facility key, cached for an hour) and locations (synced).
#[server(endpoint = "reference_lists", output = TextJson)]
pub async fn reference_lists(
    license: String,
) -> Result<crate::types::inventory::ReferenceLists, AppError> {
    use crate::ssr::{caller, inventory, state::state, sync};

    let st = state()?;
    let user = caller::caller(&st).await?.user;
    let license = license.trim();
    inventory::require_works_at(&st.db, &user, license).await?;
    Ok(sync::reference::lists(&st, license).await?)
}
