//! Client settings: where Metrc is, the vendor key, timeouts, window size, retries and rate limits.

use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use crate::error::Error;

/// Default of [`ClientConfig::window`]: 20 years, wider than any license's history.
pub const WIDEST_WINDOW: chrono::Duration = chrono::Duration::days(7_305);

/// Everything a [`crate::Client`] needs. [`ClientConfig::new`] gives the defaults below; change
/// fields directly afterwards.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Metrc host, e.g. `https://api-ca.metrc.com` ([`state_base_url`]) or a sandbox URL. A path
    /// prefix is kept (`https://host/prefix` + `/facilities/v2/`). `https`, or plain `http` only
    /// to this machine (`localhost`, a loopback address): [`ClientConfig::check`] refuses others.
    /// Redirects are never followed.
    pub base_url: Url,
    /// The integrator (vendor) key: sent as the Basic user name. Never printed.
    pub vendor_key: SecretString,
    /// Time limit for one HTTP request, connect to last byte. Default 30 s.
    pub timeout: Duration,
    /// The widest `lastModifiedStart/End` window the client asks for when walking lists. Default
    /// 20 years ([`WIDEST_WINDOW`]): one window covers a license's whole history where Metrc
    /// accepts it (New York's v2 production does). Where Metrc refuses a window with a 400 naming
    /// the range (v1's 24-hour limit, kept by some deployments), the client narrows it and
    /// remembers the narrower width for the base URL (`window::next_width`, docs/metrc.md §6).
    pub window: chrono::Duration,
    /// How far each window after the first reaches back into the previous one, so a record
    /// modified on a boundary is never missed. Default 1 minute.
    pub window_overlap: chrono::Duration,
    /// How many windows one [`crate::Client::walk`] starts at once (their first pages). Overlaps
    /// Metrc's latency when windows are many and small; the rate limiter still paces the calls.
    /// Default 5: enough to keep 50 calls a second going at 100 ms a call, half the 10 calls at
    /// once Metrc allows per license.
    pub windows_in_flight: usize,
    /// How many pages of one window [`crate::Client::walk`] fetches at once, once the window's
    /// first page has said how many there are: a wide window of many pages then reads as fast
    /// as many narrow ones. Default 5.
    pub pages_in_flight: usize,
    /// Retries of reads (writes are never retried).
    pub retry: RetryPolicy,
    /// Metrc's GET rate limits, which the client stays under by itself.
    pub limits: Limits,
}

/// Retry policy for reads: jittered exponential backoff on 429, 5xx, timeouts and transport
/// errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included (1 = no retry). Default 5.
    pub max_attempts: u32,
    /// First backoff after a 5xx, timeout or transport error; doubled after each attempt.
    /// Default 250 ms.
    pub base_delay: Duration,
    /// Largest backoff (also caps a `Retry-After` header). Default 10 s.
    pub max_delay: Duration,
    /// First backoff after a 429 without `Retry-After` (docs/metrc.md §9: "back off from 1 s");
    /// doubled after each attempt. Default 1 s.
    pub rate_limited_delay: Duration,
}

/// Metrc's GET limits (docs/metrc.md §9). Writes are not limited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// GETs per second for one license. Default 50.
    pub per_license_rps: u32,
    /// GETs in flight at once for one license. Default 10.
    pub per_license_concurrent: u32,
    /// GETs per second for the whole vendor key. Default 150.
    pub per_vendor_rps: u32,
    /// GETs in flight at once for the whole vendor key. Default 30.
    pub per_vendor_concurrent: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(10),
            rate_limited_delay: Duration::from_secs(1),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            per_license_rps: 50,
            per_license_concurrent: 10,
            per_vendor_rps: 150,
            per_vendor_concurrent: 30,
        }
    }
}

impl ClientConfig {
    /// The defaults documented on each field, for this host and vendor key.
    pub fn new(base_url: Url, vendor_key: SecretString) -> Self {
        ClientConfig {
            base_url,
            vendor_key,
            timeout: Duration::from_secs(30),
            window: WIDEST_WINDOW,
            window_overlap: chrono::Duration::minutes(1),
            windows_in_flight: 5,
            pages_in_flight: 5,
            retry: RetryPolicy::default(),
            limits: Limits::default(),
        }
    }

    /// Rejects settings the client cannot work with (zero limits, empty windows, ...).
    pub(crate) fn check(&self) -> Result<(), Error> {
        let l = &self.limits;
        if [
            l.per_license_rps,
            l.per_license_concurrent,
            l.per_vendor_rps,
            l.per_vendor_concurrent,
        ]
        .contains(&0)
        {
            return Err(Error::Config("every rate limit must be at least 1".into()));
        }
        if self.window <= chrono::Duration::zero() {
            return Err(Error::Config("window must be positive".into()));
        }
        if self.window_overlap < chrono::Duration::zero() || self.window_overlap >= self.window {
            return Err(Error::Config(
                "window_overlap must be at least 0 and shorter than window".into(),
            ));
        }
        if self.windows_in_flight == 0 || self.pages_in_flight == 0 {
            return Err(Error::Config(
                "windows_in_flight and pages_in_flight must be at least 1".into(),
            ));
        }
        if self.retry.max_attempts == 0 {
            return Err(Error::Config(
                "retry.max_attempts must be at least 1".into(),
            ));
        }
        if !transport_is_private(&self.base_url) {
            return Err(Error::Config(
                "base_url must be https (plain http only on this machine: localhost, 127.0.0.1, ::1)"
                    .into(),
            ));
        }
        Ok(())
    }
}

/// Whether keys sent to `url` stay private on the way: `https`, or plain `http` to this machine
/// (the embedded sandbox, a test server). Metrc's own hosts are all `https`.
fn transport_is_private(url: &Url) -> bool {
    match (url.scheme(), url.host()) {
        ("https", _) => true,
        ("http", Some(url::Host::Domain(name))) => name.eq_ignore_ascii_case("localhost"),
        ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
        _ => false,
    }
}

/// Metrc's production host for a state (`"ca"` → `https://api-ca.metrc.com`), or its sandbox
/// host (`https://sandbox-api-ca.metrc.com`). `None` unless `state` is two ASCII letters.
pub fn state_base_url(state: &str, sandbox: bool) -> Option<Url> {
    let st = state.trim().to_ascii_lowercase();
    if st.len() != 2 || !st.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let prefix = if sandbox { "sandbox-api" } else { "api" };
    Url::parse(&format!("https://{prefix}-{st}.metrc.com")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> ClientConfig {
        ClientConfig::new(
            Url::parse("http://127.0.0.1:1").unwrap(),
            SecretString::from("vendor-secret-123"),
        )
    }

    #[test]
    fn state_hosts() {
        assert_eq!(
            state_base_url("CA", false).unwrap().as_str(),
            "https://api-ca.metrc.com/"
        );
        assert_eq!(
            state_base_url("ny", true).unwrap().as_str(),
            "https://sandbox-api-ny.metrc.com/"
        );
        assert!(state_base_url("cal", false).is_none());
        assert!(state_base_url("c1", false).is_none());
    }

    #[test]
    fn defaults_are_metrcs_limits_and_pass_checks() {
        let c = cfg();
        assert_eq!(c.limits, Limits::default());
        assert_eq!(c.limits.per_license_rps, 50);
        assert_eq!(c.limits.per_vendor_concurrent, 30);
        assert_eq!(c.window, WIDEST_WINDOW);
        assert!(
            c.window > chrono::Duration::days(366 * 12),
            "2015 to now in one window"
        );
        assert!(c.check().is_ok());
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut c = cfg();
        c.limits.per_vendor_rps = 0;
        assert!(matches!(c.check(), Err(Error::Config(_))));
        let mut c = cfg();
        c.window_overlap = c.window;
        assert!(matches!(c.check(), Err(Error::Config(_))));
        let mut c = cfg();
        c.windows_in_flight = 0;
        assert!(matches!(c.check(), Err(Error::Config(_))));
        let mut c = cfg();
        c.pages_in_flight = 0;
        assert!(matches!(c.check(), Err(Error::Config(_))));
    }

    #[test]
    fn keys_travel_over_https_or_stay_on_this_machine() {
        let with = |url: &str| ClientConfig {
            base_url: Url::parse(url).unwrap(),
            ..cfg()
        };
        for ok in [
            "https://api-ca.metrc.com",
            "https://sandbox-api-co.metrc.com/",
            "http://127.0.0.1:8081/",
            "http://127.9.0.1/",
            "http://[::1]:9000/",
            "http://localhost:4000/",
        ] {
            assert!(with(ok).check().is_ok(), "{ok}");
        }
        for refused in [
            "http://api-ca.metrc.com",
            "http://10.0.0.5:8080/",
            "http://[2001:db8::1]/",
            "ftp://127.0.0.1/",
            "file:///tmp/metrc",
        ] {
            assert!(
                matches!(with(refused).check(), Err(Error::Config(_))),
                "{refused}"
            );
        }
    }

    #[test]
    fn debug_hides_vendor_key() {
        let text = format!("{:?}", cfg());
        assert!(!text.contains("vendor-secret-123"), "{text}");
    }
}
