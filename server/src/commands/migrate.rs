//! `tracekeeper migrate`: the database migrated, nothing else.

use crate::error::StartError;
use crate::startup::connect;
use app::ssr::config::Config;

/// `tracekeeper migrate`: applies pending migrations, then exits.
pub async fn migrate(config: &Config) -> Result<(), StartError> {
    connect(config).await?;
    tracing::info!("database is up to date");
    Ok(())
}
