//! Who the key is: facilities, employees, permissions.

use axum::Json;
use axum::extract::State;
use serde_json::Value;

use crate::sandbox::Sandbox;
use crate::sandbox::auth::Caller;
use crate::sandbox::error::ApiError;
use crate::sandbox::model::{Denied, Need};
use crate::sandbox::query::Params;
use crate::sandbox::wire;
use crate::sections::Section;

/// `GET /facilities/v2/`: no permission needed; a plain array of the user's licenses.
pub async fn facilities(
    State(sandbox): State<Sandbox>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    let model = sandbox.inner.model.read();
    let employee = model
        .employee(caller.employee_id)
        .ok_or(ApiError::Unauthenticated)?;
    let rows = employee
        .licenses()
        .into_iter()
        .filter_map(|idx| model.license(idx).map(|l| wire::facility(l, idx, employee)))
        .collect();
    Ok(Json(Value::Array(rows)))
}

/// `GET /employees/v2/`: the license's employees, paged.
pub async fn employees(
    State(sandbox): State<Sandbox>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let paging = params.paging()?;
    let model = sandbox.inner.model.read();
    let license = model
        .authorize(
            caller.employee_id,
            params.license()?,
            Need::Read(Section::Employees),
        )
        .map_err(|d| ApiError::denied(d, &sandbox.settings()))?;
    let all: Vec<Value> = model.employees_at(license).map(wire::employee).collect();
    Ok(Json(super::lists::paged(all, paging)))
}

/// `GET /employees/v2/permissions`: an employee's permission names, lower case. Needs Manage
/// Employees; an employee not at the license is 401 (a record not in that license).
pub async fn permissions(
    State(sandbox): State<Sandbox>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let number = params.license()?;
    let employee_number = params.require("employeeLicenseNumber")?;
    let model = sandbox.inner.model.read();
    let denied = |d| ApiError::denied(d, &sandbox.settings());
    let license = model
        .authorize(
            caller.employee_id,
            number,
            Need::AllOf(Section::Employees, &["Manage Employees"]),
        )
        .map_err(denied)?;
    let employee = model
        .employees_at(license)
        .find(|e| e.license_number.eq_ignore_ascii_case(employee_number))
        .ok_or_else(|| denied(Denied::NotAtLicense(number.to_string())))?;
    let names = employee
        .permissions
        .get(&license)
        .into_iter()
        .flatten()
        .map(|p| Value::from(p.to_lowercase()));
    Ok(Json(Value::Array(names.collect())))
}
