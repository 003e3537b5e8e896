//! HTTP Basic auth as Metrc does it: user name = vendor key, password = user key.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::error::ApiError;

/// The keys of a call, as sent. Holds secrets: no `Debug`.
#[derive(Clone)]
pub struct Credentials {
    pub vendor_key: String,
    pub user_key: String,
}

/// Reads `Authorization: Basic base64(vendor:user)`; `None` when absent or malformed.
pub fn credentials(headers: &HeaderMap) -> Option<Credentials> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (vendor, user) = text.split_once(':')?;
    (!vendor.is_empty() && !user.is_empty()).then(|| Credentials {
        vendor_key: vendor.to_string(),
        user_key: user.to_string(),
    })
}

/// Who is calling, once both keys are valid. Handlers that take a `Caller` answer 401 to anyone
/// else; the gate (middleware) puts it in the request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub employee_id: u64,
}

/// The gate's verdict on a call's keys, stored in the request's extensions.
#[derive(Debug, Clone)]
pub struct Verdict(pub Option<Caller>);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Caller, ApiError> {
        match parts.extensions.get::<Verdict>() {
            Some(Verdict(Some(caller))) => Ok(caller.clone()),
            _ => Err(ApiError::Unauthenticated),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(AUTHORIZATION, v);
        }
        h
    }

    #[test]
    fn basic_credentials() {
        let ok = credentials(&headers(&format!(
            "Basic {}",
            STANDARD.encode("vend:user:x")
        )));
        assert_eq!(
            ok.map(|c| (c.vendor_key, c.user_key)),
            Some(("vend".into(), "user:x".into()))
        );
        for bad in [
            "",
            "Bearer abc",
            "Basic !!!",
            &format!("Basic {}", STANDARD.encode("nocolon")),
            &format!("Basic {}", STANDARD.encode(":user")),
        ] {
            assert!(credentials(&headers(bad)).is_none(), "{bad}");
        }
    }
}
