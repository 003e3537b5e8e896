//! Signing in and out, and who is signed in.

use crate::api::encoding::TextJson;
use crate::error::AppError;
use crate::types::auth::CurrentUser;
use crate::types::secret::Secret;
use leptos::prelude::*;

/// Signs in with email and password, then sends the browser to the home page.
#[server(endpoint = "login", output = TextJson)]
pub async fn login(email: String, password: Secret) -> Result<(), AppError> {
    use crate::ssr::{auth, client_addr, session, state::state, user_keys};
    use std::time::Duration;

    /// How long sign-in waits for Metrc to confirm the user's key.
    const KEY_CHECK_WAIT: Duration = Duration::from_secs(5);

    let st = state()?;
    let ip = client_addr::of_request(&st.config).await;
    let password = password.into_secret();
    let user = auth::check_credentials(&st, &email, &password, ip).await?;
    session::start(&user).await?;
    tracing::info!(user_id = user.id, "signed in");
    // The start of a shift: check the user's own Metrc key, so a dead key shows now (the home
    // page's notice), not at their first submission. Metrc being slow or down does not block.
    match tokio::time::timeout(KEY_CHECK_WAIT, user_keys::revalidate(&st, user.id)).await {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => {
            tracing::warn!(user_id = user.id, error = %err, "user key not checked at sign-in");
        }
        Err(_) => tracing::warn!(user_id = user.id, "user key check at sign-in timed out"),
    }
    leptos_axum::redirect("/");
    Ok(())
}

/// Ends the session and sends the browser to the sign-in page.
#[server(endpoint = "logout", output = TextJson)]
pub async fn logout() -> Result<(), AppError> {
    crate::ssr::session::end().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// The signed-in user, or `None`.
#[server(endpoint = "signed_in_user", output = TextJson)]
pub async fn signed_in_user() -> Result<Option<CurrentUser>, AppError> {
    use crate::ssr::{session, state::state};

    let st = state()?;
    session::current_user(&st).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_arguments_hide_the_password_from_debug() {
        let args = Login {
            email: "dana@example.test".into(),
            password: "hunter2-hunter2".into(),
        };
        let shown = format!("{args:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("dana@example.test"), "{shown}");
    }
}
