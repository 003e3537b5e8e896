//! One module per screen.

pub mod facilities;
pub mod home;
pub mod integrations;
pub mod login;
pub mod not_found;
pub mod users;
