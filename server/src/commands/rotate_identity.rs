//! `tracekeeper rotate-identity`: every stored Metrc key re-encrypted to a new identity in one
//! transaction, then the identity replaced (the steps and their recovery:
//! `app::ssr::vault::rotation`). Run it with the server stopped.
//!
//! With several identities in `TRACEKEEPER_IDENTITY` (the current one first), while servers run
//! with the same setting: every key is re-encrypted to the current identity alone, and nothing
//! new is generated (docs/design.md §11, "Rotating the identity while servers run").

use crate::error::StartError;
use crate::startup::connect;
use app::ssr::config::Config;
use app::ssr::vault::rotation::{self, Rotation};
use app::ssr::vault::{IdentityOrigin, KeyVault, VaultSettings};
use secrecy::ExposeSecret;

pub async fn rotate_identity(config: &Config) -> Result<(), StartError> {
    let db = connect(config).await?;
    // Opening also finishes (or abandons) a rotation that was interrupted.
    let vault = KeyVault::open(&VaultSettings::from_config(config), &db).await?;
    if vault.has_other_identities() {
        let count = rotation::reencrypt_all(&db, &vault, &vault.current_only()).await?;
        println!(
            "Re-encrypted {count} keys to the first identity of TRACEKEEPER_IDENTITY ({}). Now set TRACEKEEPER_IDENTITY to that identity alone on every server, restarting them one at a time.",
            vault.recipient()
        );
        return Ok(());
    }
    let rotation = Rotation::begin(&vault)?;
    if *vault.origin() == IdentityOrigin::Env {
        // Shown before the commit, so that no interruption can lose the identity the keys need.
        println!(
            "New identity (shown only this once; its public key is {}):\n{}",
            rotation.new_recipient(),
            rotation.new_identity().expose_secret()
        );
    }
    let count = match rotation.reencrypt(&db).await {
        Ok(count) => count,
        Err(err) => {
            if *vault.origin() == IdentityOrigin::Env {
                println!(
                    "Nothing changed: keep TRACEKEEPER_IDENTITY as it is and discard the identity above."
                );
            }
            return Err(err.into());
        }
    };
    let next = rotation.finish()?;
    match next.origin() {
        IdentityOrigin::Env => println!(
            "Re-encrypted {count} keys. Now set TRACEKEEPER_IDENTITY to the new identity above, everywhere Tracekeeper runs: the old one no longer decrypts them."
        ),
        IdentityOrigin::File(path) => println!(
            "Re-encrypted {count} keys; {} now holds the new identity ({}). The previous one is in {}: it still decrypts database backups taken before now; delete it once they are gone.",
            path.display(),
            next.recipient(),
            rotation::previous_file(path).display()
        ),
    }
    Ok(())
}
