//! Stored submissions as the screens see them (rows, detail) and what each status allows.

use super::KeyKind;
use crate::ssr::entities::{submission_attempts, submissions};
use crate::types::submissions::{
    Attempt, KeyUsed, SubmissionDetail, SubmissionRow, SubmissionStatus,
};
use serde_json::Value;
use std::collections::HashMap;

pub(super) fn status_of(model: &submissions::Model) -> SubmissionStatus {
    model.status
}

pub(super) fn key_used(model: &submissions::Model) -> KeyUsed {
    match model.key_kind {
        KeyKind::User => KeyUsed::UserKey,
        KeyKind::Facility => KeyUsed::FacilityKey {
            owner: model.key_owner.clone(),
        },
    }
}

/// What a request is about: its package label, or its plants' labels.
pub(super) fn subject(request: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(request) else {
        return String::new();
    };
    if let Some(label) = value.get("Label").and_then(Value::as_str) {
        return label.to_owned();
    }
    match value.get("PlantLabels").and_then(Value::as_array) {
        Some(labels) => labels
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        None => String::new(),
    }
}

pub(super) fn row(model: &submissions::Model, names: &HashMap<i32, String>) -> SubmissionRow {
    SubmissionRow {
        id: model.id,
        created_at: model.created_at,
        user_id: model.user_id,
        user_name: names
            .get(&model.user_id)
            .cloned()
            .unwrap_or_else(|| format!("User {}", model.user_id)),
        license_number: model.license_number.clone(),
        action: model.action,
        subject: subject(&model.request),
        key_used: key_used(model),
        compliant: model.compliant,
        status: status_of(model),
        metrc_answer: model.message.clone(),
        state: String::new(),
    }
}

fn pretty(json: &str) -> String {
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_owned())
}

pub(super) fn detail(
    model: &submissions::Model,
    names: &HashMap<i32, String>,
    attempts: &[submission_attempts::Model],
) -> SubmissionDetail {
    let status = status_of(model);
    SubmissionDetail {
        row: row(model, names),
        request: pretty(&model.request),
        response: model.metrc_response.as_deref().map(pretty),
        attempts: attempts
            .iter()
            .map(|a| Attempt {
                at: a.at,
                http_status: a.http_status.and_then(|s| u16::try_from(s).ok()),
                outcome: a.outcome.clone(),
                duration_ms: u64::try_from(a.duration_ms).unwrap_or_default(),
            })
            .collect(),
        decision: model.decision.clone(),
        can_retry: RETRY_FROM.contains(&status),
        can_cancel: CANCEL_FROM.contains(&status),
        can_approve: status == SubmissionStatus::PendingApproval,
        can_deny: status == SubmissionStatus::PendingApproval,
        can_reconcile: status == SubmissionStatus::Unknown,
    }
}

/// Retry: sent again now (Metrc failed it, or it waits for a backoff).
pub(super) const RETRY_FROM: [SubmissionStatus; 2] =
    [SubmissionStatus::Failed, SubmissionStatus::Retrying];
/// Cancel: anything not sent, not being sent, and not possibly in Metrc.
pub(super) const CANCEL_FROM: [SubmissionStatus; 4] = [
    SubmissionStatus::PendingApproval,
    SubmissionStatus::Queued,
    SubmissionStatus::Retrying,
    SubmissionStatus::Failed,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_labels() {
        assert_eq!(subject(r#"{"Label":"1A4","Quantity":-1.0}"#), "1A4");
        assert_eq!(subject(r#"{"PlantLabels":["P1","P2"]}"#), "P1, P2");
        assert_eq!(subject("not json"), "");
    }
}
