//! The `audit_events` table: who changed which key, when, from where. Never the key itself: the
//! detail names fingerprints' first characters and license numbers.

use super::super::actor::Actor;
use super::super::entities::audit_events::{self, AuditAction, Entity as AuditEvents};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, QueryOrder, QuerySelect, Set,
};

/// One event to record; its actor's user id and address are stored, the operator's as none.
pub struct NewAuditEvent<'a> {
    /// Who did it.
    pub actor: Actor<'a>,
    /// What was done.
    pub action: AuditAction,
    /// What it was done to, e.g. a license number.
    pub subject: &'a str,
    pub detail: serde_json::Value,
}

pub async fn record(
    db: &impl ConnectionTrait,
    event: NewAuditEvent<'_>,
) -> Result<audit_events::Model, DbErr> {
    audit_events::ActiveModel {
        at: Set(Utc::now()),
        actor_user_id: Set(event.actor.user_id()),
        actor_ip: Set(event.actor.ip().map(|ip| ip.to_string())),
        action: Set(event.action),
        subject: Set(event.subject.to_owned()),
        detail: Set(event.detail.to_string()),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// The latest `limit` events, newest first.
pub async fn recent(
    db: &impl ConnectionTrait,
    limit: u64,
) -> Result<Vec<audit_events::Model>, DbErr> {
    AuditEvents::find()
        .order_by_desc(audit_events::Column::At)
        .order_by_desc(audit_events::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssr::queries::test_db;
    use crate::types::auth::{CurrentUser, Role};

    #[tokio::test]
    async fn events_are_recorded_and_listed_newest_first() {
        let db = test_db::fresh().await;
        let admin = CurrentUser {
            id: 1,
            name: "Admin".into(),
            email: "admin@example.com".into(),
            role: Role::Admin,
            must_change_password: false,
        };
        for subject in ["403-X0001", "403-X0002"] {
            record(
                &db,
                NewAuditEvent {
                    actor: Actor::User {
                        user: &admin,
                        ip: Some([127, 0, 0, 1].into()),
                    },
                    action: AuditAction::FacilityKeySet,
                    subject,
                    detail: serde_json::json!({"new_fingerprint": "0123abcd"}),
                },
            )
            .await
            .unwrap();
        }
        let events = recent(&db, 10).await.unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].subject, "403-X0002");
        assert_eq!(events[0].actor_user_id, Some(1));
        assert_eq!(events[0].actor_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(events[0].detail, r#"{"new_fingerprint":"0123abcd"}"#);
    }

    #[test]
    fn stored_actions_are_unchanged() {
        use sea_orm::{ActiveEnum, Iterable};
        let stored: Vec<String> = AuditAction::iter().map(|a| a.to_value()).collect();
        assert_eq!(
            stored,
            [
                "facility_key.set",
                "user_key.set",
                "user_key.deleted",
                "user.created",
                "user.updated",
                "user.deactivated",
                "user.reactivated",
                "user.password_changed",
                "submission.approve",
                "submission.deny",
                "submission.retry",
                "submission.cancel",
                "submission.reconcile"
            ]
        );
    }
}
