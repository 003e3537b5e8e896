//! Fault injection: the next N Metrc calls under a path prefix get a chosen status, and every
//! Metrc call can be slowed down.

use std::time::Duration;

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, Clone)]
struct Rule {
    status: StatusCode,
    remaining: u32,
    prefix: String,
}

/// The faults in force.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Rule>,
    latency: Duration,
}

impl Faults {
    /// The next `count` calls whose path starts with `prefix` (all calls when empty) get `status`.
    pub fn add(&mut self, status: StatusCode, count: u32, prefix: Option<String>) {
        let prefix = prefix.unwrap_or_default();
        self.rules.push(Rule {
            status,
            remaining: count,
            prefix,
        });
    }

    pub fn set_latency(&mut self, latency: Duration) {
        self.latency = latency;
    }

    pub fn latency(&self) -> Duration {
        self.latency
    }

    pub fn clear(&mut self) {
        *self = Faults::default();
    }

    /// The status this call must get, using up one of the first matching rule's calls.
    pub fn take(&mut self, path: &str) -> Option<StatusCode> {
        let at = self
            .rules
            .iter()
            .position(|r| r.remaining > 0 && path.starts_with(&r.prefix))?;
        let rule = &mut self.rules[at];
        rule.remaining -= 1;
        let status = rule.status;
        if rule.remaining == 0 {
            self.rules.remove(at);
        }
        Some(status)
    }
}

/// What Metrc's stack answers with this status: an HTML page from the front end for 502-504 (and
/// sometimes 500), `{"Message": ...}` otherwise.
pub fn response(status: StatusCode) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    if matches!(status.as_u16(), 502..=504) {
        let page = format!(
            "<html><head><title>{code} {reason}</title></head><body><center><h1>{code} {reason}</h1></center></body></html>",
            code = status.as_u16()
        );
        return (status, [(header::CONTENT_TYPE, "text/html")], page).into_response();
    }
    let message = match status.as_u16() {
        401 => "Invalid or no authentication provided.",
        403 => "The authenticated user does not have access to the requested resource.",
        429 => "The limit of API calls allowed has been exceeded. Please try again later.",
        500 => "An error has occurred.",
        _ => reason,
    };
    (status, Json(json!({ "Message": message }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_count_down_per_prefix() {
        let mut f = Faults::default();
        f.add(
            StatusCode::SERVICE_UNAVAILABLE,
            2,
            Some("/packages/".into()),
        );
        assert_eq!(f.take("/plants/v2/vegetative"), None);
        assert_eq!(
            f.take("/packages/v2/active"),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(
            f.take("/packages/v2/active"),
            Some(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(f.take("/packages/v2/active"), None);
        f.add(StatusCode::INTERNAL_SERVER_ERROR, 1, None);
        assert_eq!(f.take("/anything"), Some(StatusCode::INTERNAL_SERVER_ERROR));
        f.set_latency(Duration::from_millis(5));
        f.clear();
        assert_eq!(f.latency(), Duration::ZERO);
    }
}
