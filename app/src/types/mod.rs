//! Types shared by the browser and the server (serde on both sides). No entities, no secrets.

pub mod auth;
pub mod facilities;
pub mod key_validation;
pub mod keys;
pub mod users;
