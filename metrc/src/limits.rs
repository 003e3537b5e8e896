//! Metrc's GET rate limits, enforced before every GET: per license (50/s, 10 at once) and per
//! vendor key (150/s, 30 at once). One [`Limiter`] is shared by every clone of a client and by
//! every client of the process built for the same host, vendor key and limits.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::config::Limits;

/// Calls are spaced evenly, without bursts, at this fraction of the nominal rate, so that no
/// one-second window at Metrc, however it counts, sees more than the limit even when requests
/// arrive a little bunched.
const RATE_MARGIN: f64 = 0.98;

/// Rate and concurrency limits for one vendor key at one host.
pub(crate) struct Limiter {
    vendor_rate: DefaultDirectRateLimiter,
    vendor_slots: Arc<Semaphore>,
    license_rate: DefaultKeyedRateLimiter<String>,
    license_slots: Mutex<HashMap<String, Arc<Semaphore>>>,
    per_license_concurrent: usize,
}

/// Held while a GET is in flight; dropping it frees the concurrency slots.
pub(crate) struct Permit {
    _license: Option<OwnedSemaphorePermit>,
    _vendor: OwnedSemaphorePermit,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct RegistryKey {
    origin: String,
    vendor_key_hash: u64,
    limits: Limits,
}

static REGISTRY: LazyLock<Mutex<HashMap<RegistryKey, Weak<Limiter>>>> =
    LazyLock::new(Default::default);

impl Limiter {
    /// The process-wide limiter for this host and vendor key (created on first use, dropped
    /// with the last client using it).
    pub(crate) fn shared(base_url: &Url, vendor_key: &SecretString, limits: Limits) -> Arc<Self> {
        let mut hasher = DefaultHasher::new();
        vendor_key.expose_secret().hash(&mut hasher);
        let key = RegistryKey {
            origin: base_url.origin().ascii_serialization() + base_url.path(),
            vendor_key_hash: hasher.finish(),
            limits,
        };
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        registry.retain(|_, weak| weak.strong_count() > 0);
        if let Some(existing) = registry.get(&key).and_then(Weak::upgrade) {
            return existing;
        }
        let limiter = Arc::new(Limiter::new(limits));
        registry.insert(key, Arc::downgrade(&limiter));
        limiter
    }

    pub(crate) fn new(limits: Limits) -> Self {
        Limiter {
            vendor_rate: RateLimiter::direct(paced(limits.per_vendor_rps)),
            vendor_slots: Arc::new(Semaphore::new(limits.per_vendor_concurrent as usize)),
            license_rate: RateLimiter::keyed(paced(limits.per_license_rps)),
            license_slots: Mutex::new(HashMap::new()),
            per_license_concurrent: limits.per_license_concurrent as usize,
        }
    }

    /// Waits until one more GET for `license` (or for no license, e.g. facilities) is allowed:
    /// a license slot, a vendor slot, then the license's and the vendor's rate.
    pub(crate) async fn acquire(&self, license: Option<&str>) -> Permit {
        let license_permit = match license {
            Some(license) => Some(self.acquire_license_slot(license).await),
            None => None,
        };
        let vendor_permit = acquire_owned(&self.vendor_slots).await;
        if let Some(license) = license {
            self.license_rate
                .until_key_ready(&license.to_string())
                .await;
        }
        self.vendor_rate.until_ready().await;
        Permit {
            _license: license_permit,
            _vendor: vendor_permit,
        }
    }

    async fn acquire_license_slot(&self, license: &str) -> OwnedSemaphorePermit {
        let slots = {
            let mut map = self
                .license_slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            map.entry(license.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_license_concurrent)))
                .clone()
        };
        acquire_owned(&slots).await
    }
}

/// The semaphores are never closed, so acquiring cannot fail; should that change, a fresh
/// one-slot semaphore keeps the caller going rather than panicking.
async fn acquire_owned(slots: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    match slots.clone().acquire_owned().await {
        Ok(permit) => permit,
        Err(_) => Arc::new(Semaphore::new(1))
            .try_acquire_owned()
            .unwrap_or_else(|_| unreachable!("a fresh semaphore has a permit")),
    }
}

/// `rps` calls per second, evenly spaced at [`RATE_MARGIN`] of it, with a burst of the calls
/// the margin leaves over in a second (`rps * (1 - RATE_MARGIN)`, at least one: 3 at 150/s, 1
/// at 50/s). A call that wakes late (the timer's millisecond, a busy core) can then be made up
/// for instead of lost for good, while any one second still sees at most
/// `burst + RATE_MARGIN * rps <= rps` calls.
fn paced(rps: u32) -> Quota {
    let rate = f64::from(rps.max(1)) * RATE_MARGIN;
    let period = Duration::from_secs_f64(1.0 / rate);
    // Between 0 and `rps`: a u32 without loss.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let spare = (f64::from(rps.max(1)) - rate).floor() as u32;
    let burst = NonZeroU32::new(spare).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    fn limits(rps: u32, conc: u32, vrps: u32, vconc: u32) -> Limits {
        Limits {
            per_license_rps: rps,
            per_license_concurrent: conc,
            per_vendor_rps: vrps,
            per_vendor_concurrent: vconc,
        }
    }

    #[tokio::test]
    async fn rate_is_paced_per_license() {
        let limiter = Limiter::new(limits(50, 10, 1000, 100));
        let start = Instant::now();
        for _ in 0..26 {
            drop(limiter.acquire(Some("A")).await);
        }
        // 25 intervals of ~20.4 ms: never faster than the limit.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_millis(490), "{elapsed:?}");
    }

    #[test]
    fn calls_that_woke_late_are_made_up_for_with_the_seconds_spare_calls() {
        // Metrc's 150/s paced at 147/s leaves 3 calls a second spare: after a pause, three go
        // at once; 50/s leaves none.
        let vendor = RateLimiter::direct(paced(150));
        assert!((0..3).all(|_| vendor.check().is_ok()));
        assert!(vendor.check().is_err());
        let license = RateLimiter::direct(paced(50));
        assert!(license.check().is_ok());
        assert!(license.check().is_err());
    }

    #[tokio::test]
    async fn no_second_sees_more_calls_than_the_vendor_limit() {
        let limiter = Limiter::new(limits(1000, 100, 150, 100));
        let start = Instant::now();
        for _ in 0..151 {
            drop(limiter.acquire(None).await);
        }
        // The 151st call comes at least a second after the first, spare calls included.
        assert!(
            start.elapsed() >= Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn licenses_do_not_share_a_rate_but_share_the_vendor_rate() {
        let limiter = Limiter::new(limits(10, 10, 1000, 100));
        let start = Instant::now();
        for license in ["A", "B", "C", "D", "E"] {
            drop(limiter.acquire(Some(license)).await);
        }
        assert!(
            start.elapsed() < Duration::from_millis(80),
            "{:?}",
            start.elapsed()
        );

        let limiter = Limiter::new(limits(1000, 10, 20, 100));
        let start = Instant::now();
        for license in ["A", "B", "C", "D", "E"] {
            drop(limiter.acquire(Some(license)).await);
        }
        assert!(
            start.elapsed() >= Duration::from_millis(190),
            "{:?}",
            start.elapsed()
        );
    }

    #[tokio::test]
    async fn concurrency_is_capped_per_license_and_per_vendor() {
        for (lim, license_count, cap) in [
            (limits(10_000, 3, 10_000, 100), 1, 3),
            (limits(10_000, 10, 10_000, 4), 3, 4),
        ] {
            let limiter = Arc::new(Limiter::new(lim));
            let current = Arc::new(AtomicUsize::new(0));
            let peak = Arc::new(AtomicUsize::new(0));
            let tasks: Vec<_> = (0..24)
                .map(|i| {
                    let (limiter, current, peak) = (limiter.clone(), current.clone(), peak.clone());
                    tokio::spawn(async move {
                        let license = format!("L{}", i % license_count);
                        let _permit = limiter.acquire(Some(&license)).await;
                        let now = current.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        current.fetch_sub(1, Ordering::SeqCst);
                    })
                })
                .collect();
            for t in tasks {
                t.await.unwrap();
            }
            assert_eq!(peak.load(Ordering::SeqCst), cap);
        }
    }

    #[test]
    fn shared_per_host_and_vendor_key() {
        let url = Url::parse("http://127.0.0.1:9/").unwrap();
        let other = Url::parse("http://127.0.0.1:10/").unwrap();
        let key = SecretString::from("v1");
        let a = Limiter::shared(&url, &key, Limits::default());
        let b = Limiter::shared(&url, &SecretString::from("v1"), Limits::default());
        let c = Limiter::shared(&other, &key, Limits::default());
        let d = Limiter::shared(&url, &SecretString::from("v2"), Limits::default());
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(!Arc::ptr_eq(&a, &d));
    }
}
