//! What the browser may know about a stored Metrc key: its status (never the key).

use serde::{Deserialize, Serialize};

/// Where a stored key stands with Metrc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    /// No key is stored.
    Missing,
    /// Stored, not yet checked against Metrc.
    Unvalidated,
    /// Metrc accepted it at the last check.
    Valid,
    /// Metrc refused it (401): revoked or regenerated. Sync stops until a valid key is set.
    Invalid,
}

impl KeyStatus {
    pub const ALL: [KeyStatus; 4] = [
        KeyStatus::Missing,
        KeyStatus::Unvalidated,
        KeyStatus::Valid,
        KeyStatus::Invalid,
    ];

    /// The value stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Missing => "none",
            KeyStatus::Unvalidated => "unvalidated",
            KeyStatus::Valid => "valid",
            KeyStatus::Invalid => "invalid",
        }
    }

    pub fn parse(value: &str) -> Option<KeyStatus> {
        KeyStatus::ALL.into_iter().find(|s| s.as_str() == value)
    }

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
mod tests {
    use super::*;

    #[test]
    fn stored_values_round_trip() {
        for status in KeyStatus::ALL {
            assert_eq!(KeyStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(KeyStatus::parse("VALID"), None);
    }

    #[test]
    fn user_key_labels() {
        assert_eq!(KeyStatus::Valid.label(), "Assigned");
        assert_eq!(KeyStatus::Unvalidated.label(), "Assigned");
        assert_eq!(KeyStatus::Missing.label(), "Missing");
        assert_eq!(KeyStatus::Invalid.label(), "Invalid");
    }
}
