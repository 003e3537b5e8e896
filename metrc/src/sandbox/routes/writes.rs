//! Metrc's writes: JSON arrays of rows, `licenseNumber` in the query. A bad row rejects the whole
//! call with 400 and row errors; POSTs answer `{"Ids": [...], "Warnings": null}`, PUTs 200 empty.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{MethodRouter, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::sandbox::Sandbox;
use crate::sandbox::auth::Caller;
use crate::sandbox::error::ApiError;
use crate::sandbox::model::writes::{AdjustRow, FinishRow, LocationRow, RowError, WasteRow};
use crate::sandbox::model::{LicenseIdx, Model, Need};
use crate::sandbox::query::Params;
use crate::sections::Section;

const PACKAGE_INVENTORY: Need = Need::AllOf(
    Section::Packages,
    &["View Packages", "Manage Packages Inventory"],
);
const PLANT_WASTE: Need = Need::AllOf(Section::Plants, &["Manage Plants Waste"]);

/// Metrc binds JSON property names case-insensitively; rows are read as `PascalCase`, so a
/// camelCase key is accepted by upper-casing its first letter.
fn pascal_keys(row: Value) -> Value {
    match row {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = chars
                        .next()
                        .map(|c| c.to_uppercase().chain(chars).collect())
                        .unwrap_or_default();
                    (key, v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// The body's rows: 400 for JSON that is not an array of rows, 413 beyond the row limit, 400 with
/// row errors for rows of the wrong shape.
fn parse_rows<R: DeserializeOwned>(body: &[u8], max: Option<usize>) -> Result<Vec<R>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}.")))?;
    let Value::Array(rows) = value else {
        return Err(ApiError::bad_request(
            "The request body must be a JSON array of objects.",
        ));
    };
    if rows.is_empty() {
        return Err(ApiError::bad_request(
            "The request body contains no objects.",
        ));
    }
    if let Some(max) = max.filter(|m| rows.len() > *m) {
        return Err(ApiError::TooManyRows {
            got: rows.len(),
            max,
        });
    }
    let mut parsed = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for (row, value) in rows.into_iter().enumerate() {
        match serde_json::from_value(pascal_keys(value)) {
            Ok(r) => parsed.push(r),
            Err(e) => errors.push(RowError {
                row,
                message: format!("The object is not valid: {e}."),
            }),
        }
    }
    if errors.is_empty() {
        Ok(parsed)
    } else {
        Err(ApiError::Rows(errors))
    }
}

/// Checks the caller, reads the rows, and applies them under the write lock.
fn write<R: DeserializeOwned, T>(
    sandbox: &Sandbox,
    caller: &Caller,
    params: &Params,
    body: &[u8],
    need: Need,
    apply: impl FnOnce(&mut Model, LicenseIdx, u64, &[R]) -> Result<T, Vec<RowError>>,
) -> Result<T, ApiError> {
    let number = params.license()?;
    let denied = |d| ApiError::denied(d, &sandbox.settings());
    sandbox
        .inner
        .model
        .read()
        .authorize(caller.employee_id, number, need)
        .map_err(denied)?;
    let rows: Vec<R> = parse_rows(body, sandbox.settings().max_write_rows)?;
    let mut model = sandbox.inner.model.write();
    // Checked again under the write lock: the key may have been regenerated meanwhile.
    let license = model
        .authorize(caller.employee_id, number, need)
        .map_err(denied)?;
    apply(&mut model, license, caller.employee_id, &rows).map_err(ApiError::Rows)
}

/// What a write does to the model: the rows' effect, or every bad row.
type Apply<R, T> = fn(&mut Model, LicenseIdx, u64, &[R], DateTime<Utc>) -> Result<T, Vec<RowError>>;

/// A POST route answering `{"Ids": [...], "Warnings": null}`.
fn post_ids<R: DeserializeOwned + 'static>(
    need: Need,
    apply: Apply<R, Vec<u64>>,
) -> MethodRouter<Sandbox> {
    post(
        move |State(s): State<Sandbox>, caller: Caller, params: Params, body: Bytes| async move {
            write(&s, &caller, &params, &body, need, |m, lic, who, rows| {
                apply(m, lic, who, rows, Utc::now())
            })
            .map(|ids| Json(json!({ "Ids": ids, "Warnings": null })))
        },
    )
}

/// A PUT route answering 200 with no body.
fn put_empty<R: DeserializeOwned + 'static>(
    need: Need,
    apply: Apply<R, ()>,
) -> MethodRouter<Sandbox> {
    put(
        move |State(s): State<Sandbox>, caller: Caller, params: Params, body: Bytes| async move {
            write(&s, &caller, &params, &body, need, |m, lic, who, rows| {
                apply(m, lic, who, rows, Utc::now())
            })
            .map(|()| StatusCode::OK)
        },
    )
}

/// The write routes. Permissions: adjust and finish as Metrc's v2 `OpenAPI` description says (View
/// Packages + Manage Packages Inventory); location the same (a guess: Metrc documents it per
/// state, and the `OpenAPI` description names Create/Submit/Discontinue Packages instead:
/// docs/metrc.md §8); plant waste Manage Plants Waste.
pub fn router() -> Router<Sandbox> {
    Router::new()
        .route(
            "/packages/v2/adjust",
            post_ids::<AdjustRow>(PACKAGE_INVENTORY, Model::adjust_packages),
        )
        .route(
            "/packages/v2/finish",
            put_empty::<FinishRow>(PACKAGE_INVENTORY, Model::finish_packages),
        )
        .route(
            "/packages/v2/location",
            put_empty::<LocationRow>(PACKAGE_INVENTORY, Model::move_packages),
        )
        .route(
            "/plants/v2/waste",
            post_ids::<WasteRow>(PLANT_WASTE, Model::waste_plants),
        )
}
