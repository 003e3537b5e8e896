//! Facilities and their keys as the admin screens see them: masked keys, statuses and validation
//! results. Nothing here holds a key or a whole fingerprint.

use super::inventory::{SyncProgress, SyncState};
use super::keys::KeyStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What Facility Management lists: the facilities whose license number or name contains
/// `search`, one page at a time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacilityFilter {
    /// Part of the license number or the name, matched ignoring case; `None` or blank: every
    /// facility.
    pub search: Option<String>,
    /// The page to show, 0-based, [`PAGE_SIZE`](super::inventory::PAGE_SIZE) rows a page.
    pub page: u32,
}

/// One row of Facility Management.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacilityRow {
    /// Metrc's license number (`License.Number`, docs/metrc.md §4).
    pub license_number: String,
    /// The facility's name per Metrc when it was added (`Name`); the license number when Metrc
    /// sent none.
    pub name: String,
    /// Metrc's `License.LicenseType` (docs/metrc.md §4); empty when Metrc sent none.
    pub license_type: String,
    /// The state whose Metrc the facility is in (two upper-case letters); `""` for a deployment
    /// of one Metrc whose host names no state. The screens show it only when the deployment
    /// serves several states.
    #[serde(default)]
    pub state: String,
    /// `••••` and the key's last 4 characters; `None` while the facility has no key.
    pub masked_key: Option<String>,
    /// The key fingerprint's first 8 hex digits (to tell keys apart), if any.
    pub key_fingerprint_prefix: Option<String>,
    /// Where the facility key stands with Metrc; `Missing` while the facility has none.
    pub key_status: KeyStatus,
    /// The key owner's name per Metrc, when known.
    pub key_owner_name: Option<String>,
    /// Whether the key's owner is the License Owner (`IsOwner`), when known.
    pub key_is_owner: Option<bool>,
    /// Whole days since the key was set.
    pub key_age_days: Option<i64>,
    /// The key is old enough that Metrc may soon lapse it: the License Owner should generate a
    /// new one.
    pub key_expiring: bool,
    /// When Metrc last accepted or refused the key (set, or revalidated), UTC; `None` if never.
    pub last_validated_at: Option<DateTime<Utc>>,
    /// When the facility's last sync run completed, UTC; `None` until one has.
    pub last_sync_at: Option<DateTime<Utc>>,
    /// Where the facility's sync with Metrc stands.
    pub sync_state: SyncState,
    /// How far the running (or last) sync got.
    pub sync_progress: Option<SyncProgress>,
    /// Why sync failed or is paused, or which lists Metrc refused.
    pub sync_message: Option<String>,
}

/// What a key can do in one section of one license (mirrors the Metrc client's cell status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CellState {
    /// The section's probe succeeded: the key's user may read it (docs/metrc.md §5).
    Granted,
    /// Metrc answered the probe 401 or 403: the key's user lacks the section's permission
    /// (docs/metrc.md §3, §5).
    Denied,
    /// The license type cannot use this section ("Not available for this license type").
    NotApplicable,
    /// Metrc failed or answered unexpectedly; retry.
    Error(String),
}

/// One cell of the validation panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionCell {
    /// The section's name, e.g. `Packages`, `Plant Batches`.
    pub section: String,
    /// What the key can do there.
    pub status: CellState,
}

/// One license a validated key reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachedFacility {
    /// Metrc's license number (`License.Number`, docs/metrc.md §4).
    pub license_number: String,
    /// Metrc's `Name` for the facility; empty when Metrc sent none.
    pub name: String,
    /// Metrc's `License.LicenseType`; empty when Metrc sent none.
    pub license_type: String,
    /// `IsOwner`: the key's user is the License Owner here.
    pub is_owner: bool,
    /// `IsManager`: Metrc marks the key's user a manager here (`false` when Metrc sent none).
    pub is_manager: bool,
    /// Tracekeeper already knows this license (else the panel marks it "New").
    pub known: bool,
    /// One cell per section that has come in, in the order they came (all of them once
    /// validation is done).
    pub cells: Vec<SectionCell>,
}

/// The result of validating a key: safe for the browser (no key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValidation {
    /// The sections probed for every license, in column order.
    #[serde(default)]
    pub sections: Vec<String>,
    /// Every license the key's user works at, as `GET /facilities/v2/` lists them
    /// (docs/metrc.md §4); empty when the key reaches none.
    pub facilities: Vec<ReachedFacility>,
}

impl ReachedFacility {
    /// The sections Metrc denied this key (red cells).
    pub fn denied(&self) -> Vec<&str> {
        self.cells
            .iter()
            .filter(|c| c.status == CellState::Denied)
            .map(|c| c.section.as_str())
            .collect()
    }

    /// The sections Metrc failed to answer for (warning cells).
    pub fn failed(&self) -> Vec<&str> {
        self.cells
            .iter()
            .filter(|c| matches!(c.status, CellState::Error(_)))
            .map(|c| c.section.as_str())
            .collect()
    }

    /// The cell of `section`, if it has come in.
    pub fn cell(&self, section: &str) -> Option<&CellState> {
        self.cells
            .iter()
            .find(|c| c.section == section)
            .map(|c| &c.status)
    }

    /// "C10-0000774-LIC Green Leaf Retail": how a checkbox or a row names the license.
    pub fn label(&self) -> String {
        facility_label(&self.license_number, &self.name)
    }
}

/// A license as people read it: number, then name.
pub fn facility_label(license_number: &str, name: &str) -> String {
    if name.is_empty() || name == license_number {
        license_number.to_owned()
    } else {
        format!("{license_number} {name}")
    }
}

/// What "Update Key" did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignOutcome {
    /// The facilities that now use the key, as Facility Management shows them.
    pub facilities: Vec<FacilityRow>,
    /// Licenses that were new to Tracekeeper and were added.
    pub added: Vec<String>,
    /// Licenses where the key is not the License Owner's and the admin confirmed the override.
    pub owner_override: Vec<String>,
}

/// What a background revalidation found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevalidationSummary {
    /// How many Metrc accepted: facilities when facility keys were checked, users when user
    /// keys were.
    pub valid: usize,
    /// How many Metrc refused (401); their keys are now marked invalid.
    pub invalid: usize,
    /// Metrc failed for these; their status was left as it was.
    pub failed: usize,
}

/// Facilities whose keys need attention: the banner on every admin page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyHealth<'a> {
    /// Keys Metrc refused: these facilities no longer sync.
    pub invalid: Vec<&'a FacilityRow>,
    /// Keys old enough that Metrc may soon lapse them.
    pub expiring: Vec<&'a FacilityRow>,
}

impl<'a> KeyHealth<'a> {
    /// Sorts Facility Management's rows: a refused key counts as invalid only, never also as
    /// expiring.
    pub fn of(rows: &'a [FacilityRow]) -> KeyHealth<'a> {
        KeyHealth {
            invalid: rows
                .iter()
                .filter(|r| r.key_status == KeyStatus::Invalid)
                .collect(),
            expiring: rows
                .iter()
                .filter(|r| r.key_expiring && r.key_status != KeyStatus::Invalid)
                .collect(),
        }
    }

    /// No key is invalid or expiring: the banner stays hidden.
    pub fn is_healthy(&self) -> bool {
        self.invalid.is_empty() && self.expiring.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(license: &str, status: KeyStatus, expiring: bool) -> FacilityRow {
        FacilityRow {
            license_number: license.into(),
            name: String::new(),
            license_type: String::new(),
            state: String::new(),
            masked_key: None,
            key_fingerprint_prefix: None,
            key_status: status,
            key_owner_name: None,
            key_is_owner: None,
            key_age_days: None,
            key_expiring: expiring,
            last_validated_at: None,
            last_sync_at: None,
            sync_state: SyncState::Never,
            sync_progress: None,
            sync_message: None,
        }
    }

    #[test]
    fn health_counts_invalid_keys_and_old_valid_ones_once() {
        let rows = vec![
            row("A", KeyStatus::Valid, false),
            row("B", KeyStatus::Invalid, true),
            row("C", KeyStatus::Valid, true),
            row("D", KeyStatus::Missing, false),
        ];
        let health = KeyHealth::of(&rows);
        let names = |v: &[&FacilityRow]| {
            v.iter()
                .map(|r| r.license_number.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&health.invalid), vec!["B"]);
        assert_eq!(names(&health.expiring), vec!["C"]);
        assert!(!health.is_healthy());
        assert!(KeyHealth::of(&rows[..1]).is_healthy());
    }

    #[test]
    fn labels_put_the_license_number_first() {
        assert_eq!(facility_label("C10-1", "Green Leaf"), "C10-1 Green Leaf");
        assert_eq!(facility_label("C10-1", ""), "C10-1");
        assert_eq!(facility_label("C10-1", "C10-1"), "C10-1");
    }
}
