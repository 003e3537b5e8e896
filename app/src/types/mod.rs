//! Types shared by the browser and the server (serde on both sides). No entities, no secrets.

pub mod auth;
pub mod facilities;
pub mod inventory;
pub mod key_validation;
pub mod keys;
pub mod submissions;
pub mod user_keys;
pub mod users;
