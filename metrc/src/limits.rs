//! Metrc's GET rate limits, enforced before every GET: per license (50/s, 10 at once) and per
//! vendor key (150/s, 30 at once; docs/metrc.md §9). One [`Limiter`] is shared by every clone of
//! a client and by every client of the process built for the same host, vendor key and limits.
//!
//! Several servers spending one vendor key's budget each take a share of it
//! ([`Limiter::set_share`]: `1/n` of every limit) and may hold their GETs at a gate
//! ([`Limiter::set_open`]) while they may not spend any; the servers agree on `n` through their
//! database (docs/design.md §11).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use url::Url;

use crate::config::Limits;

/// Calls are spaced evenly, without bursts, at this fraction of the nominal rate, so that no
/// one-second window at Metrc, however it counts, sees more than the limit even when requests
/// arrive a little bunched.
const RATE_MARGIN: f64 = 0.98;

/// Rate and concurrency limits for one vendor key at one host: the share of them in force.
pub(crate) struct Limiter {
    /// The whole limits (a share of 1).
    limits: Limits,
    /// The rate limiters of the share in force, replaced whole when it changes.
    rates: Mutex<Arc<Rates>>,
    vendor_slots: Arc<Semaphore>,
    license_slots: Mutex<LicenseSlots>,
    /// The share in force: the `n` of `1/n` (1 = the whole limits).
    share: AtomicU32,
    /// Held while the share changes: one change at a time.
    resizing: Arc<tokio::sync::Mutex<()>>,
    /// Whether GETs may start (the gate; open unless closed by [`Limiter::set_open`]).
    open: watch::Sender<bool>,
    /// GETs holding their slots now ([`Limiter::in_flight`]).
    in_flight: Arc<AtomicU32>,
}

/// The rate limiters for one share of the limits.
struct Rates {
    vendor: DefaultDirectRateLimiter,
    license: DefaultKeyedRateLimiter<String>,
}

/// The per-license concurrency slots, and how many each license has at the share in force (a
/// license's semaphore is made on its first GET).
struct LicenseSlots {
    size: u32,
    by_license: HashMap<String, Arc<Semaphore>>,
}

/// Held while a GET is in flight; dropping it frees the concurrency slots.
pub(crate) struct Permit {
    _license: Option<OwnedSemaphorePermit>,
    _vendor: OwnedSemaphorePermit,
    in_flight: Arc<AtomicU32>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
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

    /// The whole `limits` (a share of 1), gate open.
    pub(crate) fn new(limits: Limits) -> Self {
        Limiter {
            limits,
            rates: Mutex::new(Arc::new(Rates::new(limits))),
            vendor_slots: Arc::new(Semaphore::new(limits.per_vendor_concurrent as usize)),
            license_slots: Mutex::new(LicenseSlots {
                size: limits.per_license_concurrent,
                by_license: HashMap::new(),
            }),
            share: AtomicU32::new(1),
            resizing: Arc::default(),
            open: watch::Sender::new(true),
            in_flight: Arc::default(),
        }
    }

    /// How many GETs hold their slots now (taken, not yet given back).
    pub(crate) fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// Waits until one more GET for `license` (or for no license, e.g. facilities) is allowed:
    /// the gate open, a license slot, a vendor slot, then the license's and the vendor's rate of
    /// the share in force. A caller the gate closed on meanwhile gives its slots back and waits
    /// at the gate again.
    pub(crate) async fn acquire(&self, license: Option<&str>) -> Permit {
        loop {
            self.until_open().await;
            let license_permit = match license {
                Some(license) => Some(self.acquire_license_slot(license).await),
                None => None,
            };
            let vendor_permit = acquire_owned(&self.vendor_slots).await;
            self.until_rates_allow(license).await;
            if self.is_open() {
                self.in_flight.fetch_add(1, Ordering::Relaxed);
                return Permit {
                    _license: license_permit,
                    _vendor: vendor_permit,
                    in_flight: Arc::clone(&self.in_flight),
                };
            }
        }
    }

    /// Opens or closes the gate every GET passes before it takes its slots. Closing it holds
    /// the GETs not yet sent; those in flight go on.
    pub(crate) fn set_open(&self, open: bool) {
        self.open
            .send_if_modified(|now| std::mem::replace(now, open) != open);
    }

    /// Whether the gate is open.
    pub(crate) fn is_open(&self) -> bool {
        *self.open.borrow()
    }

    /// The share in force: each limit is divided by it (see [`share_of`]).
    pub(crate) fn share(&self) -> u32 {
        self.share.load(Ordering::SeqCst)
    }

    /// Takes `1/servers` of every limit ([`share_of`]); returns once that share holds. The rates
    /// change at once (a GET already waiting for the old rate waits for the new one as well);
    /// the concurrency slots grow at once, and shrink as the GETs in flight above the new share
    /// end (new GETs queue behind: the semaphores are fair). One change at a time; the change
    /// goes on to its end even if this future is dropped.
    pub(crate) async fn set_share(self: &Arc<Self>, servers: NonZeroU32) {
        let limiter = Arc::clone(self);
        let resizing = Arc::clone(&self.resizing);
        let change = tokio::spawn(async move {
            let _one_at_a_time = resizing.lock_owned().await;
            limiter.resize(servers).await;
        });
        if let Err(error) = change.await
            && error.is_panic()
        {
            std::panic::resume_unwind(error.into_panic());
        }
    }

    async fn resize(&self, servers: NonZeroU32) {
        let from = share_of(
            self.limits,
            NonZeroU32::new(self.share()).unwrap_or(NonZeroU32::MIN),
        );
        let to = share_of(self.limits, servers);
        *self.rates.lock().unwrap_or_else(PoisonError::into_inner) = Arc::new(Rates::new(to));
        let licenses: Vec<Arc<Semaphore>> = {
            let mut slots = self
                .license_slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            slots.size = to.per_license_concurrent;
            slots.by_license.values().cloned().collect()
        };
        let vendor = resize(
            &self.vendor_slots,
            from.per_vendor_concurrent,
            to.per_vendor_concurrent,
        );
        let licenses = futures::future::join_all(licenses.iter().map(|slots| {
            resize(
                slots,
                from.per_license_concurrent,
                to.per_license_concurrent,
            )
        }));
        futures::future::join(vendor, licenses).await;
        self.share.store(servers.get(), Ordering::SeqCst);
    }

    async fn until_open(&self) {
        let mut open = self.open.subscribe();
        // The sender lives in `self`: waiting cannot fail.
        let _ = open.wait_for(|open| *open).await;
    }

    /// Waits for the rates of the share in force, again if the share changed meanwhile.
    async fn until_rates_allow(&self, license: Option<&str>) {
        loop {
            let rates = self.rates();
            if let Some(license) = license {
                rates.license.until_key_ready(&license.to_string()).await;
            }
            rates.vendor.until_ready().await;
            if Arc::ptr_eq(&rates, &self.rates()) {
                return;
            }
        }
    }

    fn rates(&self) -> Arc<Rates> {
        Arc::clone(&self.rates.lock().unwrap_or_else(PoisonError::into_inner))
    }

    async fn acquire_license_slot(&self, license: &str) -> OwnedSemaphorePermit {
        let slots = {
            let mut slots = self
                .license_slots
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let size = slots.size as usize;
            slots
                .by_license
                .entry(license.to_string())
                .or_insert_with(|| Arc::new(Semaphore::new(size)))
                .clone()
        };
        acquire_owned(&slots).await
    }
}

impl Rates {
    fn new(limits: Limits) -> Rates {
        Rates {
            vendor: RateLimiter::direct(paced(limits.per_vendor_rps)),
            license: RateLimiter::keyed(paced(limits.per_license_rps)),
        }
    }
}

/// One server's share of `limits` when `servers` share them: each limit divided by `servers`,
/// rounded down, at least 1 (150/s shared by 3: 50/s; 10 at once shared by 3: 3).
pub(crate) fn share_of(limits: Limits, servers: NonZeroU32) -> Limits {
    let part = |limit: u32| (limit / servers.get()).max(1);
    Limits {
        per_license_rps: part(limits.per_license_rps),
        per_license_concurrent: part(limits.per_license_concurrent),
        per_vendor_rps: part(limits.per_vendor_rps),
        per_vendor_concurrent: part(limits.per_vendor_concurrent),
    }
}

/// Brings `slots` from `from` permits to `to`: adds the difference, or takes the surplus for
/// good once the callers holding it have given it back.
async fn resize(slots: &Semaphore, from: u32, to: u32) {
    if to > from {
        slots.add_permits((to - from) as usize);
    } else if to < from
        // The semaphores are never closed: acquiring cannot fail.
        && let Ok(surplus) = slots.acquire_many(from - to).await
    {
        surplus.forget();
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
        // at once; 50/s leaves none. A clock that stands still: a busy machine's pause between
        // two checks must not let a new call in (the spacing at 150/s is 6.8 ms).
        let clock = governor::clock::FakeRelativeClock::default();
        let vendor = RateLimiter::direct_with_clock(paced(150), clock.clone());
        assert!((0..3).all(|_| vendor.check().is_ok()));
        assert!(vendor.check().is_err());
        clock.advance(Duration::from_millis(7));
        assert!(vendor.check().is_ok(), "one call each 6.8 ms");
        let license = RateLimiter::direct_with_clock(paced(50), clock);
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
        // Sharing one license's 10/s, the five would take 400 ms at least.
        assert!(
            start.elapsed() < Duration::from_millis(300),
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

    fn servers(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    /// Whether `task` is still waiting a little later.
    async fn still_waiting<T>(task: &tokio::task::JoinHandle<T>) -> bool {
        tokio::time::sleep(Duration::from_millis(60)).await;
        !task.is_finished()
    }

    #[test]
    fn a_share_divides_every_limit_rounding_down_to_at_least_one() {
        assert_eq!(
            share_of(Limits::default(), servers(3)),
            limits(16, 3, 50, 10)
        );
        assert_eq!(share_of(Limits::default(), servers(1)), Limits::default());
        assert_eq!(share_of(Limits::default(), servers(64)), limits(1, 1, 2, 1));
    }

    #[tokio::test]
    async fn a_share_of_three_paces_150_a_second_at_50() {
        let limiter = Arc::new(Limiter::new(limits(10_000, 100, 150, 100)));
        limiter.set_share(servers(3)).await;
        assert_eq!(limiter.share(), 3);
        let start = Instant::now();
        for _ in 0..51 {
            drop(limiter.acquire(None).await);
        }
        // 50 intervals at 49/s (98 % of 50): 1.02 s; at the whole 150/s: 0.34 s. Never faster
        // than the share: that is what keeps servers together under Metrc's limit. How close to
        // it a run gets is the benchmarks' to show (docs/benchmarks.md, "Several servers"): a
        // busy machine made this take from 1.3 to 3.5 s.
        let elapsed = start.elapsed();
        assert!(elapsed >= Duration::from_secs(1), "{elapsed:?}");
    }

    #[tokio::test]
    async fn shrinking_waits_for_the_calls_in_flight_above_the_new_share() {
        let limiter = Arc::new(Limiter::new(limits(10_000, 100, 10_000, 6)));
        let mut in_flight = Vec::new();
        for _ in 0..6 {
            in_flight.push(limiter.acquire(None).await);
        }
        let shrink = tokio::spawn({
            let limiter = limiter.clone();
            async move { limiter.set_share(servers(2)).await }
        });
        assert!(still_waiting(&shrink).await, "6 in flight, 3 allowed");
        let late = tokio::spawn({
            let limiter = limiter.clone();
            async move { drop(limiter.acquire(None).await) }
        });
        in_flight.truncate(4);
        assert!(still_waiting(&shrink).await, "4 in flight, 3 allowed");
        assert!(still_waiting(&late).await, "queued behind the shrink");
        assert_eq!(limiter.share(), 1);

        in_flight.truncate(3);
        tokio::time::timeout(Duration::from_secs(1), shrink)
            .await
            .expect("the share holds once 3 are in flight")
            .unwrap();
        assert_eq!(limiter.share(), 2);
        assert!(still_waiting(&late).await, "3 in flight: the share is full");
        in_flight.truncate(2);
        tokio::time::timeout(Duration::from_secs(1), late)
            .await
            .expect("a slot of the share is free")
            .unwrap();
    }

    #[tokio::test]
    async fn every_license_takes_the_share_those_seen_before_and_those_after() {
        let limiter = Arc::new(Limiter::new(limits(10_000, 10, 10_000, 100)));
        drop(limiter.acquire(Some("SEEN")).await);
        limiter.set_share(servers(2)).await;
        for license in ["SEEN", "NEW"] {
            let mut in_flight = Vec::new();
            for _ in 0..5 {
                in_flight.push(limiter.acquire(Some(license)).await);
            }
            let sixth =
                tokio::time::timeout(Duration::from_millis(60), limiter.acquire(Some(license)));
            assert!(sixth.await.is_err(), "{license}: 5 at once at a share of 2");
        }
    }

    #[tokio::test]
    async fn growing_frees_the_callers_waiting_for_a_slot() {
        let limiter = Arc::new(Limiter::new(limits(10_000, 4, 10_000, 100)));
        limiter.set_share(servers(2)).await;
        let mut in_flight = Vec::new();
        for _ in 0..2 {
            in_flight.push(limiter.acquire(Some("A")).await);
        }
        let waiting = tokio::spawn({
            let limiter = limiter.clone();
            async move { drop(limiter.acquire(Some("A")).await) }
        });
        assert!(still_waiting(&waiting).await, "2 at once at a share of 2");
        tokio::time::timeout(Duration::from_secs(1), limiter.set_share(servers(1)))
            .await
            .expect("growing waits for nothing");
        assert_eq!(limiter.share(), 1);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .expect("a slot of the grown share")
            .unwrap();
    }

    #[tokio::test]
    async fn the_gate_holds_callers_until_it_opens() {
        let limiter = Arc::new(Limiter::new(limits(10_000, 100, 10_000, 1)));
        limiter.set_open(false);
        let at_the_gate = tokio::spawn({
            let limiter = limiter.clone();
            async move { drop(limiter.acquire(Some("A")).await) }
        });
        assert!(still_waiting(&at_the_gate).await, "the gate is closed");
        limiter.set_open(true);
        tokio::time::timeout(Duration::from_secs(1), at_the_gate)
            .await
            .expect("the gate opened")
            .unwrap();

        // A caller already past the gate, waiting for a slot, when it closes, waits again.
        let in_flight = limiter.acquire(None).await;
        let for_a_slot = tokio::spawn({
            let limiter = limiter.clone();
            async move { drop(limiter.acquire(None).await) }
        });
        assert!(still_waiting(&for_a_slot).await, "the one slot is taken");
        limiter.set_open(false);
        drop(in_flight);
        assert!(
            still_waiting(&for_a_slot).await,
            "the gate closed meanwhile"
        );
        limiter.set_open(true);
        tokio::time::timeout(Duration::from_secs(1), for_a_slot)
            .await
            .expect("the gate opened")
            .unwrap();
    }
}
