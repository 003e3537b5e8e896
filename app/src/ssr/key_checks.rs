//! What facility keys and user keys share: cleaning a pasted key, who holds a key already (by
//! fingerprint), and validation reports as the browser may see them, whole or live.

use super::entities::users::Entity as UserEntity;
use super::input::{self, InputError};
use super::metrc_states::{MetrcStates, state_label};
use super::queries::{facilities, user_metrc_keys};
use super::state::AppState;
use crate::error::AppError;
use crate::types::facilities::{CellState, KeyValidation, ReachedFacility, SectionCell};
use crate::types::key_validation::{KeyHolder, ValidationUpdate};
use futures::{Stream, StreamExt, future, stream};
use metrc::{CellStatus, FacilityReport, Section, ValidationEvent, ValidationReport};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait};
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeSet;

/// Characters of a fingerprint that may be shown or audited.
const FINGERPRINT_SHOWN: usize = 8;

/// A fingerprint as it may be shown or audited.
pub fn fingerprint_prefix(fingerprint: &str) -> String {
    fingerprint.chars().take(FINGERPRINT_SHOWN).collect()
}

/// A key as typed or pasted, surrounding whitespace removed, and checked to look like a Metrc
/// key ([`input::metrc_key`]) before it is fingerprinted or sent anywhere.
pub fn clean_key(key: SecretString) -> Result<SecretString, InputError> {
    let trimmed = input::metrc_key(key.expose_secret())?;
    if trimmed.len() == key.expose_secret().len() {
        Ok(key)
    } else {
        Ok(SecretString::from(trimmed.to_owned()))
    }
}

/// Who holds the key with `fingerprint`, seen from the screen that sets it: `for_user` is the
/// user whose key is being set (`None` on Integrations); `names` says whether the asker may see
/// another user's name (admins).
pub async fn holder(
    db: &impl ConnectionTrait,
    fingerprint: &str,
    for_user: Option<i32>,
    names: bool,
) -> Result<KeyHolder, DbErr> {
    let user_row = user_metrc_keys::find_by_fingerprint(db, fingerprint).await?;
    if let Some(row) = user_row
        .as_ref()
        .filter(|row| Some(row.user_id) != for_user)
    {
        let name = if names {
            UserEntity::find_by_id(row.user_id)
                .one(db)
                .await?
                .map(|u| u.name)
        } else {
            None
        };
        return Ok(KeyHolder::OtherUser { name });
    }
    // A facility key stays one even when an admin has also made it this user's key: setting it
    // again needs the confirmation again.
    let licenses: Vec<String> = facilities::find_by_fingerprint(db, fingerprint)
        .await?
        .into_iter()
        .map(|f| f.license_number)
        .collect();
    Ok(if !licenses.is_empty() {
        KeyHolder::Facilities(licenses)
    } else if user_row.is_some() {
        KeyHolder::ThisUser
    } else {
        KeyHolder::Nobody
    })
}

/// The license numbers Tracekeeper knows.
async fn known_licenses(state: &AppState) -> Result<BTreeSet<String>, DbErr> {
    Ok(facilities::list(&state.db)
        .await?
        .into_iter()
        .map(|f| f.license_number)
        .collect())
}

/// The names of the sections every license is probed for, in column order.
fn section_names() -> Vec<String> {
    Section::ALL.iter().map(|s| s.name().to_owned()).collect()
}

fn cell_view(section: Section, status: &CellStatus) -> SectionCell {
    SectionCell {
        section: section.name().to_owned(),
        status: match status {
            CellStatus::Granted => CellState::Granted,
            CellStatus::Denied => CellState::Denied,
            CellStatus::NotApplicable => CellState::NotApplicable,
            CellStatus::Error(e) => CellState::Error(e.clone()),
        },
    }
}

fn reached_view(f: &FacilityReport, known: &BTreeSet<String>) -> ReachedFacility {
    ReachedFacility {
        license_number: f.license_number.clone(),
        name: f.name.clone().unwrap_or_default(),
        license_type: f.license_type.clone().unwrap_or_default(),
        is_owner: f.is_owner,
        is_manager: f.is_manager,
        known: known.contains(&f.license_number),
        cells: f
            .cells
            .iter()
            .map(|(section, status)| cell_view(*section, status))
            .collect(),
    }
}

/// A whole report as the browser may see it, each license marked known or new.
pub async fn view(state: &AppState, report: &ValidationReport) -> Result<KeyValidation, DbErr> {
    let known = known_licenses(state).await?;
    Ok(KeyValidation {
        sections: section_names(),
        facilities: report
            .facilities
            .iter()
            .map(|f| reached_view(f, &known))
            .collect(),
    })
}

/// The state other than `picked` whose Metrc accepts `key` (the first in the configured order),
/// asked when Metrc in `picked` refused it; `None` when no other state's does (or there is none).
pub async fn state_accepting(
    metrc: &MetrcStates,
    picked: &str,
    key: &SecretString,
) -> Option<String> {
    for (code, client) in metrc.others(picked) {
        if client.facilities(key).await.is_ok() {
            return Some(code.to_owned());
        }
    }
    None
}

/// "This key belongs to Colorado's Metrc": Metrc in `picked` refused a key that Metrc in
/// `belongs` accepts.
pub fn other_state_refusal(picked: &str, belongs: &str) -> AppError {
    let (picked, belongs) = (state_label(picked), state_label(belongs));
    AppError::KeyRefused(format!(
        "This key belongs to {belongs}'s Metrc, not {picked}'s: Metrc keys are issued per state. Pick {belongs}, or paste the key generated in {picked}'s Metrc."
    ))
}

/// A validation as it happens, for the live panel: the licenses first (marked known or new, with
/// the key's `holder`), then each cell as Metrc answers, then `Done`; or one `Failed` with the
/// reason (`failure` words Metrc's error for the screen; a key Metrc in `picked` refuses but
/// another state's accepts is named as that state's) and nothing after it.
pub async fn live(
    state: &AppState,
    (picked, metrc): (&str, &metrc::Client),
    key: &SecretString,
    holder: KeyHolder,
    failure: fn(metrc::Error) -> AppError,
) -> Result<impl Stream<Item = ValidationUpdate> + Send + 'static + use<>, DbErr> {
    let known = known_licenses(state).await?;
    let (states, picked, refused_key) = (state.metrc.clone(), picked.to_owned(), key.clone());
    Ok(metrc
        .validate_key_stream(key)
        .then(move |event| {
            let (states, picked, refused_key) =
                (states.clone(), picked.clone(), refused_key.clone());
            async move {
                match event {
                    Err(metrc::Error::KeyInvalid) => Err(
                        match state_accepting(&states, &picked, &refused_key).await {
                            Some(belongs) => other_state_refusal(&picked, &belongs),
                            None => failure(metrc::Error::KeyInvalid),
                        },
                    ),
                    Err(other) => Err(failure(other)),
                    Ok(event) => Ok(event),
                }
            }
        })
        .map(move |event| match event {
            Ok(ValidationEvent::Facilities(reports)) => ValidationUpdate::Facilities {
                sections: section_names(),
                facilities: reports.iter().map(|f| reached_view(f, &known)).collect(),
                holder: holder.clone(),
            },
            Ok(ValidationEvent::Cell {
                license_number,
                section,
                status,
            }) => ValidationUpdate::Cell {
                license_number,
                cell: cell_view(section, &status),
            },
            Err(refusal) => ValidationUpdate::Failed(refusal),
        })
        .chain(stream::once(future::ready(ValidationUpdate::Done)))
        // A failure is the last update: no `Done` after it.
        .scan(false, |failed, update| {
            let next = (!*failed).then_some(update);
            *failed = matches!(next, Some(ValidationUpdate::Failed(_)));
            future::ready(next)
        }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_trimmed_and_empty_or_malformed_ones_refused() {
        assert!(matches!(
            clean_key(SecretString::from("  ")),
            Err(InputError::Missing { .. })
        ));
        let key = clean_key(SecretString::from(" abcdefghijklmnop \n")).unwrap();
        assert_eq!(key.expose_secret(), "abcdefghijklmnop");
        assert!(matches!(
            clean_key(SecretString::from("abc-defghijklmnop")),
            Err(InputError::NotAMetrcKey)
        ));
    }

    #[test]
    fn fingerprints_show_eight_characters() {
        assert_eq!(fingerprint_prefix("0123456789abcdef"), "01234567");
        assert_eq!(fingerprint_prefix("abc"), "abc");
    }
}
