//! Server functions: thin. Each checks the session and role on the server, calls a service in
//! `ssr`, and maps its errors to `AppError`.

pub mod auth;
pub mod encoding;
pub mod facility_keys;
pub mod inventory;
pub mod profile;
pub mod submissions;
pub mod sync;
pub mod user_keys;
pub mod users;
