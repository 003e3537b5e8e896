//! Login throttling per account, per client address and overall. Every attempt counts, so a
//! burst of guesses is slowed whichever account it aims at; an attempt is admitted before its
//! password is hashed. An IPv6 client is counted by its prefix (a /64 by default: one household
//! or host usually has a whole /64), an IPv4 one by address.
//!
//! The per-account and per-address allowances live in the database (`login_throttle`), so they
//! hold across every server of a deployment (docs/design.md §11): each attempt locks its two
//! rows, decides with [`admit`] (GCRA, a pure function) and writes them back, in one
//! transaction. The overall limit bounds how fast *this* server runs argon2, so it stays in
//! memory, per server (governor).

use super::config::ThrottleLimits;
use super::db::begin_write;
use super::queries::login_throttle;
use chrono::{DateTime, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use sea_orm::{DatabaseConnection, DbErr};
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::time::Duration;

pub struct LoginThrottle {
    limits: ThrottleLimits,
    overall: DefaultDirectRateLimiter,
    clock: DefaultClock,
}

/// Why an attempt is not admitted.
#[derive(Debug, thiserror::Error)]
pub enum ThrottleError {
    /// The account, the address or everyone together must wait this long first.
    #[error("too many sign-in attempts: wait {0:?}")]
    Wait(Duration),
    #[error("database: {0}")]
    Db(#[from] DbErr),
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

/// GCRA, the generic cell rate algorithm: an allowance of `burst` attempts (at least 1), one more
/// every `period`. `full_at` is when the key's allowance is full again (at or before `now`: full
/// now). Admitted: the new `full_at`; refused: how long until one attempt is allowed.
pub fn admit(
    full_at: DateTime<Utc>,
    now: DateTime<Utc>,
    burst: u32,
    period: Duration,
) -> Result<DateTime<Utc>, Duration> {
    let period = chrono::Duration::from_std(period).unwrap_or(chrono::Duration::MAX);
    let tolerance = period * i32::try_from(burst.max(1) - 1).unwrap_or(i32::MAX);
    let base = full_at.max(now);
    let owed = base - now;
    if owed > tolerance {
        Err((owed - tolerance).to_std().unwrap_or_default())
    } else {
        Ok(base + period)
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
            overall: RateLimiter::direct(quota(limits.overall_burst, limits.overall_period)),
            limits,
            clock: DefaultClock::default(),
        }
    }

    /// Records an attempt, to be made only when this admits it (before the password is
    /// hashed).
    ///
    /// # Errors
    /// [`ThrottleError::Wait`] when the address, the account or everyone together must wait
    /// first (nothing is recorded for a refused attempt); the database's.
    pub async fn attempt(
        &self,
        db: &DatabaseConnection,
        account: &str,
        ip: Option<IpAddr>,
    ) -> Result<(), ThrottleError> {
        let mut keys = vec![(
            format!("account:{account}"),
            self.limits.account_burst,
            self.limits.account_period,
        )];
        if let Some(ip) = ip {
            keys.push((
                format!("address:{}", client_key(ip, self.limits.ipv6_prefix)),
                self.limits.ip_burst,
                self.limits.ip_period,
            ));
        }
        let names: Vec<String> = keys.iter().map(|(key, _, _)| key.clone()).collect();
        let txn = begin_write(db).await?;
        let now = Utc::now();
        let stored = login_throttle::lock(&txn, &names, now).await?;
        let mut admitted = Vec::with_capacity(keys.len());
        for (key, burst, period) in &keys {
            let full_at = stored.get(key).copied().unwrap_or(now);
            match admit(full_at, now, *burst, *period) {
                Ok(next) => admitted.push((key, next)),
                Err(wait) => {
                    txn.rollback().await?;
                    return Err(ThrottleError::Wait(wait));
                }
            }
        }
        let clock_now = self.clock.now();
        if let Err(not_until) = self.overall.check() {
            txn.rollback().await?;
            return Err(ThrottleError::Wait(not_until.wait_time_from(clock_now)));
        }
        for (key, next) in admitted {
            login_throttle::set(&txn, key, next).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Forgets the accounts and addresses whose allowance is full again; returns how many.
    ///
    /// # Errors
    /// The database's.
    pub async fn prune(&self, db: &DatabaseConnection) -> Result<u64, DbErr> {
        login_throttle::delete_recovered(db, Utc::now()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;

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

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn gcra_admits_the_burst_then_one_per_period() {
        let period = Duration::from_secs(60);
        let mut full_at = at(0);
        for _ in 0..3 {
            full_at = admit(full_at, at(0), 3, period).expect("within the burst");
        }
        assert_eq!(full_at, at(180));
        assert_eq!(admit(full_at, at(0), 3, period), Err(period));
        assert_eq!(
            admit(full_at, at(45), 3, period),
            Err(Duration::from_secs(15))
        );
        assert_eq!(admit(full_at, at(60), 3, period), Ok(at(240)));
        assert_eq!(
            admit(at(0), at(1000), 3, period),
            Ok(at(1060)),
            "a long-idle key is full: the past does not count"
        );
        assert_eq!(
            admit(at(0), at(0), 0, period),
            Ok(at(60)),
            "a burst of 0 is 1"
        );
    }

    #[tokio::test]
    async fn an_account_is_throttled_after_its_burst_and_others_are_not() {
        let db = test_db::fresh().await;
        let t = LoginThrottle::new(limits());
        for _ in 0..3 {
            assert!(t.attempt(&db, "a@x", None).await.is_ok());
        }
        let Err(ThrottleError::Wait(wait)) = t.attempt(&db, "a@x", None).await else {
            panic!("the fourth attempt is refused");
        };
        assert!(wait > Duration::from_secs(30));
        assert!(t.attempt(&db, "b@x", None).await.is_ok());
    }

    #[tokio::test]
    async fn the_allowance_is_in_the_database_not_in_one_server() {
        let db = test_db::fresh().await;
        let (one, two) = (LoginThrottle::new(limits()), LoginThrottle::new(limits()));
        for _ in 0..2 {
            assert!(one.attempt(&db, "a@x", None).await.is_ok());
        }
        assert!(two.attempt(&db, "a@x", None).await.is_ok());
        assert!(
            matches!(
                two.attempt(&db, "a@x", None).await,
                Err(ThrottleError::Wait(_))
            ),
            "a second server sees the first one's attempts"
        );
        assert_eq!(one.prune(&db).await.unwrap(), 0, "nothing recovered yet");
    }

    #[tokio::test]
    async fn an_address_is_throttled_across_accounts() {
        let db = test_db::fresh().await;
        let t = LoginThrottle::new(limits());
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        for i in 0..5 {
            assert!(
                t.attempt(&db, &format!("user{i}@x"), Some(ip))
                    .await
                    .is_ok()
            );
        }
        assert!(t.attempt(&db, "fresh@x", Some(ip)).await.is_err());
        assert!(
            t.attempt(&db, "fresh@x", Some("10.0.0.10".parse().unwrap()))
                .await
                .is_ok(),
            "the refused attempt did not count against the account"
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

    #[tokio::test]
    async fn everyone_together_is_bounded_whatever_the_addresses_and_accounts() {
        let db = test_db::fresh().await;
        let t = LoginThrottle::new(ThrottleLimits {
            overall_burst: 3,
            ..limits()
        });
        for i in 0..3 {
            let ip = format!("10.0.0.{i}").parse().unwrap();
            assert!(
                t.attempt(&db, &format!("user{i}@x"), Some(ip))
                    .await
                    .is_ok()
            );
        }
        assert!(
            t.attempt(&db, "fresh@x", Some("192.0.2.1".parse().unwrap()))
                .await
                .is_err()
        );
    }
}
