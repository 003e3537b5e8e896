//! First start: with no users at all, create the first admin.

use super::actor::Actor;
use super::config::Config;
use super::passwords;
use super::queries::users;
use super::user_admin::{self, NewUserInput, UserAdminError, UserEdit};
use super::vault::{VaultError, secret_files};
use crate::types::auth::Role;
use sea_orm::{DatabaseConnection, DbErr};
use secrecy::{ExposeSecret, SecretString};
use std::path::PathBuf;

/// Where a generated first-admin password is written, in the data directory (mode 0600).
pub const PASSWORD_FILE: &str = "first-admin-password.txt";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Db(#[from] DbErr),
    /// User Management refused the first admin (e.g. a malformed `TRACEKEEPER_ADMIN_EMAIL`).
    #[error(
        "cannot create the first admin (TRACEKEEPER_ADMIN_EMAIL, TRACEKEEPER_ADMIN_PASSWORD): {0}"
    )]
    Admin(#[from] UserAdminError),
    #[error("TRACEKEEPER_ADMIN_PASSWORD must have at least {min} characters", min = passwords::MIN_LENGTH)]
    WeakAdminPassword,
    /// The generated password could not be written (the admin is then not created).
    #[error(transparent)]
    PasswordFile(#[from] VaultError),
}

/// Creates the first admin when the database has no users, through User Management's one way of
/// creating a user (audited as `user.created` by the operator). When the configuration gives no
/// password, one is generated and written to [`PASSWORD_FILE`] in the data directory (mode
/// 0600, before the admin is created, so it cannot be lost), never to the log: returns that
/// file's path (the caller logs the path); `None` when nothing was created or the password came
/// from the configuration. A generated password must be changed at first sign-in
/// (`must_change_password`; docs/decisions.md, "The first admin's password"); one the operator
/// chose is not. Several servers starting together on one empty database create one admin
/// between them (docs/design.md §11).
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
        // Not made at start-up on PostgreSQL with the secrets in the environment: made here,
        // the one time it is needed.
        std::fs::create_dir_all(&config.data_dir).map_err(|source| VaultError::Io {
            path: config.data_dir.clone(),
            source,
        })?;
        secret_files::write(path, &format!("{password}\n"))?;
    }
    let admin = NewUserInput {
        profile: UserEdit {
            name: "Administrator".into(),
            email: config.admin_email.clone(),
            role: Role::Admin,
            all_facilities: true,
            facilities: Vec::new(),
            can_submit: false,
            requires_review: false,
        },
        password: SecretString::from(password),
        // Asked in the same transaction as the admin is created.
        must_change_password: generated,
    };
    match user_admin::create_user(db, Actor::Operator, admin).await {
        Ok(_) => Ok(file),
        // Servers started together on one empty database: another one created the first admin
        // at the same moment (the email is unique). Its password stands; this one's is void.
        Err(_) if users::count(db).await? > 0 => {
            if let Some(path) = &file
                && let Err(error) = std::fs::remove_file(path)
            {
                tracing::warn!(path = %path.display(), %error, "could not remove a void first-admin password file");
            }
            Ok(None)
        }
        Err(error) => Err(error.into()),
    }
}
