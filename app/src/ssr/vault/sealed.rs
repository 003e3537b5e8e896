//! A key as the database stores it: age ciphertext and fingerprint. A leaf, so the queries that
//! store keys need nothing else of the vault.

/// A key as the database stores it. Only the vault makes one ([`super::KeyVault::seal`]), so a
/// plaintext key cannot end up in a ciphertext column by mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedKey {
    ciphertext: String,
    fingerprint: String,
    masked: String,
}

impl SealedKey {
    /// `ciphertext` sealed by the vault, `fingerprint` and `masked` its key's.
    pub(super) fn new(ciphertext: String, fingerprint: String, masked: String) -> Self {
        Self {
            ciphertext,
            fingerprint,
            masked,
        }
    }

    /// The armored age ciphertext.
    pub fn ciphertext(&self) -> &str {
        &self.ciphertext
    }

    /// HMAC-SHA256 of the key, 64 hex digits.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// What pages show of the key: `••••` and its last four characters ([`super::mask`]).
    pub fn masked(&self) -> &str {
        &self.masked
    }
}
