//! First start: with no users at all, create the first admin.

use super::config::Config;
use super::passwords::{self, PasswordError};
use super::queries::users::{self, NewUser};
use crate::types::auth::Role;
use sea_orm::{DatabaseConnection, DbErr};
use secrecy::ExposeSecret;

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("TRACEKEEPER_ADMIN_PASSWORD must have at least {min} characters", min = passwords::MIN_LENGTH)]
    WeakAdminPassword,
}

/// Creates the first admin when the database has no users. Returns the generated password when
/// one had to be made up (the caller prints it once); `None` when nothing was created or the
/// password came from the configuration.
pub async fn ensure_first_admin(
    db: &DatabaseConnection,
    config: &Config,
) -> Result<Option<String>, BootstrapError> {
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
    let hash = passwords::hash(password.clone()).await?;
    users::insert(
        db,
        NewUser {
            email: &config.admin_email,
            name: "Administrator",
            password_hash: hash,
            role: Role::Admin,
            can_submit: false,
        },
    )
    .await?;
    Ok(generated.then_some(password))
}
