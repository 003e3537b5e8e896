//! /profile: what any signed-in user changes about themselves.

use crate::error::AppError;
use leptos::prelude::*;

/// "Change password": checks the current password, sets the new one (at least 12 characters),
/// ends the user's other sessions and gives this browser a fresh one.
#[server(endpoint = "change_password")]
pub async fn change_password(current: String, new: String) -> Result<(), AppError> {
    use crate::ssr::{profile, session, state::state};

    let current = secrecy::SecretString::from(current);
    let new = secrecy::SecretString::from(new);
    let st = state()?;
    let user = session::require_user(&st).await?;
    let ip = crate::ssr::client_addr::of_request(&st.config).await;
    profile::change_password(&st, user.id, ip, current, new).await?;
    // Every session of the user ended with the change; this browser stays signed in.
    session::start(&user).await
}
