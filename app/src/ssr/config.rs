//! The server's configuration, already parsed and checked (the `server` crate reads it from the
//! environment and the command line).

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
    pub outbox: super::outbox::OutboxSettings,
    /// How fast sign-in attempts may come, per account, per address and overall
    /// (`TRACEKEEPER_SIGN_IN_*`; docs/decisions.md, "Rate limits and status codes").
    pub sign_in: super::throttle::ThrottleLimits,
    /// How many Metrc key validations a user may start (`TRACEKEEPER_KEY_VALIDATIONS_PER_MINUTE`).
    pub key_validations: super::validation_limit::ValidationLimits,
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
