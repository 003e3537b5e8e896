//! What the browser may know about a stored Metrc key: its status (never the key).

use serde::{Deserialize, Serialize};

stored_as_string! {
/// Where a stored key stands with Metrc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    /// No key is stored.
    #[cfg_attr(feature = "ssr", sea_orm(string_value = "none"))]
    Missing,
    /// Stored, not yet checked against Metrc.
    Unvalidated,
    /// Metrc accepted it at the last check.
    Valid,
    /// Metrc refused it (401): revoked or regenerated. Sync stops until a valid key is set.
    Invalid,
}
}

/// A state the deployment serves, as its pickers show it (Metrc is one system per state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetrcState {
    /// Two upper-case letters (`"CO"`); `""` for the one Metrc of a deployment whose host names
    /// no state.
    pub code: String,
    /// `"Colorado"`; the code itself for a code without a known name.
    pub name: String,
}

/// A user's key status in one state they work in (User Management's "Missing in MI").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateKeyStatus {
    /// The state's two letters (`""` as in [`MetrcState::code`]).
    pub state: String,
    /// `Missing` where they have no key for the state.
    pub status: KeyStatus,
}

/// A user's key section's states: every state served and the user's key status in each state
/// they work in (`user_key_states`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateKeys {
    /// Every state the deployment serves, in the configured order.
    pub served: Vec<MetrcState>,
    /// The user's key status in each state they work in; empty with one state served, and for
    /// a deactivated user (who works nowhere).
    pub keys: Vec<StateKeyStatus>,
}

/// Whether the screens show states: only when the deployment serves more than one.
pub fn several(states: &[MetrcState]) -> bool {
    states.len() > 1
}

/// Whether a user's key in a state needs them to act: none stored, or Metrc refused it.
pub fn needs_key(status: KeyStatus) -> bool {
    matches!(status, KeyStatus::Missing | KeyStatus::Invalid)
}

/// The state a user's key section opens on: `None` with one state (nothing is picked: the
/// server uses its only state); with several, the first state the user works in whose key is
/// missing or refused, else the first they work in, else the first served.
pub fn first_state(states: &[MetrcState], keys: &[StateKeyStatus]) -> Option<String> {
    if !several(states) {
        return None;
    }
    keys.iter()
        .find(|k| needs_key(k.status))
        .or_else(|| keys.first())
        .map(|k| k.state.clone())
        .or_else(|| states.first().map(|s| s.code.clone()))
}

impl KeyStatus {
    /// Every status, from no key to a refused one.
    pub const ALL: [KeyStatus; 4] = [
        KeyStatus::Missing,
        KeyStatus::Unvalidated,
        KeyStatus::Valid,
        KeyStatus::Invalid,
    ];

    /// A user's key status as User Management shows it: `Assigned` once a key is stored (valid
    /// or not yet checked), `Missing` with none, `Invalid` when Metrc refused it.
    pub fn label(self) -> &'static str {
        match self {
            KeyStatus::Valid | KeyStatus::Unvalidated => "Assigned",
            KeyStatus::Missing => "Missing",
            KeyStatus::Invalid => "Invalid",
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A state the deployment serves.
    pub(crate) fn state(code: &str, name: &str) -> MetrcState {
        MetrcState {
            code: code.into(),
            name: name.into(),
        }
    }

    /// A user's key status in one state.
    pub(crate) fn key(code: &str, status: KeyStatus) -> StateKeyStatus {
        StateKeyStatus {
            state: code.into(),
            status,
        }
    }

    #[test]
    fn user_key_labels() {
        assert_eq!(KeyStatus::Valid.label(), "Assigned");
        assert_eq!(KeyStatus::Unvalidated.label(), "Assigned");
        assert_eq!(KeyStatus::Missing.label(), "Missing");
        assert_eq!(KeyStatus::Invalid.label(), "Invalid");
    }
}
