//! argon2id password hashes. Hashing is CPU-heavy, so it runs off the async executor.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::distr::{Alphanumeric, SampleString};

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("cannot hash password: {0}")]
    Hash(String),
    #[error("password hashing task failed")]
    Task,
}

/// The shortest password we accept.
pub const MIN_LENGTH: usize = 12;

pub async fn hash(password: String) -> Result<String, PasswordError> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| PasswordError::Hash(e.to_string()))
    })
    .await
    .map_err(|_| PasswordError::Task)?
}

/// Whether `password` matches `stored`. A malformed stored hash never matches.
pub async fn verify(password: String, stored: String) -> Result<bool, PasswordError> {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&stored).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .map_err(|_| PasswordError::Task)
}

/// A hash of a random password: verified against when the email is unknown, so that a wrong
/// email costs the same time as a wrong password and does not reveal which accounts exist.
pub async fn decoy_hash() -> Result<String, PasswordError> {
    hash(generate()).await
}

/// A random password for the first admin when none is configured.
pub fn generate() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("correct horse battery".into()).await.unwrap();
        let b = hash("correct horse battery".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(
            verify("correct horse battery".into(), a.clone())
                .await
                .unwrap()
        );
        assert!(!verify("wrong".into(), a).await.unwrap());
        assert!(!verify("x".into(), "not a hash".into()).await.unwrap());
    }

    #[test]
    fn generated_passwords_are_long_enough() {
        assert!(generate().len() >= MIN_LENGTH);
        assert_ne!(generate(), generate());
    }
}
