//! A user's own Metrc key as the browser may see it (masked, with its status, what it reaches and
//! the user's exact Metrc permissions), and what the work screens need of those permissions.

use super::facilities::KeyValidation;
use super::keys::KeyStatus;
use super::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A user's key on their page and on /profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserKeyView {
    /// The state whose Metrc the key is of (two letters; `""` for the one Metrc of a deployment
    /// whose host names no state).
    pub state: String,
    /// `••••` and the last 4 characters; `None` while the user has no key.
    pub masked_key: Option<String>,
    /// Where the key stands with Metrc; `Missing` while the user has none.
    pub status: KeyStatus,
    /// When Metrc last accepted or refused the key, UTC; `None` if never.
    pub last_validated_at: Option<DateTime<Utc>>,
    /// What the key reached at its last validation.
    pub validation: Option<KeyValidation>,
    /// Per license the key reaches: the user's exact Metrc permissions, where a facility key may
    /// list them.
    pub permissions: Vec<LicensePermissions>,
}

/// A user's exact permissions at one license (`/employees/v2/permissions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicensePermissions {
    /// Metrc's license number (`License.Number`, docs/metrc.md §4).
    pub license_number: String,
    /// Metrc's `Name` for the facility; empty when Metrc sent none.
    pub name: String,
    /// Metrc's permission names (lower case, docs/metrc.md §5); `None` when they could not be
    /// listed: no valid facility key here, Metrc named no `EmployeeLicenseNumber` for the user,
    /// or Metrc refused or failed (listing needs Manage Employees on the facility key).
    pub permissions: Option<Vec<String>>,
    /// What the work screens need that the user lacks, in words ([`gaps`]); empty when none is
    /// missing or `permissions` is `None`.
    pub gaps: Vec<String>,
}

/// "Update" on a user's key screens. Holds a key: its `Debug` hides it ([`Secret`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetUserKeyInput {
    /// The user whose key this is; `None` for the signed-in user.
    pub user_id: Option<i32>,
    /// The Metrc user key as typed; the server trims it and refuses anything but 16 to 128
    /// letters and digits.
    pub key: Secret,
    /// An admin confirmed giving a user a key that is a facility's key (audited).
    #[serde(default)]
    pub confirm_facility_key: bool,
    /// The state whose Metrc the key was generated in (two letters); `None` when the deployment
    /// serves one state (no choice is shown).
    #[serde(default)]
    pub state: Option<String>,
}

/// One thing the work screens do, and the Metrc permissions it needs (docs/metrc.md §5, §8).
pub struct WorkNeed {
    /// "adjust packages"
    pub action: &'static str,
    /// Metrc permission names, lower case, all required.
    pub permissions: &'static [&'static str],
    /// Only where the license grows plants.
    pub plants_only: bool,
}

/// What the work screens need, with Metrc's permission names: viewing packages, adjusting them
/// (which also covers finishing and moving them), and, where the license grows plants, recording
/// plant waste (docs/metrc.md §5, §8). [`gaps`] reads it.
pub const WORK_NEEDS: [WorkNeed; 3] = [
    WorkNeed {
        action: "view packages",
        permissions: &["view packages"],
        plants_only: false,
    },
    WorkNeed {
        action: "adjust packages",
        permissions: &["view packages", "manage packages inventory"],
        plants_only: false,
    },
    WorkNeed {
        action: "record plant waste",
        permissions: &["manage plants waste"],
        plants_only: true,
    },
];

/// "manage packages inventory" → "Manage Packages Inventory", as Metrc's screens write it.
fn title(permission: &str) -> String {
    permission
        .split(' ')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|first| first.to_uppercase().chain(c).collect::<String>())
                .unwrap_or_default()
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the work screens need that `permissions` (Metrc's names, any case) lack, in words:
/// "Can view packages but not adjust them: lacks Manage Packages Inventory."
pub fn gaps(permissions: &[String], grows_plants: bool) -> Vec<String> {
    let has: Vec<String> = permissions.iter().map(|p| p.to_lowercase()).collect();
    let lacks = |need: &WorkNeed| -> Vec<&'static str> {
        need.permissions
            .iter()
            .copied()
            .filter(|p| !has.iter().any(|h| h == p))
            .collect()
    };
    let can_view_packages = lacks(&WORK_NEEDS[0]).is_empty();
    WORK_NEEDS
        .iter()
        .filter(|need| grows_plants || !need.plants_only)
        .filter_map(|need| {
            let missing = lacks(need);
            if missing.is_empty() {
                return None;
            }
            let missing = missing
                .iter()
                .map(|p| title(p))
                .collect::<Vec<_>>()
                .join(", ");
            Some(if need.action == "adjust packages" && can_view_packages {
                format!("Can view packages but not adjust them: lacks {missing}.")
            } else {
                format!("Cannot {}: lacks {missing}.", need.action)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(names: &[&str]) -> Vec<String> {
        names.iter().map(std::string::ToString::to_string).collect()
    }

    #[test]
    fn gaps_name_the_missing_permission_exactly() {
        assert_eq!(
            gaps(&perms(&["view packages"]), false),
            vec!["Can view packages but not adjust them: lacks Manage Packages Inventory."]
        );
        assert_eq!(
            gaps(&perms(&[]), true),
            vec![
                "Cannot view packages: lacks View Packages.",
                "Cannot adjust packages: lacks View Packages, Manage Packages Inventory.",
                "Cannot record plant waste: lacks Manage Plants Waste.",
            ]
        );
        let all = perms(&[
            "View Packages",
            "Manage Packages Inventory",
            "manage plants waste",
        ]);
        assert!(gaps(&all, true).is_empty());
        assert!(
            gaps(
                &perms(&["view packages", "manage packages inventory"]),
                false
            )
            .is_empty()
        );
    }

    #[test]
    fn the_input_hides_its_key() {
        let input = SetUserKeyInput {
            user_id: Some(3),
            key: "secret-key-1234".into(),
            confirm_facility_key: false,
            state: Some("CO".into()),
        };
        let shown = format!("{input:?}");
        assert!(!shown.contains("secret-key-1234"), "{shown}");
        assert!(shown.contains("REDACTED"));
    }
}
