//! User Management.

use crate::error::AppError;
use crate::types::users::UserSummary;
use leptos::prelude::*;

/// Every user, for admins.
#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    use crate::ssr::{queries::users, session, state::state};
    use crate::types::auth::Role;

    session::require_role(Role::Admin).await?;
    Ok(users::list(&state()?.db).await?)
}
