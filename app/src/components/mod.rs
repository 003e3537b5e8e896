//! Reusable pieces of UI.

pub mod admin_page;
pub mod auth;
pub mod error_message;
pub mod header;
pub mod key_help;
pub mod live_validation;
pub mod status_page;
pub mod user_key;
pub mod validation_panel;
