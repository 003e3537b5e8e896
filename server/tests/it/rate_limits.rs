//! Rate limits (issue 13, item 2) over HTTP, on every backend: a user's Metrc key validations
//! run one at a time and a number per minute, without holding up other users; sign-in attempts
//! are counted per IPv6 /64 and bounded overall, however many addresses they come from.

use crate::support;

use app::error::{AppError, VALIDATION_RUNNING_RETRY_SECS};
use app::types::auth::Role;
use app::types::facilities::KeyValidation;
use app::types::key_validation::ValidationUpdate;
use reqwest::StatusCode;
use std::time::Duration;
use support::facility_keys::{Answer, RETAIL, admin, owner_key, sandbox_requests, validate};
use support::user_keys::{add_named_user, signed_in, validate_live};
use support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, Endpoint, HasSandbox, TestServer};

/// A refused call's `Retry-After`, in seconds.
fn retry_after(response: &reqwest::Response) -> u64 {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", response.headers()))
}

/// `validate_facility_key` (one-shot): its status, `Retry-After` and body.
async fn validate_with_retry(
    server: &Endpoint,
    client: &reqwest::Client,
    key: &str,
) -> (Option<u64>, Answer) {
    let response = server
        .call(client, "validate_facility_key", &[("key", key)])
        .await;
    let wait = (response.status() == StatusCode::TOO_MANY_REQUESTS).then(|| retry_after(&response));
    (wait, Answer::of(response).await)
}

each_backend!(a_users_second_validation_is_refused_while_the_first_runs_and_others_are_not);
/// While an admin's live validation streams (Metrc slowed to 2 s a call, so it runs for several
/// seconds after its answer has begun), the same admin's one-shot and live validations are
/// refused with 429 and `Retry-After`; another admin validates meanwhile; once the first has
/// ended, the first admin validates again.
async fn a_users_second_validation_is_refused_while_the_first_runs_and_others_are_not(
    backend: Backend,
) {
    let server = TestServer::start(&backend).await;
    let client = admin(&server).await;
    add_named_user(&server, "ada@example.test", "Ada Admin", Role::Admin).await;
    let ada = signed_in(&server, "ada@example.test").await;
    let (_, key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    let slow = server.sandbox().slow_down(Duration::from_millis(2000));

    let first = server
        .call(&client, "validate_facility_key_live", &[("key", &key)])
        .await;
    assert_eq!(first.status(), StatusCode::OK, "the first validation runs");

    let (wait, again) = validate_with_retry(&server, &client, &key).await;
    assert_eq!(
        again.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        again.body
    );
    assert_eq!(again.err(), AppError::ValidationRunning);
    assert_eq!(wait, Some(VALIDATION_RUNNING_RETRY_SECS));
    let own_key = validate_live(&server, &client, None, &key).await;
    assert_eq!(own_key.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(own_key.err(), AppError::ValidationRunning);

    let (_, other) = validate_with_retry(&server, &ada, &key).await;
    let _: KeyValidation = other.ok();

    drop(slow);
    let streamed = Answer::of(first).await;
    let updates = support::user_keys::updates(&streamed);
    assert_eq!(updates.last(), Some(&ValidationUpdate::Done), "{updates:?}");
    let _: KeyValidation = validate(&server, &client, &key).await.ok();
}

each_backend!(a_users_validations_per_minute_are_capped_without_calling_metrc);
/// With two validations a minute, an admin's third is refused with 429, a `Retry-After` equal to
/// the wait the message names, and no Metrc call; another admin still validates.
async fn a_users_validations_per_minute_are_capped_without_calling_metrc(backend: Backend) {
    let server = TestServer::start_with(&backend, |config| {
        config.key_validations.per_minute = 2;
    })
    .await;
    let client = admin(&server).await;
    add_named_user(&server, "ada@example.test", "Ada Admin", Role::Admin).await;
    let ada = signed_in(&server, "ada@example.test").await;
    let (_, key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    for _ in 0..2 {
        let _: KeyValidation = validate(&server, &client, &key).await.ok();
    }
    let calls = sandbox_requests(&server).await.len();

    let (wait, refused) = validate_with_retry(&server, &client, &key).await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.body
    );
    let AppError::ValidationThrottled { retry_after_secs } = refused.err() else {
        panic!("expected ValidationThrottled: {}", refused.body);
    };
    assert_eq!(wait, Some(retry_after_secs));
    assert!((1..=30).contains(&retry_after_secs), "{retry_after_secs}");
    assert!(
        refused.err().to_string().contains("key validations"),
        "not a sign-in message: {}",
        refused.err()
    );
    assert_eq!(
        sandbox_requests(&server).await.len(),
        calls,
        "Metrc was called"
    );

    let _: KeyValidation = validate(&server, &ada, &key).await.ok();
}

/// A sign-in through a trusted proxy that says the client is `from`.
async fn sign_in_from(server: &Endpoint, from: &str, email: &str, password: &str) -> StatusCode {
    server
        .post(&server.client(), "/api/login")
        .header("Accept", "application/json")
        .header("X-Forwarded-For", from)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("login")
        .status()
}

/// A server behind a trusted proxy (the tests connect from 127.0.0.1) with these sign-in limits.
async fn behind_proxy(
    backend: &Backend,
    limits: impl FnOnce(&mut app::ssr::config::Config),
) -> TestServer {
    TestServer::start_with(backend, |config| {
        config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
        limits(config);
    })
    .await
}

each_backend!(ipv6_clients_in_one_64_share_a_sign_in_budget);
/// Two attempts per address a minute: two addresses of one /64 use up the budget together (the
/// third, from a third address in it, waits); another /64 still signs in.
async fn ipv6_clients_in_one_64_share_a_sign_in_budget(backend: Backend) {
    let server = behind_proxy(&backend, |config| {
        config.sign_in.ip_burst = 2;
        config.sign_in.ip_period = Duration::from_secs(60);
    })
    .await;
    let wrong = "not-the-password";
    assert_eq!(
        sign_in_from(&server, "2001:db8:1:2::1", "a@example.test", wrong).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in_from(&server, "2001:db8:1:2::2", "b@example.test", wrong).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sign_in_from(&server, "2001:db8:1:2:ffff::9", ADMIN_EMAIL, ADMIN_PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the /64's budget is used up"
    );
    assert_eq!(
        sign_in_from(&server, "2001:db8:1:3::1", ADMIN_EMAIL, ADMIN_PASSWORD).await,
        StatusCode::OK,
        "another /64 has its own"
    );
}

each_backend!(sign_ins_from_many_addresses_are_bounded_overall);
/// Three attempts a minute from everyone together: three wrong passwords from three addresses
/// for three accounts use them up, and then even the right password from a fresh address waits
/// (refused before its password is hashed).
async fn sign_ins_from_many_addresses_are_bounded_overall(backend: Backend) {
    let server = behind_proxy(&backend, |config| {
        config.sign_in.overall_burst = 3;
        config.sign_in.overall_period = Duration::from_secs(60);
    })
    .await;
    for i in 1..=3 {
        assert_eq!(
            sign_in_from(
                &server,
                &format!("198.51.100.{i}"),
                &format!("u{i}@example.test"),
                "not-the-password"
            )
            .await,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(
        sign_in_from(&server, "203.0.113.7", ADMIN_EMAIL, ADMIN_PASSWORD).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}
