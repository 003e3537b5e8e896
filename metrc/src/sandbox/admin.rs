//! The admin API under `/sandbox/` (docs/design.md §10): not in real Metrc, no Basic auth. JSON
//! bodies, `snake_case` keys; errors are `{"Message": "..."}` with 400 (404 for an unknown employee
//! or package).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Sandbox;
use super::config::{RecordShapes, Settings, UnwindowedReads};
use super::error::ApiError;
use super::faults::Loss;
use super::model::AdminError;
use super::{seed, shapes, wire};

pub fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/sandbox/licenses", get(licenses).post(add_license))
        .route("/sandbox/licenses/{number}/packages", post(add_packages))
        .route("/sandbox/licenses/{number}/packages/{label}", get(package))
        .route("/sandbox/licenses/{number}/plant-waste", get(plant_waste))
        .route("/sandbox/employees", get(employees).post(add_employee))
        .route(
            "/sandbox/employees/{id}/regenerate-key",
            post(regenerate_key),
        )
        .route(
            "/sandbox/faults",
            get(faults_in_force).post(add_fault).delete(clear_faults),
        )
        .route("/sandbox/requests", get(requests))
        .route("/sandbox/settings", get(settings).put(change_settings))
        .route("/sandbox/reset", post(reset))
        .with_state(sandbox)
}

fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("Invalid request body: {e}.")))
}

#[derive(Deserialize)]
struct NewLicense {
    number: String,
    name: String,
    license_type: String,
    /// Default: the sandbox's state.
    state: Option<String>,
    packages: Option<usize>,
    history_days: Option<u32>,
}

/// Most packages one admin call may seed (keeps a typo from eating the machine).
const MAX_SEEDED_PACKAGES: usize = 200_000;
/// Longest seeded history, in days (twenty years).
const MAX_HISTORY_DAYS: u32 = 7_305;

/// `POST /sandbox/licenses` `{number, name, license_type, state?, packages?, history_days?}` →
/// 201 with the license (`state` defaults to the sandbox's own, `SandboxConfig::state`); seeded
/// like the demo licenses (`packages` active packages, default 20), every record last modified
/// within the `history_days` (default 30, at most 7,305) before now.
async fn add_license(
    State(s): State<Sandbox>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let new: NewLicense = body(&bytes)?;
    let packages = new.packages.unwrap_or(20);
    if packages > MAX_SEEDED_PACKAGES {
        return Err(ApiError::bad_request(format!(
            "packages must not exceed {MAX_SEEDED_PACKAGES}."
        )));
    }
    let days = new.history_days.unwrap_or(seed::HISTORY_DAYS);
    if !(1..=MAX_HISTORY_DAYS).contains(&days) {
        return Err(ApiError::bad_request(format!(
            "history_days must be between 1 and {MAX_HISTORY_DAYS}."
        )));
    }
    let now = Utc::now();
    let state = new.state.unwrap_or_else(|| s.config().state_code());
    let mut model = s.inner.model.write();
    let opened = now.date_naive() - chrono::Duration::days(i64::from(days.max(365)));
    let idx = model.add_license(&new.number, &new.name, &new.license_type, &state, opened)?;
    seed::license_data(&mut model, idx, packages, seed::History { end: now, days });
    let license = model.license(idx).map(license_json).unwrap_or_default();
    Ok((StatusCode::CREATED, Json(license)))
}

fn license_json(l: &super::model::License) -> Value {
    json!({
        "number": l.number, "name": l.name, "license_type": l.license_type, "state": l.state,
        "facility_id": l.facility_id, "kind": format!("{:?}", l.kind),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPackages {
    count: Option<usize>,
    last_modified_from: DateTime<Utc>,
    last_modified_to: Option<DateTime<Utc>>,
}

/// `POST /sandbox/licenses/{number}/packages` `{count?, last_modified_from,
/// last_modified_to?}` → 201 `{labels}`: `count` (1) more active packages of the license's items
/// in its locations, each last modified at a random moment between the two times (the second
/// defaults to the first), e.g. packages untouched for years.
async fn add_packages(
    State(s): State<Sandbox>,
    Path(number): Path<String>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let new: NewPackages = body(&bytes)?;
    let count = new.count.unwrap_or(1);
    if count > MAX_SEEDED_PACKAGES {
        return Err(ApiError::bad_request(format!(
            "count must not exceed {MAX_SEEDED_PACKAGES}."
        )));
    }
    let from = new.last_modified_from;
    let to = new.last_modified_to.unwrap_or(from);
    if to < from {
        return Err(ApiError::bad_request(
            "last_modified_to must not be before last_modified_from.",
        ));
    }
    let mut model = s.inner.model.write();
    let idx = model
        .license_idx(&number)
        .ok_or(AdminError::UnknownLicense(number))?;
    let labels = seed::add_packages(&mut model, idx, count, from, to);
    Ok((StatusCode::CREATED, Json(json!({ "labels": labels }))))
}

/// `GET /sandbox/licenses`: every license.
async fn licenses(State(s): State<Sandbox>) -> Json<Value> {
    let model = s.inner.model.read();
    Json(Value::Array(
        model.licenses.iter().map(license_json).collect(),
    ))
}

/// `GET /sandbox/licenses/{number}/packages/{label}`: the package as Metrc would send it.
async fn package(
    State(s): State<Sandbox>,
    Path((number, label)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let model = s.inner.model.read();
    let idx = model
        .license_idx(&number)
        .ok_or(AdminError::UnknownLicense(number))?;
    let package = model.package_at(idx, &label).ok_or(ApiError::NotFound)?;
    let mut record = wire::package(package, &model);
    shapes::apply(
        crate::sections::Section::Packages,
        &mut record,
        s.settings().record_shapes,
    );
    Ok(Json(record))
}

/// `GET /sandbox/licenses/{number}/plant-waste`: plant waste recorded at the license.
async fn plant_waste(
    State(s): State<Sandbox>,
    Path(number): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let model = s.inner.model.read();
    let idx = model
        .license_idx(&number)
        .ok_or(AdminError::UnknownLicense(number))?;
    let rows = model.plant_waste.iter().filter(|w| w.license == idx).map(|w| {
        let labels: Vec<&str> = w.plant_ids.iter().filter_map(|p| model.plants.get(*p)).map(|p| p.label.as_str()).collect();
        json!({
            "id": w.id, "method": w.method, "reason": w.reason, "weight": w.weight, "unit": w.unit,
            "mixed_material": w.mixed_material, "note": w.note, "date": w.date, "plant_labels": labels,
            "employee_id": w.employee_id,
        })
    });
    Ok(Json(Value::Array(rows.collect())))
}

#[derive(Deserialize)]
struct NewEmployee {
    name: String,
    #[serde(default)]
    owner_of: Vec<String>,
    #[serde(default)]
    permissions: BTreeMap<String, Vec<String>>,
}

/// `POST /sandbox/employees` `{name, owner_of?, permissions: {license: [permission]}}` →
/// `{id, api_key}`.
async fn add_employee(
    State(s): State<Sandbox>,
    bytes: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let new: NewEmployee = body(&bytes)?;
    let mut model = s.inner.model.write();
    let hired = Utc::now().date_naive();
    let id = model.add_employee(&new.name, &new.owner_of, &new.permissions, hired)?;
    let key = model.employee(id).map(|e| e.api_key.clone());
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "api_key": key })),
    ))
}

/// `GET /sandbox/employees` → `[{id, name, employee_license_number, api_key, licenses, owner_of}]`.
async fn employees(State(s): State<Sandbox>) -> Json<Value> {
    let rows = s.employees().into_iter().map(|e| {
        json!({
            "id": e.id, "name": e.name, "employee_license_number": e.employee_license_number,
            "api_key": e.api_key, "licenses": e.licenses, "owner_of": e.owner_of,
        })
    });
    Json(Value::Array(rows.collect()))
}

/// `POST /sandbox/employees/{id}/regenerate-key` → `{api_key}`; the old key gets 401 from now on.
async fn regenerate_key(
    State(s): State<Sandbox>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("'{id}' is not an employee id.")))?;
    let key = s.inner.model.write().regenerate_key(id)?;
    Ok(Json(json!({ "api_key": key })))
}

#[derive(Deserialize)]
struct NewFault {
    status: Option<u16>,
    body: Option<Value>,
    count: Option<u32>,
    path_prefix: Option<String>,
    latency_ms: Option<u64>,
    lose_request: Option<NewLoss>,
    lose_answer: Option<NewLoss>,
}

/// `{count?, path_prefix?, license?}` of `lose_request` / `lose_answer`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewLoss {
    count: Option<u32>,
    path_prefix: Option<String>,
    license: Option<String>,
}

/// `POST /sandbox/faults` → 204, with any of:
///
/// - `{status, body?, count?, path_prefix?}`: the next `count` (1) Metrc calls whose path starts
///   with `path_prefix` (any) get `status` (4xx, 5xx) without being carried out, with Metrc's
///   usual body for it or `body` (any JSON: e.g. `400` with `{"Message": "Could not load file or
///   assembly ..."}`, a server fault as production Metrc has sent it, field case-10);
/// - `{latency_ms}`: every Metrc call waits this long (at most 60,000) before it is carried out
///   (0: no more latency); a call whose caller hangs up meanwhile is dropped, not logged;
/// - `{lose_request: {count?, path_prefix?, license?}}`: the next `count` (1) writes (not GETs)
///   whose path starts with `path_prefix` (any), at `license` (any), are held *before* they are
///   carried out until the caller hangs up: never recorded, logged with status 499 once the
///   caller has gone (504 after 10 minutes);
/// - `{lose_answer: {count?, path_prefix?, license?}}`: the same writes are carried out and logged
///   with the status they answer (`answer_lost: true`), then the answer is held until the caller
///   hangs up (sent late after 10 minutes): recorded in Metrc, but the caller never knows.
async fn add_fault(State(s): State<Sandbox>, bytes: Bytes) -> Result<StatusCode, ApiError> {
    let fault: NewFault = body(&bytes)?;
    if fault.body.is_some() && fault.status.is_none() {
        return Err(ApiError::bad_request("body needs a status."));
    }
    if fault.status.is_none()
        && fault.latency_ms.is_none()
        && fault.lose_request.is_none()
        && fault.lose_answer.is_none()
    {
        return Err(ApiError::bad_request(
            "Give status (with count, path_prefix), latency_ms, lose_request or lose_answer.",
        ));
    }
    let status = fault
        .status
        .map(|code| {
            StatusCode::from_u16(code)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .ok_or_else(|| {
                    ApiError::bad_request(format!("status {code} is not a 4xx or 5xx status."))
                })
        })
        .transpose()?;
    if fault.latency_ms.is_some_and(|ms| ms > 60_000) {
        return Err(ApiError::bad_request("latency_ms must not exceed 60000."));
    }
    let mut faults = s.inner.faults.lock();
    if let Some(status) = status {
        faults.add_with_body(
            status,
            fault.body,
            fault.count.unwrap_or(1),
            fault.path_prefix,
        );
    }
    if let Some(ms) = fault.latency_ms {
        faults.set_latency(Duration::from_millis(ms));
    }
    for (loss, new) in [
        (Loss::Request, fault.lose_request),
        (Loss::Answer, fault.lose_answer),
    ] {
        if let Some(new) = new {
            faults.add_loss(loss, new.count.unwrap_or(1), new.path_prefix, new.license);
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /sandbox/faults` → `{latency_ms, statuses: [{status, body, remaining, path_prefix}],
/// lose_request: [{remaining, path_prefix, license}], lose_answer: [...]}`: what is in force. A
/// rule leaves its list when its last call comes in (for a lost request or answer: when that
/// call is held), so a test can tell when a held call has arrived.
async fn faults_in_force(State(s): State<Sandbox>) -> Json<Value> {
    Json(s.inner.faults.lock().in_force())
}

/// `DELETE /sandbox/faults` → 204: no more injected statuses, losses or latency (calls held
/// already stay held until their callers hang up).
async fn clear_faults(State(s): State<Sandbox>) -> StatusCode {
    s.inner.faults.lock().clear();
    StatusCode::NO_CONTENT
}

/// `GET /sandbox/requests` → the Metrc calls, oldest first: `{at, method, path, license,
/// employee_id, employee_name, status, answer_lost}`.
async fn requests(State(s): State<Sandbox>) -> Json<Vec<super::LogEntry>> {
    Json(s.requests())
}

/// The settings as the admin API shows them.
fn settings_json(settings: &Settings) -> Value {
    let reads = match settings.unwindowed_reads {
        UnwindowedReads::Production => "production",
        UnwindowedReads::All => "all",
        UnwindowedReads::Empty => "empty",
    };
    let shapes = match settings.record_shapes {
        RecordShapes::V2 => "v2",
        RecordShapes::WithV1 => "with_v1",
    };
    json!({
        "max_window_hours": settings.max_window.map(|w| w.as_secs_f64() / 3600.0),
        "unwindowed_reads": reads,
        "record_shapes": shapes,
        "missing_permission_status": settings.missing_permission_status.as_u16(),
        "max_write_rows": settings.max_write_rows,
        "rate_limits": settings.rate_limits.map(|l| json!({
            "per_license_per_second": l.per_license_per_second,
            "per_license_concurrent": l.per_license_concurrent,
            "per_vendor_per_second": l.per_vendor_per_second,
            "per_vendor_concurrent": l.per_vendor_concurrent,
        })),
    })
}

/// `GET /sandbox/settings` → the settings in force (`{max_window_hours, unwindowed_reads,
/// record_shapes, missing_permission_status, max_write_rows, rate_limits}`).
async fn settings(State(s): State<Sandbox>) -> Json<Value> {
    Json(settings_json(&s.settings()))
}

/// Reads one named choice of a settings body.
fn choice<T: Copy>(value: &Value, name: &str, options: &[(&str, T)]) -> Result<T, ApiError> {
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    value
        .as_str()
        .and_then(|v| options.iter().find(|(n, _)| n.eq_ignore_ascii_case(v)))
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            ApiError::bad_request(format!("{name} must be one of {}.", names.join(", ")))
        })
}

/// A positive number of a settings body, or `null` (no limit).
fn limit(value: &Value, name: &str) -> Result<Option<f64>, ApiError> {
    match value {
        Value::Null => Ok(None),
        v => v
            .as_f64()
            .filter(|n| n.is_finite() && *n > 0.0)
            .map(Some)
            .ok_or_else(|| {
                ApiError::bad_request(format!("{name} must be a positive number or null."))
            }),
    }
}

/// `PUT /sandbox/settings` → 200 with the settings now in force. Every field is optional:
/// `profile` (`production`, `production_24h`, `legacy`) starts from that profile instead of the
/// settings in force, then `max_window_hours` (a number, or `null`: any window),
/// `unwindowed_reads` (`production`, `all`, `empty`), `record_shapes` (`v2`, `with_v1`),
/// `missing_permission_status` (401 or 403), `max_write_rows` (a number or `null`) change it.
/// Rate limits are fixed when the sandbox is built.
async fn change_settings(State(s): State<Sandbox>, bytes: Bytes) -> Result<Json<Value>, ApiError> {
    let body: serde_json::Map<String, Value> = body(&bytes)?;
    let mut new = s.settings();
    if let Some(profile) = body.get("profile") {
        let make: fn() -> Settings = choice(
            profile,
            "profile",
            &[
                ("production", Settings::production as fn() -> Settings),
                ("production_24h", Settings::production_24h),
                ("legacy", Settings::legacy),
            ],
        )?;
        new = Settings {
            rate_limits: new.rate_limits,
            ..make()
        };
    }
    for (name, value) in &body {
        match name.as_str() {
            "profile" => {}
            "max_window_hours" => {
                new.max_window = limit(value, name)?.map(|h| Duration::from_secs_f64(h * 3600.0));
            }
            "unwindowed_reads" => {
                new.unwindowed_reads = choice(
                    value,
                    name,
                    &[
                        ("production", UnwindowedReads::Production),
                        ("all", UnwindowedReads::All),
                        ("empty", UnwindowedReads::Empty),
                    ],
                )?;
            }
            "record_shapes" => {
                new.record_shapes = choice(
                    value,
                    name,
                    &[("v2", RecordShapes::V2), ("with_v1", RecordShapes::WithV1)],
                )?;
            }
            "missing_permission_status" => {
                let code = value
                    .as_u64()
                    .map(|n| n.to_string())
                    .or_else(|| value.as_str().map(str::to_string))
                    .unwrap_or_default();
                new.missing_permission_status = choice(
                    &Value::String(code),
                    name,
                    &[
                        ("401", StatusCode::UNAUTHORIZED),
                        ("403", StatusCode::FORBIDDEN),
                    ],
                )?;
            }
            "max_write_rows" => {
                // A positive count; `as` saturates an absurd one to the largest.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let rows = limit(value, name)?.map(|n| n as usize);
                new.max_write_rows = rows;
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "Unknown setting \"{other}\": name profile, max_window_hours, unwindowed_reads, record_shapes, missing_permission_status or max_write_rows."
                )));
            }
        }
    }
    s.set_settings(new.clone());
    Ok(Json(settings_json(&new)))
}

/// `POST /sandbox/reset` → 204, back to the seeded state and the constructor's settings.
async fn reset(State(s): State<Sandbox>) -> StatusCode {
    let sandbox = s.clone();
    // Reseeding a big sandbox takes a moment: off the async workers.
    match tokio::task::spawn_blocking(move || sandbox.reset()).await {
        Ok(()) => StatusCode::NO_CONTENT,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
