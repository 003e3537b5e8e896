//! Who is signed in: reading and writing the server-side session, and the guards every server
//! function calls before doing anything (signed in, role, no password change pending).

use super::queries::users;
use super::state::AppState;
use crate::error::AppError;
use crate::types::auth::{CurrentUser, Role};
use tower_sessions::Session;

/// The session key holding the signed-in user's id (also copied into `sessions.user_id`).
pub const USER_ID_KEY: &str = "user_id";

/// The request's session, and its [`SignedInMemo`] when the request has one.
/// `leptos_axum::extract` reads the request from context when first polled, so this is a server
/// function's first `.await` (as in [`require_user`]).
async fn session_and_memo() -> Result<(Session, Option<SignedInMemo>), AppError> {
    leptos_axum::extract::<(Session, Option<axum::Extension<SignedInMemo>>)>()
        .await
        .map(|(session, memo)| (session, memo.map(|m| m.0)))
        .map_err(|e| {
            tracing::error!(error = %e, "session layer missing");
            AppError::Internal
        })
}

async fn session() -> Result<Session, AppError> {
    Ok(session_and_memo().await?.0)
}

fn session_error(err: tower_sessions::session::Error) -> AppError {
    tracing::error!(error = %err, "session store error");
    AppError::Internal
}

/// Who is signed in, read once per request: the router gives every `GET` (a page and the
/// server functions its resources call, none of which signs anyone in or out) one memo, so a
/// page asking for its user from several resources reads the database once. Requests that may
/// sign in or out (`POST`) have none and read it each time.
#[derive(Clone, Default)]
pub struct SignedInMemo(std::sync::Arc<tokio::sync::OnceCell<Option<CurrentUser>>>);

/// The signed-in, active user, if any ([`user_in`]; once per request where the request has a
/// [`SignedInMemo`]).
///
/// `state` is passed in, not read from context here: this runs after the session's `.await`,
/// and a server function must read its contexts before its first `.await` (see
/// [`state`](super::state::state)).
pub async fn current_user(state: &AppState) -> Result<Option<CurrentUser>, AppError> {
    let (session, memo) = session_and_memo().await?;
    match memo {
        Some(memo) => memo
            .0
            .get_or_try_init(|| user_in(&session, &state.db))
            .await
            .cloned(),
        None => user_in(&session, &state.db).await,
    }
}

/// The active user signed in to `session`, if any: what [`current_user`] reads, for plain axum
/// handlers (which get the session as an extractor). A session this request has not changed is
/// not loaded: one query reads its user through the stored session's `user_id`
/// ([`users::find_signed_in`]); one it changed (signing in) is read from memory.
pub async fn user_in(
    session: &Session,
    db: &impl sea_orm::ConnectionTrait,
) -> Result<Option<CurrentUser>, AppError> {
    if !session.is_modified() {
        let Some(id) = session.id() else {
            return Ok(None);
        };
        return Ok(users::find_signed_in(db, &id.to_string(), chrono::Utc::now()).await?);
    }
    let Some(id) = session
        .get::<i32>(USER_ID_KEY)
        .await
        .map_err(session_error)?
    else {
        return Ok(None);
    };
    Ok(users::find_current(db, id).await?)
}

/// Whether `user` may do anything yet: `PasswordChangeRequired` while they must change their
/// password ([`CurrentUser::must_change_password`]). The one rule every guard below and the CSV
/// export apply.
pub fn admit(user: CurrentUser) -> Result<CurrentUser, AppError> {
    if user.must_change_password {
        Err(AppError::PasswordChangeRequired)
    } else {
        Ok(user)
    }
}

/// The signed-in user, or `Unauthenticated`; `PasswordChangeRequired` while they must change
/// their password ([`admit`]). Every server function calls this (or [`require_role`]), except
/// signing in and out, "who is signed in", and [`require_user_changing_password`]'s one.
pub async fn require_user(state: &AppState) -> Result<CurrentUser, AppError> {
    admit(require_user_changing_password(state).await?)
}

/// The signed-in user, or `Unauthenticated`, even while they must change their password: for
/// "Change password" only.
pub async fn require_user_changing_password(state: &AppState) -> Result<CurrentUser, AppError> {
    current_user(state).await?.ok_or(AppError::Unauthenticated)
}

/// The signed-in user if they have `role`, else `Unauthenticated` / `Forbidden` (or
/// `PasswordChangeRequired`, as [`require_user`]).
pub async fn require_role(state: &AppState, role: Role) -> Result<CurrentUser, AppError> {
    let user = require_user(state).await?;
    if user.role == role {
        Ok(user)
    } else {
        Err(AppError::Forbidden)
    }
}

/// Starts a fresh session for `user` (a new id, so a planted session id is worthless).
pub async fn start(user: &CurrentUser) -> Result<(), AppError> {
    let session = session().await?;
    session.cycle_id().await.map_err(session_error)?;
    session
        .insert(USER_ID_KEY, user.id)
        .await
        .map_err(session_error)
}

/// Ends the current session and deletes it from the store.
pub async fn end() -> Result<(), AppError> {
    session().await?.flush().await.map_err(session_error)
}
