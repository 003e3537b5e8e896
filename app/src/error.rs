//! The one error type every server function returns. It crosses the wire (serde), so it holds
//! only what a user may see: internal causes are logged on the server and shown as a generic line.

use leptos::server_fn::codec::JsonEncoding;
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
    #[error("Too many sign-in attempts. Try again in {retry_after_secs} seconds.")]
    Throttled { retry_after_secs: u64 },
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

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

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
