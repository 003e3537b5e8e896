//! Identity rotation: every stored key re-encrypted to a new identity in one database
//! transaction, and the identity file swapped so that an interruption at any point loses nothing.
//!
//! The steps, for an identity file `identity.txt`:
//! 1. [`Rotation::begin`] writes the new identity to `identity.txt.new` (mode 0600, via a temporary
//!    file, fsync, rename: the `.new` file is complete or absent).
//! 2. [`Rotation::reencrypt`] decrypts every key with the current identity and stores it encrypted
//!    to the new one, all in one transaction, then commits.
//! 3. [`Rotation::finish`] writes the current identity to `identity.txt.old` (for database backups
//!    taken before the rotation), then renames `identity.txt.new` over `identity.txt`.
//!
//! Recovery ([`recover`], run by [`KeyVault::open`] on every start and before every rotation):
//! if `identity.txt.new` exists, a rotation stopped between steps 1 and 3. The transaction is all
//! or nothing, so the stored keys tell which: when the new identity decrypts none of them, it never
//! committed and `.new` is removed (also when no key is stored); when the current one decrypts
//! none, it committed and step 3 is completed. Should both decrypt some (keys written with the old
//! identity by a server left running during the rotation), the start is refused with a message.
//!
//! Stop the server while rotating: a running server keeps encrypting to the identity it loaded.
//!
//! With `TRACEKEEPER_IDENTITY` there is no file: the command shows the new identity before step 2
//! and the operator replaces the variable once step 2 has committed.

use super::sealed::SealedKey;
use super::secret_files;
use super::{
    IdentityOrigin, KeyVault, VaultError, decrypt_with, read_identity_file, write_identity_file,
};
use crate::ssr::queries::{facilities, user_metrc_keys};
use age::x25519;
use sea_orm::{ConnectionTrait, DbErr, TransactionSession, TransactionTrait};
use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// Which row holds a stored key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyHolder {
    /// `facilities.id`.
    Facility(i32),
    /// `user_metrc_keys.id`.
    User(i32),
}

/// A key as found in the database.
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub holder: KeyHolder,
    pub ciphertext: String,
    /// Whether its mask is stored (keys stored before masks were have none).
    pub masked: bool,
}

/// Every stored key: the facilities' and the users'.
pub async fn stored_keys(db: &impl ConnectionTrait) -> Result<Vec<StoredKey>, DbErr> {
    let facility_keys = facilities::key_ciphertexts(db).await?;
    let user_keys = user_metrc_keys::ciphertexts(db).await?;
    let facility_keys = facility_keys
        .into_iter()
        .map(|(id, ciphertext, masked)| (KeyHolder::Facility(id), ciphertext, masked));
    let user_keys = user_keys
        .into_iter()
        .map(|(id, ciphertext, masked)| (KeyHolder::User(id), ciphertext, masked));
    Ok(facility_keys
        .chain(user_keys)
        .map(|(holder, ciphertext, masked)| StoredKey {
            holder,
            ciphertext,
            masked: masked.is_some(),
        })
        .collect())
}

/// Stores `sealed` in place of the key `holder` holds (the same key, sealed anew).
pub(super) async fn replace(
    db: &impl ConnectionTrait,
    holder: KeyHolder,
    sealed: &SealedKey,
) -> Result<(), DbErr> {
    match holder {
        KeyHolder::Facility(id) => facilities::replace_key_ciphertext(db, id, sealed).await,
        KeyHolder::User(id) => user_metrc_keys::replace_ciphertext(db, id, sealed).await,
    }
}

fn pending_file(path: &Path) -> PathBuf {
    secret_files::sibling(path, ".new")
}

/// Where the previous identity is kept after a rotation.
pub fn previous_file(path: &Path) -> PathBuf {
    secret_files::sibling(path, ".old")
}

/// Step 3: keeps `current` as `.old`, then moves `.new` over `path`.
fn swap_in_pending(path: &Path, current: Option<&x25519::Identity>) -> Result<(), VaultError> {
    if let Some(current) = current {
        write_identity_file(&previous_file(path), current)?;
    }
    secret_files::rename(&pending_file(path), path)
}

/// Finishes or abandons a rotation that stopped before its last step (see the module docs).
pub(super) fn recover(path: &Path, stored: &[StoredKey]) -> Result<(), VaultError> {
    let pending = pending_file(path);
    let Some(next) = read_identity_file(&pending)? else {
        return Ok(());
    };
    let current = read_identity_file(path)?;
    let opens = |identity: &x25519::Identity| {
        stored
            .iter()
            .filter(|s| decrypt_with(std::iter::once(identity), &s.ciphertext).is_ok())
            .count()
    };
    match (current.as_ref().map(opens), opens(&next)) {
        (Some(_), 0) => {
            secret_files::remove(&pending)?;
            tracing::warn!(
                pending = %pending.display(),
                "an identity rotation was interrupted before its transaction committed: kept the current identity"
            );
        }
        (None | Some(0), _) => {
            swap_in_pending(path, current.as_ref())?;
            tracing::warn!(
                path = %path.display(),
                "an identity rotation was interrupted after its transaction committed: finished swapping in the new identity"
            );
        }
        (Some(current), next) => {
            return Err(VaultError::RecoveryConflict {
                path: path.to_owned(),
                pending,
                current,
                next,
            });
        }
    }
    Ok(())
}

/// A rotation under way; see the module docs for the steps.
pub struct Rotation<'a> {
    current: &'a KeyVault,
    next: KeyVault,
}

impl<'a> Rotation<'a> {
    /// Step 1: a new identity, written to `<identity file>.new` when the current one is a file.
    pub fn begin(current: &'a KeyVault) -> Result<Self, VaultError> {
        let identity = x25519::Identity::generate();
        if let IdentityOrigin::File(path) = current.origin() {
            write_identity_file(&pending_file(path), &identity)?;
        }
        Ok(Self {
            next: current.with_identity(identity, current.origin().clone()),
            current,
        })
    }

    /// The new identity's text, for an operator who keeps it in `TRACEKEEPER_IDENTITY`.
    pub fn new_identity(&self) -> SecretString {
        self.next.identity.to_string()
    }

    /// The new identity's public half (`age1...`).
    pub fn new_recipient(&self) -> String {
        self.next.recipient()
    }

    /// Step 2: every stored key re-encrypted to the new identity (and its fingerprint rewritten),
    /// in one transaction. Returns how many keys were re-encrypted.
    pub async fn reencrypt(&self, db: &impl TransactionTrait) -> Result<usize, VaultError> {
        reencrypt_all(db, self.current, &self.next).await
    }

    /// Step 3: the new identity takes the place of the old; returns the vault that uses it.
    pub fn finish(self) -> Result<KeyVault, VaultError> {
        if let IdentityOrigin::File(path) = self.current.origin() {
            swap_in_pending(path, Some(&self.current.identity))?;
        }
        Ok(self.next)
    }
}

/// Every stored key decrypted by `from` and stored sealed by `to`, in one transaction; returns
/// how many. Also the last step of a rotation while servers run (docs/design.md §11): `from`
/// holds the current and the previous identities, `to` the current one alone.
pub async fn reencrypt_all(
    db: &impl TransactionTrait,
    from: &KeyVault,
    to: &KeyVault,
) -> Result<usize, VaultError> {
    let txn = crate::ssr::db::begin_write(db).await?;
    let stored = stored_keys(&txn).await?;
    for key in &stored {
        let plain = from.decrypt(&key.ciphertext)?;
        replace(&txn, key.holder, &to.seal(&plain)?).await?;
    }
    txn.commit().await?;
    Ok(stored.len())
}

#[cfg(test)]
mod tests {
    use super::super::VaultSettings;
    use super::super::tests::settings;
    use super::*;
    use crate::ssr::queries::facilities::{self, KeyOwner};
    use crate::ssr::queries::test_db;
    use crate::types::keys::KeyStatus;
    use sea_orm::DatabaseConnection;
    use secrecy::ExposeSecret;

    const FACILITY_KEY: &str = "facility-key-AAAA";
    const USER_KEY: &str = "user-key-BBBB";

    /// A database holding two facilities with one key and one user with another.
    async fn stocked(vault: &KeyVault) -> DatabaseConnection {
        let db = test_db::fresh().await;
        let sealed = vault.seal(&SecretString::from(FACILITY_KEY)).unwrap();
        for license in ["403-X0001", "403-X0002"] {
            let f = facilities::insert(&db, facilities::tests::new_facility(license))
                .await
                .unwrap();
            let owner = KeyOwner {
                name: "Olive Owner",
                is_owner: true,
            };
            facilities::set_key(&db, f.id, &sealed, owner, KeyStatus::Valid)
                .await
                .unwrap();
        }
        let user = test_db::add_employee(&db, "uma@example.test", "Uma", false).await;
        let sealed = vault.seal(&SecretString::from(USER_KEY)).unwrap();
        user_metrc_keys::set_for_user(&db, user.id, "CA", &sealed)
            .await
            .unwrap();
        db
    }

    /// Every stored key, decrypted with `vault`; panics if one does not decrypt.
    async fn decrypted(vault: &KeyVault, db: &DatabaseConnection) -> Vec<String> {
        stored_keys(db)
            .await
            .unwrap()
            .iter()
            .map(|s| {
                vault
                    .decrypt(&s.ciphertext)
                    .unwrap()
                    .expose_secret()
                    .to_owned()
            })
            .collect()
    }

    fn expected() -> Vec<String> {
        vec![FACILITY_KEY.into(), FACILITY_KEY.into(), USER_KEY.into()]
    }

    async fn opened(settings: &VaultSettings) -> (KeyVault, DatabaseConnection) {
        let empty = test_db::fresh().await;
        let vault = KeyVault::open(settings, &empty).await.unwrap();
        let db = stocked(&vault).await;
        (vault, db)
    }

    /// The masks stored for the facilities' keys and the user's, in that order.
    async fn masks(db: &DatabaseConnection) -> Vec<Option<String>> {
        let mut masks: Vec<Option<String>> = facilities::list(db)
            .await
            .unwrap()
            .into_iter()
            .map(|f| f.masked_key)
            .collect();
        masks.extend(
            user_metrc_keys::ciphertexts(db)
                .await
                .unwrap()
                .into_iter()
                .map(|(_, _, m)| m),
        );
        masks
    }

    #[tokio::test]
    async fn keys_are_stored_with_their_masks_and_a_start_gives_older_keys_theirs() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let (vault, db) = opened(&settings).await;
        let shown = vec![
            Some("••••AAAA".to_owned()),
            Some("••••AAAA".to_owned()),
            Some("••••BBBB".to_owned()),
        ];
        assert_eq!(masks(&db).await, shown);

        // Keys stored before masks were: the next start fills them in, and the keys still
        // decrypt to what they were.
        for table in ["facilities", "user_metrc_keys"] {
            db.execute_unprepared(&format!("UPDATE {table} SET masked_key = NULL"))
                .await
                .unwrap();
        }
        assert_eq!(masks(&db).await, vec![None, None, None]);
        let reopened = KeyVault::open(&settings, &db).await.unwrap();
        assert_eq!(masks(&db).await, shown);
        assert_eq!(decrypted(&reopened, &db).await, expected());
        assert_eq!(decrypted(&vault, &db).await, expected());
    }

    #[tokio::test]
    async fn a_rotation_keeps_every_key_and_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let (old, db) = opened(&settings).await;
        let fingerprints_before = facilities::list(&db).await.unwrap();

        let rotation = Rotation::begin(&old).unwrap();
        assert_eq!(rotation.reencrypt(&db).await.unwrap(), 3);
        let new = rotation.finish().unwrap();

        assert_ne!(new.recipient(), old.recipient());
        assert_eq!(decrypted(&new, &db).await, expected());
        for key in stored_keys(&db).await.unwrap() {
            assert!(old.decrypt(&key.ciphertext).is_err());
        }
        let fingerprints_after = facilities::list(&db).await.unwrap();
        for (before, after) in fingerprints_before.iter().zip(&fingerprints_after) {
            assert_eq!(before.key_fingerprint, after.key_fingerprint);
        }
        assert!(!pending_file(&settings.identity_file).exists());
        assert_eq!(
            read_identity_file(&previous_file(&settings.identity_file))
                .unwrap()
                .unwrap()
                .to_public()
                .to_string(),
            old.recipient()
        );
        let reopened = KeyVault::open(&settings, &db).await.unwrap();
        assert_eq!(reopened.recipient(), new.recipient());
    }

    #[tokio::test]
    async fn interrupted_after_the_commit_the_next_start_finishes_the_swap() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let (old, db) = opened(&settings).await;
        let rotation = Rotation::begin(&old).unwrap();
        let new_recipient = rotation.new_recipient();
        rotation.reencrypt(&db).await.unwrap();
        drop(rotation); // stopped before the rename

        let vault = KeyVault::open(&settings, &db).await.unwrap();
        assert_eq!(vault.recipient(), new_recipient);
        assert_eq!(decrypted(&vault, &db).await, expected());
        assert!(!pending_file(&settings.identity_file).exists());
        assert!(previous_file(&settings.identity_file).exists());
    }

    #[tokio::test]
    async fn interrupted_before_the_commit_the_next_start_keeps_the_current_identity() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let (old, db) = opened(&settings).await;
        let rotation = Rotation::begin(&old).unwrap();
        assert!(pending_file(&settings.identity_file).exists());
        drop(rotation); // stopped after writing `.new`, before the transaction

        let vault = KeyVault::open(&settings, &db).await.unwrap();
        assert_eq!(vault.recipient(), old.recipient());
        assert_eq!(decrypted(&vault, &db).await, expected());
        assert!(!pending_file(&settings.identity_file).exists());
    }

    #[tokio::test]
    async fn a_failing_key_aborts_the_whole_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings(dir.path());
        let (old, db) = opened(&settings).await;
        let stranger = KeyVault::ephemeral()
            .seal(&SecretString::from("x"))
            .unwrap();
        let last = stored_keys(&db).await.unwrap().pop().unwrap();
        replace(&db, last.holder, &stranger).await.unwrap();

        let rotation = Rotation::begin(&old).unwrap();
        assert!(rotation.reencrypt(&db).await.is_err());
        drop(rotation);
        let vault = KeyVault::open(&settings, &db).await.unwrap();
        assert_eq!(vault.recipient(), old.recipient());
        let stored = stored_keys(&db).await.unwrap();
        for key in &stored[..2] {
            let plain = vault.decrypt(&key.ciphertext).unwrap();
            assert_eq!(plain.expose_secret(), FACILITY_KEY);
        }
    }

    #[tokio::test]
    async fn with_the_environment_identity_no_file_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let settings = VaultSettings {
            identity: Some(x25519::Identity::generate().to_string()),
            ..settings(dir.path())
        };
        let (old, db) = opened(&settings).await;
        let rotation = Rotation::begin(&old).unwrap();
        let text = rotation.new_identity();
        rotation.reencrypt(&db).await.unwrap();
        rotation.finish().unwrap();
        assert!(!settings.identity_file.exists());
        assert!(!pending_file(&settings.identity_file).exists());

        let next = VaultSettings {
            identity: Some(text),
            ..settings
        };
        let vault = KeyVault::open(&next, &db).await.unwrap();
        assert_eq!(decrypted(&vault, &db).await, expected());
    }
}
