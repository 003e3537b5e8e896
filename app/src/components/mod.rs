//! Reusable pieces of UI.

pub mod admin_page;
pub mod auth;
pub mod date_field;
pub mod error_message;
pub mod filters;
pub mod format;
pub mod header;
pub mod hydration;
pub mod key_help;
pub mod live_validation;
pub mod loading;
pub mod metrc_states;
pub mod my_submissions;
pub mod paging;
pub mod select_options;
pub mod status_page;
pub mod submission_table;
pub mod submit_box;
pub mod user_form;
pub mod user_key;
pub mod validation_panel;
