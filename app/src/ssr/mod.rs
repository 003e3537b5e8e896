//! Server-only services behind the server functions: configuration, state, database, auth,
//! key vault.
//! Compiled only with the `ssr` feature; the browser bundle never sees this module.

pub mod actor;
pub mod auth;
pub mod bootstrap;
pub mod caller;
pub mod client_addr;
pub mod config;
pub mod csp;
pub mod db;
pub mod entities;
pub mod facility_keys;
pub mod input;
pub mod inventory;
pub mod key_checks;
pub mod lease;
pub mod metrc_states;
pub mod outbox;
pub mod passwords;
pub mod profile;
pub mod queries;
pub mod servers;
pub mod session;
pub mod session_store;
pub mod state;
pub mod sync;
pub mod throttle;
pub mod user_admin;
pub mod user_keys;
pub mod validation_limit;
pub mod vault;
