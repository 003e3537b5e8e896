//! Behind a reverse proxy: forwarded client addresses are believed only from the trusted proxies
//! of `TRACEKEEPER_TRUSTED_PROXIES` (the audit log shows it); the public origin of
//! `TRACEKEEPER_PUBLIC_ORIGIN` makes the cross-site check exact; a POST with neither `Origin`
//! nor `Sec-Fetch-Site` is refused.

use crate::support;

use app::ssr::entities::audit_events::AuditAction;
use app::ssr::queries::audit_events;
use reqwest::StatusCode;
use serde_json::json;
use support::facility_keys::{Answer, admin};
use support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer};

/// "Add user" through a proxy that says the client is `forwarded`; returns the address the
/// audit log recorded for it.
async fn audited_address(server: &TestServer, forwarded: &str, email: &str) -> Option<String> {
    let client = admin(server).await;
    let body = json!({ "input": {
        "name": "Pat Proxy", "email": email, "role": "Employee", "all_facilities": true,
        "facilities": [], "can_submit": false, "requires_review": false,
        "password": "a-long-initial-password",
    }});
    let answer = Answer::of(
        server
            .post(&client, "/api/create_user")
            .header("Accept", "application/json")
            .header("X-Forwarded-For", forwarded)
            .json(&body)
            .send()
            .await
            .expect("create_user"),
    )
    .await;
    assert!(answer.status.is_success(), "{}", answer.body);
    let events = audit_events::recent(&server.state.db, 1).await.unwrap();
    assert_eq!(events[0].action, AuditAction::UserCreated);
    events[0].actor_ip.clone()
}

each_backend!(forwarded_addresses_are_believed_only_from_trusted_proxies);
async fn forwarded_addresses_are_believed_only_from_trusted_proxies(backend: Backend) {
    // No trusted proxy: the header is the client's claim, and is ignored.
    let direct = TestServer::start(&backend).await;
    assert_eq!(
        audited_address(&direct, "203.0.113.9", "a@example.test")
            .await
            .as_deref(),
        Some("127.0.0.1")
    );
    // The test connects from 127.0.0.1, which is now a trusted proxy: the address it forwarded
    // is the client's, and a forged entry left of it is not.
    let proxied = TestServer::start_with(&backend, |config| {
        config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    assert_eq!(
        audited_address(&proxied, "198.51.100.1, 203.0.113.9", "b@example.test")
            .await
            .as_deref(),
        Some("203.0.113.9")
    );
}

/// A sign-in POST with `headers`; its status and body.
async fn sign_in_with(server: &TestServer, headers: &[(&str, &str)]) -> (StatusCode, String) {
    let mut request = server
        .client()
        .post(server.url("/api/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)]);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("login");
    (response.status(), response.text().await.unwrap_or_default())
}

#[tokio::test]
async fn a_post_must_say_it_comes_from_this_site_and_a_public_origin_is_matched_exactly() {
    let server = TestServer::start(&Backend::Sqlite).await;
    // Neither header: refused (browsers send one or the other on every POST).
    let (status, body) = sign_in_with(&server, &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        body.contains("neither an Origin nor a Sec-Fetch-Site"),
        "{body}"
    );
    let (status, _) = sign_in_with(&server, &[("Sec-Fetch-Site", "cross-site")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = sign_in_with(&server, &[("Sec-Fetch-Site", "same-origin")]).await;
    assert!(status.is_success(), "{status}: {body}");

    // With a public origin, the Origin must be exactly it: scheme, host and port.
    let public = "http://tk.example.test:8443";
    let server = TestServer::start_with(&Backend::Sqlite, |config| {
        config.public_origin = Some(public.into());
    })
    .await;
    for other in [
        server.base.as_str(),
        "https://tk.example.test:8443",
        "http://tk.example.test",
        "http://tk.example.test:8444",
    ] {
        let (status, _) = sign_in_with(&server, &[("Origin", other)]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{other}");
    }
    let (status, body) = sign_in_with(&server, &[("Origin", public)]).await;
    assert!(status.is_success(), "{status}: {body}");
}
