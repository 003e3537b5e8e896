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
}
