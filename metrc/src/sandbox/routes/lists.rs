//! Paged lists: the per-license data lists and the reference lists.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde_json::Value;

use crate::sandbox::Sandbox;
use crate::sandbox::auth::Caller;
use crate::sandbox::error::ApiError;
use crate::sandbox::model::Need;
use crate::sandbox::model::reference::{ADJUST_REASONS, PLANT_WASTE_REASONS};
use crate::sandbox::query::{Paging, Params};
use crate::sandbox::wire;
use crate::sections::Resource;

/// The envelope for a page of `total` rows whose page `data` is.
fn envelope(data: Vec<Value>, total: usize, paging: Paging) -> Value {
    let size = paging.size.unwrap_or(total);
    let page = if paging.size.is_some() {
        paging.page
    } else {
        1
    };
    wire::envelope(data, total, page, size)
}

/// Pages an in-memory list.
pub fn paged(all: Vec<Value>, paging: Paging) -> Value {
    let total = all.len();
    let (skip, take) = paging.skip_take();
    envelope(
        all.into_iter().skip(skip).take(take).collect(),
        total,
        paging,
    )
}

/// A per-license list (`/packages/v2/active`, ...): section permission, `lastModified` window,
/// paging, oldest first.
pub async fn list(
    list: Resource,
    State(sandbox): State<Sandbox>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let number = params.license()?;
    let model = sandbox.inner.model.read();
    let license = model
        .authorize(caller.employee_id, number, Need::Read(list.section()))
        .map_err(|d| ApiError::denied(d, sandbox.settings()))?;
    let paging = params.paging()?;
    let window = params.window(sandbox.settings().max_window, Utc::now())?;
    let (skip, take) = paging.skip_take();
    let (data, total) = wire::list_page(&model, license, list, window, skip, take);
    Ok(Json(envelope(data, total, paging)))
}

/// A reference list: a valid key, and the license when one is named.
fn reference(
    sandbox: &Sandbox,
    caller: &Caller,
    params: &Params,
    rows: Vec<Value>,
) -> Result<Json<Value>, ApiError> {
    let paging = params.paging()?;
    if let Some(number) = params.get("licenseNumber") {
        let model = sandbox.inner.model.read();
        model
            .authorize(caller.employee_id, number, Need::AtLicense)
            .map_err(|d| ApiError::denied(d, sandbox.settings()))?;
    }
    Ok(Json(paged(rows, paging)))
}

pub async fn adjust_reasons(
    State(s): State<Sandbox>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    reference(&s, &caller, &params, wire::reasons(ADJUST_REASONS))
}

pub async fn waste_reasons(
    State(s): State<Sandbox>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    reference(&s, &caller, &params, wire::reasons(PLANT_WASTE_REASONS))
}

pub async fn waste_methods(
    State(s): State<Sandbox>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    reference(&s, &caller, &params, wire::waste_methods())
}

pub async fn units(
    State(s): State<Sandbox>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    reference(&s, &caller, &params, wire::units())
}
