//! Metrc's GET rate limits: requests per second (governor) and calls in flight (tokio
//! semaphores), per license and per vendor key. Over either: 429.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use parking_lot::Mutex;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::config::RateLimits;
use super::error::ApiError;

/// Concurrency slots per key.
#[derive(Debug)]
struct Slots {
    size: usize,
    by_key: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Slots {
    fn new(size: u32) -> Slots {
        Slots {
            size: size.max(1) as usize,
            by_key: Mutex::new(HashMap::new()),
        }
    }

    fn try_take(&self, key: &str) -> Result<OwnedSemaphorePermit, ApiError> {
        let semaphore = {
            let mut map = self.by_key.lock();
            map.entry(key.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.size)))
                .clone()
        };
        semaphore
            .try_acquire_owned()
            .map_err(|_| ApiError::RateLimited)
    }
}

fn rate(per_second: u32) -> DefaultKeyedRateLimiter<String> {
    RateLimiter::keyed(Quota::per_second(
        NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN),
    ))
}

/// The limiters. Keys are only licenses that exist and vendor keys that are registered, so their
/// number stays bounded.
pub struct Limits {
    license_rate: DefaultKeyedRateLimiter<String>,
    vendor_rate: DefaultKeyedRateLimiter<String>,
    license_slots: Slots,
    vendor_slots: Slots,
}

/// Held while a call runs: its concurrency slots.
pub struct Admission {
    _permits: Vec<OwnedSemaphorePermit>,
}

impl Limits {
    pub fn new(cfg: RateLimits) -> Limits {
        Limits {
            license_rate: rate(cfg.per_license_per_second),
            vendor_rate: rate(cfg.per_vendor_per_second),
            license_slots: Slots::new(cfg.per_license_concurrent),
            vendor_slots: Slots::new(cfg.per_vendor_concurrent),
        }
    }

    /// Admits a GET or answers 429.
    pub fn admit(&self, vendor: &str, license: Option<&str>) -> Result<Admission, ApiError> {
        let mut permits = vec![self.vendor_slots.try_take(vendor)?];
        if let Some(license) = license {
            permits.push(self.license_slots.try_take(license)?);
        }
        self.vendor_rate
            .check_key(&vendor.to_string())
            .map_err(|_| ApiError::RateLimited)?;
        if let Some(license) = license {
            self.license_rate
                .check_key(&license.to_string())
                .map_err(|_| ApiError::RateLimited)?;
        }
        Ok(Admission { _permits: permits })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_concurrency_limits_answer_429() {
        let limits = Limits::new(RateLimits {
            per_license_per_second: 3,
            per_license_concurrent: 2,
            per_vendor_per_second: 100,
            per_vendor_concurrent: 100,
        });
        let first = limits.admit("v", Some("L"));
        let second = limits.admit("v", Some("L"));
        assert!(first.is_ok() && second.is_ok());
        assert!(
            matches!(limits.admit("v", Some("L")), Err(ApiError::RateLimited)),
            "2 in flight"
        );
        drop(first);
        assert!(limits.admit("v", Some("L")).is_ok(), "a slot is free again");
        assert!(
            matches!(limits.admit("v", Some("L")), Err(ApiError::RateLimited)),
            "4th in a second"
        );
        assert!(
            limits.admit("v", Some("M")).is_ok(),
            "other license unaffected"
        );
    }
}
