//! First start: with no users at all, create the first admin.

use super::config::Config;
use super::passwords::{self, PasswordError};
use super::queries::users::{self, NewUser};
use super::vault::{VaultError, secret_files};
use crate::types::auth::Role;
use sea_orm::{DatabaseConnection, DbErr};
use secrecy::ExposeSecret;
use std::path::PathBuf;

/// Where a generated first-admin password is written, in the data directory (mode 0600).
pub const PASSWORD_FILE: &str = "first-admin-password.txt";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("TRACEKEEPER_ADMIN_PASSWORD must have at least {min} characters", min = passwords::MIN_LENGTH)]
    WeakAdminPassword,
    /// The generated password could not be written (the admin is then not created).
    #[error(transparent)]
    PasswordFile(#[from] VaultError),
}

/// Creates the first admin when the database has no users. When the configuration gives no
/// password, one is generated and written to [`PASSWORD_FILE`] in the data directory (mode
/// 0600, before the admin is created, so it cannot be lost), never to the log: returns that
/// file's path (the caller logs the path); `None` when nothing was created or the password came
/// from the configuration. A generated password must be changed at first sign-in
/// (`must_change_password`; docs/decisions.md, "The first admin's password"); one the operator
/// chose is not.
pub async fn ensure_first_admin(
    db: &DatabaseConnection,
    config: &Config,
) -> Result<Option<PathBuf>, BootstrapError> {
    if users::count(db).await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match &config.admin_password {
        Some(p) if p.expose_secret().len() < passwords::MIN_LENGTH => {
            return Err(BootstrapError::WeakAdminPassword);
        }
        Some(p) => (p.expose_secret().to_owned(), false),
        None => (passwords::generate(), true),
    };
    let file = generated.then(|| config.data_dir.join(PASSWORD_FILE));
    if let Some(path) = &file {
        secret_files::write(path, &format!("{password}\n"))?;
    }
    let hash = passwords::hash(password).await?;
    // The admin and, for a generated password, the change asked at first sign-in: together.
    let txn = crate::ssr::db::begin_write(db).await?;
    let admin = users::insert(
        &txn,
        NewUser {
            email: &config.admin_email,
            name: "Administrator",
            password_hash: hash,
            role: Role::Admin,
            can_submit: false,
        },
    )
    .await?;
    if generated {
        users::set_must_change_password(&txn, admin.id, true).await?;
    }
    txn.commit().await?;
    Ok(file)
}
