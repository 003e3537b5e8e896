//! Who is signed in, and with which role.

use serde::{Deserialize, Serialize};
use std::fmt;

stored_as_string! {
/// A Tracekeeper role. Checked on the server in every server function that needs one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Everything under /admin.
    Admin,
    /// Own profile and work screens.
    Employee,
}
}

impl Role {
    /// Every role, in the order the role picker lists them.
    pub const ALL: [Role; 2] = [Role::Admin, Role::Employee];

    /// The value of the role's form field, the same as the one stored in the database
    /// (`ssr::entities` checks that they agree).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Employee => "employee",
        }
    }

    /// The role of a form field's value.
    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// The role's name on screen ("Admin", "Employee"); also its `Display`.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Employee => "Employee",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The signed-in user as the pages see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    /// The user's id in Tracekeeper's database (`users.id`).
    pub id: i32,
    /// The user's name, as the header shows it.
    pub name: String,
    /// The address they sign in with.
    pub email: String,
    /// What they may do: Admin or Employee.
    pub role: Role,
    /// They must change their password (on /profile) before anything else: set for a first
    /// admin whose password Tracekeeper generated (docs/decisions.md, "The first admin's
    /// password"). The server refuses every other server function meanwhile.
    pub must_change_password: bool,
}

impl CurrentUser {
    /// Whether the user has the Admin role.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_round_trips_through_its_form_value() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert_eq!(Role::parse("Admin"), None);
    }
}
