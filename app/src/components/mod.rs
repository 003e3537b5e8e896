//! Reusable pieces of UI.

pub mod auth;
pub mod error_message;
pub mod header;
pub mod status_page;
