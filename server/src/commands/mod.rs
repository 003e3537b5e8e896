//! The one-shot commands: each runs, reports, and exits (`tracekeeper --help`).

mod create_user;
mod migrate;
mod new_secrets;
mod rotate_identity;

pub use create_user::create_user;
pub use migrate::migrate;
pub use new_secrets::new_secrets;
pub use rotate_identity::rotate_identity;
