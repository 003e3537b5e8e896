//! Server-only services behind the server functions: configuration, state, database, auth,
//! key vault.
//! Compiled only with the `ssr` feature; the browser bundle never sees this module.

pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod db;
pub mod entities;
pub mod facility_keys;
pub mod passwords;
pub mod queries;
pub mod session;
pub mod session_store;
pub mod state;
pub mod throttle;
pub mod vault;
