//! Who makes an audited change (`audit_events.actor_user_id`, `actor_ip`): a signed-in user from
//! an address, or the operator at the command line and at first start. A leaf: it knows users
//! only by [`CurrentUser`].

use crate::types::auth::CurrentUser;
use std::fmt;
use std::net::IpAddr;

/// Who makes an audited change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor<'a> {
    /// A signed-in user, from `ip` when the request had one.
    User {
        user: &'a CurrentUser,
        ip: Option<IpAddr>,
    },
    /// Whoever runs the `tracekeeper` command (`create-user`) or starts the first server (the
    /// first admin): the machine's operator, with the database in hand. Recorded with no user
    /// and no address.
    Operator,
}

impl Actor<'_> {
    /// The acting user's id (`audit_events.actor_user_id`); `None` for the operator.
    pub fn user_id(&self) -> Option<i32> {
        match self {
            Actor::User { user, .. } => Some(user.id),
            Actor::Operator => None,
        }
    }

    /// The address the change came from (`audit_events.actor_ip`); `None` for the operator.
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Actor::User { ip, .. } => *ip,
            Actor::Operator => None,
        }
    }

    /// The name a decision is signed with ("Approved by Dana Grower."): the user's, or "the
    /// operator".
    pub fn name(&self) -> &str {
        match self {
            Actor::User { user, .. } => &user.name,
            Actor::Operator => "the operator",
        }
    }

    /// Whether the actor has an admin's powers: an admin user, or the operator.
    pub fn is_admin(&self) -> bool {
        match self {
            Actor::User { user, .. } => user.is_admin(),
            Actor::Operator => true,
        }
    }
}

/// `user 7` or `operator`, for the logs.
impl fmt::Display for Actor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User { user, .. } => write!(f, "user {}", user.id),
            Actor::Operator => f.write_str("operator"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::auth::Role;

    fn user(role: Role) -> CurrentUser {
        CurrentUser {
            id: 7,
            name: "Ann".into(),
            email: "ann@example.com".into(),
            role,
            must_change_password: false,
        }
    }

    #[test]
    fn a_user_is_recorded_with_their_id_and_address_the_operator_with_neither() {
        let ann = user(Role::Employee);
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let actor = Actor::User {
            user: &ann,
            ip: Some(ip),
        };
        assert_eq!((actor.user_id(), actor.ip()), (Some(7), Some(ip)));
        assert_eq!(actor.to_string(), "user 7");
        assert_eq!(actor.name(), "Ann");
        assert!(!actor.is_admin());
        let op = Actor::Operator;
        assert_eq!((op.user_id(), op.ip()), (None, None));
        assert_eq!(op.to_string(), "operator");
        assert_eq!(op.name(), "the operator");
        assert!(op.is_admin());
        let admin = user(Role::Admin);
        assert!(
            Actor::User {
                user: &admin,
                ip: None
            }
            .is_admin()
        );
    }
}
