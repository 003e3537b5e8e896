//! The writes submissions send. Never retried and not rate-limited (limits are on GETs:
//! docs/metrc.md §9).
//!
//! What each outcome means for "was it recorded?":
//! - `Ok(WriteAccepted)`: recorded (2xx). Even when the body cannot be read, the status decides.
//! - [`Error::Rejected`] (400): not recorded; docs/metrc.md §8: "Nothing in the call was
//!   recorded".
//! - [`Error::NoAccess`] (401/403), [`Error::UnexpectedStatus`] (404, 413, ...): not recorded.
//! - [`Error::RateLimited`] (429) and [`Error::Server`] (5xx but 502 and 504): **our judgement**:
//!   not recorded, so safe to send again later. Metrc answers 429 before doing any work, and a
//!   5xx from a write is, as integrators report it, a failure before the database commit. Metrc
//!   does not document this; if it ever proves wrong, a resend could duplicate a row.
//! - [`Error::Server`] with 502 or 504: a gateway in front of Metrc gave up waiting (or lost the
//!   answer); the write may have landed behind it, so it may have been recorded.
//! - [`Error::Transport`]: the connection could not be opened, so nothing was sent.
//! - [`Error::OutcomeUnknown`]: sent, but no status came back (timeout, dropped connection).
//!   Never retried: look in Metrc before resending. [`Error::write_not_recorded`] tells these
//!   apart (and says false for a 502 or 504 too).

use reqwest::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::client::Client;
use crate::error::Error;
use crate::types::tolerant::key_of;
use crate::types::{PackageAdjustment, PackageFinish, PackageLocationChange, PlantWaste};

/// Most rows sent in one write. docs/metrc.md §8: "Possibly at most 10 objects per write, 413
/// beyond (uncertain)", so the client refuses more rather than risk a partial guess.
pub const MAX_WRITE_ROWS: usize = 10;

/// A write Metrc accepted (and recorded).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WriteAccepted {
    /// `Ids` of a v2 POST answer, in request order; empty for PUTs, which answer with no body.
    pub ids: Vec<i64>,
    /// `Warnings` as Metrc sent them (usually `null`).
    pub warnings: Option<Value>,
}

impl WriteAccepted {
    fn from_body(body: Value) -> WriteAccepted {
        let Value::Object(mut obj) = body else {
            return WriteAccepted::default();
        };
        let mut take = |name: &str| {
            let key = key_of(&obj, name)?.to_owned();
            obj.remove(&key)
        };
        let ids = match take("Ids") {
            Some(Value::Array(ids)) => ids.iter().filter_map(Value::as_i64).collect(),
            _ => Vec::new(),
        };
        WriteAccepted {
            ids,
            warnings: take("Warnings").filter(|w| !w.is_null()),
        }
    }
}

impl Client {
    /// `POST /packages/v2/adjust`: at most [`MAX_WRITE_ROWS`] rows (else [`Error::TooManyRows`],
    /// nothing sent; no rows: nothing sent, `Ok` with no ids). Needs View Packages and Manage
    /// Packages Inventory. See the module documentation for what each error says about whether
    /// the write was recorded.
    pub async fn adjust_packages(
        &self,
        key: &SecretString,
        license: &str,
        rows: &[PackageAdjustment],
    ) -> Result<WriteAccepted, Error> {
        self.write(key, license, Method::POST, "/packages/v2/adjust", rows)
            .await
    }

    /// `PUT /packages/v2/finish`; as [`Client::adjust_packages`].
    pub async fn finish_packages(
        &self,
        key: &SecretString,
        license: &str,
        rows: &[PackageFinish],
    ) -> Result<WriteAccepted, Error> {
        self.write(key, license, Method::PUT, "/packages/v2/finish", rows)
            .await
    }

    /// `PUT /packages/v2/location`; as [`Client::adjust_packages`].
    pub async fn change_package_locations(
        &self,
        key: &SecretString,
        license: &str,
        rows: &[PackageLocationChange],
    ) -> Result<WriteAccepted, Error> {
        self.write(key, license, Method::PUT, "/packages/v2/location", rows)
            .await
    }

    /// `POST /plants/v2/waste` (needs Manage Plants Waste); as [`Client::adjust_packages`].
    pub async fn record_plant_waste(
        &self,
        key: &SecretString,
        license: &str,
        rows: &[PlantWaste],
    ) -> Result<WriteAccepted, Error> {
        self.write(key, license, Method::POST, "/plants/v2/waste", rows)
            .await
    }

    async fn write<R: Serialize>(
        &self,
        key: &SecretString,
        license: &str,
        method: Method,
        path: &str,
        rows: &[R],
    ) -> Result<WriteAccepted, Error> {
        if rows.len() > MAX_WRITE_ROWS {
            return Err(Error::TooManyRows {
                max: MAX_WRITE_ROWS,
                got: rows.len(),
            });
        }
        if rows.is_empty() {
            return Ok(WriteAccepted::default());
        }
        let body = self.send_write(key, license, method, path, rows).await?;
        Ok(WriteAccepted::from_body(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepted_bodies() {
        assert_eq!(
            WriteAccepted::from_body(json!({"Ids": [5, 6], "Warnings": null})),
            WriteAccepted {
                ids: vec![5, 6],
                warnings: None
            }
        );
        assert_eq!(
            WriteAccepted::from_body(json!({"ids": [7], "warnings": ["w"]})),
            WriteAccepted {
                ids: vec![7],
                warnings: Some(json!(["w"]))
            }
        );
        assert_eq!(
            WriteAccepted::from_body(Value::Null),
            WriteAccepted::default()
        );
        assert_eq!(
            WriteAccepted::from_body(json!("ok")),
            WriteAccepted::default()
        );
    }
}
