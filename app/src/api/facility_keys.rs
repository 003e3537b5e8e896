//! Facility keys (Integrations and Facility Management). Admin only; the key travels in request
//! bodies only, and no response holds it (masks, statuses and fingerprint prefixes only).

use crate::api::encoding::TextJson;
use crate::error::AppError;
use crate::types::facilities::{AssignOutcome, FacilityFilter, FacilityRow, KeyValidation};
use crate::types::inventory::Page;
use crate::types::secret::Secret;
use leptos::prelude::*;
use leptos::server_fn::codec::{StreamingText, TextStream};
use serde::{Deserialize, Serialize};

/// "Update Key": the key and the facilities to give it to.
///
/// It holds a key, so its `Debug` hides it ([`Secret`]); it is `Serialize` only because the
/// browser must send it (in the request body).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssignFacilityKeyInput {
    pub key: Secret,
    /// License numbers of the selected facilities (known ones and new ones the key reaches).
    pub licenses: Vec<String>,
    /// The admin confirmed assigning a key that is not the License Owner's (audited).
    #[serde(default)]
    pub confirm_not_owner: bool,
    /// The state whose Metrc the key was generated in (two letters); `None` when the deployment
    /// serves one state (no choice is shown).
    #[serde(default)]
    pub state: Option<String>,
}

/// Validates a key against Metrc: the licenses it reaches (known or new) and every section.
/// `state`: the state whose Metrc it is validated with (`None` with one state).
#[server(endpoint = "validate_facility_key", output = TextJson)]
pub async fn validate_facility_key(
    key: Secret,
    #[server(default)] state: Option<String>,
) -> Result<KeyValidation, AppError> {
    use crate::ssr::{caller, facility_keys, key_checks, state::state as shared_state};

    let key = key.into_secret();
    let st = shared_state()?;
    let admin = caller::admin(&st).await?;
    let report = facility_keys::validate(&st, admin.user.id, key, state.as_deref()).await?;
    Ok(key_checks::view(&st, &report).await?)
}

/// [`validate_facility_key`] live, for the validation panel: one [`ValidationUpdate`] per line
/// (JSON) as Metrc answers, ending with `Done` or `Failed`.
///
/// [`ValidationUpdate`]: crate::types::key_validation::ValidationUpdate
#[server(endpoint = "validate_facility_key_live", output = StreamingText)]
pub async fn validate_facility_key_live(
    key: Secret,
    #[server(default)] state: Option<String>,
) -> Result<TextStream<AppError>, AppError> {
    use crate::ssr::{caller, facility_keys, state::state as shared_state};
    use futures::StreamExt;

    let key = key.into_secret();
    let st = shared_state()?;
    let admin = caller::admin(&st).await?;
    let updates = facility_keys::validate_live(&st, admin.user.id, key, state.as_deref()).await?;
    Ok(TextStream::new(updates.map(|update| {
        serde_json::to_string(&update)
            .map(|line| line + "\n")
            .map_err(|_| AppError::Internal)
    })))
}

/// Assigns a key to the selected facilities ("Update Key"), with the guard of docs/design.md §5.
/// The body is JSON: `{"input": {"key": ..., "licenses": [...], "confirm_not_owner": false}}`.
#[server(endpoint = "assign_facility_key", input = leptos::server_fn::codec::Json, output = TextJson)]
pub async fn assign_facility_key(input: AssignFacilityKeyInput) -> Result<AssignOutcome, AppError> {
    use crate::ssr::{caller, facility_keys, state::state as shared_state};

    let AssignFacilityKeyInput {
        key,
        licenses,
        confirm_not_owner,
        state: picked,
    } = input;
    let key = key.into_secret();
    let st = shared_state()?;
    let admin = caller::admin(&st).await?;
    Ok(facility_keys::assign(
        &st,
        admin.actor(),
        key,
        licenses,
        confirm_not_owner,
        picked.as_deref(),
    )
    .await?)
}

/// Every facility with its masked key and key status (Facility Management).
#[server(endpoint = "list_facilities", output = TextJson)]
pub async fn list_facilities() -> Result<Vec<FacilityRow>, AppError> {
    use crate::ssr::{caller, facility_keys, state::state};

    let st = state()?;
    caller::admin(&st).await?;
    Ok(facility_keys::list(&st).await?)
}

/// One page of Facility Management: the facilities whose license number or name contains the
/// search, by license number. The body is JSON: `{"filter": {"search": "0774", "page": 0}}`.
#[server(endpoint = "search_facilities", input = leptos::server_fn::codec::Json, output = TextJson)]
pub async fn search_facilities(filter: FacilityFilter) -> Result<Page<FacilityRow>, AppError> {
    use crate::ssr::{caller, facility_keys, state::state};

    let st = state()?;
    caller::admin(&st).await?;
    Ok(facility_keys::page(&st, &filter).await?)
}

/// The facilities whose key Metrc refused or is nearly a year old: what the admin pages'
/// key-health banner names.
#[server(endpoint = "facility_key_health", output = TextJson)]
pub async fn facility_key_health() -> Result<Vec<FacilityRow>, AppError> {
    use crate::ssr::{caller, facility_keys, state::state};

    let st = state()?;
    caller::admin(&st).await?;
    Ok(facility_keys::unhealthy(&st).await?)
}

/// Checks a facility's key against Metrc now ("Revalidate now").
#[server(endpoint = "revalidate_facility", output = TextJson)]
pub async fn revalidate_facility(license: String) -> Result<FacilityRow, AppError> {
    use crate::ssr::{caller, facility_keys, state::state};

    let st = state()?;
    caller::admin(&st).await?;
    Ok(facility_keys::revalidate(&st, &license).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_argument_holding_a_facility_key_hides_it_from_debug() {
        let key = || Secret::from("hunter2-facility-key");
        let shown = [
            format!(
                "{:?}",
                ValidateFacilityKey {
                    key: key(),
                    state: None
                }
            ),
            format!(
                "{:?}",
                ValidateFacilityKeyLive {
                    key: key(),
                    state: None
                }
            ),
            format!(
                "{:?}",
                AssignFacilityKey {
                    input: AssignFacilityKeyInput {
                        key: key(),
                        licenses: vec!["C10-0000774-LIC".into()],
                        confirm_not_owner: false,
                        state: None,
                    },
                }
            ),
        ];
        for shown in shown {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("[REDACTED]"), "{shown}");
        }
    }
}
