//! Users as the admin screens list them.

use super::auth::Role;
use serde::{Deserialize, Serialize};

/// One row of User Management.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i32,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub can_submit: bool,
    pub active: bool,
}
