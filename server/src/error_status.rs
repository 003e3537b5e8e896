//! The one place where a server function's error becomes its HTTP status (docs/decisions.md,
//! "Rate limits and status codes"). The server-function machinery answers every error with 500
//! and the `AppError` as JSON; this reads that body back and answers with the status the error
//! names ([`AppError::status`]), a `Retry-After` where it has one, and logs it: only our own
//! faults at ERROR. The body is unchanged, so the browser shows the same message as before (the
//! server-function client decodes the error from any 4xx or 5xx body).

use app::error::AppError;
use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use leptos::server_fn::error::SERVER_FN_ERROR_HEADER;
use std::time::Duration;
use tower_http::classify::ServerErrorsFailureClass;
use tracing::Level;

/// The largest error body read back; an `AppError` is a line or two of JSON.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// How loudly an answer with `status` is logged: our own faults (500 and other 5xx) at ERROR,
/// Metrc being unavailable (503, the failure was logged where it happened) at WARN, throttling
/// at INFO, any other refusal of the request at DEBUG.
pub fn log_level(status: StatusCode) -> Level {
    match status.as_u16() {
        503 => Level::WARN,
        500..=599 => Level::ERROR,
        429 => Level::INFO,
        _ => Level::DEBUG,
    }
}

/// Middleware over the server functions: answers each one's error with its own status.
pub async fn apply(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    // A server function's error: 500 with the error header (a form post's error is a redirect
    // instead, which stays one).
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match to_bytes(body, MAX_ERROR_BODY).await {
        Ok(bytes) => bytes,
        Err(err) => {
            tracing::error!(%path, error = %err, "server function error body unreadable");
            return Response::from_parts(parts, Body::empty());
        }
    };
    let error = match serde_json::from_slice::<AppError>(&bytes) {
        Ok(error) => error,
        Err(err) => {
            tracing::error!(%path, error = %err, "server function error is not an AppError");
            return Response::from_parts(parts, Body::from(bytes));
        }
    };
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    parts.status = status;
    if let Some(secs) = error.retry_after_secs() {
        parts
            .headers
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    log(log_level(status), &path, status, &error);
    Response::from_parts(parts, Body::from(bytes))
}

/// The request log's report of a response that failed (tower-http's `TraceLayer`, which would log
/// every 5xx at ERROR): at [`log_level`]'s level, so Metrc being unavailable is a WARN there too.
pub fn log_failure(class: ServerErrorsFailureClass, latency: Duration, _span: &tracing::Span) {
    let latency_ms = latency.as_millis();
    match class {
        ServerErrorsFailureClass::StatusCode(status) if log_level(status) != Level::ERROR => {
            tracing::warn!(%status, latency_ms, "response failed");
        }
        ServerErrorsFailureClass::StatusCode(status) => {
            tracing::error!(%status, latency_ms, "response failed");
        }
        ServerErrorsFailureClass::Error(error) => {
            tracing::error!(%error, latency_ms, "response failed");
        }
    }
}

/// The error's text is what the user sees, never a secret (`AppError` holds no key or password).
fn log(level: Level, path: &str, status: StatusCode, error: &AppError) {
    let status = status.as_u16();
    match level {
        Level::ERROR => tracing::error!(path, status, %error, "server function failed"),
        Level::WARN => tracing::warn!(path, status, %error, "server function failed"),
        Level::INFO => tracing::info!(path, status, %error, "server function refused"),
        _ => tracing::debug!(path, status, %error, "server function refused"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_faults_are_logged_at_error() {
        let level = |status: u16| log_level(StatusCode::from_u16(status).unwrap());
        assert_eq!(level(500), Level::ERROR);
        assert_eq!(level(502), Level::ERROR);
        assert_eq!(level(503), Level::WARN);
        assert_eq!(level(429), Level::INFO);
        for refusal in [400, 401, 403, 404, 413, 422] {
            assert_eq!(level(refusal), Level::DEBUG, "{refusal}");
        }
    }
}
