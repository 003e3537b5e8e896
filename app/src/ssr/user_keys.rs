//! Users' own Metrc keys: validating and setting one (with the guard of docs/design.md §5:
//! another user's key is refused, a facility key needs an admin's confirmation), showing it
//! masked with what it reaches and the user's exact Metrc permissions, and revalidating (at
//! sign-in and in the background).
//!
//! Nothing here writes a facility's key: this module does not touch the facilities table except
//! to read which facility keys exist.

use super::actor::Actor;
use super::entities::audit_events::AuditAction;
use super::key_checks::{self, clean_key, fingerprint_prefix};
use super::metrc_states::StateError;
use super::queries::audit_events::{self, NewAuditEvent};
use super::queries::{facilities, user_metrc_keys};
use super::state::AppState;
use super::validation_limit::Held;
use super::vault::{VaultError, stored_mask};
use crate::error::AppError;
use crate::types::facilities::RevalidationSummary;
use crate::types::key_validation::{KeyHolder, ValidationUpdate};
use crate::types::keys::{KeyStatus, StateKeyStatus, first_state};
use crate::types::user_keys::{LicensePermissions, UserKeyView, gaps};
use crate::types::users::worst_status;
use chrono::{DateTime, Utc};
use futures::Stream;
use metrc::{Capability, ValidationReport};
use sea_orm::ActiveEnum;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use secrecy::SecretString;
use std::collections::BTreeSet;

/// Why a user-key operation did not happen. No variant holds a key.
#[derive(Debug, thiserror::Error)]
pub enum UserKeyError {
    #[error(transparent)]
    Input(#[from] super::input::InputError),
    #[error("unknown or deactivated user")]
    UnknownUser,
    #[error("Metrc refused the key (401)")]
    KeyInvalid,
    /// Metrc in the `picked` state refused the key; Metrc in `belongs` accepts it.
    #[error("the key is {belongs}'s, not {picked}'s")]
    OtherState { picked: String, belongs: String },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the key reaches no facility")]
    ReachesNothing,
    #[error("the key is another user's")]
    OtherUsersKey,
    #[error("the key is the facility key of {0:?}")]
    FacilityKey(Vec<String>),
    #[error("only an admin may give a user the facility key of {0:?}")]
    FacilityKeyNeedsAdmin(Vec<String>),
    #[error("Metrc: {0}")]
    Metrc(metrc::Error),
    #[error(transparent)]
    Limited(#[from] super::validation_limit::Refused),
    #[error("key vault: {0}")]
    Vault(#[from] VaultError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<metrc::Error> for UserKeyError {
    fn from(err: metrc::Error) -> Self {
        match err {
            metrc::Error::KeyInvalid => UserKeyError::KeyInvalid,
            other => UserKeyError::Metrc(other),
        }
    }
}

impl From<UserKeyError> for AppError {
    fn from(err: UserKeyError) -> Self {
        match err {
            UserKeyError::Input(err) => err.into(),
            UserKeyError::UnknownUser => AppError::NotFound,
            UserKeyError::KeyInvalid => AppError::KeyRefused(
                "Metrc says this key is invalid: it was mistyped, revoked or regenerated. Nothing was saved. Copy the current key from your Metrc profile (API Keys) and try again."
                    .into(),
            ),
            UserKeyError::OtherState { picked, belongs } => {
                key_checks::other_state_refusal(&picked, &belongs)
            }
            UserKeyError::State(err) => err.into(),
            UserKeyError::ReachesNothing => AppError::KeyRefused(
                "Metrc accepts this key, but it reaches no facility: its owner is not an employee of any license. Nothing was saved."
                    .into(),
            ),
            UserKeyError::OtherUsersKey => AppError::KeyRefused(
                "This key is already another user's own Metrc key. A key belongs to one person, because Metrc attributes everything sent with it to them. Nothing was saved."
                    .into(),
            ),
            UserKeyError::FacilityKey(licenses) => AppError::ConfirmFacilityKey(licenses),
            UserKeyError::FacilityKeyNeedsAdmin(licenses) => AppError::KeyRefused(format!(
                "This is the facility key of {}, not your own key: submissions made with it show in Metrc under the License Owner's name. Generate your own key in Metrc (profile > API Keys). Nothing was saved.",
                licenses.join(", ")
            )),
            UserKeyError::Metrc(err) => {
                tracing::warn!(error = %err, "Metrc call failed");
                AppError::MetrcUnavailable(err.to_string())
            }
            UserKeyError::Limited(refused) => refused.into(),
            UserKeyError::Vault(err) => {
                tracing::error!(error = %err, "key vault error");
                AppError::Internal
            }
            UserKeyError::Db(err) => err.into(),
        }
    }
}

/// The active user `user_id`, or `UnknownUser`.
async fn active_user(
    state: &AppState,
    user_id: i32,
) -> Result<super::entities::users::Model, UserKeyError> {
    super::entities::users::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .filter(|u| u.active)
        .ok_or(UserKeyError::UnknownUser)
}

/// A key for `user_id` validated as it happens (the panel on the user's screens), as one of
/// `asker`'s validations ([`validation_limit`]), running until the stream ends or is dropped.
/// `names`: the asker may see another holder's name (admins).
///
/// [`validation_limit`]: super::validation_limit
pub async fn validate_live(
    state: &AppState,
    asker: i32,
    user_id: i32,
    names: bool,
    key: SecretString,
    picked: Option<&str>,
) -> Result<impl Stream<Item = ValidationUpdate> + Send + 'static, UserKeyError> {
    let key = clean_key(key)?;
    let picked = state.metrc.pick(picked)?;
    active_user(state, user_id).await?;
    let holder = key_checks::holder(
        &state.db,
        &state.vault.fingerprint(&key),
        Some(user_id),
        names,
    )
    .await?;
    let running = state.key_validations.begin(asker)?;
    let updates = key_checks::live(state, picked, &key, holder, |error| {
        UserKeyError::from(error).into()
    })
    .await?;
    Ok(Held::new(running, updates))
}

/// Sets `user_id`'s own key for the state `picked` (`None` with one state) ("Update"):
/// validated with that state's Metrc first (an invalid key is not saved, a key another
/// configured state's Metrc accepts is named as that state's; the validation is one of
/// `actor`'s, [`super::validation_limit`]), refused if it is another user's, and if it is a
/// facility key only with an admin's `confirm_facility_key`. One audit event records the change
/// (fingerprint prefixes, never the key).
pub async fn set(
    state: &AppState,
    actor: Actor<'_>,
    user_id: i32,
    key: SecretString,
    confirm_facility_key: bool,
    picked: Option<&str>,
) -> Result<UserKeyView, UserKeyError> {
    let key = clean_key(key)?;
    let (us_state, metrc) = state.metrc.pick(picked)?;
    active_user(state, user_id).await?;
    let fingerprint = state.vault.fingerprint(&key);
    // Fail fast, before Metrc is asked; checked again below under the key-write lock.
    guard(
        &state.db,
        actor,
        user_id,
        &fingerprint,
        confirm_facility_key,
    )
    .await?;
    let report = {
        // The operator is not a signed-in user: their validations are not limited.
        let _running = actor
            .user_id()
            .map(|id| state.key_validations.begin(id))
            .transpose()?;
        match metrc.validate_key(&key).await {
            Err(metrc::Error::KeyInvalid) => {
                return Err(
                    match key_checks::state_accepting(&state.metrc, us_state, &key).await {
                        Some(belongs) => UserKeyError::OtherState {
                            picked: us_state.to_owned(),
                            belongs,
                        },
                        None => UserKeyError::KeyInvalid,
                    },
                );
            }
            answer => answer?,
        }
    };
    if report.facilities.is_empty() {
        return Err(UserKeyError::ReachesNothing);
    }
    let sealed = state.vault.seal(&key)?;
    drop(key);
    let report_json = serde_json::to_string(&report).unwrap_or_else(|_| "{}".into());

    // The guard and the write in one transaction under the key-write lock, on every server
    // (docs/design.md §5, §11): a key checked here cannot become a facility key meanwhile.
    let txn = crate::ssr::db::begin_write(&state.db).await?;
    crate::ssr::db::lock_key_writes(&txn).await?;
    let facility_key_of = guard(&txn, actor, user_id, &fingerprint, confirm_facility_key).await?;
    let old = user_metrc_keys::find_for_user(&txn, user_id, us_state)
        .await?
        .map(|k| fingerprint_prefix(&k.fingerprint));
    // Metrc in `us_state` has just accepted this key: stored under another state of this user's
    // (a key recorded before states were, given the wrong one), it moves here.
    let moved_from =
        user_metrc_keys::remove_from_other_state(&txn, user_id, &fingerprint, us_state).await?;
    user_metrc_keys::set_for_user(&txn, user_id, us_state, &sealed).await?;
    user_metrc_keys::record_validation(&txn, user_id, us_state, KeyStatus::Valid, &report_json)
        .await?;
    audit_events::record(
        &txn,
        NewAuditEvent {
            actor,
            action: AuditAction::UserKeySet,
            subject: &user_id.to_string(),
            detail: serde_json::json!({
                "user_id": user_id,
                "state": us_state,
                "moved_from_state": moved_from,
                "old_fingerprint": old,
                "new_fingerprint": fingerprint_prefix(sealed.fingerprint()),
                "facility_key_of": facility_key_of,
                "licenses": report.facilities.iter().map(|f| &f.license_number).collect::<Vec<_>>(),
            }),
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(
        %actor,
        user_id,
        fingerprint = %fingerprint_prefix(sealed.fingerprint()),
        facility_key_confirmed = !facility_key_of.is_empty(),
        state = us_state,
        "user key set"
    );
    view(state, user_id, Some(us_state)).await
}

/// The Update Key guard for a user key (docs/design.md §5): another user's key is refused; a
/// facility key needs an admin's confirmation (employees are refused). Returns the licenses whose
/// facility key this is (empty for a key of no facility).
async fn guard(
    db: &impl ConnectionTrait,
    actor: Actor<'_>,
    user_id: i32,
    fingerprint: &str,
    confirm_facility_key: bool,
) -> Result<Vec<String>, UserKeyError> {
    match key_checks::holder(db, fingerprint, Some(user_id), false).await? {
        KeyHolder::OtherUser { .. } => Err(UserKeyError::OtherUsersKey),
        KeyHolder::Facilities(licenses) if !actor.is_admin() => {
            Err(UserKeyError::FacilityKeyNeedsAdmin(licenses))
        }
        KeyHolder::Facilities(licenses) if !confirm_facility_key => {
            Err(UserKeyError::FacilityKey(licenses))
        }
        KeyHolder::Facilities(licenses) => Ok(licenses),
        KeyHolder::Nobody | KeyHolder::ThisUser => Ok(Vec::new()),
    }
}

/// The user's key for the state `picked` (`None` with one state) as their screens show it:
/// masked, status, what it reached at its last validation, and the user's exact Metrc
/// permissions where a facility key may list them.
pub async fn view(
    state: &AppState,
    user_id: i32,
    picked: Option<&str>,
) -> Result<UserKeyView, UserKeyError> {
    let opening = match picked {
        None if state.metrc.several() => opening_state(state, user_id).await?,
        _ => None,
    };
    let (us_state, _) = state.metrc.pick(opening.as_deref().or(picked))?;
    if super::entities::users::Entity::find_by_id(user_id)
        .one(&state.db)
        .await?
        .is_none()
    {
        return Err(UserKeyError::UnknownUser);
    }
    let Some(row) = user_metrc_keys::find_for_user(&state.db, user_id, us_state).await? else {
        return Ok(UserKeyView {
            state: us_state.to_owned(),
            masked_key: None,
            status: KeyStatus::Missing,
            last_validated_at: None,
            validation: None,
            permissions: Vec::new(),
        });
    };
    // The mask stored when the key was sealed: showing a key decrypts nothing.
    let masked_key = Some(stored_mask(row.masked_key.as_deref()));
    let report: Option<ValidationReport> = row
        .report
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok());
    let (validation, permissions) = match &report {
        Some(report) => (
            Some(key_checks::view(state, report).await?),
            permissions(state, report).await?,
        ),
        None => (None, Vec::new()),
    };
    Ok(UserKeyView {
        state: row.state,
        masked_key,
        status: row.status,
        last_validated_at: row.last_validated_at,
        validation,
        permissions,
    })
}

/// The key's user's exact permissions at each license it reaches, asked with that facility's
/// key (which needs Manage Employees); `None` where there is no valid facility key or Metrc
/// refuses to list them.
async fn permissions(
    state: &AppState,
    report: &ValidationReport,
) -> Result<Vec<LicensePermissions>, UserKeyError> {
    let mut out = Vec::new();
    for f in &report.facilities {
        let facility = facilities::find_by_license(&state.db, &f.license_number).await?;
        let facility_key = facility
            .filter(|row| row.key_status == KeyStatus::Valid)
            .and_then(|row| Some((row.facility_key_ciphertext?, row.state)));
        let listed = match (facility_key, f.employee_license_number.as_deref()) {
            (Some((ciphertext, row_state)), Some(employee)) => {
                let key = state.vault.decrypt(&ciphertext)?;
                state
                    .metrc
                    .get(&row_state)?
                    .employee_permissions(&key, &f.license_number, employee)
                    .await
                    .map_err(|e| tracing::debug!(license = %f.license_number, error = %e, "permissions not listed"))
                    .ok()
            }
            _ => None,
        };
        let grows_plants = f.facility_type.has(Capability::CanGrowPlants);
        out.push(LicensePermissions {
            license_number: f.license_number.clone(),
            name: f.name.clone().unwrap_or_default(),
            gaps: listed
                .as_deref()
                .map(|p| gaps(p, grows_plants))
                .unwrap_or_default(),
            permissions: listed,
        });
    }
    Ok(out)
}

/// The states `user_id` works in: those of their facilities, or every state served when no
/// facility is known (the rule [`work_states_of`] applies to User Management's whole list).
pub async fn work_states(state: &AppState, user_id: i32) -> Result<Vec<String>, UserKeyError> {
    let user = active_user(state, user_id).await?;
    let theirs = if user.all_facilities {
        None
    } else {
        Some(super::queries::user_facilities::for_user(&state.db, user_id).await?)
    };
    let states = facilities::states(&state.db, theirs.as_deref()).await?;
    Ok(or_served(states, &state.metrc.codes()))
}

/// The user's key status in each state they work in ([`work_states`], [`key_states`]), without
/// asking Metrc: `Missing` where they have none.
pub async fn statuses(state: &AppState, user_id: i32) -> Result<Vec<StateKeyStatus>, UserKeyError> {
    let stored: Vec<StoredKey> = user_metrc_keys::keys_of_user(&state.db, user_id)
        .await?
        .into_iter()
        .map(|k| StoredKey {
            state: k.state,
            status: k.status,
            validated_at: k.last_validated_at,
        })
        .collect();
    Ok(key_states(&work_states(state, user_id).await?, &stored))
}

/// The state a user's key section opens on when none is picked ([`first_state`]); a deactivated
/// user (who works nowhere) opens on the first served.
async fn opening_state(state: &AppState, user_id: i32) -> Result<Option<String>, UserKeyError> {
    let keys = match statuses(state, user_id).await {
        Err(UserKeyError::UnknownUser) => Vec::new(),
        other => other?,
    };
    Ok(first_state(&state.metrc.served(), &keys))
}

/// The user's key status, without asking Metrc (the notice on sign-in): the one of their states'
/// that most needs attention ([`statuses`], [`worst_status`]).
pub async fn status(state: &AppState, user_id: i32) -> Result<KeyStatus, UserKeyError> {
    Ok(worst_status(
        statuses(state, user_id)
            .await?
            .into_iter()
            .map(|k| k.status),
    ))
}

/// A user's stored key as User Management lists it.
pub(crate) struct StoredKey {
    pub state: String,
    pub status: KeyStatus,
    pub validated_at: Option<DateTime<Utc>>,
}

/// The states a user works in: those of the facilities they work at (`theirs`; `None` for a
/// user of all facilities; `facility_states`: every facility's license number and state), sorted;
/// with no facility known, every state `served`.
pub(crate) fn work_states_of(
    theirs: Option<&BTreeSet<String>>,
    facility_states: &[(String, String)],
    served: &[String],
) -> Vec<String> {
    let mut states: Vec<String> = facility_states
        .iter()
        .filter(|(license, _)| theirs.is_none_or(|t| t.contains(license)))
        .map(|(_, state)| state.clone())
        .collect();
    states.sort();
    states.dedup();
    or_served(states, served)
}

/// `states`, or with none (no facility known) every state `served`.
fn or_served(states: Vec<String>, served: &[String]) -> Vec<String> {
    if states.is_empty() {
        served.to_vec()
    } else {
        states
    }
}

/// The user's key status in each of their `work` states: `Missing` where no key is stored; a
/// key stored without a status is at least not known to be valid (as [`users::list`] says).
pub(crate) fn key_states(work: &[String], stored: &[StoredKey]) -> Vec<StateKeyStatus> {
    work.iter()
        .map(|state| StateKeyStatus {
            state: state.clone(),
            status: stored
                .iter()
                .find(|k| k.state.eq_ignore_ascii_case(state))
                .map_or(KeyStatus::Missing, |k| match k.status {
                    KeyStatus::Missing => KeyStatus::Unvalidated,
                    status => status,
                }),
        })
        .collect()
}

/// Checks the user's stored keys with Metrc now (at sign-in, the start of a shift), each with
/// its state's Metrc: a 401 marks a key invalid; success valid; other failures change nothing.
/// Returns the worst status of the states they work in (`Missing` where they have no key).
pub async fn revalidate(state: &AppState, user_id: i32) -> Result<KeyStatus, UserKeyError> {
    for row in user_metrc_keys::keys_of_user(&state.db, user_id).await? {
        let status = check(state, &row).await?;
        user_metrc_keys::set_status(&state.db, user_id, &row.fingerprint, status).await?;
        if status == KeyStatus::Invalid {
            tracing::warn!(user_id, state = %row.state, "user key refused by Metrc: marked invalid");
        }
    }
    status(state, user_id).await
}

async fn check(
    state: &AppState,
    row: &super::entities::user_metrc_keys::Model,
) -> Result<KeyStatus, UserKeyError> {
    let metrc = state.metrc.get(&row.state)?;
    let key = state.vault.decrypt(&row.ciphertext)?;
    match metrc.facilities(&key).await {
        Ok(_) => Ok(KeyStatus::Valid),
        Err(metrc::Error::KeyInvalid) => Ok(KeyStatus::Invalid),
        Err(other) => Err(UserKeyError::Metrc(other)),
    }
}

/// Revalidates every user key (the background job).
pub async fn revalidate_all(state: &AppState) -> Result<RevalidationSummary, UserKeyError> {
    let mut summary = RevalidationSummary::default();
    for row in user_metrc_keys::all(&state.db).await? {
        match check(state, &row).await {
            Ok(status) => {
                if row.status != status {
                    tracing::info!(user_id = row.user_id, from = %row.status.to_value(), to = %status.to_value(), "user key status changed");
                }
                user_metrc_keys::set_status(&state.db, row.user_id, &row.fingerprint, status)
                    .await?;
                match status {
                    KeyStatus::Valid => summary.valid += 1,
                    _ => summary.invalid += 1,
                }
            }
            Err(err) => {
                tracing::warn!(user_id = row.user_id, error = %err, "user key revalidation failed; status unchanged");
                summary.failed += 1;
            }
        }
    }
    Ok(summary)
}
