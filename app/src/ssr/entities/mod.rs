//! `SeaORM` entities, one per table, mirroring `migrations/`. Queries live in `ssr::queries`.
//!
//! Statuses, roles, actions and key kinds are typed columns: `SeaORM` active enums over the string
//! columns of `migrations/` (`SyncState`, `KeyStatus`, `Role`, `SubmissionAction`,
//! `SubmissionStatus`, `KeyKind`, `AuditAction`). A stored value no variant names is an error
//! when the row is read (`DbErr::Type`), never a default (docs/decisions.md).

pub mod audit_events;
pub mod facilities;
pub mod leases;
pub mod login_throttle;
pub mod servers;
pub mod sessions;
pub mod submission_attempts;
pub mod submissions;
pub mod sync_cursors;
pub mod synced_records;
pub mod user_facilities;
pub mod user_metrc_keys;
pub mod users;

#[cfg(test)]
mod tests {
    use crate::ssr::outbox::KeyKind;
    use crate::types::auth::Role;
    use crate::types::inventory::SyncState;
    use crate::types::keys::KeyStatus;
    use crate::types::submissions::{SubmissionAction, SubmissionStatus};
    use sea_orm::{ActiveEnum, Iterable};

    /// Every variant's stored string, as the columns held them before they were typed.
    fn stored<E: ActiveEnum<Value = String> + Iterable>() -> Vec<String> {
        E::iter().map(|e| e.to_value()).collect()
    }

    #[test]
    fn stored_values_are_unchanged() {
        assert_eq!(
            stored::<SyncState>(),
            ["never", "idle", "running", "paused", "failed"]
        );
        assert_eq!(
            stored::<KeyStatus>(),
            ["none", "unvalidated", "valid", "invalid"]
        );
        assert_eq!(stored::<Role>(), ["admin", "employee"]);
        assert_eq!(
            stored::<SubmissionAction>(),
            [
                "adjust_package",
                "finish_package",
                "change_package_location",
                "record_plant_waste"
            ]
        );
        assert_eq!(
            stored::<SubmissionStatus>(),
            [
                "pending_approval",
                "queued",
                "sending",
                "retrying",
                "accepted",
                "rejected",
                "failed",
                "unknown",
                "denied",
                "cancelled"
            ]
        );
        assert_eq!(stored::<KeyKind>(), ["user", "facility"]);
    }

    #[test]
    fn form_and_query_values_are_the_stored_ones() {
        for role in Role::ALL {
            assert_eq!(role.as_str(), role.to_value());
        }
        for status in SubmissionStatus::ALL {
            assert_eq!(status.as_str(), status.to_value());
        }
    }
}
