//! Hand-written queries, one module per table, each taking `&impl ConnectionTrait`.

pub mod audit_events;
pub mod counting;
pub mod facilities;
pub mod leases;
pub mod login_throttle;
pub mod servers;
pub mod sessions;
pub mod submission_attempts;
pub mod submissions;
pub mod sync_cursors;
pub mod synced_records;
pub mod text_match;
pub mod user_facilities;
pub mod user_metrc_keys;
pub mod users;

#[cfg(test)]
pub(crate) mod test_db {
    use super::facilities::{self, NewFacility};
    use super::users::{self, NewUser};
    use crate::ssr::entities;
    use crate::types::auth::Role;
    use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

    /// A fresh in-memory SQLite database with the real migrations applied.
    pub async fn fresh() -> DatabaseConnection {
        use migrations::{Migrator, MigratorTrait};
        let db = Database::connect("sqlite::memory:")
            .await
            .expect("in-memory sqlite");
        Migrator::up(&db, None).await.expect("migrations");
        db
    }

    /// A retail facility in `state` (two letters), named by its license number, with no
    /// capabilities and no key.
    pub async fn add_facility(
        db: &impl ConnectionTrait,
        license_number: &str,
        state: &str,
    ) -> entities::facilities::Model {
        facilities::insert(
            db,
            NewFacility {
                license_number,
                name: license_number,
                license_type: "Retail",
                state,
                capabilities: "{}".into(),
            },
        )
        .await
        .expect("facility")
    }

    /// An employee who works at every facility (the default), with no key and a placeholder
    /// password hash.
    pub async fn add_employee(
        db: &impl ConnectionTrait,
        email: &str,
        name: &str,
        can_submit: bool,
    ) -> entities::users::Model {
        users::insert(
            db,
            NewUser {
                email,
                name,
                password_hash: "hash".into(),
                role: Role::Employee,
                can_submit,
            },
        )
        .await
        .expect("employee")
    }
}
