//! Who may not: one table of every admin server function and one of every admin page, each
//! asked by an employee (Forbidden, answered 403; a 403 "Not allowed" page with no admin data) and
//! by a signed-out visitor (Unauthenticated, answered 401; a 302 to /login), on every backend. Both tables are
//! checked against the source: a new admin server function or `/admin` route that is not in them
//! fails the test. Nothing a refused call would do happens: no user, key, audit event or Metrc
//! call.

use crate::support;

use app::error::AppError;
use app::ssr::queries::audit_events;
use app::types::auth::Role;
use app::types::submissions::{SubmissionFilter, SubmissionStatus};
use app::types::users::{UserDetail, UserSummary};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use support::facility_keys::{Answer, RETAIL, owner_key, sandbox_requests};
use support::submissions::{OWNER, finish, row, submitted, uma, with_id, world};
use support::user_keys::add_named_user;
use support::{ADMIN_EMAIL, Backend, Endpoint};

/// A server function's arguments, as the app sends them.
enum Args {
    Form(Vec<(&'static str, String)>),
    Json(Value),
}

async fn call(site: &Endpoint, client: &reqwest::Client, name: &str, args: &Args) -> Answer {
    let response = match args {
        Args::Form(pairs) => {
            let form: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            site.call(client, name, &form).await
        }
        Args::Json(body) => site.call_json(client, name, body).await,
    };
    Answer::of(response).await
}

/// The endpoints of the server functions in `app/src/api` that require the Admin role
/// (`caller::admin`).
fn admin_endpoints_in_source() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../app/src/api");
    let mut found = BTreeSet::new();
    for entry in std::fs::read_dir(dir).expect("app/src/api") {
        let source = std::fs::read_to_string(entry.expect("entry").path()).expect("source");
        // `#[server(endpoint = "…")]` starts a server function; `#[server(default)]` marks an
        // argument.
        for function in source.split("#[server(endpoint = \"").skip(1) {
            let name = function
                .split_once('"')
                .map(|(name, _)| name.to_owned())
                .expect("every server function names its endpoint");
            if function.contains("caller::admin(") {
                found.insert(name);
            }
        }
    }
    found
}

/// The `/admin` routes of the app (`app/src/app.rs`).
fn admin_routes_in_source() -> BTreeSet<String> {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../app/src/app.rs"))
        .expect("app.rs");
    source
        .split("path!(\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(path, _)| path.to_owned()))
        .filter(|path| path.starts_with("/admin"))
        .collect()
}

each_backend!(employees_and_signed_out_visitors_are_refused_every_admin_function_and_page);
async fn employees_and_signed_out_visitors_are_refused_every_admin_function_and_page(
    backend: Backend,
) {
    let w = world(&backend).await;
    let site: &Endpoint = &w.server;
    let uma = uma(&w).await;
    let tara = add_named_user(
        &w.server,
        "tara@example.test",
        "Tara Target",
        Role::Employee,
    )
    .await;
    let (probe_id, probe_key) = owner_key(&w.server, "Petra Probe", &[RETAIL]).await;
    w.server.state.outbox.update(|s| s.paused = true);
    let (label, _, _) = w.packages(RETAIL).await.remove(0);
    let queued = submitted(site, &uma.client, RETAIL, finish(&label), false).await;
    let id = queued.id.to_string();
    let user = tara.to_string();
    let new_user = json!({
        "name": "Mallory", "email": "mallory@example.test", "role": "Admin",
        "all_facilities": true, "facilities": [], "can_submit": true, "requires_review": false,
        "password": "a-long-enough-password",
    });
    let form = |pairs: &[(&'static str, &str)]| {
        Args::Form(pairs.iter().map(|(k, v)| (*k, v.to_string())).collect())
    };

    // Every admin server function, with arguments that would do something for an admin.
    let functions: Vec<(&str, Args)> = vec![
        ("list_facilities", form(&[])),
        (
            "search_facilities",
            Args::Json(json!({ "filter": { "search": null, "page": 0 } })),
        ),
        ("facility_key_health", form(&[])),
        (
            "validate_facility_key",
            form(&[("key", probe_key.as_str())]),
        ),
        (
            "validate_facility_key_live",
            form(&[("key", probe_key.as_str())]),
        ),
        (
            "assign_facility_key",
            Args::Json(json!({ "input": {
                "key": probe_key, "licenses": [RETAIL], "confirm_not_owner": true
            }})),
        ),
        ("revalidate_facility", form(&[("license", RETAIL)])),
        ("sync_now", form(&[("license", RETAIL)])),
        ("list_users", form(&[])),
        ("get_user", form(&[("id", user.as_str())])),
        ("create_user", Args::Json(json!({ "input": new_user }))),
        (
            "update_user",
            Args::Json(json!({ "id": tara, "input": new_user })),
        ),
        ("deactivate_user", form(&[("id", user.as_str())])),
        ("reactivate_user", form(&[("id", user.as_str())])),
        (
            "list_submissions",
            Args::Json(json!({ "filter": SubmissionFilter::default() })),
        ),
        ("submission_detail", form(&[("id", id.as_str())])),
        ("retry_submission", form(&[("id", id.as_str())])),
        ("cancel_submission", form(&[("id", id.as_str())])),
        ("approve_submission", form(&[("id", id.as_str())])),
        (
            "deny_submission",
            form(&[("id", id.as_str()), ("reason", "no")]),
        ),
        (
            "reconcile_submission",
            form(&[("id", id.as_str()), ("accepted", "true")]),
        ),
    ];
    let listed: BTreeSet<String> = functions.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        listed,
        admin_endpoints_in_source(),
        "the table must hold every admin server function"
    );

    // Every admin page, with the id its heading has (what only an admin may see).
    let pages: Vec<(&str, String, &str)> = vec![
        (
            "/admin/facilities",
            "/admin/facilities".into(),
            "facilities-title",
        ),
        (
            "/admin/integrations",
            "/admin/integrations".into(),
            "integrations-title",
        ),
        ("/admin/users", "/admin/users".into(), "users-title"),
        (
            "/admin/users/new",
            "/admin/users/new".into(),
            "new-user-title",
        ),
        (
            "/admin/users/:id",
            format!("/admin/users/{tara}"),
            "user-title",
        ),
        (
            "/admin/metrc-submissions/detail/:id",
            format!("/admin/metrc-submissions/detail/{id}"),
            "submission-title",
        ),
        (
            "/admin/metrc-submissions/:tab",
            "/admin/metrc-submissions/all".into(),
            "submissions-title",
        ),
        (
            "/admin/metrc-submissions/:tab",
            "/admin/metrc-submissions/pending-approval".into(),
            "submissions-title",
        ),
        (
            "/admin/metrc-submissions/:tab",
            "/admin/metrc-submissions/failed".into(),
            "submissions-title",
        ),
        (
            "/admin/metrc-submissions/:tab",
            "/admin/metrc-submissions/not-compliant".into(),
            "submissions-title",
        ),
    ];
    let routes: BTreeSet<String> = pages.iter().map(|(r, _, _)| r.to_string()).collect();
    assert_eq!(
        routes,
        admin_routes_in_source(),
        "the table must hold every admin page"
    );
    // What the admin pages show that others must not see.
    let tail = &w.owner_key[w.owner_key.len() - 4..];
    let admin_data = [
        ADMIN_EMAIL.to_owned(),
        "tara@example.test".to_owned(),
        OWNER.to_owned(),
        format!("••••{tail}"),
        label.clone(),
    ];
    for (_, path, heading) in &pages {
        let page = site.page(&w.admin, path).await;
        assert_eq!(page.status(), StatusCode::OK, "admin on {path}");
        let html = page.text().await.expect("html");
        assert!(
            html.contains(&format!("id=\"{heading}\"")),
            "admin on {path}"
        );
    }

    let audit_events = || async {
        audit_events::recent(&w.server.state.db, 10_000)
            .await
            .expect("db")
            .len()
    };
    let audit_before = audit_events().await;
    let calls_before = sandbox_requests(&w.server).await.len();
    let anonymous = w.server.client();
    for (client, expected, who) in [
        (&uma.client, AppError::Forbidden, "employee"),
        (&anonymous, AppError::Unauthenticated, "signed out"),
    ] {
        for (name, args) in &functions {
            let answer = call(site, client, name, args).await;
            assert_eq!(answer.err(), expected, "{who}: {name}");
            assert_eq!(answer.status.as_u16(), expected.status(), "{who}: {name}");
            assert!(!answer.body.contains(&probe_key), "{who}: {name}");
        }
        for (_, path, heading) in &pages {
            let page = site.page(client, path).await;
            let status = page.status();
            let location = page.headers().get("location").cloned();
            let html = page.text().await.expect("html");
            assert!(
                !html.contains(&format!("id=\"{heading}\"")),
                "{who} on {path}"
            );
            for secret in &admin_data {
                assert!(!html.contains(secret), "{who} on {path} sees {secret}");
            }
            if expected == AppError::Forbidden {
                assert_eq!(status, StatusCode::FORBIDDEN, "{who} on {path}");
                assert!(html.contains("Not allowed"), "{who} on {path}");
            } else {
                assert_eq!(status, StatusCode::FOUND, "{who} on {path}");
                assert_eq!(
                    location.as_ref().and_then(|l| l.to_str().ok()),
                    Some("/login"),
                    "{who} on {path}"
                );
            }
        }
    }
    // The CSV export is no page: a plain 403, and 401 signed out.
    let export = app::ssr::outbox::csv::EXPORT_PATH;
    let response = w.admin.get(site.url(export)).send().await.expect("export");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.expect("csv").contains(&label));
    for (client, status) in [
        (&uma.client, StatusCode::FORBIDDEN),
        (&anonymous, StatusCode::UNAUTHORIZED),
    ] {
        let response = client.get(site.url(export)).send().await.expect("export");
        assert_eq!(response.status(), status);
        let body = response.text().await.expect("body");
        assert!(!body.contains(&label), "{body}");
    }

    // Nothing happened: no Metrc call, no audit event, no change.
    let log = sandbox_requests(&w.server).await;
    assert_eq!(log.len(), calls_before, "{:?}", &log[calls_before..]);
    assert!(log.iter().all(|e| e["employee_id"] != json!(probe_id)));
    assert_eq!(audit_events().await, audit_before);
    let tara_now: UserDetail = with_id(site, &w.admin, "get_user", tara).await.ok();
    assert!(tara_now.active);
    assert_eq!(
        (tara_now.name.as_str(), tara_now.role),
        ("Tara Target", Role::Employee)
    );
    let users: Vec<UserSummary> = call(site, &w.admin, "list_users", &form(&[])).await.ok();
    assert!(users.iter().all(|u| u.email != "mallory@example.test"));
    assert_eq!(
        row(&w.server, queued.id).await.status,
        SubmissionStatus::Queued
    );
}
