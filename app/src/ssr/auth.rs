//! Signing in: throttling, then the password check.

use super::queries::users;
use super::state::AppState;
use super::throttle::ThrottleError;
use super::{input, passwords};
use crate::error::AppError;
use crate::types::auth::CurrentUser;
use secrecy::{ExposeSecret, SecretString};
use std::net::IpAddr;

/// Checks the credentials. An email or password past its length limit is refused first, as bad
/// input ([`input`]); every other failure looks the same to the caller (`InvalidCredentials`),
/// whether the email is unknown, the password wrong or the account deactivated.
pub async fn check_credentials(
    st: &AppState,
    email: &str,
    password: &SecretString,
    ip: Option<IpAddr>,
) -> Result<CurrentUser, AppError> {
    let password = password.expose_secret();
    input::email(email)?;
    input::password(password)?;
    let email = users::normalize_email(email);
    if email.is_empty() || password.is_empty() {
        return Err(AppError::BadInput("Enter your email and password.".into()));
    }
    st.login_throttle
        .attempt(&st.db, &email, ip)
        .await
        .map_err(|error| match error {
            ThrottleError::Wait(wait) => AppError::Throttled {
                retry_after_secs: wait.as_secs().max(1),
            },
            ThrottleError::Db(error) => error.into(),
        })?;

    let found = users::find_by_email(&st.db, &email).await?;
    let stored = match &found {
        Some(user) => user.password_hash.clone(),
        None => st.decoy_hash.to_string(),
    };
    let matches = passwords::verify(password.to_owned(), stored)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "password verification failed");
            AppError::Internal
        })?;
    match found {
        Some(user) if matches && user.active => {
            users::to_current(&user).ok_or(AppError::InvalidCredentials)
        }
        _ => {
            tracing::info!(ip = ?ip, "failed sign-in");
            Err(AppError::InvalidCredentials)
        }
    }
}
