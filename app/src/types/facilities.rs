//! Facilities and their keys as the admin screens see them: masked keys, statuses and validation
//! results. Nothing here holds a key or a whole fingerprint.

use super::keys::KeyStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One row of Facility Management.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FacilityRow {
    pub license_number: String,
    pub name: String,
    pub license_type: String,
    /// `••••` and the key's last 4 characters; `None` while the facility has no key.
    pub masked_key: Option<String>,
    /// The key fingerprint's first 8 hex digits (to tell keys apart), if any.
    pub key_fingerprint_prefix: Option<String>,
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
    pub last_validated_at: Option<DateTime<Utc>>,
    pub last_sync_at: Option<DateTime<Utc>>,
}

/// What a key can do in one section of one license (mirrors the Metrc client's cell status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CellState {
    Granted,
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
    pub status: CellState,
}

/// One license a validated key reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachedFacility {
    pub license_number: String,
    pub name: String,
    pub license_type: String,
    /// `IsOwner`: the key's user is the License Owner here.
    pub is_owner: bool,
    pub is_manager: bool,
    /// Tracekeeper already knows this license (else the panel marks it "New").
    pub known: bool,
    pub cells: Vec<SectionCell>,
}

/// The result of validating a key: safe for the browser (no key).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValidation {
    pub facilities: Vec<ReachedFacility>,
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
    pub valid: usize,
    pub invalid: usize,
    /// Metrc failed for these; their status was left as it was.
    pub failed: usize,
}
