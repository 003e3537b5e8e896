//! User Management and /profile over HTTP, on every backend: adding a user who then signs in,
//! refused input, admin-only access, deactivation (sessions end at once, the key is deleted, both
//! audited), key status and compliance in the list, and changing one's own password.

use crate::support;

use app::error::AppError;
use app::ssr::actor::Actor;
use app::ssr::entities::audit_events::AuditAction;
use app::ssr::entities::sessions;
use app::ssr::queries::user_metrc_keys;
use app::ssr::user_admin;
use app::types::auth::{CurrentUser, Role};
use app::types::keys::KeyStatus;
use app::types::users::{UserDetail, UserSummary};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use secrecy::SecretString;
use serde_json::{Value, json};
use support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer};

const INITIAL_PASSWORD: &str = "initial-password-42";

/// A server-function call's status and body.
struct Answer {
    status: StatusCode,
    body: String,
}

impl Answer {
    async fn of(response: reqwest::Response) -> Answer {
        Answer {
            status: response.status(),
            body: response.text().await.expect("body"),
        }
    }

    fn ok<T: leptos::server_fn::serde::de::DeserializeOwned>(&self) -> T {
        assert!(self.status.is_success(), "{}: {}", self.status, self.body);
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn err(&self) -> AppError {
        assert!(
            !self.status.is_success(),
            "expected an error: {}",
            self.body
        );
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not an AppError ({e}): {}", self.body))
    }
}

async fn call(
    server: &TestServer,
    client: &reqwest::Client,
    name: &str,
    form: &[(&str, &str)],
) -> Answer {
    Answer::of(server.call(client, name, form).await).await
}

/// A JSON-bodied server function, the way the hydrated app posts it.
async fn call_json(
    server: &TestServer,
    client: &reqwest::Client,
    name: &str,
    body: Value,
) -> Answer {
    let response = server
        .post(client, &format!("/api/{name}"))
        .header("Accept", "application/json")
        .json(&body)
        .send()
        .await
        .expect("server function call");
    Answer::of(response).await
}

/// A signed-in client.
async fn signed_in_client(server: &TestServer, email: &str, password: &str) -> reqwest::Client {
    let client = server.client();
    let response = server.login(&client, email, password).await;
    assert!(response.status().is_success(), "{}", response.status());
    client
}

async fn admin(server: &TestServer) -> reqwest::Client {
    signed_in_client(server, ADMIN_EMAIL, ADMIN_PASSWORD).await
}

async fn whoami(server: &TestServer, client: &reqwest::Client) -> Option<CurrentUser> {
    call(server, client, "signed_in_user", &[]).await.ok()
}

fn user_input(name: &str, email: &str, password: Option<&str>) -> Value {
    json!({
        "name": name,
        "email": email,
        "role": "Employee",
        "all_facilities": true,
        "facilities": [],
        "can_submit": true,
        "requires_review": false,
        "password": password,
    })
}

async fn create(server: &TestServer, client: &reqwest::Client, input: Value) -> Answer {
    call_json(server, client, "create_user", json!({ "input": input })).await
}

async fn list(server: &TestServer, client: &reqwest::Client) -> Vec<UserSummary> {
    call(server, client, "list_users", &[]).await.ok()
}

async fn sessions_of(server: &TestServer, user_id: i32) -> u64 {
    sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(user_id))
        .count(&server.state.db)
        .await
        .expect("count sessions")
}

/// The rows of the page's table (the page also carries its data for hydration).
fn table_body(html: &str) -> &str {
    let start = html.find("<tbody").expect("a table");
    let end = html[start..].find("</tbody>").expect("table end");
    &html[start..start + end]
}

fn bad_input(answer: &Answer) -> String {
    match answer.err() {
        AppError::BadInput(message) => message,
        other => panic!("expected BadInput, got {other:?}"),
    }
}

each_backend!(an_admin_adds_a_user_who_signs_in_with_the_initial_password);
async fn an_admin_adds_a_user_who_signs_in_with_the_initial_password(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;

    let created = create(
        &server,
        &client,
        user_input(" Dana Grower ", "Dana@Example.test", Some(INITIAL_PASSWORD)),
    )
    .await;
    let dana: UserDetail = created.ok();
    assert_eq!(dana.name, "Dana Grower");
    assert_eq!(dana.email, "dana@example.test");
    assert_eq!(dana.role, Role::Employee);
    assert!(dana.active && dana.can_submit && dana.all_facilities);
    assert!(!created.body.contains(INITIAL_PASSWORD));

    let fetched: UserDetail = call(
        &server,
        &client,
        "get_user",
        &[("id", &dana.id.to_string())],
    )
    .await
    .ok();
    assert_eq!(fetched, dana);

    let dana_client = signed_in_client(&server, "dana@example.test", INITIAL_PASSWORD).await;
    let me = whoami(&server, &dana_client).await.expect("signed in");
    assert_eq!(me.id, dana.id);

    // The same email in another case is the same email.
    let duplicate = create(
        &server,
        &client,
        user_input(
            "Other Dana",
            "DANA@example.test",
            Some("another-long-password"),
        ),
    )
    .await;
    assert_eq!(
        bad_input(&duplicate),
        "A user with this email already exists."
    );
    let short = create(
        &server,
        &client,
        user_input("Eve", "eve@example.test", Some("short")),
    )
    .await;
    assert!(bad_input(&short).contains("at least 12 characters"));
    let no_password = create(
        &server,
        &client,
        user_input("Eve", "eve@example.test", None),
    )
    .await;
    assert!(bad_input(&no_password).contains("at least 12 characters"));
    let bad_email = create(
        &server,
        &client,
        user_input("Eve", "eve.example.test", Some(INITIAL_PASSWORD)),
    )
    .await;
    assert!(bad_input(&bad_email).contains("valid email"));
    let mut nowhere = user_input("Eve", "eve@example.test", Some(INITIAL_PASSWORD));
    nowhere["all_facilities"] = json!(false);
    nowhere["facilities"] = json!(["NOT-A-LICENSE"]);
    let unknown = create(&server, &client, nowhere).await;
    assert!(bad_input(&unknown).contains("NOT-A-LICENSE"));
    assert_eq!(list(&server, &client).await.len(), 2, "admin and Dana only");

    // Edit: role, review, name; a password is refused here.
    let mut edit = user_input("Dana G. Grower", "dana@example.test", None);
    edit["role"] = json!("Admin");
    edit["requires_review"] = json!(true);
    let saved: UserDetail = call_json(
        &server,
        &client,
        "update_user",
        json!({ "id": dana.id, "input": edit }),
    )
    .await
    .ok();
    assert_eq!(saved.name, "Dana G. Grower");
    assert_eq!(saved.role, Role::Admin);
    assert!(saved.requires_review);
    let mut with_password = user_input("Dana", "dana@example.test", Some(INITIAL_PASSWORD));
    with_password["role"] = json!("Admin");
    let refused = call_json(
        &server,
        &client,
        "update_user",
        json!({ "id": dana.id, "input": with_password }),
    )
    .await;
    assert!(bad_input(&refused).contains("Profile"));
    // Dana's next call already sees her new role.
    let me = whoami(&server, &dana_client)
        .await
        .expect("still signed in");
    assert_eq!(me.role, Role::Admin);

    // The admin cannot demote themselves.
    let admin_id = whoami(&server, &client).await.expect("admin").id;
    let demote = call_json(
        &server,
        &client,
        "update_user",
        json!({ "id": admin_id, "input": user_input("Administrator", ADMIN_EMAIL, None) }),
    )
    .await;
    assert!(bad_input(&demote).contains("your own Admin role"));
    let missing = call(&server, &client, "get_user", &[("id", "999999")]).await;
    assert_eq!(missing.err(), AppError::NotFound);

    let events = server.audit_events(20).await;
    let actions: Vec<AuditAction> = events.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        vec![AuditAction::UserUpdated, AuditAction::UserCreated],
        "refused changes leave no trace"
    );
    for event in &events {
        assert_eq!(event.subject, "dana@example.test");
        assert!(!event.detail.contains(INITIAL_PASSWORD), "{}", event.detail);
        assert_eq!(event.actor_user_id, Some(admin_id));
    }
    assert!(
        events[0].detail.contains("\"role\""),
        "{}",
        events[0].detail
    );
}

each_backend!(employees_and_strangers_cannot_manage_users);
async fn employees_and_strangers_cannot_manage_users(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let worker_id = server
        .add_user("worker@example.test", "worker-password-1", Role::Employee)
        .await;
    let employee = signed_in_client(&server, "worker@example.test", "worker-password-1").await;
    let stranger = server.client();
    let id = worker_id.to_string();
    let input = user_input("Mallory", "mallory@example.test", Some(INITIAL_PASSWORD));
    let edit = user_input("Mallory", "worker@example.test", None);

    for (client, expected) in [
        (&employee, AppError::Forbidden),
        (&stranger, AppError::Unauthenticated),
    ] {
        for (name, form) in [
            ("list_users", vec![]),
            ("get_user", vec![("id", id.as_str())]),
            ("deactivate_user", vec![("id", id.as_str())]),
            ("reactivate_user", vec![("id", id.as_str())]),
        ] {
            let answer = call(&server, client, name, &form).await;
            assert_eq!(answer.err(), expected, "{name}");
        }
        let answer = create(&server, client, input.clone()).await;
        assert_eq!(answer.err(), expected, "create_user");
        let answer = call_json(
            &server,
            client,
            "update_user",
            json!({ "id": worker_id, "input": edit.clone() }),
        )
        .await;
        assert_eq!(answer.err(), expected, "update_user");
    }
    let admin = admin(&server).await;
    let users = list(&server, &admin).await;
    assert_eq!(users.len(), 2, "nobody was added");
    let worker = users.iter().find(|u| u.id == worker_id).expect("worker");
    assert_eq!(worker.name, "Test User");
    assert!(worker.active);
    assert!(server.audit_events(5).await.is_empty());
}

each_backend!(deactivation_ends_sessions_at_once_deletes_the_key_and_is_audited);
async fn deactivation_ends_sessions_at_once_deletes_the_key_and_is_audited(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let admin = admin(&server).await;
    let worker: UserDetail = create(
        &server,
        &admin,
        user_input("Wes Worker", "wes@example.test", Some(INITIAL_PASSWORD)),
    )
    .await
    .ok();
    let wes = signed_in_client(&server, "wes@example.test", INITIAL_PASSWORD).await;
    assert!(whoami(&server, &wes).await.is_some());
    assert_eq!(sessions_of(&server, worker.id).await, 1);
    let sealed = server
        .state
        .vault
        .seal(&SecretString::from("wes-own-metrc-key-0001"))
        .expect("seal");
    user_metrc_keys::set_for_user(&server.state.db, worker.id, "", &sealed)
        .await
        .expect("store key");

    // Not yourself.
    let admin_id = whoami(&server, &admin).await.expect("admin").id;
    let own = call(
        &server,
        &admin,
        "deactivate_user",
        &[("id", &admin_id.to_string())],
    )
    .await;
    assert!(bad_input(&own).contains("your own account"));

    let id = worker.id.to_string();
    let done: UserDetail = call(&server, &admin, "deactivate_user", &[("id", &id)])
        .await
        .ok();
    assert!(!done.active);

    // Wes's very next call is anonymous, and his session row is gone.
    assert_eq!(whoami(&server, &wes).await, None);
    let answer = call(
        &server,
        &wes,
        "change_password",
        &[
            ("current", INITIAL_PASSWORD),
            ("new", "a-new-long-password"),
        ],
    )
    .await;
    assert_eq!(answer.err(), AppError::Unauthenticated);
    assert_eq!(sessions_of(&server, worker.id).await, 0);
    assert!(
        user_metrc_keys::find_for_user(&server.state.db, worker.id, "")
            .await
            .expect("key lookup")
            .is_none()
    );
    let again = server
        .login(&server.client(), "wes@example.test", INITIAL_PASSWORD)
        .await;
    assert_eq!(Answer::of(again).await.err(), AppError::InvalidCredentials);

    let events = server.audit_events(10).await;
    let deactivated = events
        .iter()
        .find(|e| e.action == AuditAction::UserDeactivated)
        .expect("user.deactivated");
    let detail: Value = serde_json::from_str(&deactivated.detail).expect("json");
    assert_eq!(detail["user_id"], json!(worker.id));
    assert_eq!(detail["sessions_ended"], json!(1));
    assert_eq!(detail["key_deleted"], json!(true));
    assert_eq!(deactivated.actor_user_id, Some(admin_id));
    let key_deleted = events
        .iter()
        .find(|e| e.action == AuditAction::UserKeyDeleted)
        .expect("user_key.deleted");
    assert_eq!(key_deleted.subject, "wes@example.test");
    let detail: Value = serde_json::from_str(&key_deleted.detail).expect("json");
    assert_eq!(detail["fingerprint"], json!(&sealed.fingerprint()[..8]));
    for event in &events {
        assert!(
            !event.detail.contains("wes-own-metrc-key"),
            "{}",
            event.detail
        );
        assert!(
            !event.detail.contains(sealed.fingerprint()),
            "{}",
            event.detail
        );
    }

    // The list still shows Wes (history stays), deactivated, without a key.
    let wes_row = list(&server, &admin)
        .await
        .into_iter()
        .find(|u| u.id == worker.id)
        .expect("still listed");
    assert!(!wes_row.active);
    assert_eq!(wes_row.key_status, KeyStatus::Missing);
    assert!(
        !wes_row.non_compliant(),
        "a deactivated user submits nothing"
    );

    // Reactivated: Wes signs in again with his old password.
    let back: UserDetail = call(&server, &admin, "reactivate_user", &[("id", &id)])
        .await
        .ok();
    assert!(back.active);
    let wes = signed_in_client(&server, "wes@example.test", INITIAL_PASSWORD).await;
    assert_eq!(whoami(&server, &wes).await.map(|u| u.id), Some(worker.id));
    let events = server.audit_events(1).await;
    assert_eq!(events[0].action, AuditAction::UserReactivated);
}

each_backend!(the_list_shows_key_status_and_who_would_submit_under_the_facility_key);
async fn the_list_shows_key_status_and_who_would_submit_under_the_facility_key(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let admin = admin(&server).await;
    let db = &server.state.db;
    let mut ids = Vec::new();
    for (name, can_submit) in [
        ("Amy Nokey", true),
        ("Ben Valid", true),
        ("Cat Invalid", true),
        ("Dan Unchecked", true),
        ("Eli Office", false),
    ] {
        let email = format!(
            "{}@example.test",
            name.split(' ').next().unwrap_or(name).to_lowercase()
        );
        let mut input = user_input(name, &email, Some(INITIAL_PASSWORD));
        input["can_submit"] = json!(can_submit);
        let user: UserDetail = create(&server, &admin, input).await.ok();
        ids.push(user.id);
    }
    let (_amy, ben, cat, dan) = (ids[0], ids[1], ids[2], ids[3]);
    for (user, key, status) in [
        (ben, "ben-key-000000001", Some(KeyStatus::Valid)),
        (cat, "cat-key-000000002", Some(KeyStatus::Invalid)),
        (dan, "dan-key-000000003", None),
    ] {
        let sealed = server
            .state
            .vault
            .seal(&SecretString::from(key))
            .expect("seal");
        user_metrc_keys::set_for_user(db, user, "", &sealed)
            .await
            .expect("store key");
        if let Some(status) = status {
            user_metrc_keys::set_status(db, user, sealed.fingerprint(), status)
                .await
                .expect("status");
        }
    }

    let users = list(&server, &admin).await;
    let row = |name: &str| {
        users
            .iter()
            .find(|u| u.name == name)
            .unwrap_or_else(|| panic!("{name} listed"))
            .clone()
    };
    let expected = [
        ("Amy Nokey", KeyStatus::Missing, "Missing", true),
        ("Ben Valid", KeyStatus::Valid, "Assigned", false),
        ("Cat Invalid", KeyStatus::Invalid, "Invalid", true),
        ("Dan Unchecked", KeyStatus::Unvalidated, "Assigned", true),
        ("Eli Office", KeyStatus::Missing, "Missing", false),
        ("Administrator", KeyStatus::Missing, "Missing", false),
    ];
    for (name, status, label, non_compliant) in expected {
        let user = row(name);
        assert_eq!(user.key_status, status, "{name}");
        assert_eq!(user.key_status.label(), label, "{name}");
        assert_eq!(user.non_compliant(), non_compliant, "{name}");
    }
    assert!(row("Ben Valid").key_last_validated_at.is_some());
    assert!(row("Dan Unchecked").key_last_validated_at.is_none());
    assert_eq!(users.iter().filter(|u| u.non_compliant()).count(), 3);

    // The page says so, and its filter lists only those three.
    let banner =
        "3 users will submit under the facility key owner&#x27;s name. This is not compliant.";
    let page = server.page(&admin, "/admin/users").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(
        html.contains(banner) || html.contains(&banner.replace("&#x27;", "'")),
        "banner"
    );
    assert!(html.contains("/admin/users?filter=no-key"));
    assert!(html.contains("Ben Valid") && html.contains("Eli Office"));
    let page = server.page(&admin, "/admin/users?filter=no-key").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    let table = table_body(&html);
    for name in ["Amy Nokey", "Cat Invalid", "Dan Unchecked"] {
        assert!(table.contains(name), "{name} in the filtered list");
    }
    for name in ["Ben Valid", "Eli Office", "Administrator"] {
        assert!(!table.contains(name), "{name} not in the filtered list");
    }
    assert!(html.contains("Show all users"));
    for key in [
        "ben-key-000000001",
        "cat-key-000000002",
        "dan-key-000000003",
    ] {
        assert!(!html.contains(key));
    }
}

each_backend!(a_user_changes_their_password_and_the_old_one_stops_working);
async fn a_user_changes_their_password_and_the_old_one_stops_working(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let user_id = server
        .add_user("pat@example.test", INITIAL_PASSWORD, Role::Employee)
        .await;
    let here = signed_in_client(&server, "pat@example.test", INITIAL_PASSWORD).await;
    let elsewhere = signed_in_client(&server, "pat@example.test", INITIAL_PASSWORD).await;
    let page = server.page(&here, "/profile").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("Profile") && html.contains("pat@example.test"));
    assert!(html.contains("Change password"));
    assert!(!html.contains("Update Key"));

    let wrong = call(
        &server,
        &here,
        "change_password",
        &[
            ("current", "not-my-password"),
            ("new", "brand-new-password"),
        ],
    )
    .await;
    assert_eq!(bad_input(&wrong), "The current password is wrong.");
    let short = call(
        &server,
        &here,
        "change_password",
        &[("current", INITIAL_PASSWORD), ("new", "too-short")],
    )
    .await;
    assert!(bad_input(&short).contains("at least 12 characters"));
    let changed = call(
        &server,
        &here,
        "change_password",
        &[("current", INITIAL_PASSWORD), ("new", "brand-new-password")],
    )
    .await;
    let () = changed.ok();

    // This browser stays signed in (on a fresh session); the other one is signed out.
    assert_eq!(whoami(&server, &here).await.map(|u| u.id), Some(user_id));
    assert_eq!(whoami(&server, &elsewhere).await, None);
    assert_eq!(sessions_of(&server, user_id).await, 1);

    let old = server
        .login(&server.client(), "pat@example.test", INITIAL_PASSWORD)
        .await;
    assert_eq!(Answer::of(old).await.err(), AppError::InvalidCredentials);
    signed_in_client(&server, "pat@example.test", "brand-new-password").await;

    let events = server.audit_events(5).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, AuditAction::UserPasswordChanged);
    assert_eq!(events[0].actor_user_id, Some(user_id));
    assert!(!events[0].detail.contains("brand-new-password"));
}

/// The active admins' ids, from the database.
async fn active_admins(server: &TestServer) -> Vec<i32> {
    let db = &server.state.db;
    let txn = app::ssr::db::begin_write(db).await.expect("transaction");
    let admins = app::ssr::queries::users::lock_active_admins(&txn)
        .await
        .expect("admins");
    txn.rollback().await.expect("rollback");
    admins
}

/// `who`'s profile as User Management would save it, with `role`.
fn edit_of(who: &UserDetail, role: Role) -> user_admin::UserEdit {
    user_admin::UserEdit {
        name: who.name.clone(),
        email: who.email.clone(),
        role,
        all_facilities: who.all_facilities,
        facilities: who.facilities.clone(),
        can_submit: who.can_submit,
        requires_review: who.requires_review,
    }
}

/// `user` as the signed-in user a server function would act for.
fn signed_in(user: &UserDetail) -> CurrentUser {
    CurrentUser {
        id: user.id,
        name: user.name.clone(),
        email: user.email.clone(),
        role: user.role,
        must_change_password: false,
    }
}

fn actor(user: &CurrentUser) -> Actor<'_> {
    Actor::User { user, ip: None }
}

each_backend!(two_admins_taking_each_other_away_at_once_leave_one_admin);
/// Two admins who demote (or deactivate) each other at the same moment: each request passed its
/// role check while both were admins, so only the services' own guard stands between them and a
/// deployment with no admin. Exactly one succeeds; the other is told why.
async fn two_admins_taking_each_other_away_at_once_leave_one_admin(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    let me = whoami(&server, &client).await.expect("signed in");
    let first: UserDetail = call(&server, &client, "get_user", &[("id", &me.id.to_string())])
        .await
        .ok();
    assert_eq!(first.role, Role::Admin);
    let mut input = user_input(
        "Second Admin",
        "second@example.test",
        Some(INITIAL_PASSWORD),
    );
    input["role"] = json!("Admin");
    let second: UserDetail = create(&server, &client, input).await.ok();
    assert_eq!(active_admins(&server).await, vec![first.id, second.id]);
    let db = &server.state.db;
    let last_admin = "This is the last active admin: make another user an admin first.";
    let (first_user, second_user) = (signed_in(&first), signed_in(&second));

    // One after the other, as when the second request checked its role before the first wrote.
    let demoted = user_admin::update_user(
        db,
        actor(&first_user),
        second.id,
        edit_of(&second, Role::Employee),
    )
    .await
    .expect("the first demotion");
    assert_eq!(demoted.role, Role::Employee);
    let refused = user_admin::update_user(
        db,
        actor(&second_user),
        first.id,
        edit_of(&first, Role::Employee),
    )
    .await
    .expect_err("the last admin stays");
    assert_eq!(
        AppError::from(refused),
        AppError::BadInput(last_admin.into())
    );
    assert_eq!(active_admins(&server).await, vec![first.id]);

    // Truly at once, both ways: demotion and deactivation, a few times each.
    for round in 0..4 {
        two_active_admins(&server, first.id, second.id).await;
        let (a, b) = if round % 2 == 0 {
            tokio::join!(
                user_admin::update_user(
                    db,
                    actor(&first_user),
                    second.id,
                    edit_of(&second, Role::Employee)
                ),
                user_admin::update_user(
                    db,
                    actor(&second_user),
                    first.id,
                    edit_of(&first, Role::Employee)
                ),
            )
        } else {
            tokio::join!(
                user_admin::deactivate_user(db, actor(&first_user), second.id),
                user_admin::deactivate_user(db, actor(&second_user), first.id),
            )
        };
        let succeeded = [a.is_ok(), b.is_ok()].iter().filter(|ok| **ok).count();
        assert_eq!(succeeded, 1, "round {round}: {a:?} / {b:?}");
        let refusal = a.err().or(b.err()).expect("one refusal");
        assert_eq!(
            AppError::from(refusal),
            AppError::BadInput(last_admin.into())
        );
        let left = active_admins(&server).await;
        assert_eq!(left.len(), 1, "round {round}: {left:?}");
    }
}

/// Makes `a` and `b` both active admins again, acting as whichever of them still is one.
async fn two_active_admins(server: &TestServer, a: i32, b: i32) {
    let db = &server.state.db;
    let admins = active_admins(server).await;
    let acting = signed_in(&user_admin::get_user(db, admins[0]).await.expect("an admin"));
    for id in [a, b] {
        let user = user_admin::get_user(db, id).await.expect("user");
        if !user.active {
            user_admin::reactivate_user(db, actor(&acting), id)
                .await
                .expect("reactivate");
        }
        if user.role != Role::Admin {
            user_admin::update_user(db, actor(&acting), id, edit_of(&user, Role::Admin))
                .await
                .expect("promote");
        }
    }
    assert_eq!(active_admins(server).await, vec![a, b]);
}
