//! The key vault: Metrc keys at rest.
//!
//! A key is stored as age ciphertext (armored text, X25519 recipient) plus a fingerprint, the
//! HMAC-SHA256 of the key under a server secret, so equal keys are found without decrypting. The
//! plaintext exists only in memory, in a [`SecretString`] (zeroized on drop), while a call needs
//! it; the browser gets at most [`mask`].
//!
//! Secrets, beside each other and never in the database:
//! - the identity: `TRACEKEEPER_IDENTITY` (the `AGE-SECRET-KEY-1...` text), or the file
//!   `TRACEKEEPER_IDENTITY_FILE` (default `<data dir>/identity.txt`), created with mode 0600 on
//!   first start;
//! - the fingerprint secret: `TRACEKEEPER_FINGERPRINT_SECRET`, or the file `<identity file>.hmac`,
//!   created likewise. It stays the same when the identity is rotated ([`rotation`]).
//!
//! Either file is refused when other users may read it or when it does not parse, and neither is
//! created while the database holds keys that a new one could not serve, nor on PostgreSQL
//! ([`VaultSettings::generate`]: every server of a deployment needs the same secrets, so they come
//! from the configuration; docs/design.md §11).
//!
//! `TRACEKEEPER_IDENTITY` may hold several identities, one per line, for a rotation while servers
//! run: the first is the current one, every one decrypts, and keys are sealed to all of them, so a
//! server still configured with only the previous identity reads the keys the others store
//! (`tracekeeper rotate-identity` then re-encrypts every key to the first alone).

pub mod rotation;
pub mod sealed;
pub(crate) mod secret_files;

use super::config::Config;
use age::x25519;
use hmac::{Hmac, KeyInit, Mac};
use sea_orm::{ConnectionTrait, DbErr};
use sealed::SealedKey;
use secrecy::zeroize::{Zeroize, Zeroizing};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Why the vault cannot start or cannot do what was asked. Each message is one line that says what
/// to fix; none contains a key or an identity.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "TRACEKEEPER_IDENTITY is not an age identity: set it to one AGE-SECRET-KEY-1... line (or several, the current one first, during a rotation), or unset it to use TRACEKEEPER_IDENTITY_FILE"
    )]
    EnvIdentity,
    #[error(
        "with PostgreSQL, servers never generate the key vault's secrets (every server needs the same ones): set TRACEKEEPER_IDENTITY (an age identity; `tracekeeper new-secrets` prints one) and TRACEKEEPER_FINGERPRINT_SECRET, the same on every server"
    )]
    NotConfigured,
    #[error(
        "{} exists already: new secrets are never written over old ones (the stored keys may need them)",
        path.display()
    )]
    SecretFileExists { path: PathBuf },
    #[error(
        "identity file {} does not hold one age identity (a line AGE-SECRET-KEY-1...): restore it from your backup, or set TRACEKEEPER_IDENTITY_FILE to the right file",
        path.display()
    )]
    IdentityFile { path: PathBuf },
    #[error(
        "TRACEKEEPER_FINGERPRINT_SECRET is too short: use at least {MIN_SECRET_LEN} characters"
    )]
    EnvFingerprintSecret,
    #[error(
        "fingerprint secret file {} does not hold {} hex digits: restore it from your backup",
        path.display(),
        SECRET_LEN * 2
    )]
    FingerprintFile { path: PathBuf },
    #[error(
        "{} may be read by other users (mode {mode:03o}): run chmod 600 '{}'",
        path.display(),
        path.display()
    )]
    LoosePermissions { path: PathBuf, mode: u32 },
    #[error(
        "cannot use {} ({source}): check that it exists and belongs to this user",
        path.display()
    )]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{} is missing but the database holds {stored} encrypted Metrc keys: restore it from your backup (a new one would not fit them)",
        path.display()
    )]
    MissingSecret { path: PathBuf, stored: usize },
    #[error(
        "the identity from {origin} decrypts none of the {stored} stored Metrc keys: it is not the one they were encrypted to; restore the right identity"
    )]
    WrongIdentity { origin: String, stored: usize },
    #[error(
        "an interrupted identity rotation left two identities that each decrypt some stored keys ({} decrypts {current}, {} decrypts {next}; was the server running?): keep the one that decrypts more as {}, remove the other, and set the failing keys again",
        path.display(),
        pending.display(),
        path.display()
    )]
    RecoveryConflict {
        path: PathBuf,
        pending: PathBuf,
        current: usize,
        next: usize,
    },
    #[error("cannot encrypt the key: {0}")]
    Encrypt(#[source] age::EncryptError),
    #[error("cannot decrypt a stored key: {0}")]
    Decrypt(#[source] age::DecryptError),
    #[error("a stored key decrypted to something that is not text")]
    NotText,
    #[error("database: {0}")]
    Database(#[from] DbErr),
}

/// Bytes of a generated fingerprint secret.
const SECRET_LEN: usize = 32;
/// The shortest fingerprint secret accepted from the environment.
const MIN_SECRET_LEN: usize = 32;

/// Where the vault's secrets come from; see the module documentation.
#[derive(Debug, Clone)]
pub struct VaultSettings {
    /// `TRACEKEEPER_IDENTITY`: when set, no identity file is read or written.
    pub identity: Option<SecretString>,
    /// `TRACEKEEPER_IDENTITY_FILE`, default `<data dir>/identity.txt`.
    pub identity_file: PathBuf,
    /// `TRACEKEEPER_FINGERPRINT_SECRET`: when set, no fingerprint secret file is used.
    pub fingerprint_secret: Option<SecretString>,
    /// Whether a missing identity or fingerprint secret file may be created (not on
    /// PostgreSQL, where several servers share the keys: [`VaultError::NotConfigured`]).
    pub generate: bool,
}

impl VaultSettings {
    pub fn from_config(config: &Config) -> Self {
        Self {
            identity: config.identity.clone(),
            identity_file: config
                .identity_file
                .clone()
                .unwrap_or_else(|| config.data_dir.join("identity.txt")),
            fingerprint_secret: config.fingerprint_secret.clone(),
            generate: super::config::DbKind::of_url(&config.database_url)
                != Some(super::config::DbKind::Postgres),
        }
    }

    /// The file beside the identity file that holds the fingerprint secret.
    pub fn fingerprint_file(&self) -> PathBuf {
        secret_files::sibling(&self.identity_file, ".hmac")
    }
}

/// Where the identity came from, for messages and for rotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityOrigin {
    /// `TRACEKEEPER_IDENTITY`.
    Env,
    /// An identity file.
    File(PathBuf),
}

impl fmt::Display for IdentityOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdentityOrigin::Env => f.write_str("TRACEKEEPER_IDENTITY"),
            IdentityOrigin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// Encrypts, decrypts and fingerprints Metrc keys. `Debug` shows only the public recipient.
pub struct KeyVault {
    identity: x25519::Identity,
    recipient: x25519::Recipient,
    /// The other identities of `TRACEKEEPER_IDENTITY` (during a rotation): they decrypt too,
    /// and keys are sealed to them as well.
    others: Vec<x25519::Identity>,
    /// Keyed with the fingerprint secret (zeroized on drop); cloned for each fingerprint.
    fingerprint_mac: Hmac<Sha256>,
    origin: IdentityOrigin,
}

impl fmt::Debug for KeyVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyVault")
            .field("recipient", &self.recipient.to_string())
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl KeyVault {
    /// Loads the secrets (creating the files on first start), finishes or abandons a rotation
    /// that was interrupted, and checks that the identity decrypts the keys already stored.
    pub async fn open(
        settings: &VaultSettings,
        db: &impl ConnectionTrait,
    ) -> Result<KeyVault, VaultError> {
        let stored = rotation::stored_keys(db).await?;
        let fingerprint_mac = load_fingerprint_mac(settings, stored.len())?;
        let vault = if let Some(text) = &settings.identity {
            let mut identities = parse_identities(text.expose_secret())
                .ok_or(VaultError::EnvIdentity)?
                .into_iter();
            let current = identities.next().ok_or(VaultError::EnvIdentity)?;
            KeyVault {
                others: identities.collect(),
                ..KeyVault::new(current, fingerprint_mac, IdentityOrigin::Env)
            }
        } else {
            let path = &settings.identity_file;
            rotation::recover(path, &stored)?;
            let identity = load_identity_file(path, stored.len(), settings.generate)?;
            KeyVault::new(
                identity,
                fingerprint_mac,
                IdentityOrigin::File(path.clone()),
            )
        };
        vault.check_decrypts(&stored)?;
        vault.fill_masks(db, &stored).await?;
        Ok(vault)
    }

    fn new(
        identity: x25519::Identity,
        fingerprint_mac: Hmac<Sha256>,
        origin: IdentityOrigin,
    ) -> Self {
        Self {
            recipient: identity.to_public(),
            identity,
            others: Vec::new(),
            fingerprint_mac,
            origin,
        }
    }

    /// Whether `TRACEKEEPER_IDENTITY` holds identities besides the current one (a rotation is
    /// under way).
    pub fn has_other_identities(&self) -> bool {
        !self.others.is_empty()
    }

    /// This vault with the current identity alone: what every key is re-encrypted to at the end
    /// of a rotation while servers run ([`rotation::reencrypt_all`]).
    #[must_use]
    pub fn current_only(&self) -> KeyVault {
        self.with_identity(self.identity.clone(), self.origin.clone())
    }

    /// A vault with a fresh identity and fingerprint secret, kept in memory only.
    #[cfg(test)]
    pub(crate) fn ephemeral() -> Self {
        let mac = keyed_mac(&random_secret()).expect("HMAC takes any key");
        Self::new(x25519::Identity::generate(), mac, IdentityOrigin::Env)
    }

    /// The same fingerprint secret with another identity.
    fn with_identity(&self, identity: x25519::Identity, origin: IdentityOrigin) -> Self {
        Self::new(identity, self.fingerprint_mac.clone(), origin)
    }

    /// Where the identity came from.
    pub fn origin(&self) -> &IdentityOrigin {
        &self.origin
    }

    /// The public half of the identity (`age1...`): safe to show and to log.
    pub fn recipient(&self) -> String {
        self.recipient.to_string()
    }

    /// Encrypts and fingerprints a key for storage.
    pub fn seal(&self, key: &SecretString) -> Result<SealedKey, VaultError> {
        Ok(SealedKey::new(
            self.encrypt(key)?,
            self.fingerprint(key),
            mask(key),
        ))
    }

    /// The key as armored age ciphertext, sealed to the current identity (and to the others of
    /// `TRACEKEEPER_IDENTITY` during a rotation).
    pub fn encrypt(&self, key: &SecretString) -> Result<String, VaultError> {
        if self.others.is_empty() {
            return age::encrypt_and_armor(&self.recipient, key.expose_secret().as_bytes())
                .map_err(VaultError::Encrypt);
        }
        let others: Vec<x25519::Recipient> = self
            .others
            .iter()
            .map(x25519::Identity::to_public)
            .collect();
        let recipients = std::iter::once(&self.recipient)
            .chain(&others)
            .map(|r| r as &dyn age::Recipient);
        encrypt_to(recipients, key)
    }

    /// The key inside `ciphertext`, which must have been encrypted to one of this vault's
    /// identities.
    pub fn decrypt(&self, ciphertext: &str) -> Result<SecretString, VaultError> {
        decrypt_with(
            std::iter::once(&self.identity).chain(&self.others),
            ciphertext,
        )
    }

    /// HMAC-SHA256 of the key under the fingerprint secret, as 64 lower-case hex digits. Equal
    /// keys have equal fingerprints, whatever the identity.
    pub fn fingerprint(&self, key: &SecretString) -> String {
        let mut mac = self.fingerprint_mac.clone();
        mac.update(key.expose_secret().as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Gives each stored key without a mask (stored before masks were) its mask, sealing it
    /// anew, so that no page decrypts a key to show it. A key this identity cannot decrypt is
    /// left as it is ([`Self::check_decrypts`] reported it).
    async fn fill_masks(
        &self,
        db: &impl ConnectionTrait,
        stored: &[rotation::StoredKey],
    ) -> Result<(), VaultError> {
        for key in stored.iter().filter(|key| !key.masked) {
            if let Ok(plain) = self.decrypt(&key.ciphertext) {
                rotation::replace(db, key.holder, &self.seal(&plain)?).await?;
            }
        }
        Ok(())
    }

    /// Refuses an identity that decrypts none of the stored keys; a few that fail among many that
    /// work are reported, not fatal (those keys can be set again).
    fn check_decrypts(&self, stored: &[rotation::StoredKey]) -> Result<(), VaultError> {
        let failing = stored
            .iter()
            .filter(|s| self.decrypt(&s.ciphertext).is_err())
            .count();
        if failing > 0 && failing == stored.len() {
            return Err(VaultError::WrongIdentity {
                origin: self.origin.to_string(),
                stored: stored.len(),
            });
        }
        if failing > 0 {
            tracing::error!(
                failing,
                stored = stored.len(),
                "some stored Metrc keys do not decrypt with the identity: set those keys again"
            );
        }
        Ok(())
    }
}

/// The mask of a key too short to show any of it: all a page shows of such a key.
pub const HIDDEN: &str = "••••";

/// What a page shows of a stored key: its mask as stored when it was sealed, or [`HIDDEN`] for
/// a key stored before masks were (until the next start gives it one, [`KeyVault::open`]).
pub fn stored_mask(masked: Option<&str>) -> String {
    masked.unwrap_or(HIDDEN).to_owned()
}

/// What the browser may see of a key: `••••` and its last 4 characters (only [`HIDDEN`] for a
/// key too short to spare 4).
pub fn mask(key: &SecretString) -> String {
    const SHOWN: usize = 4;
    let chars: Vec<char> = key.expose_secret().chars().collect();
    let tail: String = if chars.len() >= 3 * SHOWN {
        chars[chars.len() - SHOWN..].iter().collect()
    } else {
        String::new()
    };
    let mut chars = chars;
    chars.zeroize();
    format!("{HIDDEN}{tail}")
}

/// `key` as armored age ciphertext for several recipients (any one of them decrypts it).
fn encrypt_to<'a>(
    recipients: impl Iterator<Item = &'a dyn age::Recipient>,
    key: &SecretString,
) -> Result<String, VaultError> {
    use std::io::Write;
    let encryptor = age::Encryptor::with_recipients(recipients).map_err(VaultError::Encrypt)?;
    let mut armored = Vec::new();
    let fail = |e: std::io::Error| VaultError::Encrypt(e.into());
    let armor =
        age::armor::ArmoredWriter::wrap_output(&mut armored, age::armor::Format::AsciiArmor)
            .map_err(fail)?;
    let mut writer = encryptor.wrap_output(armor).map_err(fail)?;
    writer
        .write_all(key.expose_secret().as_bytes())
        .map_err(fail)?;
    writer
        .finish()
        .and_then(age::armor::ArmoredWriter::finish)
        .map_err(fail)?;
    String::from_utf8(armored).map_err(|_| VaultError::NotText)
}

/// The key inside `ciphertext`, decrypted with whichever of `identities` it was sealed to.
fn decrypt_with<'a>(
    identities: impl Iterator<Item = &'a x25519::Identity>,
    ciphertext: &str,
) -> Result<SecretString, VaultError> {
    let reader = age::armor::ArmoredReader::new(ciphertext.as_bytes());
    let decryptor = age::Decryptor::new_buffered(reader).map_err(VaultError::Decrypt)?;
    let mut plain = decryptor
        .decrypt(identities.map(|identity| identity as &dyn age::Identity))
        .map_err(VaultError::Decrypt)?;
    // Larger than the plaintext, so reading never reallocates and leaves a copy behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    plain
        .read_to_end(&mut bytes)
        .map_err(|e| VaultError::Decrypt(e.into()))?;
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(SecretString::from(text)),
        Err(e) => {
            e.into_bytes().zeroize();
            Err(VaultError::NotText)
        }
    }
}

/// The `AGE-SECRET-KEY-1...` lines of an identity text (comments and blank lines aside), in
/// order; `None` when there is none or a line is not one.
fn parse_identities(text: &str) -> Option<Vec<x25519::Identity>> {
    let identities: Option<Vec<_>> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| x25519::Identity::from_str(line).ok())
        .collect();
    identities.filter(|found| !found.is_empty())
}

/// The one `AGE-SECRET-KEY-1...` line of an identity file's text.
fn parse_identity(text: &str) -> Option<x25519::Identity> {
    let mut identities = parse_identities(text)?;
    (identities.len() == 1).then(|| identities.remove(0))
}

/// The text of a new identity file, in age-keygen's layout.
fn identity_file_text(identity: &x25519::Identity) -> Zeroizing<String> {
    Zeroizing::new(format!(
        "# Tracekeeper's key identity: it decrypts the stored Metrc keys. Keep it secret, back it up.\n# public key: {}\n{}\n",
        identity.to_public(),
        identity.to_string().expose_secret()
    ))
}

/// Reads an identity file, refusing loose permissions and anything but one identity.
fn read_identity_file(path: &Path) -> Result<Option<x25519::Identity>, VaultError> {
    match secret_files::read(path)? {
        Some(text) => parse_identity(&text)
            .map(Some)
            .ok_or_else(|| VaultError::IdentityFile {
                path: path.to_owned(),
            }),
        None => Ok(None),
    }
}

fn write_identity_file(path: &Path, identity: &x25519::Identity) -> Result<(), VaultError> {
    secret_files::write(path, &identity_file_text(identity))
}

/// The identity in `path`; a new one written there when absent and nothing is stored yet.
fn load_identity_file(
    path: &Path,
    stored: usize,
    generate: bool,
) -> Result<x25519::Identity, VaultError> {
    if let Some(identity) = read_identity_file(path)? {
        return Ok(identity);
    }
    refuse_new_secret(path, stored, generate)?;
    let identity = x25519::Identity::generate();
    write_identity_file(path, &identity)?;
    tracing::info!(
        path = %path.display(),
        recipient = %identity.to_public(),
        "created a new key identity: back this file up"
    );
    Ok(identity)
}

/// A secret file is missing: refused unless one may be generated here and no stored key needs
/// the missing one.
fn refuse_new_secret(path: &Path, stored: usize, generate: bool) -> Result<(), VaultError> {
    if !generate {
        return Err(VaultError::NotConfigured);
    }
    if stored > 0 {
        return Err(VaultError::MissingSecret {
            path: path.to_owned(),
            stored,
        });
    }
    Ok(())
}

fn random_secret() -> Zeroizing<Vec<u8>> {
    use rand::RngCore as _;
    let mut bytes = Zeroizing::new(vec![0u8; SECRET_LEN]);
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A new identity (`AGE-SECRET-KEY-1...`) and a new fingerprint secret (64 hex digits), for
/// `TRACEKEEPER_IDENTITY` and `TRACEKEEPER_FINGERPRINT_SECRET` (`tracekeeper new-secrets`).
pub fn new_secrets() -> (SecretString, SecretString) {
    (
        x25519::Identity::generate().to_string(),
        SecretString::from(hex::encode(&*random_secret())),
    )
}

/// Writes a new identity file and fingerprint secret file where `settings` says (mode 0600), for
/// a deployment on PostgreSQL that keeps its secrets in files (`tracekeeper new-secrets
/// --write-files`); returns their paths. Refuses to replace either.
///
/// # Errors
/// [`VaultError::SecretFileExists`]; the file system's, as [`VaultError::Io`].
pub fn write_new_secret_files(settings: &VaultSettings) -> Result<[PathBuf; 2], VaultError> {
    let identity_file = settings.identity_file.clone();
    let fingerprint_file = settings.fingerprint_file();
    for path in [&identity_file, &fingerprint_file] {
        if path.exists() {
            return Err(VaultError::SecretFileExists { path: path.clone() });
        }
    }
    if let Some(dir) = identity_file.parent() {
        std::fs::create_dir_all(dir).map_err(|source| VaultError::Io {
            path: dir.to_owned(),
            source,
        })?;
    }
    write_identity_file(&identity_file, &x25519::Identity::generate())?;
    secret_files::write(
        &fingerprint_file,
        &Zeroizing::new(hex::encode(&*random_secret()) + "\n"),
    )?;
    Ok([identity_file, fingerprint_file])
}

/// HMAC-SHA256 keyed with `secret`; `None` never happens (HMAC takes keys of any length).
fn keyed_mac(secret: &[u8]) -> Option<Hmac<Sha256>> {
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret).ok()
}

/// The fingerprint HMAC, keyed with the secret from the environment or from the file beside the
/// identity (created when absent and nothing is stored yet).
fn load_fingerprint_mac(
    settings: &VaultSettings,
    stored: usize,
) -> Result<Hmac<Sha256>, VaultError> {
    if let Some(text) = &settings.fingerprint_secret {
        let bytes = text.expose_secret().as_bytes();
        return keyed_mac(bytes)
            .filter(|_| bytes.len() >= MIN_SECRET_LEN)
            .ok_or(VaultError::EnvFingerprintSecret);
    }
    let path = settings.fingerprint_file();
    if let Some(text) = secret_files::read(&path)? {
        let secret = Zeroizing::new(hex::decode(text.trim()).unwrap_or_default());
        return keyed_mac(&secret)
            .filter(|_| secret.len() == SECRET_LEN)
            .ok_or(VaultError::FingerprintFile { path });
    }
    refuse_new_secret(&path, stored, settings.generate)?;
    let secret = random_secret();
    secret_files::write(&path, &Zeroizing::new(hex::encode(&*secret) + "\n"))?;
    keyed_mac(&secret).ok_or(VaultError::FingerprintFile { path })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ssr::queries::test_db;
    use std::os::unix::fs::PermissionsExt;

    pub(crate) fn settings(dir: &Path) -> VaultSettings {
        VaultSettings {
            identity: None,
            identity_file: dir.join("identity.txt"),
            fingerprint_secret: None,
            generate: true,
        }
    }

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn key(text: &str) -> SecretString {
        SecretString::from(text.to_owned())
    }

    #[test]
    fn a_key_survives_the_round_trip_and_is_not_in_the_ciphertext() {
        let vault = KeyVault::ephemeral();
        let sealed = vault.seal(&key("k3y-to-Metrc-0123456789")).unwrap();
        assert!(
            sealed
                .ciphertext()
                .starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
        );
        assert!(!sealed.ciphertext().contains("k3y-to-Metrc"));
        let back = vault.decrypt(sealed.ciphertext()).unwrap();
        assert_eq!(back.expose_secret(), "k3y-to-Metrc-0123456789");
        assert_eq!(sealed.masked(), "••••6789");
    }

    #[test]
    fn another_identity_cannot_decrypt() {
        let sealed = KeyVault::ephemeral().seal(&key("secret-key")).unwrap();
        assert!(matches!(
            KeyVault::ephemeral().decrypt(sealed.ciphertext()),
            Err(VaultError::Decrypt(_))
        ));
        assert!(KeyVault::ephemeral().decrypt("not age at all").is_err());
    }

    #[test]
    fn fingerprints_match_for_equal_keys_only_and_survive_a_new_identity() {
        let vault = KeyVault::ephemeral();
        let fp = vault.fingerprint(&key("same-key"));
        assert_eq!(fp.len(), 64);
        assert!(fp.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(vault.fingerprint(&key("same-key")), fp);
        assert_ne!(vault.fingerprint(&key("other-key")), fp);
        assert_ne!(KeyVault::ephemeral().fingerprint(&key("same-key")), fp);
        let rotated = vault.with_identity(x25519::Identity::generate(), IdentityOrigin::Env);
        assert_ne!(rotated.recipient(), vault.recipient());
        assert_eq!(rotated.fingerprint(&key("same-key")), fp);
    }

    #[test]
    fn the_mask_shows_only_the_last_four_characters() {
        assert_eq!(mask(&key("abcdefghijklmnop1234")), "••••1234");
        assert_eq!(mask(&key("short-key")), "••••");
        assert_eq!(mask(&key("")), "••••");
    }

    #[test]
    fn debug_shows_no_secret() {
        let vault = KeyVault::ephemeral();
        let identity = vault.identity.to_string();
        let shown = format!("{vault:?}");
        assert!(shown.contains(&vault.recipient()), "{shown}");
        assert!(!shown.contains(identity.expose_secret()), "{shown}");
        assert!(!shown.to_uppercase().contains("AGE-SECRET-KEY"), "{shown}");
    }

    #[tokio::test]
    async fn first_start_creates_private_files_that_later_starts_reuse() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db::fresh().await;
        let settings = settings(dir.path());
        let vault = KeyVault::open(&settings, &db).await.unwrap();
        assert_eq!(mode(&settings.identity_file), 0o600);
        assert_eq!(mode(&settings.fingerprint_file()), 0o600);
        let text = std::fs::read_to_string(&settings.identity_file).unwrap();
        assert!(text.contains(&format!("# public key: {}", vault.recipient())));
        let again = KeyVault::open(&settings, &db).await.unwrap();
        assert_eq!(again.recipient(), vault.recipient());
        assert_eq!(again.fingerprint(&key("k")), vault.fingerprint(&key("k")));
        assert_eq!(
            again.origin(),
            &IdentityOrigin::File(settings.identity_file)
        );
    }

    #[tokio::test]
    async fn loose_permissions_are_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db::fresh().await;
        let settings = settings(dir.path());
        KeyVault::open(&settings, &db).await.unwrap();
        for file in [settings.identity_file.clone(), settings.fingerprint_file()] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = KeyVault::open(&settings, &db).await.unwrap_err();
            assert!(matches!(
                err,
                VaultError::LoosePermissions { mode: 0o644, .. }
            ));
            assert!(err.to_string().contains("chmod 600"), "{err}");
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    #[tokio::test]
    async fn garbage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db::fresh().await;
        let settings = settings(dir.path());
        secret_files::write(&settings.identity_file, "hello\n").unwrap();
        let err = KeyVault::open(&settings, &db).await.unwrap_err();
        assert!(matches!(err, VaultError::IdentityFile { .. }), "{err}");
        assert!(!err.to_string().contains('\n'));

        std::fs::remove_file(&settings.identity_file).unwrap();
        secret_files::write(&settings.fingerprint_file(), "not hex\n").unwrap();
        let err = KeyVault::open(&settings, &db).await.unwrap_err();
        assert!(matches!(err, VaultError::FingerprintFile { .. }), "{err}");
    }

    #[tokio::test]
    async fn the_environment_identity_is_used_and_no_identity_file_is_made() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db::fresh().await;
        let identity = x25519::Identity::generate();
        let settings = VaultSettings {
            identity: Some(identity.to_string()),
            fingerprint_secret: Some(key("a fingerprint secret of 32 chars or more")),
            ..settings(dir.path())
        };
        let vault = KeyVault::open(&settings, &db).await.unwrap();
        assert_eq!(vault.recipient(), identity.to_public().to_string());
        assert_eq!(vault.origin(), &IdentityOrigin::Env);
        assert!(!settings.identity_file.exists());
        assert!(!settings.fingerprint_file().exists());

        let bad = VaultSettings {
            identity: Some(key("AGE-SECRET-KEY-1NOPE")),
            ..settings.clone()
        };
        assert!(matches!(
            KeyVault::open(&bad, &db).await,
            Err(VaultError::EnvIdentity)
        ));
        let short = VaultSettings {
            fingerprint_secret: Some(key("short")),
            ..settings
        };
        assert!(matches!(
            KeyVault::open(&short, &db).await,
            Err(VaultError::EnvFingerprintSecret)
        ));
    }

    #[tokio::test]
    async fn without_leave_to_generate_missing_secrets_are_refused_not_made() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db::fresh().await;
        let on_postgres = VaultSettings {
            generate: false,
            ..settings(dir.path())
        };
        assert!(matches!(
            KeyVault::open(&on_postgres, &db).await,
            Err(VaultError::NotConfigured)
        ));
        assert!(!on_postgres.identity_file.exists());
        assert!(!on_postgres.fingerprint_file().exists());
        let configured = VaultSettings {
            identity: Some(x25519::Identity::generate().to_string()),
            fingerprint_secret: Some(key("a fingerprint secret of 32 chars or more")),
            ..on_postgres
        };
        assert!(KeyVault::open(&configured, &db).await.is_ok());
    }

    #[tokio::test]
    async fn during_a_rotation_keys_are_sealed_to_every_identity_and_any_decrypts() {
        let dir = tempfile::tempdir().unwrap();
        let db = test_db::fresh().await;
        let (old, new) = (x25519::Identity::generate(), x25519::Identity::generate());
        let env = |identities: &[&x25519::Identity]| VaultSettings {
            identity: Some(SecretString::from(
                identities
                    .iter()
                    .map(|i| i.to_string().expose_secret().to_owned())
                    .collect::<Vec<_>>()
                    .join("\n"),
            )),
            fingerprint_secret: Some(key("a fingerprint secret of 32 chars or more")),
            ..settings(dir.path())
        };
        let both = KeyVault::open(&env(&[&new, &old]), &db).await.unwrap();
        assert!(both.has_other_identities());
        assert_eq!(both.recipient(), new.to_public().to_string());
        let sealed = both.encrypt(&key("metrc-key-1234")).unwrap();
        let old_only = KeyVault::open(&env(&[&old]), &db).await.unwrap();
        let new_only = KeyVault::open(&env(&[&new]), &db).await.unwrap();
        for vault in [&old_only, &new_only, &both] {
            assert_eq!(
                vault.decrypt(&sealed).unwrap().expose_secret(),
                "metrc-key-1234"
            );
        }
        let by_old = old_only.encrypt(&key("metrc-key-5678")).unwrap();
        assert_eq!(
            both.decrypt(&by_old).unwrap().expose_secret(),
            "metrc-key-5678"
        );
        let narrowed = both.current_only().encrypt(&key("metrc-key-9012")).unwrap();
        assert!(
            old_only.decrypt(&narrowed).is_err(),
            "sealed to the current identity alone"
        );
        assert!(new_only.decrypt(&narrowed).is_ok());
    }

    #[tokio::test]
    async fn stored_keys_need_their_identity() {
        use crate::ssr::queries::facilities;
        let dir = tempfile::tempdir().unwrap();
        let db = test_db::fresh().await;
        let settings = settings(dir.path());
        let vault = KeyVault::open(&settings, &db).await.unwrap();
        let facility = facilities::insert(&db, facilities::tests::new_facility("403-X0001"))
            .await
            .unwrap();
        let sealed = vault.seal(&key("facility-key")).unwrap();
        facilities::replace_key_ciphertext(&db, facility.id, &sealed)
            .await
            .unwrap();

        // Another identity in the file: refused, not silently used.
        let other = x25519::Identity::generate();
        write_identity_file(&settings.identity_file, &other).unwrap();
        let err = KeyVault::open(&settings, &db).await.unwrap_err();
        assert!(
            matches!(err, VaultError::WrongIdentity { stored: 1, .. }),
            "{err}"
        );

        // No file at all: refused, not replaced by a new identity.
        std::fs::remove_file(&settings.identity_file).unwrap();
        let err = KeyVault::open(&settings, &db).await.unwrap_err();
        assert!(
            matches!(err, VaultError::MissingSecret { stored: 1, .. }),
            "{err}"
        );
        assert!(!settings.identity_file.exists());
    }
}
