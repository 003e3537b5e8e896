//! Users as the admin screens and the profile see them. No password and no key crosses here,
//! except the initial password in [`UserInput`] on its way to the server (hidden from `Debug`).

use super::auth::Role;
use super::keys::KeyStatus;
use super::secret::Secret;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The `?filter=` value of User Management that lists only the users who would submit without
/// a valid key of their own.
pub const FILTER_NO_KEY: &str = "no-key";

/// One row of User Management.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    /// The user's id in Tracekeeper's database.
    pub id: i32,
    /// The user's name as the screens show it.
    pub name: String,
    /// The address they sign in with.
    pub email: String,
    /// Admin or Employee.
    pub role: Role,
    /// May send submissions to Metrc from the work screens.
    pub can_submit: bool,
    /// Their submissions wait for an admin's approval before they are sent.
    pub requires_review: bool,
    /// May sign in; a deactivated user cannot, and has no key.
    pub active: bool,
    /// The user's own Metrc key: `Missing` when none is stored.
    pub key_status: KeyStatus,
    /// When Metrc last checked the user's key, if ever.
    pub key_last_validated_at: Option<DateTime<Utc>>,
}

impl UserSummary {
    /// Whether this user's submissions would go out under the facility key owner's name.
    pub fn non_compliant(&self) -> bool {
        submits_without_own_key(self.can_submit, self.active, self.key_status)
    }
}

/// Whether a user would submit to Metrc without a valid key of their own, so that Metrc shows the
/// facility key owner as the submitter (not compliant, docs/design.md §2): an active user who may
/// submit and whose key is missing, invalid or not yet validated.
pub fn submits_without_own_key(can_submit: bool, active: bool, key_status: KeyStatus) -> bool {
    can_submit && active && key_status != KeyStatus::Valid
}

/// One user in full, for their page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    /// The user's id in Tracekeeper's database.
    pub id: i32,
    /// The user's name as the screens show it.
    pub name: String,
    /// The address they sign in with.
    pub email: String,
    /// Admin or Employee.
    pub role: Role,
    /// May send submissions to Metrc from the work screens.
    pub can_submit: bool,
    /// Their submissions wait for an admin's approval before they are sent.
    pub requires_review: bool,
    /// May sign in; a deactivated user cannot, and has no key.
    pub active: bool,
    /// Works at every facility, including ones added later.
    pub all_facilities: bool,
    /// License numbers of the facilities the user works at (empty when `all_facilities`).
    pub facilities: Vec<String>,
}

/// "Add user" and the user page's "Save": what the admin typed.
///
/// `password` is the initial password: required to add a user, absent when editing (users change
/// their own on /profile). `Debug` hides it ([`Secret`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInput {
    /// The user's name as the screens will show it.
    pub name: String,
    /// The address they will sign in with.
    pub email: String,
    /// Admin or Employee.
    pub role: Role,
    /// Works at every facility (new ones too); `facilities` is then ignored.
    pub all_facilities: bool,
    /// License numbers, when not `all_facilities`.
    #[serde(default)]
    pub facilities: Vec<String>,
    /// May send submissions to Metrc from the work screens.
    pub can_submit: bool,
    /// Their submissions will wait for an admin's approval before they are sent.
    pub requires_review: bool,
    /// The initial password: required to add a user, `None` when editing one.
    #[serde(default)]
    pub password: Option<Secret>,
}

#[cfg(test)]
impl UserInput {
    /// An employee at every facility who can submit, with `password` as the initial password:
    /// the form tests fill in.
    pub(crate) fn sample_with_password(password: &str) -> Self {
        Self {
            name: "Dana".into(),
            email: "dana@example.test".into(),
            role: Role::Employee,
            all_facilities: true,
            facilities: vec![],
            can_submit: true,
            requires_review: false,
            password: Some(password.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(can_submit: bool, active: bool, key_status: KeyStatus) -> UserSummary {
        UserSummary {
            id: 1,
            name: "Dana".into(),
            email: "dana@example.test".into(),
            role: Role::Employee,
            can_submit,
            requires_review: false,
            active,
            key_status,
            key_last_validated_at: None,
        }
    }

    #[test]
    fn only_active_submitters_without_a_valid_key_are_non_compliant() {
        for status in [
            KeyStatus::Missing,
            KeyStatus::Invalid,
            KeyStatus::Unvalidated,
        ] {
            assert!(summary(true, true, status).non_compliant(), "{status:?}");
            assert!(!summary(false, true, status).non_compliant(), "{status:?}");
            assert!(!summary(true, false, status).non_compliant(), "{status:?}");
        }
        assert!(!summary(true, true, KeyStatus::Valid).non_compliant());
    }

    #[test]
    fn debug_hides_the_password() {
        let input = UserInput::sample_with_password("hunter2-hunter2");
        let shown = format!("{input:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[REDACTED]"), "{shown}");
    }
}
