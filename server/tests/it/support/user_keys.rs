//! Helpers shared by the user-key tests: users with names, signed-in clients, the user-key
//! server functions called over HTTP the way the app calls them, and what the database holds.

use super::facility_keys::Answer;
use super::{ADMIN_EMAIL, Endpoint, TestServer};
use app::error::AppError;
use app::ssr::entities::audit_events::AuditAction;
use app::ssr::entities::audit_events::Model as AuditEvent;
use app::ssr::entities::user_metrc_keys::Model as StoredUserKey;
use app::ssr::passwords;
use app::ssr::queries::users::{self, NewUser};
use app::ssr::queries::{audit_events, user_metrc_keys};
use app::types::auth::Role;
use app::types::key_validation::ValidationUpdate;
use app::types::users::UserDetail;
use reqwest::StatusCode;
use serde_json::json;

/// The password of every user these helpers create.
pub const PASSWORD: &str = "a-long-enough-password";

/// Creates a user with this name straight in the database; returns their id.
pub async fn add_named_user(server: &TestServer, email: &str, name: &str, role: Role) -> i32 {
    let hash = passwords::hash(PASSWORD.to_owned()).await.expect("hash");
    users::insert(
        &server.state.db,
        NewUser {
            email,
            name,
            password_hash: hash,
            role,
            can_submit: true,
        },
    )
    .await
    .expect("insert user")
    .id
}

/// The first admin's user id.
pub async fn admin_id(server: &TestServer) -> i32 {
    users::find_by_email(&server.state.db, ADMIN_EMAIL)
        .await
        .expect("db")
        .expect("the first admin")
        .id
}

/// A fresh client signed in as `email` (password [`PASSWORD`]).
pub async fn signed_in(server: &Endpoint, email: &str) -> reqwest::Client {
    let client = server.client();
    let response = server.login(&client, email, PASSWORD).await;
    assert!(
        response.status().is_success() || response.status().is_redirection(),
        "login as {email}: {}",
        response.status()
    );
    client
}

/// `set_user_key` (JSON body), for `user_id` (`None`: the signed-in user).
pub async fn set_key(
    server: &Endpoint,
    client: &reqwest::Client,
    user_id: Option<i32>,
    key: &str,
    confirm_facility_key: bool,
) -> Answer {
    let response = server
        .post(client, "/api/set_user_key")
        .header("Accept", "application/json")
        .json(&json!({ "input": {
            "user_id": user_id, "key": key, "confirm_facility_key": confirm_facility_key
        }}))
        .send()
        .await
        .expect("server function call");
    Answer::of(response).await
}

/// `user_key` for `user_id` (`None`: the signed-in user).
pub async fn view_key(server: &Endpoint, client: &reqwest::Client, user_id: Option<i32>) -> Answer {
    let id = user_id.map(|id| id.to_string());
    let form: Vec<(&str, &str)> = id.iter().map(|id| ("user_id", id.as_str())).collect();
    Answer::of(server.call(client, "user_key", &form).await).await
}

/// `my_key_status`.
pub async fn my_status(server: &Endpoint, client: &reqwest::Client) -> Answer {
    Answer::of(server.call(client, "my_key_status", &[]).await).await
}

/// `validate_user_key_live` for `user_id` (`None`: the signed-in user): the raw answer.
pub async fn validate_live(
    server: &Endpoint,
    client: &reqwest::Client,
    user_id: Option<i32>,
    key: &str,
) -> Answer {
    let id = user_id.map(|id| id.to_string());
    let mut form: Vec<(&str, &str)> = id.iter().map(|id| ("user_id", id.as_str())).collect();
    form.push(("key", key));
    Answer::of(server.call(client, "validate_user_key_live", &form).await).await
}

/// The updates of a successful live validation, one per line, in order.
pub fn updates(answer: &Answer) -> Vec<ValidationUpdate> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer.body.ends_with('\n'),
        "every update ends its line: {:?}",
        answer.body
    );
    answer
        .body
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not an update ({e}): {line}"))
        })
        .collect()
}

/// The `KeyRefused` text of a refused call (panics on any other answer).
pub fn refused(answer: &Answer) -> String {
    match answer.err() {
        AppError::KeyRefused(text) => text,
        other => panic!("expected KeyRefused, got {other:?}"),
    }
}

/// The user's stored key row, read straight from the database.
pub async fn stored(server: &TestServer, user_id: i32) -> Option<StoredUserKey> {
    user_metrc_keys::find_for_user(&server.state.db, user_id, "")
        .await
        .expect("db")
}

/// Every stored user key.
pub async fn all_stored(server: &TestServer) -> Vec<StoredUserKey> {
    user_metrc_keys::all(&server.state.db).await.expect("db")
}

/// Audit events with `action`, newest first.
pub async fn audited(server: &TestServer, action: AuditAction) -> Vec<AuditEvent> {
    audit_events::recent(&server.state.db, 1000)
        .await
        .expect("db")
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// Changes a user the way the user page's "Save" does: `update_user` with their profile as it is,
/// changed by `change` (the `UserInput` JSON: `can_submit`, `all_facilities`, `facilities`, ...).
pub async fn edit_user(
    server: &Endpoint,
    admin: &reqwest::Client,
    user_id: i32,
    change: impl FnOnce(&mut serde_json::Value),
) -> UserDetail {
    let id = user_id.to_string();
    let now: UserDetail = Answer::of(server.call(admin, "get_user", &[("id", &id)]).await)
        .await
        .ok();
    let mut input = json!({
        "name": now.name, "email": now.email, "role": now.role,
        "all_facilities": now.all_facilities, "facilities": now.facilities,
        "can_submit": now.can_submit, "requires_review": now.requires_review, "password": null,
    });
    change(&mut input);
    let body = json!({ "id": user_id, "input": input });
    Answer::of(server.call_json(admin, "update_user", &body).await)
        .await
        .ok()
}
