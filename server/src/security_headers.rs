//! Headers every response carries (docs/design.md, "Security model"): a Content-Security-Policy
//! (a page's own, with its nonce, else `app::ssr::csp::NOT_A_PAGE`), the app is never framed,
//! browsers do not guess content types, other sites learn no more than the origin a link came
//! from, nothing is cached unless it says so (pages and server functions hold a user's data and
//! must show the current state; the client's files say otherwise: `static_files`), and, when
//! Tracekeeper is served over HTTPS, browsers keep to HTTPS.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderName, REFERRER_POLICY, STRICT_TRANSPORT_SECURITY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::middleware::Next;
use axum::response::Response;

/// The session cookie's name: with secure cookies on, the `__Host-` prefix makes browsers refuse
/// it unless it is Secure, for this host only (no `Domain`) and for every path.
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-tracekeeper_session"
    } else {
        "tracekeeper_session"
    }
}

/// The headers for a response, `secure` when Tracekeeper is served over HTTPS
/// (`TRACEKEEPER_SECURE_COOKIES`). HSTS is sent only then: over plain HTTP it would be ignored,
/// and on a development machine it would pin `localhost` to HTTPS.
pub fn headers(secure: bool) -> Vec<(HeaderName, HeaderValue)> {
    let mut headers = vec![
        // A page sets its own, with its nonce (`app::ssr::csp`); this is for everything else.
        (
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(app::ssr::csp::NOT_A_PAGE),
        ),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (
            REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ),
    ];
    if secure {
        headers.push((
            STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    headers
}

/// Adds [`headers`] to every response that does not set them itself.
pub async fn add(State(secure): State<bool>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let present = response.headers_mut();
    for (name, value) in headers(secure) {
        present.entry(name).or_insert(value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hsts_and_the_host_prefix_only_over_https() {
        let names = |secure| -> Vec<HeaderName> {
            headers(secure).into_iter().map(|(name, _)| name).collect()
        };
        assert!(!names(false).contains(&STRICT_TRANSPORT_SECURITY));
        assert!(names(true).contains(&STRICT_TRANSPORT_SECURITY));
        assert_eq!(session_cookie_name(false), "tracekeeper_session");
        assert!(session_cookie_name(true).starts_with("__Host-"));
    }
}
