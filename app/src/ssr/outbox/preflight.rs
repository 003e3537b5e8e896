//! The pre-flight check, before anything is queued: may this user submit at this facility, which
//! key would carry it, do their Metrc permissions include what the action needs (named exactly,
//! before Metrc can refuse it), and must an admin approve it first.

use super::{KeyKind, OutboxError};
use crate::ssr::entities::{facilities as facility, users as user};
use crate::ssr::queries::{facilities, user_facilities, user_metrc_keys, users};
use crate::ssr::state::AppState;
use crate::types::keys::KeyStatus;
use crate::types::submissions::{KeyUsed, Preflight, SubmissionAction};
use metrc::{Capability, FacilityType, ValidationReport};

/// The Metrc permissions an action needs (docs/metrc.md §8; the sandbox asks the same).
pub fn needs(action: SubmissionAction) -> &'static [&'static str] {
    match action {
        SubmissionAction::AdjustPackage
        | SubmissionAction::FinishPackage
        | SubmissionAction::ChangePackageLocation => {
            &["View Packages", "Manage Packages Inventory"]
        }
        SubmissionAction::RecordPlantWaste => &["Manage Plants Waste"],
    }
}

/// Who would carry a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carrier {
    pub kind: KeyKind,
    /// The user's name, or the facility key owner's.
    pub owner: String,
}

impl Carrier {
    pub fn key_used(&self) -> KeyUsed {
        match self.kind {
            KeyKind::User => KeyUsed::UserKey,
            KeyKind::Facility => KeyUsed::FacilityKey {
                owner: self.owner.clone(),
            },
        }
    }
}

/// The check's verdict, with what the queue needs to store the submission.
#[derive(Debug, Clone)]
pub struct Plan {
    pub preflight: Preflight,
    pub carrier: Option<Carrier>,
    pub user: user::Model,
}

fn blocked(user: user::Model, needs_approval: bool, why: String) -> Plan {
    Plan {
        preflight: Preflight {
            key_used: None,
            blocked: Some(why),
            warning: None,
            needs_approval,
        },
        carrier: None,
        user,
    }
}

/// The facility key owner's name as Metrc shows it, or a description when unknown.
fn owner_of(facility: &facility::Model) -> String {
    facility
        .key_owner_name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "the License Owner".into())
}

fn usable(status: KeyStatus) -> bool {
    matches!(status, KeyStatus::Valid | KeyStatus::Unvalidated)
}

/// What would happen if `user_id` submitted `action` at `license` now.
pub async fn preflight(
    state: &AppState,
    user_id: i32,
    license: &str,
    action: SubmissionAction,
) -> Result<Preflight, OutboxError> {
    Ok(check(state, user_id, license, action).await?.preflight)
}

/// [`preflight`] with what the queue needs.
pub async fn check(
    state: &AppState,
    user_id: i32,
    license: &str,
    action: SubmissionAction,
) -> Result<Plan, OutboxError> {
    let license = license.trim();
    crate::ssr::input::text(license, "license number")?;
    let user = users::find(&state.db, user_id)
        .await?
        .filter(|u| u.active)
        .ok_or(OutboxError::UnknownUser)?;
    let facility = facilities::find_by_license(&state.db, license)
        .await?
        .ok_or_else(|| OutboxError::UnknownFacility(license.to_owned()))?;
    let needs_approval = user.requires_review;

    if !user.can_submit {
        return Ok(blocked(
            user,
            needs_approval,
            "You may not submit to Metrc: an admin allows it on your user (User Management)."
                .into(),
        ));
    }
    if !user.all_facilities
        && !user_facilities::for_user(&state.db, user.id)
            .await?
            .iter()
            .any(|l| l == license)
    {
        return Ok(blocked(
            user,
            needs_approval,
            format!(
                "You do not work at {license} ({}) in Tracekeeper: an admin adds the facility to your user first.",
                facility.name
            ),
        ));
    }
    let capabilities: Option<FacilityType> = serde_json::from_str(&facility.capabilities).ok();
    if action == SubmissionAction::RecordPlantWaste
        && capabilities
            .as_ref()
            .is_some_and(|c| !c.has(Capability::CanGrowPlants))
    {
        return Ok(blocked(
            user,
            needs_approval,
            format!(
                "{license} is a {} license: it has no plants, so there is no plant waste to record.",
                facility.license_type
            ),
        ));
    }

    let facility_key_valid =
        facility.facility_key_ciphertext.is_some() && facility.key_status == KeyStatus::Valid;
    // The user's key of the facility's state: a person's Metrc account is per state.
    let own_key = user_metrc_keys::find_for_user(&state.db, user.id, &facility.state).await?;
    let for_state = in_state(state, &facility.state);
    match own_key {
        Some(key) if usable(key.status) => {
            let report: Option<ValidationReport> = key
                .report
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok());
            let reached = report
                .as_ref()
                .map(|r| r.facilities.iter().find(|f| f.license_number == license));
            if let Some(None) = reached {
                return Ok(blocked(
                    user,
                    needs_approval,
                    format!(
                        "Your Metrc API key{for_state} does not reach {license}: your Metrc user is not an employee of that license. Ask your Metrc admin to add you there (Admin > Employees in Metrc)."
                    ),
                ));
            }
            let employee = reached
                .flatten()
                .and_then(|f| f.employee_license_number.clone());
            if let (true, Some(employee)) = (facility_key_valid, employee)
                && let Some(missing) =
                    missing_permission(state, &facility, &employee, action).await?
            {
                return Ok(blocked(
                    user,
                    needs_approval,
                    format!(
                        "Metrc would refuse this: your Metrc user lacks {missing} at {license}, which \"{}\" needs. Ask your Metrc admin to grant it (Admin > Employees in Metrc).",
                        action.label()
                    ),
                ));
            }
            let carrier = Carrier {
                kind: KeyKind::User,
                owner: user.name.clone(),
            };
            Ok(Plan {
                preflight: Preflight {
                    key_used: Some(carrier.key_used()),
                    blocked: None,
                    warning: None,
                    needs_approval,
                },
                carrier: Some(carrier),
                user,
            })
        }
        own_key => {
            let invalid = own_key.is_some();
            let no_key = if invalid {
                format!("Your Metrc API key{for_state} is invalid (Metrc refused it)")
            } else {
                format!("You have no Metrc API key{for_state}")
            };
            if state.outbox.settings().require_personal_key {
                return Ok(blocked(
                    user,
                    needs_approval,
                    format!(
                        "{no_key}, and a personal Metrc key is required to submit (setting \"Require a personal Metrc key to submit\"). Add your own key on your profile."
                    ),
                ));
            }
            if !facility_key_valid {
                return Ok(blocked(
                    user,
                    needs_approval,
                    format!(
                        "{no_key}, and {license} has no valid facility key: there is no key to send this with. Add your own key on your profile."
                    ),
                ));
            }
            let carrier = Carrier {
                kind: KeyKind::Facility,
                owner: owner_of(&facility),
            };
            Ok(Plan {
                preflight: Preflight {
                    key_used: Some(carrier.key_used()),
                    blocked: None,
                    warning: Some(format!(
                        "{no_key}: this will show in Metrc under {}'s name.",
                        carrier.owner
                    )),
                    needs_approval,
                },
                carrier: Some(carrier),
                user,
            })
        }
    }
}

/// `" for Colorado"` when the deployment serves several states (keys are per state), else `""`.
pub(super) fn in_state(state: &AppState, code: &str) -> String {
    if state.metrc.several() {
        format!(" for {}", crate::ssr::metrc_states::state_label(code))
    } else {
        String::new()
    }
}

/// The first permission `action` needs that the user (Metrc employee `employee` at the license)
/// lacks, asked with the facility key (which needs Manage Employees). `None` when they have them
/// all, or when Metrc will not say (then Metrc itself decides at send time).
async fn missing_permission(
    state: &AppState,
    facility: &facility::Model,
    employee: &str,
    action: SubmissionAction,
) -> Result<Option<&'static str>, OutboxError> {
    let Some(ciphertext) = facility.facility_key_ciphertext.as_deref() else {
        return Ok(None);
    };
    let metrc = state.metrc.get(&facility.state)?;
    let key = state.vault.decrypt(ciphertext)?;
    let listed = metrc
        .employee_permissions(&key, &facility.license_number, employee)
        .await;
    drop(key);
    match listed {
        Ok(held) => {
            let held: Vec<String> = held.iter().map(|p| p.to_lowercase()).collect();
            Ok(needs(action)
                .iter()
                .copied()
                .find(|need| !held.iter().any(|h| *h == need.to_lowercase())))
        }
        Err(error) => {
            tracing::debug!(license = %facility.license_number, %error, "permissions not listed; Metrc decides at send time");
            Ok(None)
        }
    }
}
