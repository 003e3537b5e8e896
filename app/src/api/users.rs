//! User Management. Admin only, checked on the server before anything else.

use crate::api::encoding::TextJson;
use crate::error::AppError;
use crate::types::users::{UserDetail, UserInput, UserSummary};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
fn edit_of(input: &UserInput) -> crate::ssr::user_admin::UserEdit {
    crate::ssr::user_admin::UserEdit {
        name: input.name.clone(),
        email: input.email.clone(),
        role: input.role,
        all_facilities: input.all_facilities,
        facilities: input.facilities.clone(),
        can_submit: input.can_submit,
        requires_review: input.requires_review,
    }
}

/// Every user, with their key status (User Management); with several states, also their key
/// status in each state they work in (`key_states`).
#[server(endpoint = "list_users", output = TextJson)]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    use crate::ssr::{caller, state::state, user_admin};

    let st = state()?;
    caller::admin(&st).await?;
    Ok(user_admin::list_users(&st.db, &st.metrc.codes()).await?)
}

/// One user in full (their page).
#[server(endpoint = "get_user", output = TextJson)]
pub async fn get_user(id: i32) -> Result<UserDetail, AppError> {
    use crate::ssr::{caller, state::state, user_admin};

    let st = state()?;
    caller::admin(&st).await?;
    Ok(user_admin::get_user(&st.db, id).await?)
}

/// "Add user": the body is JSON, `{"input": {"name", "email", "role": "Admin"|"Employee",
/// "all_facilities", "facilities": [license...], "can_submit", "requires_review",
/// "password"}}`; `password` is the initial password.
#[server(endpoint = "create_user", input = leptos::server_fn::codec::Json, output = TextJson)]
pub async fn create_user(input: UserInput) -> Result<UserDetail, AppError> {
    use crate::ssr::user_admin::{self, NewUserInput};
    use crate::ssr::{caller, state::state};

    let st = state()?;
    let admin = caller::admin(&st).await?;
    let password = input.password.clone().unwrap_or_default().into_secret();
    let profile = edit_of(&input);
    drop(input);
    Ok(user_admin::create_user(
        &st.db,
        admin.actor(),
        NewUserInput {
            profile,
            password,
            must_change_password: false,
        },
    )
    .await?)
}

/// "Save" on the user's page: the same JSON body as [`create_user`] plus `"id"` beside
/// `"input"`, with no password (users change their own on /profile).
#[server(endpoint = "update_user", input = leptos::server_fn::codec::Json, output = TextJson)]
pub async fn update_user(id: i32, input: UserInput) -> Result<UserDetail, AppError> {
    use crate::ssr::user_admin;
    use crate::ssr::{caller, state::state};

    let st = state()?;
    let admin = caller::admin(&st).await?;
    if input
        .password
        .as_ref()
        .is_some_and(|p| !p.expose().is_empty())
    {
        return Err(AppError::BadInput(
            "Passwords are not set here: each user changes their own on their Profile page.".into(),
        ));
    }
    Ok(user_admin::update_user(&st.db, admin.actor(), id, edit_of(&input)).await?)
}

/// "Deactivate": the user's sessions end at once and their stored Metrc key is deleted (their
/// queued submissions will be held for an admin's decision once the outbox exists).
#[server(endpoint = "deactivate_user", output = TextJson)]
pub async fn deactivate_user(id: i32) -> Result<UserDetail, AppError> {
    use crate::ssr::user_admin;
    use crate::ssr::{caller, state::state};

    let st = state()?;
    let admin = caller::admin(&st).await?;
    Ok(user_admin::deactivate_user(&st.db, admin.actor(), id).await?)
}

/// "Reactivate": the user can sign in again.
#[server(endpoint = "reactivate_user", output = TextJson)]
pub async fn reactivate_user(id: i32) -> Result<UserDetail, AppError> {
    use crate::ssr::user_admin;
    use crate::ssr::{caller, state::state};

    let st = state()?;
    let admin = caller::admin(&st).await?;
    Ok(user_admin::reactivate_user(&st.db, admin.actor(), id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_user_arguments_hide_the_initial_password_from_debug() {
        let args = CreateUser {
            input: UserInput::sample_with_password("hunter2-hunter2"),
        };
        let shown = format!("{args:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("[REDACTED]"), "{shown}");
    }
}
