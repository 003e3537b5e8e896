//! Facility keys: validating a key against Metrc, assigning it to facilities (with the Update Key
//! guard of docs/design.md §5), listing facilities with masked keys, and revalidating stored keys.
//!
//! A key is plaintext only inside a [`SecretString`] while a call needs it; it is never logged,
//! never stored unsealed and never returned (the browser gets the mask stored when the key was
//! sealed, [`super::vault::mask`], and statuses).

use super::actor::Actor;
use super::entities::audit_events::AuditAction;
use super::entities::facilities as facility;
use super::input;
use super::key_checks::{self, clean_key, fingerprint_prefix};
use super::metrc_states::{StateError, state_label};
use super::queries::audit_events::{self, NewAuditEvent};
use super::queries::facilities::{self, KeyOwner, NewFacility};
use super::queries::user_metrc_keys;
use super::state::AppState;
use super::validation_limit::Held;
use super::vault::{VaultError, stored_mask};
use crate::error::AppError;
use crate::types::facilities::{AssignOutcome, FacilityFilter, FacilityRow, RevalidationSummary};
use crate::types::inventory::{PAGE_SIZE, Page};
use crate::types::key_validation::ValidationUpdate;
use crate::types::keys::KeyStatus;
use chrono::Utc;
use futures::Stream;
use metrc::ValidationReport;
use sea_orm::ActiveEnum;
use sea_orm::{ConnectionTrait, DbErr};
use secrecy::SecretString;
use std::collections::{BTreeMap, BTreeSet};

/// Why a facility-key operation did not happen. No variant holds a key.
#[derive(Debug, thiserror::Error)]
pub enum FacilityKeyError {
    #[error(transparent)]
    Input(#[from] super::input::InputError),
    #[error("no facility was selected")]
    NoLicenses,
    #[error("Metrc refused the key (401)")]
    KeyInvalid,
    /// Metrc in the `picked` state refused the key; Metrc in `belongs` accepts it.
    #[error("the key is {belongs}'s, not {picked}'s")]
    OtherState { picked: String, belongs: String },
    /// A facility the key reaches is already Tracekeeper's in another state: one key never
    /// covers facilities of two states.
    #[error("{license} is a facility in {state}")]
    FacilityInOtherState { license: String, state: String },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("the key is a user's own Metrc key")]
    UserKey,
    #[error("the key does not reach {0:?}")]
    NotReached(Vec<String>),
    #[error("the key is not the License Owner's for {0:?}")]
    NotOwner(Vec<String>),
    #[error("unknown facility")]
    UnknownFacility,
    #[error("the facility has no key")]
    NoKey,
    #[error("Metrc: {0}")]
    Metrc(metrc::Error),
    #[error(transparent)]
    Limited(#[from] super::validation_limit::Refused),
    #[error("key vault: {0}")]
    Vault(#[from] VaultError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<metrc::Error> for FacilityKeyError {
    fn from(err: metrc::Error) -> Self {
        match err {
            metrc::Error::KeyInvalid => FacilityKeyError::KeyInvalid,
            other => FacilityKeyError::Metrc(other),
        }
    }
}

impl From<FacilityKeyError> for AppError {
    fn from(err: FacilityKeyError) -> Self {
        match err {
            FacilityKeyError::Input(err) => err.into(),
            FacilityKeyError::NoLicenses => {
                AppError::BadInput("Select at least one facility for the key.".into())
            }
            FacilityKeyError::KeyInvalid => AppError::KeyRefused(
                "Metrc says this key is invalid: it was mistyped, revoked or regenerated. Copy the current key from Metrc and try again."
                    .into(),
            ),
            FacilityKeyError::OtherState { picked, belongs } => {
                key_checks::other_state_refusal(&picked, &belongs)
            }
            FacilityKeyError::FacilityInOtherState { license, state } => AppError::KeyRefused(format!(
                "{license} is a facility in {}: a facility key covers the facilities of one state only. Set its key with {} picked.",
                state_label(&state),
                state_label(&state),
            )),
            FacilityKeyError::State(err) => err.into(),
            FacilityKeyError::UserKey => AppError::KeyRefused(
                "This key is a user's own Metrc key (it is stored on a user's profile), not a facility key: assigning it here would make every facility submit under that user's name. Use the License Owner's key; set user keys only on the user's profile."
                    .into(),
            ),
            FacilityKeyError::NotReached(licenses) => AppError::KeyRefused(format!(
                "This key does not reach {}: its owner is not an employee of that license in Metrc. Generate the key from the License Owner's account.",
                licenses.join(", ")
            )),
            FacilityKeyError::NotOwner(licenses) => AppError::NotLicenseOwner(licenses),
            FacilityKeyError::UnknownFacility => AppError::NotFound,
            FacilityKeyError::NoKey => AppError::BadInput(
                "This facility has no key yet: set one on the Integrations page.".into(),
            ),
            FacilityKeyError::Metrc(err) => {
                // metrc::Error never holds a key (its bodies are scrubbed).
                tracing::warn!(error = %err, "Metrc call failed");
                AppError::MetrcUnavailable(err.to_string())
            }
            FacilityKeyError::Limited(refused) => refused.into(),
            FacilityKeyError::Vault(err) => {
                tracing::error!(error = %err, "key vault error");
                AppError::Internal
            }
            FacilityKeyError::Db(err) => err.into(),
        }
    }
}

/// Validates `key` against Metrc: the licenses it reaches and every section probe. Counts as
/// one of `asker`'s validations ([`validation_limit`]).
///
/// [`validation_limit`]: super::validation_limit
pub async fn validate(
    state: &AppState,
    asker: i32,
    key: SecretString,
    picked: Option<&str>,
) -> Result<ValidationReport, FacilityKeyError> {
    let key = clean_key(key)?;
    let (code, metrc) = state.metrc.pick(picked)?;
    let _running = state.key_validations.begin(asker)?;
    match metrc.validate_key(&key).await {
        Err(metrc::Error::KeyInvalid) => Err(refused_in(state, code, &key).await),
        answer => Ok(answer?),
    }
}

/// Why Metrc in `picked` refused `key`: the key is another configured state's
/// ([`FacilityKeyError::OtherState`]), or no state's ([`FacilityKeyError::KeyInvalid`]).
async fn refused_in(state: &AppState, picked: &str, key: &SecretString) -> FacilityKeyError {
    match key_checks::state_accepting(&state.metrc, picked, key).await {
        Some(belongs) => FacilityKeyError::OtherState {
            picked: picked.to_owned(),
            belongs,
        },
        None => FacilityKeyError::KeyInvalid,
    }
}

/// [`validate`] as it happens, for the live panel ([`key_checks::live`]); the key's holder says
/// whether it is a user's own key (which Update Key refuses). `asker`'s validation runs until
/// the stream ends or is dropped.
pub async fn validate_live(
    state: &AppState,
    asker: i32,
    key: SecretString,
    picked: Option<&str>,
) -> Result<impl Stream<Item = ValidationUpdate> + Send + 'static, FacilityKeyError> {
    let key = clean_key(key)?;
    let picked = state.metrc.pick(picked)?;
    let holder = key_checks::holder(&state.db, &state.vault.fingerprint(&key), None, true).await?;
    let running = state.key_validations.begin(asker)?;
    let updates = key_checks::live(state, picked, &key, holder, |error| {
        FacilityKeyError::from(error).into()
    })
    .await?;
    Ok(Held::new(running, updates))
}

/// The key owner's name at `license`, per Metrc's employee list (best effort: the key may not
/// be allowed to list employees).
async fn owner_name(
    metrc: &metrc::Client,
    key: &SecretString,
    license: &str,
    employee_license_number: Option<&str>,
) -> Option<String> {
    let wanted = employee_license_number?;
    let employees = metrc.employees(key, license).await.ok()?;
    employees.into_iter().find_map(|e| {
        let number = e.license.as_ref().and_then(|l| l.number.as_deref());
        (number == Some(wanted)).then_some(e.full_name).flatten()
    })
}

/// The Update Key guard of docs/design.md §5: a key stored as any user's own key is refused.
async fn refuse_user_key(
    db: &impl ConnectionTrait,
    fingerprint: &str,
) -> Result<(), FacilityKeyError> {
    match user_metrc_keys::find_by_fingerprint(db, fingerprint).await? {
        Some(_) => Err(FacilityKeyError::UserKey),
        None => Ok(()),
    }
}

/// Assigns `key` to the facilities `licenses` ("Update Key"). Refuses a user's key, licenses the
/// key does not reach, and (unless `confirm_not_owner`) a key that is not the License Owner's.
/// New licenses are added from Metrc's description. One audit event records the change.
pub async fn assign(
    state: &AppState,
    actor: Actor<'_>,
    key: SecretString,
    licenses: Vec<String>,
    confirm_not_owner: bool,
    picked: Option<&str>,
) -> Result<AssignOutcome, FacilityKeyError> {
    let key = clean_key(key)?;
    let (us_state, metrc) = state.metrc.pick(picked)?;
    input::count(&licenses, "facilities", input::MAX_LICENSES)?;
    for license in &licenses {
        input::text(license.trim(), "license number")?;
    }
    let licenses: BTreeSet<String> = licenses
        .iter()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    if licenses.is_empty() {
        return Err(FacilityKeyError::NoLicenses);
    }
    // The guard of docs/design.md §5, before anything goes to Metrc.
    let fingerprint = state.vault.fingerprint(&key);
    refuse_user_key(&state.db, &fingerprint).await?;
    let reached = match metrc.facilities(&key).await {
        Err(metrc::Error::KeyInvalid) => return Err(refused_in(state, us_state, &key).await),
        answer => answer?,
    };
    let mut reports = BTreeMap::new();
    for f in &reached {
        reports.insert(f.license_number().to_owned(), f);
    }
    let missing: Vec<String> = licenses
        .iter()
        .filter(|l| !reports.contains_key(l.as_str()))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(FacilityKeyError::NotReached(missing));
    }
    let not_owner: Vec<String> = licenses
        .iter()
        .filter(|l| reports[l.as_str()].is_owner != Some(true))
        .cloned()
        .collect();
    if !not_owner.is_empty() && !confirm_not_owner {
        return Err(FacilityKeyError::NotOwner(not_owner));
    }

    let first = licenses
        .iter()
        .next()
        .map(String::as_str)
        .unwrap_or_default();
    let employee_license = reports[first]
        .license
        .as_ref()
        .and_then(|l| l.employee_license_number.clone());
    let owner = owner_name(metrc, &key, first, employee_license.as_deref())
        .await
        .or(employee_license)
        .unwrap_or_default();
    let sealed = state.vault.seal(&key)?;
    drop(key);

    // The guard again, in the write's transaction under the key-write lock (on every server:
    // docs/design.md §5, §11): a user may have been given this key while Metrc was being asked.
    let txn = crate::ssr::db::begin_write(&state.db).await?;
    crate::ssr::db::lock_key_writes(&txn).await?;
    refuse_user_key(&txn, &fingerprint).await?;
    let mut added = Vec::new();
    let mut old_fingerprints = BTreeMap::new();
    for license in &licenses {
        let report = reports[license.as_str()];
        let row = if let Some(row) = facilities::find_by_license(&txn, license).await? {
            if !row.state.eq_ignore_ascii_case(us_state) {
                if !row.state.is_empty() {
                    return Err(FacilityKeyError::FacilityInOtherState {
                        license: license.clone(),
                        state: row.state,
                    });
                }
                // Recorded before states were: its state is the one its key is Metrc's in.
                facilities::set_state(&txn, row.id, us_state).await?;
            }
            row
        } else {
            added.push(license.clone());
            let license_type = report
                .license
                .as_ref()
                .and_then(|l| l.license_type.clone())
                .unwrap_or_default();
            facilities::insert(
                &txn,
                NewFacility {
                    license_number: license,
                    name: report.name.as_deref().unwrap_or(license),
                    license_type: &license_type,
                    state: us_state,
                    capabilities: serde_json::to_string(
                        &report.facility_type.clone().unwrap_or_default(),
                    )
                    .unwrap_or_else(|_| "{}".into()),
                },
            )
            .await?
        };
        old_fingerprints.insert(
            license.clone(),
            row.key_fingerprint.as_deref().map(fingerprint_prefix),
        );
        facilities::set_key(
            &txn,
            row.id,
            &sealed,
            KeyOwner {
                name: &owner,
                is_owner: report.is_owner == Some(true),
            },
            KeyStatus::Valid,
        )
        .await?;
    }
    let owner_override = if confirm_not_owner {
        not_owner
    } else {
        Vec::new()
    };
    let subject: Vec<&str> = licenses.iter().map(String::as_str).collect();
    audit_events::record(
        &txn,
        NewAuditEvent {
            actor,
            action: AuditAction::FacilityKeySet,
            subject: &subject.join(","),
            detail: serde_json::json!({
                "licenses": subject,
                "old_fingerprints": old_fingerprints,
                "new_fingerprint": fingerprint_prefix(sealed.fingerprint()),
                "added": added,
                "owner_override": owner_override,
            }),
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(
        %actor,
        licenses = ?subject,
        fingerprint = %fingerprint_prefix(sealed.fingerprint()),
        owner_override = !owner_override.is_empty(),
        "facility key set"
    );

    let assigned: Vec<facility::Model> = facilities::list(&state.db)
        .await?
        .into_iter()
        .filter(|f| licenses.contains(&f.license_number))
        .collect();
    Ok(AssignOutcome {
        facilities: rows_of(state, &assigned),
        added,
        owner_override,
    })
}

/// Facilities as Facility Management shows them, each key by the mask stored when it was sealed:
/// listing decrypts no key.
fn rows_of(state: &AppState, models: &[facility::Model]) -> Vec<FacilityRow> {
    models.iter().map(|f| row_of(state, f)).collect()
}

/// Keys set at or before this are old enough to warn about ([`FacilityRow::key_expiring`]):
/// `TRACEKEEPER_KEY_WARN_DAYS` whole days before `now`.
fn key_warning_from(state: &AppState, now: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    now - chrono::Duration::days(i64::from(state.config.key_warn_after_days))
}

/// A facility as Facility Management shows it.
fn row_of(state: &AppState, f: &facility::Model) -> FacilityRow {
    let now = Utc::now();
    let key_age_days = f.key_set_at.map(|at| (now - at).num_days().max(0));
    let masked_key = f
        .facility_key_ciphertext
        .as_ref()
        .map(|_| stored_mask(f.masked_key.as_deref()));
    FacilityRow {
        license_number: f.license_number.clone(),
        name: f.name.clone(),
        license_type: f.license_type.clone(),
        state: f.state.clone(),
        masked_key,
        key_fingerprint_prefix: f.key_fingerprint.as_deref().map(fingerprint_prefix),
        key_status: f.key_status,
        key_owner_name: f.key_owner_name.clone().filter(|n| !n.is_empty()),
        key_is_owner: f.key_is_owner,
        key_age_days,
        key_expiring: f
            .key_set_at
            .is_some_and(|at| at <= key_warning_from(state, now)),
        last_validated_at: f.last_validated_at,
        last_sync_at: f.last_sync_at,
        sync_state: f.sync_state,
        sync_progress: super::sync::parse_progress(f.sync_progress.as_deref()),
        sync_message: f.sync_message.clone(),
    }
}

/// Every facility, by license number.
pub async fn list(state: &AppState) -> Result<Vec<FacilityRow>, FacilityKeyError> {
    Ok(rows_of(state, &facilities::list(&state.db).await?))
}

/// One page of Facility Management: the facilities matching `filter`, by license number,
/// [`PAGE_SIZE`] a page. `Input` when the search is too long or holds control characters.
pub async fn page(
    state: &AppState,
    filter: &FacilityFilter,
) -> Result<Page<FacilityRow>, FacilityKeyError> {
    input::filter(filter.search.as_deref(), "search")?;
    let size = u64::from(PAGE_SIZE);
    let (models, total) = facilities::page(
        &state.db,
        filter.search.as_deref(),
        u64::from(filter.page) * size,
        size,
    )
    .await?;
    Ok(Page::new(
        rows_of(state, &models),
        total,
        filter.page,
        PAGE_SIZE,
    ))
}

/// The facilities the admin pages' key-health banner names: keys Metrc refused, and keys at
/// least `TRACEKEEPER_KEY_WARN_DAYS` old ([`FacilityRow::key_expiring`]), by license number.
pub async fn unhealthy(state: &AppState) -> Result<Vec<FacilityRow>, FacilityKeyError> {
    let old_from = key_warning_from(state, Utc::now());
    Ok(rows_of(
        state,
        &facilities::unhealthy(&state.db, old_from).await?,
    ))
}

/// What Metrc says about a stored key now: `Ok(true)` valid, `Ok(false)` refused (401).
async fn check_stored(
    state: &AppState,
    f: &facility::Model,
    ciphertext: &str,
) -> Result<bool, FacilityKeyError> {
    let metrc = state.metrc.get(&f.state)?;
    let key = state.vault.decrypt(ciphertext)?;
    match metrc.facilities(&key).await {
        Ok(_) => Ok(true),
        Err(metrc::Error::KeyInvalid) => Ok(false),
        Err(other) => Err(FacilityKeyError::Metrc(other)),
    }
}

/// Checks the facility's key against Metrc now ("Revalidate now"). A 401 marks the key invalid
/// on every facility that holds it (their rows turn red, their sync stops); success marks it
/// valid on them; any other failure changes nothing and is returned.
pub async fn revalidate(state: &AppState, license: &str) -> Result<FacilityRow, FacilityKeyError> {
    input::text(license, "license number")?;
    let row = facilities::find_by_license(&state.db, license)
        .await?
        .ok_or(FacilityKeyError::UnknownFacility)?;
    let ciphertext = row
        .facility_key_ciphertext
        .as_deref()
        .ok_or(FacilityKeyError::NoKey)?;
    let fingerprint = row
        .key_fingerprint
        .as_deref()
        .ok_or(FacilityKeyError::NoKey)?;
    let status = if check_stored(state, &row, ciphertext).await? {
        KeyStatus::Valid
    } else {
        KeyStatus::Invalid
    };
    let holders = facilities::set_key_status(&state.db, fingerprint, status).await?;
    if status == KeyStatus::Invalid {
        tracing::warn!(license = %row.license_number, facilities = holders, "facility key refused by Metrc: marked invalid");
    }
    let updated = facilities::find_by_license(&state.db, license)
        .await?
        .ok_or(FacilityKeyError::UnknownFacility)?;
    Ok(row_of(state, &updated))
}

/// Revalidates every stored facility key (the background job): one Metrc call per distinct key.
pub async fn revalidate_all(state: &AppState) -> Result<RevalidationSummary, FacilityKeyError> {
    let mut by_key: BTreeMap<String, Vec<facility::Model>> = BTreeMap::new();
    for f in facilities::list(&state.db).await? {
        if let (Some(_), Some(fp)) = (&f.facility_key_ciphertext, f.key_fingerprint.clone()) {
            by_key.entry(fp).or_default().push(f);
        }
    }
    let mut summary = RevalidationSummary::default();
    for (fingerprint, group) in by_key {
        let Some(ciphertext) = group[0].facility_key_ciphertext.as_deref() else {
            continue;
        };
        let status = match check_stored(state, &group[0], ciphertext).await {
            Ok(true) => KeyStatus::Valid,
            Ok(false) => KeyStatus::Invalid,
            Err(err) => {
                tracing::warn!(fingerprint = %fingerprint_prefix(&fingerprint), error = %err, "facility key revalidation failed; status unchanged");
                summary.failed += group.len();
                continue;
            }
        };
        for f in group.iter().filter(|f| f.key_status != status) {
            tracing::info!(license = %f.license_number, from = %f.key_status.to_value(), to = %status.to_value(), "facility key status changed");
        }
        facilities::set_key_status(&state.db, &fingerprint, status).await?;
        match status {
            KeyStatus::Valid => summary.valid += group.len(),
            _ => summary.invalid += group.len(),
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_facing_messages_name_the_reason_and_hold_no_key() {
        let msg = AppError::from(FacilityKeyError::UserKey).to_string();
        assert!(msg.contains("user's own Metrc key"), "{msg}");
        let msg = AppError::from(FacilityKeyError::KeyInvalid).to_string();
        assert!(msg.contains("mistyped, revoked or regenerated"), "{msg}");
        let msg = AppError::from(FacilityKeyError::NotOwner(vec!["C10-1".into()])).to_string();
        assert!(
            msg.contains("C10-1") && msg.contains("License Owner"),
            "{msg}"
        );
    }
}
