//! `tracekeeper new-secrets`: a new key identity and fingerprint secret, printed as the two
//! settings every server of a deployment on PostgreSQL needs, or written to the identity file and
//! the file beside it with `--write-files` (docs/design.md §11). Nothing is logged.

use crate::cli::NewSecretsArgs;
use crate::error::StartError;
use app::ssr::config::Config;
use app::ssr::vault::{self, VaultSettings};
use secrecy::ExposeSecret;

pub fn new_secrets(config: &Config, args: &NewSecretsArgs) -> Result<(), StartError> {
    if args.write_files {
        let [identity, fingerprint] =
            vault::write_new_secret_files(&VaultSettings::from_config(config))?;
        println!(
            "Wrote {} and {}: back both up, and give every server the same files.",
            identity.display(),
            fingerprint.display()
        );
        return Ok(());
    }
    let (identity, fingerprint_secret) = vault::new_secrets();
    println!("TRACEKEEPER_IDENTITY={}", identity.expose_secret());
    println!(
        "TRACEKEEPER_FINGERPRINT_SECRET={}",
        fingerprint_secret.expose_secret()
    );
    Ok(())
}
