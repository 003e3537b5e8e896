//! Login throttling per account, per client address and overall (governor's GCRA limiters).
//! Every attempt counts, so a burst of guesses is slowed whichever account it aims at; an
//! attempt is admitted before its password is hashed, so argon2 runs no faster than the overall
//! rate however many addresses the attempts come from. An IPv6 client is counted by its prefix
//! (a /64 by default: one household or host usually has a whole /64), an IPv4 one by address.

use super::config::ThrottleLimits;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::Duration;

pub struct LoginThrottle {
    per_account: DefaultKeyedRateLimiter<String>,
    per_ip: DefaultKeyedRateLimiter<IpAddr>,
    overall: DefaultDirectRateLimiter,
    ipv6_prefix: u8,
    clock: DefaultClock,
}

/// The address an attempt is counted under: an IPv4 address (also when written as an
/// IPv4-mapped IPv6 one) as it is, an IPv6 address cut to its first `prefix` bits.
pub fn client_key(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let bits = u32::from(prefix.min(128));
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
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
            overall: RateLimiter::direct(quota(limits.overall_burst, limits.overall_period)),
            ipv6_prefix: limits.ipv6_prefix,
            clock: DefaultClock::default(),
        }
    }

    /// Records an attempt, to be made only when this admits it (before the password is
    /// hashed). `Err(wait)` when the address, the account or everyone together must wait first.
    pub fn attempt(&self, account: &str, ip: Option<IpAddr>) -> Result<(), Duration> {
        let now = self.clock.now();
        let wait = |not_until: governor::NotUntil<_>| not_until.wait_time_from(now);
        if let Some(ip) = ip {
            self.per_ip
                .check_key(&client_key(ip, self.ipv6_prefix))
                .map_err(wait)?;
        }
        self.per_account
            .check_key(&account.to_owned())
            .map_err(wait)?;
        self.overall.check().map_err(wait)
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
            overall_burst: 100,
            overall_period: Duration::from_secs(60),
            ipv6_prefix: 64,
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

    #[test]
    fn ipv6_clients_are_counted_by_prefix_and_ipv4_by_address() {
        let key = |ip: &str, prefix| client_key(ip.parse().unwrap(), prefix).to_string();
        assert_eq!(key("2001:db8:1:2:aaaa::1", 64), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2:aaaa::1", 48), "2001:db8:1::");
        assert_eq!(key("2001:db8:1:2:aaaa::1", 128), "2001:db8:1:2:aaaa::1");
        assert_eq!(key("2001:db8:1:2:aaaa::1", 0), "::");
        assert_eq!(key("10.1.2.3", 64), "10.1.2.3");
        assert_eq!(key("::ffff:10.1.2.3", 64), "10.1.2.3");
    }

    #[test]
    fn everyone_together_is_bounded_whatever_the_addresses_and_accounts() {
        let t = LoginThrottle::new(ThrottleLimits {
            overall_burst: 3,
            ..limits()
        });
        for i in 0..3 {
            let ip = format!("10.0.0.{i}").parse().unwrap();
            assert!(t.attempt(&format!("user{i}@x"), Some(ip)).is_ok());
        }
        assert!(
            t.attempt("fresh@x", Some("192.0.2.1".parse().unwrap()))
                .is_err()
        );
    }
}
