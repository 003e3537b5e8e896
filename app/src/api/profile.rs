//! /profile: what any signed-in user changes about themselves.

use crate::api::encoding::TextJson;
use crate::error::AppError;
use crate::types::secret::Secret;
use leptos::prelude::*;

/// "Change password": checks the current password, sets the new one (at least 12 characters),
/// ends the user's other sessions and gives this browser a fresh one. Allowed, and clears the
/// demand, while the user must change their password (`AppError::PasswordChangeRequired`).
#[server(endpoint = "change_password", output = TextJson)]
pub async fn change_password(current: Secret, new: Secret) -> Result<(), AppError> {
    use crate::ssr::{caller, profile, session, state::state};

    let current = current.into_secret();
    let new = new.into_secret();
    let st = state()?;
    // The one server function a user who must change their password may call (besides signing
    // in and out).
    let me = caller::changing_password(&st).await?;
    profile::change_password(&st, &me, current, new).await?;
    // Every session of the user ended with the change; this browser stays signed in.
    session::start(&me.user).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_change_password_arguments_hide_both_passwords_from_debug() {
        let args = ChangePassword {
            current: "hunter2-current".into(),
            new: "hunter2-new-one".into(),
        };
        let shown = format!("{args:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
