//! Paged lists: the per-license data lists and the reference lists.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::sandbox::auth::Caller;
use crate::sandbox::config::UnwindowedReads;
use crate::sandbox::error::ApiError;
use crate::sandbox::model::Need;
use crate::sandbox::model::reference::{ADJUST_REASONS, PLANT_WASTE_REASONS};
use crate::sandbox::query::{Paging, Params, Window};
use crate::sandbox::{Sandbox, shapes, wire};
use crate::sections::{Resource, Section};

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

/// How far back an unwindowed read of a list reaches in the production profile.
const UNWINDOWED_REACH: chrono::Duration = chrono::Duration::hours(24);

/// The rows a read of `list` selects: its `lastModified` window, or for a read without one what
/// `reads` says (`None`: nothing at all).
fn selected(
    list: Resource,
    window: Window,
    reads: UnwindowedReads,
    now: DateTime<Utc>,
) -> Option<Window> {
    if window != (None, None) {
        return Some(window);
    }
    match (reads, list.section()) {
        (UnwindowedReads::All, _) => Some(window),
        (UnwindowedReads::Empty, _)
        | (UnwindowedReads::Production, Section::Items | Section::Locations | Section::Strains) => {
            None
        }
        (UnwindowedReads::Production, _) => Some((Some(now - UNWINDOWED_REACH), None)),
    }
}

/// A per-license list (`/packages/v2/active`, ...): section permission, `lastModified` window
/// (a read without one answers as `Settings::unwindowed_reads` says), paging, oldest first,
/// records shaped as `Settings::record_shapes` says.
// An axum handler is an `async fn` even when it awaits nothing.
#[allow(clippy::unused_async)]
pub async fn list(
    list: Resource,
    State(sandbox): State<Sandbox>,
    caller: Caller,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let settings = sandbox.settings();
    let number = params.license()?;
    let model = sandbox.inner.model.read();
    let license = model
        .authorize(caller.employee_id, number, Need::Read(list.section()))
        .map_err(|d| ApiError::denied(d, &settings))?;
    let paging = params.paging()?;
    let now = Utc::now();
    let window = params.window(settings.max_window, now)?;
    let (skip, take) = paging.skip_take();
    let (mut data, total) = match selected(list, window, settings.unwindowed_reads, now) {
        Some(window) => wire::list_page(&model, license, list, window, skip, take),
        None => (Vec::new(), 0),
    };
    for record in &mut data {
        shapes::apply(list.section(), record, settings.record_shapes);
    }
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
            .map_err(|d| ApiError::denied(d, &sandbox.settings()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwindowed_reads_select_as_the_setting_says_and_windows_win() {
        let now = Utc::now();
        let day_ago = Some(now - UNWINDOWED_REACH);
        let window = (Some(now - chrono::Duration::days(400)), Some(now));
        for reads in [
            UnwindowedReads::Production,
            UnwindowedReads::All,
            UnwindowedReads::Empty,
        ] {
            for list in Resource::ALL {
                assert_eq!(selected(list, window, reads, now), Some(window));
            }
        }
        let production = |list| selected(list, (None, None), UnwindowedReads::Production, now);
        for list in [
            Resource::ItemsActive,
            Resource::LocationsActive,
            Resource::StrainsActive,
        ] {
            assert_eq!(production(list), None, "{list:?}");
        }
        for list in [
            Resource::PackagesActive,
            Resource::TransfersIncoming,
            Resource::PlantBatchesActive,
        ] {
            assert_eq!(production(list), Some((day_ago, None)), "{list:?}");
        }
        assert_eq!(
            selected(
                Resource::ItemsActive,
                (None, None),
                UnwindowedReads::All,
                now
            ),
            Some((None, None))
        );
        assert_eq!(
            selected(
                Resource::PackagesActive,
                (None, None),
                UnwindowedReads::Empty,
                now
            ),
            None
        );
    }
}
