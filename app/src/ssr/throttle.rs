//! Login throttling per account and per client address (governor's keyed GCRA limiters).
//! Every attempt counts, so a burst of guesses is slowed whichever account it aims at.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

pub struct LoginThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
}

/// How many attempts, and how fast they come back.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    pub account_burst: u32,
    pub account_period: Duration,
    pub ip_burst: u32,
    pub ip_period: Duration,
}

impl Default for ThrottleLimits {
    /// 5 attempts per account then one every 12 s; 20 per address then one every 3 s.
    fn default() -> Self {
        Self {
            account_burst: 5,
            account_period: Duration::from_secs(12),
            ip_burst: 20,
            ip_period: Duration::from_secs(3),
        }
    }
}

fn quota(burst: u32, period: Duration) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl LoginThrottle {
    pub fn new(limits: ThrottleLimits) -> Self {
        Self {
            per_account: RateLimiter::keyed(quota(limits.account_burst, limits.account_period)),
            per_ip: RateLimiter::keyed(quota(limits.ip_burst, limits.ip_period)),
            clock: DefaultClock::default(),
        }
    }

    /// Records an attempt. `Err(wait)` when the account or the address must wait first.
    pub fn attempt(&self, account: &str, ip: Option<IpAddr>) -> Result<(), Duration> {
        let now = self.clock.now();
        if let Some(ip) = ip {
            self.per_ip
                .check_key(&ip)
                .map_err(|not_until| not_until.wait_time_from(now))?;
        }
        self.per_account
            .check_key(&account.to_owned())
            .map_err(|not_until| not_until.wait_time_from(now))
    }

    /// Forgets keys whose limits have fully recovered, so memory stays bounded.
    pub fn prune(&self) {
        self.per_account.retain_recent();
        self.per_ip.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ThrottleLimits {
        ThrottleLimits {
            account_burst: 3,
            account_period: Duration::from_secs(60),
            ip_burst: 5,
            ip_period: Duration::from_secs(60),
        }
    }

    #[test]
    fn an_account_is_throttled_after_its_burst_and_others_are_not() {
        let t = LoginThrottle::new(limits());
        for _ in 0..3 {
            assert!(t.attempt("a@x", None).is_ok());
        }
        let wait = t.attempt("a@x", None).unwrap_err();
        assert!(wait > Duration::from_secs(30));
        assert!(t.attempt("b@x", None).is_ok());
    }

    #[test]
    fn an_address_is_throttled_across_accounts() {
        let t = LoginThrottle::new(limits());
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        for i in 0..5 {
            assert!(t.attempt(&format!("user{i}@x"), Some(ip)).is_ok());
        }
        assert!(t.attempt("fresh@x", Some(ip)).is_err());
        assert!(
            t.attempt("fresh@x", Some("10.0.0.10".parse().unwrap()))
                .is_ok()
        );
    }
}
