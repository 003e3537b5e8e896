//! The command line. Every setting is also an environment variable (the usual way to set it);
//! `tracekeeper --help` lists them with their defaults.

use crate::error::StartError;
use app::ssr::config::{Config, DbKind};
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use std::path::PathBuf;
use url::Url;

#[derive(Debug, Parser)]
#[command(
    name = "tracekeeper",
    version,
    about = "Tracekeeper: keeps your Metrc connection healthy and every submission attributed"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub metrc: MetrcArgs,
}

/// Which Metrc to talk to (`METRC_*`, `TRACEKEEPER_SANDBOX_*`); `metrc_plan` decides from it
/// and `embedded_metrc` acts on the decision (docs/design.md §12).
#[derive(Debug, Args)]
pub struct MetrcArgs {
    /// Base URL of the one state's Metrc, e.g. <https://api-ca.metrc.com>, for a deployment in one
    /// state (see `METRC_STATES` for several). Unset with `METRC_STATES` unset: the embedded
    /// Metrc sandbox.
    #[arg(long, env = "METRC_BASE_URL", global = true)]
    pub metrc_base_url: Option<Url>,
    /// Tracekeeper's vendor (integrator) API key. Required with `METRC_BASE_URL`; with the
    /// embedded sandbox a random one is made up per start when unset.
    #[arg(
        long,
        env = "METRC_VENDOR_KEY",
        global = true,
        hide_env_values = true,
        value_parser = secret
    )]
    pub metrc_vendor_key: Option<SecretString>,
    /// The states this deployment serves, e.g. `CA,CO,MI` (Metrc is one system per state). Each
    /// state `XX` needs `METRC_XX_VENDOR_KEY` (its vendor key) and may set `METRC_XX_BASE_URL`
    /// (default: Metrc's production host, `https://api-xx.metrc.com`). Not with `METRC_BASE_URL`.
    #[arg(long, env = "METRC_STATES", value_delimiter = ',', global = true)]
    pub metrc_states: Vec<String>,
    /// The states the embedded Metrc sandbox serves, each as its own Metrc on its own address
    /// (only with neither `METRC_BASE_URL` nor `METRC_STATES`).
    #[arg(
        long,
        env = "TRACEKEEPER_SANDBOX_STATES",
        value_delimiter = ',',
        default_value = "CA,CO",
        global = true
    )]
    pub sandbox_states: Vec<String>,
    /// Where the embedded Metrc sandbox listens (the first state's; the next states' on the ports after it). Port 0:
    /// a free port, which the log's "embedded Metrc sandbox running" line gives.
    #[arg(
        long,
        env = "TRACEKEEPER_SANDBOX_ADDR",
        default_value = "127.0.0.1:3100",
        global = true
    )]
    pub sandbox_addr: SocketAddr,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the app (the default when no command is given).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Create a user; the password is read from the first line of standard input.
    CreateUser(CreateUserArgs),
    /// Re-encrypt every stored Metrc key to a new identity and replace the identity. Stop the
    /// server first; or, with several identities in `TRACEKEEPER_IDENTITY` (the new one first, on
    /// every server), re-encrypt every key to the first one while the servers run.
    RotateIdentity,
    /// Print a new key identity and fingerprint secret, as the two settings every server of a
    /// deployment on PostgreSQL needs (keep them in your secret store; nothing is written).
    NewSecrets(NewSecretsArgs),
}

#[derive(Debug, Args)]
pub struct NewSecretsArgs {
    /// Write them to the identity file and the fingerprint secret file beside it instead
    /// (mode 0600; never over existing ones), for servers that share those files.
    #[arg(long)]
    pub write_files: bool,
}

#[derive(Debug, Args)]
pub struct CreateUserArgs {
    /// Their email, used to sign in.
    #[arg(long)]
    pub email: String,
    /// Their full name.
    #[arg(long)]
    pub name: String,
    /// Their role.
    #[arg(long, value_enum, default_value_t = RoleArg::Employee)]
    pub role: RoleArg,
    /// They may submit to Metrc.
    #[arg(long)]
    pub can_submit: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Admin,
    Employee,
}

impl From<RoleArg> for app::types::auth::Role {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Admin => Self::Admin,
            RoleArg::Employee => Self::Employee,
        }
    }
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Database URL: sqlite://<file>?mode=rwc or postgres://<user>:<password>@<host>/<db>.
    /// Default: SQLite at <data dir>/tracekeeper.db.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Address to listen on. Port 0: a free port, which the log's "listening on" line gives.
    #[arg(
        long,
        env = "TRACEKEEPER_ADDR",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub addr: SocketAddr,
    /// Directory for local state (SQLite database, key identity).
    #[arg(
        long,
        env = "TRACEKEEPER_DATA_DIR",
        default_value = "data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Email of the first admin, created on first start when there are no users.
    #[arg(
        long,
        env = "TRACEKEEPER_ADMIN_EMAIL",
        default_value = "admin@localhost",
        global = true
    )]
    pub admin_email: String,
    /// Password of the first admin; when unset, a random one is generated, written to
    /// first-admin-password.txt in the data directory (mode 0600), and must be changed at first
    /// sign-in.
    #[arg(
        long,
        env = "TRACEKEEPER_ADMIN_PASSWORD",
        global = true,
        hide_env_values = true,
        value_parser = secret
    )]
    pub admin_password: Option<SecretString>,
    /// Mark the session cookie Secure (set this when Tracekeeper is served over HTTPS).
    #[arg(long, env = "TRACEKEEPER_SECURE_COOKIES", global = true)]
    pub secure_cookies: bool,
    /// The reverse proxies in front of Tracekeeper, comma-separated addresses or CIDR ranges
    /// (`10.0.0.0/8,::1)`: only a connection from one of them has its X-Forwarded-For believed
    /// (for throttling and the audit log). Default: none.
    #[arg(
        long,
        env = "TRACEKEEPER_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = parse_proxy,
        global = true
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The address users open Tracekeeper at, <scheme://host>[:port] (<https://tk.example.com)>:
    /// state-changing requests must then come from exactly this origin. Default: the Origin must
    /// name the Host the request was sent to.
    #[arg(
        long,
        env = "TRACEKEEPER_PUBLIC_ORIGIN",
        value_parser = parse_origin,
        global = true
    )]
    pub public_origin: Option<String>,
    /// The age identity (AGE-SECRET-KEY-1...) that encrypts the stored Metrc keys, instead of
    /// the identity file.
    #[arg(
        long,
        env = "TRACEKEEPER_IDENTITY",
        global = true,
        hide_env_values = true,
        value_parser = secret
    )]
    pub identity: Option<SecretString>,
    /// The identity file, created with mode 0600 on first start.
    /// Default: <data dir>/identity.txt.
    #[arg(long, env = "TRACEKEEPER_IDENTITY_FILE", global = true)]
    pub identity_file: Option<PathBuf>,
    /// The secret (32 characters or more) behind key fingerprints, instead of the file
    /// <identity file>.hmac. It must not change once keys are stored.
    #[arg(
        long,
        env = "TRACEKEEPER_FINGERPRINT_SECRET",
        global = true,
        hide_env_values = true,
        value_parser = secret
    )]
    pub fingerprint_secret: Option<SecretString>,
    /// Warn about a facility key from this age on, in days (Metrc keys lapse after about a year).
    #[arg(
        long,
        env = "TRACEKEEPER_KEY_WARN_DAYS",
        default_value_t = app::ssr::config::DEFAULT_KEY_WARN_AFTER_DAYS,
        global = true
    )]
    pub key_warn_days: u32,
    /// Seconds a server's hold on shared work (a facility's outbox queue or sync, a job run by
    /// one server at a time) lasts unless renewed; after a crash, another server takes the work
    /// over once this has passed.
    #[arg(
        long,
        env = "TRACEKEEPER_LEASE_SECS",
        default_value_t = app::ssr::config::DEFAULT_LEASE_SECS,
        value_parser = clap::value_parser!(u64).range(1..=3600),
        global = true
    )]
    pub lease_secs: u64,
    /// Seconds between background revalidations of every facility key.
    #[arg(
        long,
        env = "TRACEKEEPER_REVALIDATE_EVERY_SECS",
        default_value_t = app::ssr::config::DEFAULT_REVALIDATE_EVERY_SECS,
        value_parser = clap::value_parser!(u64).range(10..),
        global = true
    )]
    pub revalidate_every_secs: u64,
    /// Sync every facility with Metrc on the schedule below (false: only "Sync now" syncs).
    #[arg(
        long,
        env = "TRACEKEEPER_SYNC_SCHEDULED",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        global = true
    )]
    pub sync_scheduled: bool,
    /// Seconds between syncs of Packages and Transfers.
    #[arg(
        long,
        env = "TRACEKEEPER_SYNC_FAST_EVERY_SECS",
        default_value_t = app::ssr::config::DEFAULT_SYNC_FAST_EVERY_SECS,
        value_parser = clap::value_parser!(u64).range(10..),
        global = true
    )]
    pub sync_fast_every_secs: u64,
    /// Seconds between syncs of the other lists (plants, batches, harvests, items, locations,
    /// strains).
    #[arg(
        long,
        env = "TRACEKEEPER_SYNC_SLOW_EVERY_SECS",
        default_value_t = app::ssr::config::DEFAULT_SYNC_SLOW_EVERY_SECS,
        value_parser = clap::value_parser!(u64).range(10..),
        global = true
    )]
    pub sync_slow_every_secs: u64,
    /// Where a facility's first sync starts (YYYY-MM-DD, 00:00 UTC): before the license's
    /// oldest record, since Metrc filters even active lists by when a record last changed.
    #[arg(
        long,
        env = "TRACEKEEPER_SYNC_HISTORY_START",
        default_value = app::ssr::config::DEFAULT_SYNC_HISTORY_START,
        global = true
    )]
    pub sync_history_start: chrono::NaiveDate,
    /// "Require a personal Metrc key to submit": a user without a valid key of their own cannot
    /// submit, instead of submitting with the facility key (not compliant).
    #[arg(
        long,
        env = "TRACEKEEPER_REQUIRE_PERSONAL_KEY",
        default_value_t = false,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new(),
        global = true
    )]
    pub require_personal_key: bool,
    /// Seconds the outbox waits for Metrc's answer to a write; past it the outcome is Unknown.
    #[arg(
        long,
        env = "TRACEKEEPER_OUTBOX_WRITE_TIMEOUT_SECS",
        default_value_t = app::ssr::config::DEFAULT_WRITE_TIMEOUT_SECS,
        value_parser = clap::value_parser!(u64).range(1..=600),
        global = true
    )]
    pub outbox_write_timeout_secs: u64,
    /// Seconds after an unanswered write before Metrc's data may show it was not recorded (it is
    /// then sent again).
    #[arg(
        long,
        env = "TRACEKEEPER_OUTBOX_RECONCILE_AFTER_SECS",
        default_value_t = app::ssr::config::DEFAULT_RECONCILE_AFTER_SECS,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true
    )]
    pub outbox_reconcile_after_secs: u64,
    /// Seconds by which Metrc's last-modified time of a package must precede an unanswered
    /// write for it to prove the write did not land (the clocks may disagree by that much).
    #[arg(
        long,
        env = "TRACEKEEPER_OUTBOX_CLOCK_MARGIN_SECS",
        default_value_t = app::ssr::config::DEFAULT_CLOCK_MARGIN_SECS,
        value_parser = clap::value_parser!(u64).range(0..=3600),
        global = true
    )]
    pub outbox_clock_margin_secs: u64,
    /// Sign-in attempts per second from everyone together (each costs an argon2 hash): this
    /// many at once, then one every 1/this seconds; past it every sign-in waits (429).
    #[arg(
        long,
        env = "TRACEKEEPER_SIGN_IN_PER_SECOND",
        default_value_t = app::ssr::config::DEFAULT_SIGN_IN_PER_SECOND,
        value_parser = clap::value_parser!(u32).range(1..=1000),
        global = true
    )]
    pub sign_in_per_second: u32,
    /// The prefix length by which IPv6 clients are throttled at sign-in (IPv4 ones by address).
    #[arg(
        long,
        env = "TRACEKEEPER_SIGN_IN_IPV6_PREFIX",
        default_value_t = app::ssr::config::DEFAULT_IPV6_PREFIX,
        value_parser = clap::value_parser!(u8).range(32..=128),
        global = true
    )]
    pub sign_in_ipv6_prefix: u8,
    /// Metrc key validations a user may start per minute (one at a time in any case).
    #[arg(
        long,
        env = "TRACEKEEPER_KEY_VALIDATIONS_PER_MINUTE",
        default_value_t = app::ssr::config::DEFAULT_KEY_VALIDATIONS_PER_MINUTE,
        value_parser = clap::value_parser!(u32).range(1..=600),
        global = true
    )]
    pub key_validations_per_minute: u32,
}

impl ConfigArgs {
    /// Checks the settings and fills in the defaults that depend on others.
    pub fn into_config(self) -> Result<Config, StartError> {
        let database_url = match self.database_url.filter(|u| !u.trim().is_empty()) {
            Some(url) => {
                if DbKind::of_url(&url).is_none() {
                    return Err(StartError::DatabaseUrl(crate::error::redact_url(&url)));
                }
                url
            }
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("tracekeeper.db").display()
            ),
        };
        Ok(Config {
            database_url,
            addr: self.addr,
            data_dir: self.data_dir,
            admin_email: self.admin_email,
            admin_password: self.admin_password,
            secure_cookies: self.secure_cookies,
            trusted_proxies: self.trusted_proxies,
            public_origin: self.public_origin,
            identity: non_empty(self.identity),
            identity_file: self.identity_file,
            fingerprint_secret: non_empty(self.fingerprint_secret),
            key_warn_after_days: self.key_warn_days,
            revalidate_every: std::time::Duration::from_secs(self.revalidate_every_secs),
            lease: std::time::Duration::from_secs(self.lease_secs),
            sync: app::ssr::config::SyncSettings {
                scheduled: self.sync_scheduled,
                fast_every: std::time::Duration::from_secs(self.sync_fast_every_secs),
                slow_every: std::time::Duration::from_secs(self.sync_slow_every_secs),
                history_start: self.sync_history_start,
            },
            outbox: app::ssr::config::OutboxSettings {
                require_personal_key: self.require_personal_key,
                write_timeout: std::time::Duration::from_secs(self.outbox_write_timeout_secs),
                reconcile_after: std::time::Duration::from_secs(self.outbox_reconcile_after_secs),
                clock_margin: std::time::Duration::from_secs(self.outbox_clock_margin_secs),
                ..Default::default()
            },
            sign_in: app::ssr::config::ThrottleLimits {
                ipv6_prefix: self.sign_in_ipv6_prefix,
                ..Default::default()
            }
            .with_overall_per_second(self.sign_in_per_second),
            key_validations: app::ssr::config::ValidationLimits {
                per_minute: self.key_validations_per_minute,
            },
        })
    }
}

/// A trusted proxy: a CIDR range, or one address (a range of one).
fn parse_proxy(value: &str) -> Result<ipnet::IpNet, String> {
    let value = value.trim();
    value
        .parse::<ipnet::IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{value:?} is not an address or a CIDR range such as 10.0.0.0/8"))
}

/// The public origin, as browsers write an `Origin`.
fn parse_origin(value: &str) -> Result<String, String> {
    app::ssr::client_addr::parse_public_origin(value).ok_or_else(|| {
        format!(
            "{value:?} is not an origin: write scheme://host[:port], such as https://tk.example.com"
        )
    })
}

/// An empty variable counts as unset.
fn non_empty(value: Option<SecretString>) -> Option<SecretString> {
    value.filter(|v| !v.expose_secret().trim().is_empty())
}

/// A secret setting's value, kept out of `Debug` (clap's value parser, hence the `Result`).
#[allow(clippy::unnecessary_wraps)]
pub(crate) fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value))
}

/// The settings that hold a secret (argument id, environment variable). They are read from the
/// environment only: a command line is visible to every user of the machine (`ps`,
/// `/proc/<pid>/cmdline`).
const SECRET_SETTINGS: [(&str, &str); 4] = [
    ("admin_password", "TRACEKEEPER_ADMIN_PASSWORD"),
    ("identity", "TRACEKEEPER_IDENTITY"),
    ("fingerprint_secret", "TRACEKEEPER_FINGERPRINT_SECRET"),
    ("metrc_vendor_key", "METRC_VENDOR_KEY"),
];

impl Cli {
    /// Parses `args` (the process's own, from `main`): as clap's `try_parse_from`, and refuses
    /// a secret setting given on the command line, naming the variable to set instead.
    ///
    /// # Errors
    /// clap's error for bad arguments, or for a secret on the command line (without its value).
    pub fn try_parse_args<I, T>(args: I) -> Result<Cli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Cli::command().try_get_matches_from(args)?;
        if let Some(variable) = secret_on_command_line(&matches) {
            return Err(Cli::command().error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "secrets are not taken on the command line, where every user of this machine can read them: set {variable} instead"
                ),
            ));
        }
        Cli::from_arg_matches(&matches)
    }
}

/// The variable of the first secret setting given on the command line, in `matches` or a
/// subcommand's.
fn secret_on_command_line(matches: &clap::ArgMatches) -> Option<&'static str> {
    SECRET_SETTINGS
        .iter()
        .find(|(id, _)| matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        .map(|(_, variable)| *variable)
        .or_else(|| {
            matches
                .subcommand()
                .and_then(|(_, sub)| secret_on_command_line(sub))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, StartError> {
        Cli::try_parse_args(args)
            .expect("parses")
            .config
            .into_config()
    }

    #[test]
    fn defaults_to_sqlite_in_the_data_dir() {
        let config = parse(&["tracekeeper", "--data-dir", "/tmp/tk"]).unwrap();
        assert_eq!(
            config.database_url,
            "sqlite:///tmp/tk/tracekeeper.db?mode=rwc"
        );
        assert_eq!(config.addr.port(), 3000);
    }

    #[test]
    fn rejects_a_database_url_it_cannot_use_without_echoing_its_password() {
        let err = parse(&["tracekeeper", "--database-url", "mysql://u:hunter2@h/db"]).unwrap_err();
        let line = err.to_string();
        assert!(line.contains("DATABASE_URL"), "{line}");
        assert!(!line.contains("hunter2"), "{line}");
    }

    #[test]
    fn secrets_are_refused_on_the_command_line_and_hidden_from_debug() {
        for (args, variable) in [
            (
                &["tracekeeper", "--admin-password", "hunter2-hunter2"][..],
                "TRACEKEEPER_ADMIN_PASSWORD",
            ),
            (
                &["tracekeeper", "migrate", "--identity", "hunter2-hunter2"][..],
                "TRACEKEEPER_IDENTITY",
            ),
            (
                &["tracekeeper", "--fingerprint-secret=hunter2-hunter2"][..],
                "TRACEKEEPER_FINGERPRINT_SECRET",
            ),
            (
                &[
                    "tracekeeper",
                    "--metrc-vendor-key",
                    "hunter2-hunter2",
                    "serve",
                ][..],
                "METRC_VENDOR_KEY",
            ),
        ] {
            let err = Cli::try_parse_args(args).expect_err("refused").to_string();
            assert!(err.contains(variable), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
        // What the environment gives is kept out of Debug.
        let parsed = Cli::try_parse_args(["tracekeeper"]).unwrap();
        let cli = Cli {
            config: ConfigArgs {
                admin_password: secret("hunter2-hunter2").ok(),
                identity: secret("AGE-SECRET-KEY-1HUNTER2").ok(),
                fingerprint_secret: secret("hunter2-hunter2-hunter2-hunter2-hunter2").ok(),
                ..parsed.config
            },
            ..parsed
        };
        let text = format!("{cli:?}");
        assert!(
            !text.contains("HUNTER2") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(non_empty(secret(" ").ok()).is_none());
    }

    #[test]
    fn vault_settings_and_the_rotation_command() {
        let config = parse(&["tracekeeper", "--identity-file", "/etc/tk/identity.txt"]).unwrap();
        assert_eq!(
            config.identity_file.as_deref(),
            Some(std::path::Path::new("/etc/tk/identity.txt"))
        );
        assert!(config.identity.is_none());
        let cli = Cli::try_parse_from(["tracekeeper", "rotate-identity"]).unwrap();
        assert!(matches!(cli.command, Some(Command::RotateIdentity)));
    }

    #[test]
    fn rate_limits_have_safe_defaults_and_bounds() {
        let config = parse(&["tracekeeper"]).unwrap();
        assert_eq!(config.sign_in.ipv6_prefix, 64);
        assert_eq!(config.sign_in.overall_burst, 5);
        assert_eq!(
            config.sign_in.overall_period,
            std::time::Duration::from_millis(200)
        );
        assert_eq!(config.key_validations.per_minute, 6);
        let config = parse(&[
            "tracekeeper",
            "--sign-in-per-second",
            "2",
            "--sign-in-ipv6-prefix",
            "56",
            "--key-validations-per-minute",
            "3",
        ])
        .unwrap();
        assert_eq!(config.sign_in.overall_burst, 2);
        assert_eq!(
            config.sign_in.overall_period,
            std::time::Duration::from_millis(500)
        );
        assert_eq!(config.sign_in.ipv6_prefix, 56);
        assert_eq!(config.key_validations.per_minute, 3);
        for (flag, value) in [
            ("--sign-in-per-second", "0"),
            ("--sign-in-ipv6-prefix", "16"),
            ("--key-validations-per-minute", "0"),
        ] {
            assert!(
                Cli::try_parse_from(["tracekeeper", flag, value]).is_err(),
                "{flag}"
            );
        }
    }

    #[test]
    fn sync_settings_have_defaults_and_bounds() {
        let config = parse(&["tracekeeper"]).unwrap();
        assert_eq!(config.sync, app::ssr::config::SyncSettings::default());
        let config = parse(&[
            "tracekeeper",
            "--sync-scheduled",
            "off",
            "--sync-fast-every-secs",
            "60",
            "--sync-history-start",
            "2019-06-01",
        ])
        .unwrap();
        assert!(!config.sync.scheduled);
        assert_eq!(config.sync.fast_every.as_secs(), 60);
        assert_eq!(config.sync.history_start.to_string(), "2019-06-01");
        assert!(Cli::try_parse_from(["tracekeeper", "--sync-fast-every-secs", "1"]).is_err());
        assert!(Cli::try_parse_from(["tracekeeper", "--sync-history-start", "30"]).is_err());
    }

    #[test]
    fn trusted_proxies_and_the_public_origin() {
        let config = parse(&["tracekeeper"]).unwrap();
        assert!(config.trusted_proxies.is_empty());
        assert_eq!(config.public_origin, None);
        let config = parse(&[
            "tracekeeper",
            "--trusted-proxies",
            "10.0.0.0/8, 192.0.2.1,::1",
            "--public-origin",
            "https://TK.example.com:443/",
        ])
        .unwrap();
        let proxies: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        assert_eq!(proxies, ["10.0.0.0/8", "192.0.2.1/32", "::1/128"]);
        assert_eq!(
            config.public_origin.as_deref(),
            Some("https://tk.example.com")
        );
        assert!(Cli::try_parse_from(["tracekeeper", "--trusted-proxies", "proxy.local"]).is_err());
        assert!(Cli::try_parse_from(["tracekeeper", "--public-origin", "tk.example.com"]).is_err());
    }

    #[test]
    fn an_unparseable_address_is_a_usage_error() {
        assert!(Cli::try_parse_from(["tracekeeper", "--addr", "nowhere"]).is_err());
    }

    #[test]
    fn subcommands_are_listed() {
        let cli = Cli::try_parse_from(["tracekeeper", "migrate"]).unwrap();
        assert!(matches!(cli.command, Some(Command::Migrate)));
        assert!(
            Cli::try_parse_from(["tracekeeper"])
                .unwrap()
                .command
                .is_none()
        );
        let cli = Cli::try_parse_from([
            "tracekeeper",
            "create-user",
            "--email",
            "a@b.c",
            "--name",
            "A",
            "--role",
            "admin",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::CreateUser(CreateUserArgs {
                role: RoleArg::Admin,
                ..
            }))
        ));
    }
}
