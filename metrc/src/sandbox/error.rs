//! Errors of the sandbox's HTTP side, turned into Metrc-shaped responses at the edge:
//! `{"Message": "..."}` bodies, row-error arrays for rejected writes.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::config::Settings;
use super::model::writes::RowError;
use super::model::{AdminError, Denied};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No, malformed, unknown, revoked or regenerated key, or an unregistered vendor key.
    #[error("Invalid or no authentication provided.")]
    Unauthenticated,
    /// Refused for the license or the permission; the status is decided by [`ApiError::denied`].
    #[error("{denied}")]
    Denied { denied: Denied, status: StatusCode },
    #[error("{0}")]
    BadRequest(String),
    /// A write with bad rows: nothing was recorded.
    #[error("The request contains invalid rows.")]
    Rows(Vec<RowError>),
    /// Uncertain in Metrc (docs/metrc.md §8): see `Settings::max_write_rows`.
    #[error("The request contains {got} objects; at most {max} are allowed per call.")]
    TooManyRows { got: usize, max: usize },
    #[error("The limit of API calls allowed has been exceeded. Please try again later.")]
    RateLimited,
    #[error("No HTTP resource was found that matches the request URI.")]
    NotFound,
    #[error("{0}")]
    Admin(#[from] AdminError),
}

impl ApiError {
    /// A refusal with the status Metrc gives: 401 for a license the user is not at (documented),
    /// the configured status for a missing permission or inapplicable section (uncertain).
    pub fn denied(denied: Denied, settings: &Settings) -> ApiError {
        let status = match denied {
            Denied::NotAtLicense(_) => StatusCode::UNAUTHORIZED,
            Denied::MissingPermission(_) | Denied::NotApplicable(_) => {
                settings.missing_permission_status
            }
        };
        ApiError::Denied { denied, status }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::BadRequest(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Denied { status, .. } => *status,
            ApiError::NotFound | ApiError::Admin(AdminError::UnknownEmployee(_)) => {
                StatusCode::NOT_FOUND
            }
            ApiError::BadRequest(_) | ApiError::Rows(_) | ApiError::Admin(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::TooManyRows { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = match &self {
            ApiError::Rows(rows) => (status, Json(json!(rows))).into_response(),
            other => (status, Json(json!({ "Message": other.to_string() }))).into_response(),
        };
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Whether Metrc sends Retry-After is uncertain; clients must cope without it too.
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}
