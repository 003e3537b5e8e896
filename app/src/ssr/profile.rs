//! What signed-in users change about themselves on /profile: their password.

use super::caller::Caller;
use super::entities::audit_events::AuditAction;
use super::passwords::{self, PasswordError};
use super::queries::audit_events::{self, NewAuditEvent};
use super::queries::{sessions, users};
use super::state::AppState;
use super::throttle::ThrottleError;
use super::user_admin::check_password_length;
use crate::error::AppError;
use sea_orm::DbErr;
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// Why a password change did not happen. No variant holds a password.
#[derive(Debug, thiserror::Error)]
pub enum PasswordChangeError {
    #[error("the current password is wrong")]
    WrongPassword,
    #[error("new password too short")]
    TooShort,
    #[error("the new password is the current one")]
    Unchanged,
    #[error("too many attempts")]
    Throttled(Duration),
    #[error("unknown user")]
    UnknownUser,
    #[error(transparent)]
    Input(#[from] super::input::InputError),
    #[error("password hashing: {0}")]
    Password(#[from] PasswordError),
    #[error("database: {0}")]
    Db(#[from] DbErr),
}

impl From<PasswordChangeError> for AppError {
    fn from(err: PasswordChangeError) -> Self {
        match err {
            PasswordChangeError::WrongPassword => {
                AppError::BadInput("The current password is wrong.".into())
            }
            PasswordChangeError::TooShort => AppError::BadInput(format!(
                "The new password must have at least {} characters.",
                passwords::MIN_LENGTH
            )),
            PasswordChangeError::Unchanged => AppError::BadInput(
                "The new password is the same as the current one: choose another.".into(),
            ),
            PasswordChangeError::Throttled(wait) => AppError::Throttled {
                retry_after_secs: wait.as_secs().max(1),
            },
            PasswordChangeError::UnknownUser => AppError::Unauthenticated,
            PasswordChangeError::Input(err) => err.into(),
            PasswordChangeError::Password(err) => {
                tracing::error!(error = %err, "password hashing failed");
                AppError::Internal
            }
            PasswordChangeError::Db(err) => err.into(),
        }
    }
}

/// Replaces the user's password after checking the current one, clears
/// [`must_change_password`](crate::types::auth::CurrentUser::must_change_password), and ends
/// every session of theirs (the caller starts a fresh one for the browser that asked). Attempts are throttled
/// like sign-ins, so a signed-in session cannot be used to guess the password. Audited as
/// `user.password_changed` (no password in it).
pub async fn change_password(
    state: &AppState,
    caller: &Caller,
    current: SecretString,
    new: SecretString,
) -> Result<(), PasswordChangeError> {
    let (user_id, ip) = (caller.user.id, caller.ip);
    super::input::password(current.expose_secret())?;
    super::input::password(new.expose_secret())?;
    state
        .login_throttle
        .attempt(&state.db, &format!("password-change:{user_id}"), ip)
        .await
        .map_err(|error| match error {
            ThrottleError::Wait(wait) => PasswordChangeError::Throttled(wait),
            ThrottleError::Db(error) => error.into(),
        })?;
    let user = users::find(&state.db, user_id)
        .await?
        .filter(|u| u.active)
        .ok_or(PasswordChangeError::UnknownUser)?;
    let matches = passwords::verify(
        current.expose_secret().to_owned(),
        user.password_hash.clone(),
    )
    .await?;
    if !matches {
        tracing::info!(user_id, ip = ?ip, "password change with a wrong current password");
        return Err(PasswordChangeError::WrongPassword);
    }
    check_password_length(new.expose_secret()).map_err(|_| PasswordChangeError::TooShort)?;
    if new.expose_secret() == current.expose_secret() {
        return Err(PasswordChangeError::Unchanged);
    }
    let hash = passwords::hash(new.expose_secret().to_owned()).await?;
    drop((current, new));

    let txn = crate::ssr::db::begin_write(&state.db).await?;
    users::set_password_hash(&txn, user_id, hash).await?;
    // A password the user chose: the change asked of a generated first-admin password is done.
    users::set_must_change_password(&txn, user_id, false).await?;
    let sessions_ended = sessions::delete_for_user(&txn, user_id).await?;
    audit_events::record(
        &txn,
        NewAuditEvent {
            actor: caller.actor(),
            action: AuditAction::UserPasswordChanged,
            subject: &user.email,
            detail: serde_json::json!({ "user_id": user_id, "sessions_ended": sessions_ended }),
        },
    )
    .await?;
    txn.commit().await?;
    tracing::info!(user_id, "password changed");
    Ok(())
}
