//! What every request handler and server function shares.

use super::config::{Config, DbKind};
use super::metrc_states::MetrcStates;
use super::passwords::{self, PasswordError};
use super::sync::SyncHandle;
use super::throttle::LoginThrottle;
use super::validation_limit::ValidationLimiter;
use super::vault::KeyVault;
use crate::error::AppError;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub db_kind: DbKind,
    pub login_throttle: Arc<LoginThrottle>,
    /// Metrc key validations per user: one at a time, a number per minute.
    pub key_validations: Arc<ValidationLimiter>,
    /// A hash to verify against when an email is unknown (see `passwords::decoy_hash`).
    pub decoy_hash: Arc<str>,
    /// Encrypts, decrypts and fingerprints the stored Metrc keys.
    pub vault: Arc<KeyVault>,
    /// The Metrc client of each state served (real Metrc or the sandbox); the user key is
    /// passed to each call.
    pub metrc: MetrcStates,
    /// "Sync now" requests, the facilities syncing, cached reference lists (`ssr::sync`).
    pub sync: Arc<SyncHandle>,
    /// Wakes the outbox worker when something is queued; the outbox's settings (`ssr::outbox`).
    pub outbox: Arc<super::outbox::OutboxHandle>,
    /// This server's id among the servers on the database (`host:pid:random`, new at every
    /// start): the holder named in the leases it takes (`ssr::lease`).
    pub server_id: Arc<str>,
}

impl AppState {
    pub async fn new(
        config: Config,
        db: DatabaseConnection,
        vault: KeyVault,
        metrc: MetrcStates,
        leptos_options: LeptosOptions,
    ) -> Result<Self, PasswordError> {
        let db_kind = DbKind::of_url(&config.database_url).unwrap_or(DbKind::Sqlite);
        let outbox = Arc::new(super::outbox::OutboxHandle::new(config.outbox.clone()));
        let login_throttle = Arc::new(LoginThrottle::new(config.sign_in));
        let key_validations = Arc::new(ValidationLimiter::new(config.key_validations));
        Ok(Self {
            leptos_options,
            db,
            config: Arc::new(config),
            db_kind,
            login_throttle,
            key_validations,
            decoy_hash: passwords::decoy_hash().await?.into(),
            vault: Arc::new(vault),
            metrc,
            sync: Arc::default(),
            outbox,
            server_id: super::lease::new_server_id().into(),
        })
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The state, as `leptos_axum` provides it to every server function.
///
/// Call it once, at the top of the server function, before its first `.await`, and pass the
/// state down. `use_context` looks from the thread's current reactive owner up through *weak*
/// parent links. During SSR a server function runs as a resource's fetcher: its first poll
/// happens while the page is being built, but later polls run in the resource's own task, and
/// by then the page's owners (which hold this context) may be gone: the response ended, or the
/// browser went away. A read after an `.await` then finds nothing, now and then.
pub fn state() -> Result<AppState, AppError> {
    leptos::prelude::use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        AppError::Internal
    })
}
