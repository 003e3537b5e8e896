//! The request context every server function starts from: [`caller`] (or [`admin`]) gives the
//! signed-in user and their address, checked on the server.

use super::actor::Actor;
use super::client_addr;
use super::session;
use super::state::AppState;
use crate::error::AppError;
use crate::types::auth::{CurrentUser, Role};
use std::net::IpAddr;

/// The signed-in user a server function serves, and the address their request came from
/// (`client_addr::of_request`: the trusted proxies' `X-Forwarded-For`, else the peer; `None`
/// outside a request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user: CurrentUser,
    pub ip: Option<IpAddr>,
}

impl Caller {
    /// The caller as the audit log records them.
    pub fn actor(&self) -> Actor<'_> {
        Actor::User {
            user: &self.user,
            ip: self.ip,
        }
    }
}

/// The signed-in user and their address, or `Unauthenticated` / `PasswordChangeRequired`
/// ([`session::require_user`]). `state` is read from context before the first `.await`, as every
/// server function does (see [`state`](super::state::state)).
pub async fn caller(state: &AppState) -> Result<Caller, AppError> {
    let user = session::require_user(state).await?;
    with_address(state, user).await
}

/// As [`caller`], and `Forbidden` unless the user is an admin.
pub async fn admin(state: &AppState) -> Result<Caller, AppError> {
    let user = session::require_role(state, Role::Admin).await?;
    with_address(state, user).await
}

/// As [`caller`], even while the user must change their password: for "Change password" only.
pub async fn changing_password(state: &AppState) -> Result<Caller, AppError> {
    let user = session::require_user_changing_password(state).await?;
    with_address(state, user).await
}

async fn with_address(state: &AppState, user: CurrentUser) -> Result<Caller, AppError> {
    let ip = client_addr::of_request(&state.config).await;
    Ok(Caller { user, ip })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_acts_as_their_user_from_their_address() {
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let caller = Caller {
            user: CurrentUser {
                id: 7,
                name: "Ann".into(),
                email: "ann@example.com".into(),
                role: Role::Employee,
                must_change_password: false,
            },
            ip: Some(ip),
        };
        let actor = caller.actor();
        assert_eq!((actor.user_id(), actor.ip()), (Some(7), Some(ip)));
        assert!(!actor.is_admin());
    }
}
