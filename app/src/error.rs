//! The one error type every server function returns. It crosses the wire (serde), so it holds
//! only what a user may see: internal causes are logged on the server and shown as a generic line.

use crate::api::encoding::JsonAsText;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("You are not allowed to do that.")]
    Forbidden,
    #[error("Wrong email or password.")]
    InvalidCredentials,
    /// The signed-in user must change their password first (a generated first-admin password):
    /// every server function but changing it, signing out and "who is signed in" refuses.
    #[error("Change your password on your Profile page before doing anything else.")]
    PasswordChangeRequired,
    #[error("Too many sign-in attempts. Try again in {retry_after_secs} seconds.")]
    Throttled { retry_after_secs: u64 },
    /// A Metrc key validation was refused because the user's previous one is still running
    /// (one at a time per user: docs/decisions.md, "Rate limits and status codes").
    #[error(
        "Your previous key validation is still running. Wait for it to finish, then try again."
    )]
    ValidationRunning,
    /// A Metrc key validation was refused because the user has used up their validations per
    /// minute (`TRACEKEEPER_KEY_VALIDATIONS_PER_MINUTE`).
    #[error("Too many key validations. Try again in {retry_after_secs} seconds.")]
    ValidationThrottled { retry_after_secs: u64 },
    #[error("{0}")]
    BadInput(String),
    /// A Metrc key was refused; the text says why and what to do.
    #[error("{0}")]
    KeyRefused(String),
    /// The key is not the License Owner's for these licenses: assigning it needs an explicit
    /// override (docs/design.md §5; `IsOwner`: docs/metrc.md §4).
    #[error(
        "This key is not the License Owner's for {}: Metrc shows submissions made with it under that employee's name. Generate the key from the License Owner's account, or confirm the override.",
        .0.join(", ")
    )]
    NotLicenseOwner(Vec<String>),
    /// The key being set as a user's own key is a facility key: an admin must confirm, knowing
    /// what it means for attribution (docs/design.md §5).
    #[error(
        "This is the facility key of {}. As this user's key, their submissions would show in Metrc under the License Owner's name, not theirs. Confirm to use it anyway.",
        .0.join(", ")
    )]
    ConfirmFacilityKey(Vec<String>),
    /// Metrc failed or could not be reached; nothing was changed.
    #[error("Metrc did not answer as expected ({0}). Nothing was changed; try again shortly.")]
    MetrcUnavailable(String),
    #[error("Not found.")]
    NotFound,
    #[error(
        "Something went wrong on our side. Please try again; if it persists, tell your administrator."
    )]
    Internal,
    #[error("Could not reach Tracekeeper: {0}")]
    Communication(String),
}

/// What `Retry-After` says for [`AppError::ValidationRunning`], in seconds: about as long as a
/// validation takes.
pub const VALIDATION_RUNNING_RETRY_SECS: u64 = 5;

impl AppError {
    /// The HTTP status a server function answers with when it returns this error (applied to
    /// every server function's response in one place, `server/src/error_status.rs`; the rule is
    /// in docs/decisions.md, "Rate limits and status codes"). Only [`AppError::Internal`] is a
    /// fault of ours (500); Metrc failing is 503; everything else is the request's (4xx).
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden | AppError::PasswordChangeRequired => 403,
            AppError::NotFound => 404,
            // On the server this is a request whose arguments could not be read.
            AppError::BadInput(_) | AppError::Communication(_) => 400,
            AppError::KeyRefused(_)
            | AppError::NotLicenseOwner(_)
            | AppError::ConfirmFacilityKey(_) => 422,
            AppError::Throttled { .. }
            | AppError::ValidationRunning
            | AppError::ValidationThrottled { .. } => 429,
            AppError::MetrcUnavailable(_) => 503,
            AppError::Internal => 500,
        }
    }

    /// Seconds to wait before trying again (`Retry-After`), for the refusals that have one.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            AppError::Throttled { retry_after_secs }
            | AppError::ValidationThrottled { retry_after_secs } => Some(*retry_after_secs),
            AppError::ValidationRunning => Some(VALIDATION_RUNNING_RETRY_SECS),
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonAsText;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::Communication(value.to_string())
    }
}

#[cfg(feature = "ssr")]
impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        tracing::error!(error = %err, "database error");
        AppError::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_faults_are_500_and_every_throttle_says_when_to_retry() {
        let cases = [
            (AppError::Unauthenticated, 401),
            (AppError::InvalidCredentials, 401),
            (AppError::Forbidden, 403),
            (AppError::PasswordChangeRequired, 403),
            (AppError::NotFound, 404),
            (AppError::BadInput("x".into()), 400),
            (AppError::Communication("x".into()), 400),
            (AppError::KeyRefused("x".into()), 422),
            (AppError::NotLicenseOwner(vec![]), 422),
            (AppError::ConfirmFacilityKey(vec![]), 422),
            (
                AppError::Throttled {
                    retry_after_secs: 7,
                },
                429,
            ),
            (AppError::ValidationRunning, 429),
            (
                AppError::ValidationThrottled {
                    retry_after_secs: 9,
                },
                429,
            ),
            (AppError::MetrcUnavailable("x".into()), 503),
            (AppError::Internal, 500),
        ];
        for (error, status) in cases {
            assert_eq!(error.status(), status, "{error:?}");
            assert_eq!(
                error.retry_after_secs().is_some(),
                status == 429,
                "{error:?}"
            );
        }
        assert_eq!(
            AppError::Throttled {
                retry_after_secs: 7
            }
            .retry_after_secs(),
            Some(7)
        );
    }
}
