//! The `audit_events` table: who changed which key, when, from where. Never the key itself: the
//! detail names fingerprints' first characters and license numbers.

use super::super::entities::audit_events::{self, Entity as AuditEvents};
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbErr, EntityTrait, QueryOrder, QuerySelect, Set,
};

pub struct NewAuditEvent<'a> {
    pub actor_user_id: Option<i32>,
    pub actor_ip: Option<&'a str>,
    /// What was done, e.g. `facility_key.set`.
    pub action: &'a str,
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
        actor_user_id: Set(event.actor_user_id),
        actor_ip: Set(event.actor_ip.map(str::to_owned)),
        action: Set(event.action.to_owned()),
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

    #[tokio::test]
    async fn events_are_recorded_and_listed_newest_first() {
        let db = test_db::fresh().await;
        for subject in ["403-X0001", "403-X0002"] {
            record(
                &db,
                NewAuditEvent {
                    actor_user_id: Some(1),
                    actor_ip: Some("127.0.0.1"),
                    action: "facility_key.set",
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
        assert_eq!(events[0].actor_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(events[0].detail, r#"{"new_fingerprint":"0123abcd"}"#);
    }
}
