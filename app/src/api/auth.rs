//! Signing in and out, and who is signed in.

use crate::error::AppError;
use crate::types::auth::CurrentUser;
use leptos::prelude::*;

/// Signs in with email and password, then sends the browser to the home page.
#[server(endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<(), AppError> {
    use crate::ssr::{auth, session, state::state};
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;

    let st = state()?;
    let ip = leptos_axum::extract::<ConnectInfo<SocketAddr>>()
        .await
        .ok()
        .map(|ConnectInfo(addr)| addr.ip());
    let user = auth::check_credentials(&st, &email, &password, ip).await?;
    session::start(&user).await?;
    tracing::info!(user_id = user.id, "signed in");
    leptos_axum::redirect("/");
    Ok(())
}

/// Ends the session and sends the browser to the sign-in page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    crate::ssr::session::end().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in user, or `None`.
#[server(endpoint = "signed_in_user")]
pub async fn signed_in_user() -> Result<Option<CurrentUser>, AppError> {
    crate::ssr::session::current_user().await
}
