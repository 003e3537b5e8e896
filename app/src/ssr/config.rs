//! The server's configuration, already parsed and checked (the `server` crate reads it from the
//! environment and the command line), with every service's settings type. A leaf: it imports
//! nothing of the application's.

use chrono::NaiveDate;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// `sqlite://...` or `postgres://...`.
    pub database_url: String,
    /// Where the app listens.
    pub addr: SocketAddr,
    /// Where the SQLite file, the age identity and other local state live.
    pub data_dir: PathBuf,
    /// The first admin's email, used only when the database has no users.
    pub admin_email: String,
    /// The first admin's password; when absent a random one is generated and written to
    /// `<data dir>/first-admin-password.txt` (see `ssr::bootstrap`).
    pub admin_password: Option<SecretString>,
    /// Mark the session cookie `Secure` (set when served over HTTPS).
    pub secure_cookies: bool,
    /// The reverse proxies whose `X-Forwarded-For` is believed (`TRACEKEEPER_TRUSTED_PROXIES`);
    /// empty: none, the connection's address is the client's ([`client_addr`]).
    ///
    /// [`client_addr`]: super::client_addr
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The site's public origin, `scheme://host[:port]` (`TRACEKEEPER_PUBLIC_ORIGIN`): when set,
    /// a state-changing request's `Origin` must be exactly this; `None`: it must name the `Host`.
    pub public_origin: Option<String>,
    /// The key vault's identity text (`TRACEKEEPER_IDENTITY`); when set, no identity file is used.
    pub identity: Option<SecretString>,
    /// The key vault's identity file; `None` means `<data dir>/identity.txt`.
    pub identity_file: Option<PathBuf>,
    /// The secret for key fingerprints; `None` means the file beside the identity file.
    pub fingerprint_secret: Option<SecretString>,
    /// Warn about a facility key once it is this many days old (`TRACEKEEPER_KEY_WARN_DAYS`):
    /// Metrc keys are reported to lapse after about a year.
    pub key_warn_after_days: u32,
    /// How often the background job revalidates every facility key
    /// (`TRACEKEEPER_REVALIDATE_EVERY_SECS`).
    pub revalidate_every: Duration,
    /// When and how far back facilities sync with Metrc.
    pub sync: SyncSettings,
    /// How the outbox sends submissions (`TRACEKEEPER_REQUIRE_PERSONAL_KEY`,
    /// `TRACEKEEPER_OUTBOX_*`).
    pub outbox: OutboxSettings,
    /// How fast sign-in attempts may come, per account, per address and overall
    /// (`TRACEKEEPER_SIGN_IN_*`; docs/decisions.md, "Rate limits and status codes").
    pub sign_in: ThrottleLimits,
    /// How many Metrc key validations a user may start (`TRACEKEEPER_KEY_VALIDATIONS_PER_MINUTE`).
    pub key_validations: ValidationLimits,
    /// How long a server's hold on shared work lasts unless renewed (`TRACEKEEPER_LEASE_SECS`):
    /// a facility's outbox queue, its sync, a job that runs on one server at a time. A server
    /// renews its leases every third of this; after a crash, another server (or this one,
    /// restarted) takes the work over once it has passed (docs/design.md §11).
    pub lease: Duration,
}

/// The sync schedule (`TRACEKEEPER_SYNC_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncSettings {
    /// Sync on the schedule below; when off, only "Sync now" runs a sync.
    pub scheduled: bool,
    /// How often Packages and Transfers sync (`TRACEKEEPER_SYNC_FAST_EVERY_SECS`).
    pub fast_every: Duration,
    /// How often the other lists sync (`TRACEKEEPER_SYNC_SLOW_EVERY_SECS`).
    pub slow_every: Duration,
    /// Where a facility's first sync starts (`TRACEKEEPER_SYNC_HISTORY_START`, 00:00 UTC that
    /// day): early enough to cover the license's whole history, because Metrc filters even its
    /// active lists by `LastModified` (a package untouched for years is only in a window that
    /// reaches back to it). Default 2015-01-01, the first Metrc year.
    pub history_start: NaiveDate,
}

/// Default of [`SyncSettings::fast_every`], in seconds.
pub const DEFAULT_SYNC_FAST_EVERY_SECS: u64 = 600;
/// Default of [`SyncSettings::slow_every`], in seconds.
pub const DEFAULT_SYNC_SLOW_EVERY_SECS: u64 = 86_400;
/// Default of [`SyncSettings::history_start`], as the setting is written.
pub const DEFAULT_SYNC_HISTORY_START: &str = "2015-01-01";

/// [`DEFAULT_SYNC_HISTORY_START`] as a date.
pub fn default_history_start() -> NaiveDate {
    NaiveDate::from_ymd_opt(2015, 1, 1).unwrap_or_default()
}

impl Default for SyncSettings {
    fn default() -> Self {
        SyncSettings {
            scheduled: true,
            fast_every: Duration::from_secs(DEFAULT_SYNC_FAST_EVERY_SECS),
            slow_every: Duration::from_secs(DEFAULT_SYNC_SLOW_EVERY_SECS),
            history_start: default_history_start(),
        }
    }
}

/// Default of [`Config::key_warn_after_days`].
pub const DEFAULT_KEY_WARN_AFTER_DAYS: u32 = 330;
/// Default of [`Config::revalidate_every`], in seconds.
pub const DEFAULT_REVALIDATE_EVERY_SECS: u64 = 15 * 60;
/// Default of [`Config::lease`], in seconds.
pub const DEFAULT_LEASE_SECS: u64 = 30;

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    pub fn of_url(url: &str) -> Option<DbKind> {
        let scheme = url.split_once(':')?.0;
        match scheme {
            "sqlite" => Some(DbKind::Sqlite),
            "postgres" | "postgresql" => Some(DbKind::Postgres),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            DbKind::Sqlite => "sqlite",
            DbKind::Postgres => "postgres",
        }
    }
}

/// How the outbox behaves. Read from the configuration at start; tests and benchmarks may change
/// it at run time through `outbox::OutboxHandle::update`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxSettings {
    /// "Require a personal Metrc key to submit" (`TRACEKEEPER_REQUIRE_PERSONAL_KEY`): a user
    /// without a valid key of their own cannot submit at all, instead of falling back to the
    /// facility key.
    pub require_personal_key: bool,
    /// The longest the worker waits for Metrc's answer to a write
    /// (`TRACEKEEPER_OUTBOX_WRITE_TIMEOUT_SECS`); past it the outcome is `Unknown`.
    pub write_timeout: Duration,
    /// How long after an unanswered write was sent Metrc's data may say it was not recorded
    /// (`TRACEKEEPER_OUTBOX_RECONCILE_AFTER_SECS`): a call still inside Metrc could land until
    /// then. A finished or moved package says "recorded" at once.
    pub reconcile_after: Duration,
    /// How much earlier than the send Metrc's `LastModified` must be for the package to prove an
    /// unanswered write did not land (`TRACEKEEPER_OUTBOX_CLOCK_MARGIN_SECS`): Metrc's clock and
    /// ours may disagree by that much.
    pub clock_margin: Duration,
    /// First backoff after a 429 or 5xx, doubled per attempt, of which a random half to all is
    /// waited (jitter); a `Retry-After` wins (waited in full, plus up to a tenth).
    pub backoff_base: Duration,
    /// Longest backoff, `Retry-After` included.
    pub backoff_max: Duration,
    /// Tries before a submission Metrc keeps failing becomes `Failed` (an admin may Retry it).
    pub max_attempts: u32,
    /// How often the worker looks for due retries and unknown outcomes without being woken.
    pub poll_every: Duration,
    /// Facilities sent to at once (one call at a time per facility, to keep their order).
    pub concurrent_facilities: usize,
    /// Nothing is sent while set (benchmarks queue everything first).
    pub paused: bool,
}

/// Default of [`OutboxSettings::write_timeout`], in seconds.
pub const DEFAULT_WRITE_TIMEOUT_SECS: u64 = 30;
/// Default of [`OutboxSettings::reconcile_after`], in seconds.
pub const DEFAULT_RECONCILE_AFTER_SECS: u64 = 120;
/// Default of [`OutboxSettings::clock_margin`], in seconds.
pub const DEFAULT_CLOCK_MARGIN_SECS: u64 = 60;

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings {
            require_personal_key: false,
            write_timeout: Duration::from_secs(DEFAULT_WRITE_TIMEOUT_SECS),
            reconcile_after: Duration::from_secs(DEFAULT_RECONCILE_AFTER_SECS),
            clock_margin: Duration::from_secs(DEFAULT_CLOCK_MARGIN_SECS),
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            max_attempts: 12,
            poll_every: Duration::from_secs(1),
            concurrent_facilities: 8,
            paused: false,
        }
    }
}

/// How many attempts, and how fast they come back.
#[derive(Debug, Clone, Copy)]
pub struct ThrottleLimits {
    pub account_burst: u32,
    pub account_period: Duration,
    pub ip_burst: u32,
    pub ip_period: Duration,
    /// Attempts from everyone together (each one an argon2 hash): this many at once, then one
    /// every `overall_period` (`TRACEKEEPER_SIGN_IN_PER_SECOND`).
    pub overall_burst: u32,
    pub overall_period: Duration,
    /// The prefix length an IPv6 client is counted by (`TRACEKEEPER_SIGN_IN_IPV6_PREFIX`).
    pub ipv6_prefix: u8,
}

/// Default of the overall sign-in rate, attempts per second.
pub const DEFAULT_SIGN_IN_PER_SECOND: u32 = 5;
/// Default of [`ThrottleLimits::ipv6_prefix`].
pub const DEFAULT_IPV6_PREFIX: u8 = 64;

impl ThrottleLimits {
    /// The overall limit as `per_second` attempts at once, then one every `1 / per_second` s.
    #[must_use]
    pub fn with_overall_per_second(self, per_second: u32) -> Self {
        let per_second = per_second.max(1);
        Self {
            overall_burst: per_second,
            overall_period: Duration::from_secs(1) / per_second,
            ..self
        }
    }
}

impl Default for ThrottleLimits {
    /// 5 attempts per account then one every 12 s; 20 per address (an IPv6 /64) then one every
    /// 3 s; 5 a second from everyone together.
    fn default() -> Self {
        Self {
            account_burst: 5,
            account_period: Duration::from_secs(12),
            ip_burst: 20,
            ip_period: Duration::from_secs(3),
            overall_burst: 0,
            overall_period: Duration::ZERO,
            ipv6_prefix: DEFAULT_IPV6_PREFIX,
        }
        .with_overall_per_second(DEFAULT_SIGN_IN_PER_SECOND)
    }
}

/// Default of [`ValidationLimits::per_minute`].
pub const DEFAULT_KEY_VALIDATIONS_PER_MINUTE: u32 = 6;

/// How many validations a user may start (`TRACEKEEPER_KEY_VALIDATIONS_PER_MINUTE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidationLimits {
    /// Validations a user may start in a burst; after it, one more every `60 / per_minute`
    /// seconds. At least 1.
    pub per_minute: u32,
}

impl Default for ValidationLimits {
    fn default() -> Self {
        Self {
            per_minute: DEFAULT_KEY_VALIDATIONS_PER_MINUTE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_history_start_is_the_first_metrc_year() {
        assert_eq!(
            DEFAULT_SYNC_HISTORY_START.parse::<NaiveDate>().ok(),
            Some(default_history_start())
        );
        assert_eq!(
            SyncSettings::default().history_start.to_string(),
            "2015-01-01"
        );
    }

    #[test]
    fn recognises_database_urls() {
        assert_eq!(
            DbKind::of_url("sqlite://data/x.db?mode=rwc"),
            Some(DbKind::Sqlite)
        );
        assert_eq!(DbKind::of_url("sqlite::memory:"), Some(DbKind::Sqlite));
        assert_eq!(DbKind::of_url("postgres://u@h/db"), Some(DbKind::Postgres));
        assert_eq!(
            DbKind::of_url("postgresql://u@h/db"),
            Some(DbKind::Postgres)
        );
        assert_eq!(DbKind::of_url("mysql://u@h/db"), None);
        assert_eq!(DbKind::of_url("data/x.db"), None);
    }
}
