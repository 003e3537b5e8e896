//! Start-up: check the data directory, connect and migrate the database, create the first admin,
//! build the state and the router, serve until asked to stop.

use crate::cli::MetrcArgs;
use crate::embedded_metrc::MetrcTarget;
use crate::error::{StartError, redact_url};
use crate::{jobs, router, shutdown};
use app::ssr::bootstrap;
use app::ssr::config::{Config, DbKind};
use app::ssr::db;
use app::ssr::metrc_states::{self, MetrcStates};
use app::ssr::state::AppState;
use app::ssr::vault::{KeyVault, VaultSettings};
use leptos::config::LeptosOptions;
use std::net::SocketAddr;
use std::path::Path;
use tokio::net::TcpListener;

/// Fails unless `dir` exists (or can be made) and a file can be written in it.
fn check_data_dir(dir: &Path) -> Result<(), StartError> {
    let fail = |source| StartError::DataDir {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").map_err(fail)?;
    std::fs::remove_file(&probe).map_err(fail)
}

/// Where cargo-leptos put the site (CSS, WASM, assets). `LEPTOS_SITE_ROOT` overrides it. The
/// client's file names carry a hash of their content when cargo-leptos wrote the hash file
/// beside this binary (`hash-files` in `Cargo.toml`; docs/decisions.md, "Tablets on weak
/// Wi-Fi").
fn leptos_options(addr: SocketAddr) -> LeptosOptions {
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    LeptosOptions::builder()
        .output_name(option_env!("LEPTOS_OUTPUT_NAME").unwrap_or("tracekeeper"))
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .hash_files(hash_file_beside_binary())
        .build()
}

/// Whether the hash file of a build with hashed file names (`hash.txt`, written by cargo-leptos)
/// stands beside the running binary, where Leptos reads it.
fn hash_file_beside_binary() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt").is_file()))
        .unwrap_or(false)
}

/// Whether the server keeps anything in its data directory: the SQLite file, or a secret that
/// does not come from the environment (an identity or fingerprint secret file; a generated
/// first-admin password). A server on PostgreSQL with its secrets in the environment needs none
/// (docs/design.md §11).
fn needs_data_dir(config: &Config) -> bool {
    DbKind::of_url(&config.database_url) == Some(DbKind::Sqlite)
        || config.identity.is_none()
        || config.fingerprint_secret.is_none()
}

/// For the one-shot commands: the data directory is checked only where the database lives in it.
pub(crate) async fn connect(config: &Config) -> Result<sea_orm::DatabaseConnection, StartError> {
    if DbKind::of_url(&config.database_url) == Some(DbKind::Sqlite) {
        check_data_dir(&config.data_dir)?;
    }
    open_database(config).await
}

async fn open_database(config: &Config) -> Result<sea_orm::DatabaseConnection, StartError> {
    db::connect_and_migrate(&config.database_url)
        .await
        .map_err(|source| StartError::Database {
            url: redact_url(&config.database_url),
            source,
        })
}

/// The Metrc client of each state `MetrcArgs::start` chose (real Metrc or the sandboxes).
pub fn metrc_clients(target: &MetrcTarget) -> Result<MetrcStates, StartError> {
    let mut clients = target.states.iter().map(|s| {
        let config = metrc::ClientConfig::new(s.base_url.clone(), s.vendor_key.clone());
        Ok::<_, StartError>((s.code.clone(), metrc::Client::new(config)?))
    });
    let first = clients.next().ok_or(StartError::NoMetrc)??;
    let rest = clients.collect::<Result<Vec<_>, _>>()?;
    Ok(MetrcStates::new(first, rest))
}

/// The checked data directory, the migrated database, the open vault and the first admin: all
/// of the state but the Metrc client, so a bad configuration fails before Metrc is started.
pub struct Prepared {
    config: Config,
    db: sea_orm::DatabaseConnection,
    vault: KeyVault,
}

pub async fn prepare(config: Config) -> Result<Prepared, StartError> {
    if needs_data_dir(&config) {
        check_data_dir(&config.data_dir)?;
    }
    let db = open_database(&config).await?;
    let vault = KeyVault::open(&VaultSettings::from_config(&config), &db).await?;
    if let Some(file) = bootstrap::ensure_first_admin(&db, &config).await? {
        tracing::warn!(
            email = %config.admin_email,
            file = %file.display(),
            "created the first admin with a generated password, written to this file (readable by this user only): sign in, change the password on Profile, then delete the file"
        );
    }
    Ok(Prepared { config, db, vault })
}

impl Prepared {
    /// The state, with the Metrc client the server will use.
    pub async fn with_metrc(self, metrc: impl Into<MetrcStates>) -> Result<AppState, StartError> {
        let options = leptos_options(self.config.addr);
        let metrc = metrc.into();
        metrc_states::adopt_unrecorded(&self.db, &metrc).await?;
        Ok(AppState::new(self.config, self.db, self.vault, metrc, options).await?)
    }
}

/// Everything a running server needs, ready to serve.
pub async fn build_state(
    config: Config,
    metrc: impl Into<MetrcStates>,
) -> Result<AppState, StartError> {
    prepare(config).await?.with_metrc(metrc).await
}

/// Serves on an already-bound listener until `stop` resolves. Background jobs stop with it: the
/// requests under way are answered, then the outbox's calls under way (up to the write timeout),
/// then the server returns.
pub async fn serve_on(
    listener: TcpListener,
    state: AppState,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let jobs = jobs::spawn_all(&state);
    let app = router::router(state.clone());
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop)
    .await;
    jobs.stop(&state).await;
    served.map_err(StartError::Serve)
}

/// `tracekeeper serve`.
pub async fn serve(config: Config, metrc: MetrcArgs) -> Result<(), StartError> {
    let addr = config.addr;
    let prepared = prepare(config).await?;
    // Held for the server's lifetime: the embedded sandbox, when there is one, runs beside it.
    let target = metrc.start().await?;
    let state = prepared.with_metrc(metrc_clients(&target)?).await?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Listen { addr, source })?;
    // The bound address, not the configured one: with port 0 the system picks a free port, and
    // this line is how whoever started the server (the tests) learns it.
    let bound = listener
        .local_addr()
        .map_err(|source| StartError::Listen { addr, source })?;
    tracing::info!(
        addr = %bound,
        database = state.db_kind.name(),
        version = env!("CARGO_PKG_VERSION"),
        "Tracekeeper is listening on http://{bound}"
    );
    serve_on(listener, state, shutdown::signal()).await
}
