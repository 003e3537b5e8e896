//! "Sync now": only admins start a sync.

use crate::api::encoding::TextJson;
use crate::error::AppError;
use leptos::prelude::*;

/// "Sync now" (Facility Management): the facility syncs every list from its cursors, whatever the
/// schedule: at once on this server when it has room, else on the next server with room (the
/// request is in the database). Refused while the facility's key is missing or invalid.
#[server(endpoint = "sync_now", output = TextJson)]
pub async fn sync_now(license: String) -> Result<(), AppError> {
    use crate::ssr::{caller, state::state, sync};

    let st = state()?;
    caller::admin(&st).await?;
    Ok(sync::request_now(&st, license.trim()).await?)
}
