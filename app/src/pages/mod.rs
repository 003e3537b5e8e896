//! One module per screen.

pub mod facilities;
pub mod home;
pub mod integrations;
pub mod login;
pub mod not_found;
pub mod packages;
pub mod plants;
pub mod profile;
pub mod submission;
pub mod submissions;
pub mod user;
pub mod user_new;
pub mod users;
