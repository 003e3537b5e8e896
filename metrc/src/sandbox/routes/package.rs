//! `GET /packages/v2/{label}`: one package by its label, finished or not (Metrc's
//! `GetPackageByLabel`; needs View Packages). With `licenseNumber`, a package of another license
//! answers 401 as Metrc documents; a label no license has answers 404.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::Value;

use crate::sandbox::Sandbox;
use crate::sandbox::auth::Caller;
use crate::sandbox::error::ApiError;
use crate::sandbox::model::{Denied, Need};
use crate::sandbox::query::Params;
use crate::sandbox::{shapes, wire};
use crate::sections::Section;

pub async fn by_label(
    State(sandbox): State<Sandbox>,
    caller: Caller,
    Path(label): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let model = sandbox.inner.model.read();
    let denied = |d| ApiError::denied(d, &sandbox.settings());
    let wanted = params.get("licenseNumber");
    let held_at = (0..model.licenses.len()).find(|idx| model.package_at(*idx, &label).is_some());
    let Some(idx) = held_at else {
        return Err(ApiError::NotFound);
    };
    let number = model.licenses[idx].number.clone();
    if let Some(wanted) = wanted
        && !wanted.eq_ignore_ascii_case(&number)
    {
        return Err(denied(Denied::NotAtLicense(wanted.to_string())));
    }
    model
        .authorize(caller.employee_id, &number, Need::Read(Section::Packages))
        .map_err(denied)?;
    let package = model.package_at(idx, &label).ok_or(ApiError::NotFound)?;
    let mut record = wire::package(package, &model);
    shapes::apply(
        Section::Packages,
        &mut record,
        sandbox.settings().record_shapes,
    );
    Ok(Json(record))
}
