//! Query parameters of Metrc calls: names matched case-insensitively (as Metrc's ASP.NET binding
//! does), bad values answered with 400 and a message, never a panic.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::error::ApiError;

/// Metrc's page size ceiling ("a value that does not exceed 20").
pub const MAX_PAGE_SIZE: usize = 20;

/// A `lastModified` window: from, to (inclusive; `None`: open).
pub type Window = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The decoded query string, keys lower-cased.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

/// Which rows of a list to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub page: usize,
    /// `None`: paging disabled (Metrc's default): every row in one page.
    pub size: Option<usize>,
}

impl Paging {
    pub fn skip_take(self) -> (usize, usize) {
        match self.size {
            Some(size) => ((self.page - 1).saturating_mul(size), size),
            None => (0, usize::MAX),
        }
    }
}

/// The first value of `name` in a raw query string (used by the gate for logging).
pub fn raw_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

impl Params {
    pub fn parse(query: Option<&str>) -> Params {
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            map.entry(k.to_ascii_lowercase())
                .or_insert_with(|| v.trim().to_string());
        }
        Params(map)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A required parameter.
    pub fn require(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name)
            .ok_or_else(|| ApiError::bad_request(format!("No {name} was specified.")))
    }

    pub fn license(&self) -> Result<&str, ApiError> {
        self.require("licenseNumber")
    }

    fn number(&self, name: &str) -> Result<Option<usize>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    ApiError::bad_request(format!("The value '{v}' is not valid for {name}."))
                })
            })
            .transpose()
    }

    /// `pageNumber` (from 1) and `pageSize` (1 to 20; over 20 is 400).
    pub fn paging(&self) -> Result<Paging, ApiError> {
        let page = self.number("pageNumber")?.unwrap_or(1);
        if page == 0 {
            return Err(ApiError::bad_request("pageNumber must be 1 or greater."));
        }
        let size = self.number("pageSize")?;
        match size {
            Some(s) if s == 0 || s > MAX_PAGE_SIZE => Err(ApiError::bad_request(format!(
                "pageSize must be between 1 and {MAX_PAGE_SIZE}."
            ))),
            _ => Ok(Paging { page, size }),
        }
    }

    fn timestamp(&self, name: &str) -> Result<Option<DateTime<Utc>>, ApiError> {
        let Some(v) = self.get(name) else {
            return Ok(None);
        };
        let parsed = DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&Utc))
            .or_else(|_| {
                NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
            });
        parsed.map(Some).map_err(|_| {
            ApiError::bad_request(format!(
                "The value '{v}' is not a valid {name} (expected ISO 8601, e.g. 2026-01-17T06:30:00Z; encode '+' as %2B)."
            ))
        })
    }

    /// The `lastModifiedStart`..`lastModifiedEnd` window. Start alone runs to now; end alone is 400;
    /// a window longer than `max` is 400 (Metrc v1's 24 h rule, uncertain in v2).
    pub fn window(&self, max: Option<Duration>, now: DateTime<Utc>) -> Result<Window, ApiError> {
        let start = self.timestamp("lastModifiedStart")?;
        let end = self.timestamp("lastModifiedEnd")?;
        let Some(start) = start else {
            return match end {
                Some(_) => Err(ApiError::bad_request(
                    "lastModifiedEnd requires lastModifiedStart.",
                )),
                None => Ok((None, None)),
            };
        };
        let effective_end = end.unwrap_or(now);
        if effective_end < start {
            return Err(ApiError::bad_request(
                "lastModifiedEnd must not be before lastModifiedStart.",
            ));
        }
        if let Some(max) = max {
            let span = (effective_end - start).to_std().unwrap_or_default();
            if span > max {
                return Err(ApiError::bad_request(format!(
                    "The time span between lastModifiedStart and lastModifiedEnd must not exceed {} hours.",
                    max.as_secs_f64() / 3600.0
                )));
            }
        }
        Ok((Some(start), end))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Params, ApiError> {
        Ok(Params::parse(parts.uri.query()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Params {
        Params::parse(Some(q))
    }

    #[test]
    fn paging_values() {
        assert_eq!(
            p("pagesize=5&PageNumber=3").paging().ok(),
            Some(Paging {
                page: 3,
                size: Some(5)
            })
        );
        assert_eq!(
            p("").paging().ok(),
            Some(Paging {
                page: 1,
                size: None
            })
        );
        for bad in [
            "pageSize=21",
            "pageSize=0",
            "pageSize=x",
            "pageNumber=0",
            "pageNumber=-1",
        ] {
            assert!(
                matches!(p(bad).paging(), Err(ApiError::BadRequest(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn windows() {
        let now = Utc::now();
        let day = Some(Duration::from_hours(24));
        let ok =
            p("lastModifiedStart=2026-01-01T00:00:00Z&lastModifiedEnd=2026-01-01T23:00:00%2B00:00");
        assert!(ok.window(day, now).is_ok());
        let long = p("lastModifiedStart=2026-01-01T00:00:00Z&lastModifiedEnd=2026-01-03T00:00:00Z");
        assert!(long.window(day, now).is_err());
        assert!(long.window(None, now).is_ok());
        // An unencoded '+' arrives as a space: 400, as at Metrc.
        assert!(
            p("lastModifiedStart=2026-01-01T00:00:00+00:00")
                .window(None, now)
                .is_err()
        );
        assert!(
            p("lastModifiedEnd=2026-01-01T00:00:00Z")
                .window(None, now)
                .is_err()
        );
        assert!(
            p("lastModifiedStart=2026-01-02T00:00:00Z&lastModifiedEnd=2026-01-01T00:00:00Z")
                .window(None, now)
                .is_err()
        );
    }
}
