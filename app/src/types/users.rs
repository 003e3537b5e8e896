//! Users as the admin screens and the profile see them. No password and no key crosses here,
//! except the initial password in [`UserInput`] on its way to the server (hidden from `Debug`).

use super::auth::Role;
use super::keys::{KeyStatus, StateKeyStatus};
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
    /// The user's own Metrc key: `Missing` when none is stored. With several states, the status
    /// most needing attention among the states they work in ([`worst_status`]).
    pub key_status: KeyStatus,
    /// When Metrc last checked the user's key, if ever; with several states, the latest check
    /// of their keys in the states they work in.
    pub key_last_validated_at: Option<DateTime<Utc>>,
    /// With several states, the user's key status in each state they work in (`Missing` where
    /// they have none); empty with one.
    #[serde(default)]
    pub key_states: Vec<StateKeyStatus>,
}

impl UserSummary {
    /// Whether this user's submissions would go out under the facility key owner's name: they
    /// have no valid key of their own, or, with several states, none in some state they work in.
    pub fn non_compliant(&self) -> bool {
        submits_without_own_key(self.can_submit, self.active, self.key_status)
            || (self.can_submit
                && self.active
                && self.key_states.iter().any(|k| k.status != KeyStatus::Valid))
    }
}

/// Whether a user would submit to Metrc without a valid key of their own, so that Metrc shows the
/// facility key owner as the submitter (not compliant, docs/design.md §2): an active user who may
/// submit and whose key is missing, invalid or not yet validated.
pub fn submits_without_own_key(can_submit: bool, active: bool, key_status: KeyStatus) -> bool {
    can_submit && active && key_status != KeyStatus::Valid
}

/// The status that most needs attention: a key Metrc refuses (it worked and stopped: the
/// sign-in notice tells the user), then a missing one, then one not yet validated, then valid;
/// `Missing` for none.
pub fn worst_status(statuses: impl IntoIterator<Item = KeyStatus>) -> KeyStatus {
    let rank = |s: &KeyStatus| match s {
        KeyStatus::Invalid => 0,
        KeyStatus::Missing => 1,
        KeyStatus::Unvalidated => 2,
        KeyStatus::Valid => 3,
    };
    statuses
        .into_iter()
        .min_by_key(rank)
        .unwrap_or(KeyStatus::Missing)
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
    use crate::types::keys::tests::key;

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
            key_states: Vec::new(),
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
    fn a_user_missing_a_key_in_one_of_their_states_is_non_compliant() {
        let one = summary(true, true, KeyStatus::Valid);
        assert!(one.key_states.is_empty());
        assert!(!one.non_compliant());
        assert!(summary(true, true, KeyStatus::Missing).non_compliant());

        let keys = vec![key("CO", KeyStatus::Valid), key("MI", KeyStatus::Missing)];
        let mut several = one.clone();
        several.key_status = worst_status(keys.iter().map(|k| k.status));
        several.key_states = keys;
        assert_eq!(several.key_status, KeyStatus::Missing);
        assert!(several.non_compliant());
        // Missing in one state counts even where the summary's own status says valid.
        let mut one_missing = several.clone();
        one_missing.key_status = KeyStatus::Valid;
        assert!(one_missing.non_compliant());
        let mut cannot_submit = several.clone();
        cannot_submit.can_submit = false;
        assert!(!cannot_submit.non_compliant());
        let mut deactivated = several;
        deactivated.active = false;
        assert!(!deactivated.non_compliant());
        let everywhere = UserSummary {
            key_states: vec![key("CO", KeyStatus::Valid), key("MI", KeyStatus::Valid)],
            ..one
        };
        assert!(!everywhere.non_compliant());
    }

    #[test]
    fn the_worst_status_is_the_one_needing_attention_first() {
        use KeyStatus::*;
        assert_eq!(worst_status([]), Missing);
        assert_eq!(worst_status([Valid, Unvalidated]), Unvalidated);
        assert_eq!(worst_status([Unvalidated, Invalid, Valid]), Invalid);
        // A refused key outranks a missing one: the sign-in notice is about refused keys.
        assert_eq!(worst_status([Missing, Invalid]), Invalid);
        assert_eq!(worst_status([Missing, Valid]), Missing);
        assert_eq!(worst_status([Valid]), Valid);
    }

    #[test]
    fn a_summary_carries_its_key_states_and_reads_without_them() {
        let user = UserSummary {
            key_states: vec![key("MI", KeyStatus::Missing)],
            ..summary(true, true, KeyStatus::Missing)
        };
        let json = serde_json::to_value(&user).unwrap();
        assert_eq!(
            json["key_states"],
            serde_json::to_value(&user.key_states).unwrap()
        );
        assert_eq!(serde_json::from_value::<UserSummary>(json).unwrap(), user);
        // A summary written without `key_states` reads as one of a single state.
        let mut json = serde_json::to_value(summary(true, true, KeyStatus::Missing)).unwrap();
        json.as_object_mut().unwrap().remove("key_states");
        let one: UserSummary = serde_json::from_value(json).unwrap();
        assert!(one.key_states.is_empty());
        assert_eq!(one, summary(true, true, KeyStatus::Missing));
    }

    #[test]
    fn debug_hides_the_password() {
        let input = UserInput::sample_with_password("hunter2-hunter2");
        let shown = format!("{input:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[REDACTED]"), "{shown}");
    }
}
