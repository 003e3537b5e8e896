//! Why the server could not start, each as one line that says what to fix.

use app::ssr::bootstrap::BootstrapError;
use app::ssr::db::DbError;
use app::ssr::passwords::PasswordError;
use app::ssr::vault::VaultError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(
        "DATABASE_URL '{0}' is not a database URL: use sqlite://<file>?mode=rwc or postgres://<user>@<host>/<db>"
    )]
    DatabaseUrl(String),
    #[error(
        "data directory '{path}' is not writable ({source}): set TRACEKEEPER_DATA_DIR to a directory this user can write"
    )]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "database at {url}: {source}. Check DATABASE_URL and that the database server is running"
    )]
    Database { url: String, source: DbError },
    #[error("cannot listen on {addr} ({source}): set TRACEKEEPER_ADDR to a free address")]
    Listen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "METRC_BASE_URL is set but METRC_VENDOR_KEY is not: set Tracekeeper's vendor (integrator) key"
    )]
    MissingVendorKey,
    #[error(
        "METRC_STATES includes {code} but {var} is not set: set Tracekeeper's vendor (integrator) key for {name}'s Metrc"
    )]
    MissingStateVendorKey {
        code: String,
        name: String,
        var: String,
    },
    #[error("{var}: {reason}")]
    StateList {
        var: &'static str,
        reason: metrc::states::StateListError,
    },
    #[error(
        "{var} is not a URL ({value}): set it to the state's Metrc host, e.g. https://api-co.metrc.com"
    )]
    StateBaseUrl { var: String, value: String },
    #[error(
        "both METRC_BASE_URL and METRC_STATES are set: set METRC_STATES with METRC_XX_BASE_URL per state, or only METRC_BASE_URL for one state"
    )]
    BothMetrcSettings,
    #[error("no Metrc is configured: set METRC_BASE_URL, or METRC_STATES")]
    NoMetrc,
    #[error("recording the states of stored facilities and keys: {0}")]
    AdoptStates(#[from] sea_orm::DbErr),
    #[error(
        "the embedded Metrc sandbox cannot listen on {addr} ({source}): set TRACEKEEPER_SANDBOX_ADDR to a free address, or METRC_BASE_URL"
    )]
    SandboxListen {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("Metrc client: {0}: check METRC_BASE_URL (or METRC_XX_BASE_URL) and the vendor key")]
    MetrcClient(#[from] metrc::Error),
    #[error("first admin: {0}")]
    Bootstrap(#[from] BootstrapError),
    #[error("password hashing: {0}")]
    Password(#[from] PasswordError),
    #[error("key vault: {0}")]
    Vault(#[from] VaultError),
    #[error("cannot create the user: {0}")]
    CreateUser(String),
    #[error("server stopped with an error: {0}")]
    Serve(std::io::Error),
}

/// The URL with any password replaced, fit for logs and error messages.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("****"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => raw.split('@').next_back().unwrap_or_default().to_owned(),
    }
}
