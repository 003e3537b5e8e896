//! The lists the work forms choose from, for one license: adjustment reasons, units, waste
//! methods and reasons from Metrc (read with the facility's key, cached for an hour), and the
//! locations from synced data.

use super::{SyncError, lock, schedule};
use crate::ssr::queries::{facilities, synced_records};
use crate::ssr::state::AppState;
use crate::types::inventory::ReferenceLists;
use crate::types::keys::KeyStatus;
use metrc::Resource;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long Metrc's reference lists are reused before being read again.
pub const TTL: Duration = Duration::from_hours(1);

/// Metrc's lists for one license, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct MetrcLists {
    adjust_reasons: Vec<String>,
    units: Vec<String>,
    waste_methods: Vec<String>,
    waste_reasons: Vec<String>,
}

/// The lists read per license, with when they were read.
#[derive(Default)]
pub struct ReferenceCache(Mutex<HashMap<String, (Instant, MetrcLists)>>);

impl ReferenceCache {
    fn get(&self, license: &str) -> Option<(Instant, MetrcLists)> {
        lock(&self.0).get(license).cloned()
    }

    fn put(&self, license: &str, lists: MetrcLists) {
        lock(&self.0).insert(license.to_owned(), (Instant::now(), lists));
    }

    /// Forgets every license's lists (the next request reads them again).
    pub fn clear(&self) {
        lock(&self.0).clear();
    }
}

/// The reference lists of `license`. Metrc's part comes from the cache while under an hour old;
/// when Metrc cannot be read, older cached lists are used rather than none.
pub async fn lists(state: &AppState, license: &str) -> Result<ReferenceLists, SyncError> {
    let locations = synced_records::names(
        &state.db,
        license,
        schedule::name(Resource::LocationsActive),
    )
    .await?;
    let cache = &state.sync.reference;
    let cached = cache.get(license);
    let metrc = match cached {
        Some((at, lists)) if at.elapsed() < TTL => lists,
        _ => match read(state, license).await {
            Ok(lists) => {
                cache.put(license, lists.clone());
                lists
            }
            Err(err) => match cached {
                Some((_, stale)) => {
                    tracing::warn!(license, error = %err, "reference lists: Metrc unavailable, using the last lists read");
                    stale
                }
                None => return Err(err),
            },
        },
    };
    Ok(ReferenceLists {
        adjust_reasons: metrc.adjust_reasons,
        locations,
        units: metrc.units,
        waste_methods: metrc.waste_methods,
        waste_reasons: metrc.waste_reasons,
    })
}

/// Names in Metrc's order, each once, blank ones left out.
fn names(items: impl IntoIterator<Item = Option<String>>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .flatten()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty() && seen.insert(n.clone()))
        .collect()
}

/// One list's answer: its names; no access (401/403) reads as an empty list and is noted.
fn or_empty<T>(
    result: Result<Vec<T>, metrc::Error>,
    name: impl Fn(T) -> Option<String>,
    refused: &mut bool,
) -> Result<Vec<String>, SyncError> {
    match result {
        Ok(items) => Ok(names(items.into_iter().map(name))),
        Err(metrc::Error::NoAccess { .. }) => {
            *refused = true;
            Ok(Vec::new())
        }
        Err(err) => Err(err.into()),
    }
}

async fn read(state: &AppState, license: &str) -> Result<MetrcLists, SyncError> {
    let f = facilities::find_by_license(&state.db, license)
        .await?
        .ok_or(SyncError::UnknownFacility)?;
    let ciphertext = f
        .facility_key_ciphertext
        .as_deref()
        .ok_or_else(|| SyncError::NoKey(f.license_number.clone()))?;
    if f.key_status != KeyStatus::Valid {
        return Err(SyncError::KeyNotValid(f.license_number.clone()));
    }
    let key = state.vault.decrypt(ciphertext)?;
    let m = state.metrc.get(&f.state)?;
    let (reasons, units, methods, waste) = futures::join!(
        m.adjust_reasons(&key, license),
        m.units_of_measure(&key, license),
        m.waste_methods(&key, license),
        m.waste_reasons(&key, license),
    );
    let mut refused = false;
    let lists = MetrcLists {
        adjust_reasons: or_empty(reasons, |r| r.name, &mut refused)?,
        units: or_empty(units, |u| u.name, &mut refused)?,
        waste_methods: or_empty(methods, |w| w.name, &mut refused)?,
        waste_reasons: or_empty(waste, |w| w.name, &mut refused)?,
    };
    if refused {
        // A 401 on a license's list: the key is dead, or its owner lacks that section. Only the
        // facilities call can tell; a dead key is marked invalid like sync does.
        if let Err(metrc::Error::KeyInvalid) = m.facilities(&key).await {
            if let Some(fingerprint) = f.key_fingerprint.as_deref() {
                facilities::set_key_status(&state.db, fingerprint, KeyStatus::Invalid).await?;
            }
            tracing::warn!(license, "Metrc refused the facility key: marked invalid");
            return Err(SyncError::KeyRefused(f.license_number.clone()));
        }
    }
    Ok(lists)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_metrcs_order_once_each() {
        let got = names([
            Some("Drying".to_owned()),
            None,
            Some(" ".to_owned()),
            Some("Waste".to_owned()),
            Some("Drying".to_owned()),
        ]);
        assert_eq!(got, vec!["Drying", "Waste"]);
    }

    #[test]
    fn cached_lists_are_kept_per_license() {
        let cache = ReferenceCache::default();
        assert!(cache.get("A-1").is_none());
        let lists = MetrcLists {
            units: vec!["Grams".into()],
            ..Default::default()
        };
        cache.put("A-1", lists.clone());
        let (at, got) = cache.get("A-1").unwrap();
        assert_eq!(got, lists);
        assert!(at.elapsed() < TTL);
        cache.clear();
        assert!(cache.get("A-1").is_none());
    }
}
