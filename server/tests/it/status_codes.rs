//! HTTP status codes tell the truth (issue 13, item 4), on every backend: each kind of error,
//! produced by real server-function calls, is answered with its own status (429 with
//! `Retry-After`), its body is still the error the page shows, and a refusal (4xx) is not logged
//! at ERROR.

use crate::support;

use app::error::AppError;
use app::types::auth::Role;
use reqwest::StatusCode;
use support::facility_keys::{Answer, RETAIL, admin, owner_key};
use support::{ADMIN_EMAIL, Backend, Endpoint, HasSandbox, LogCapture, TestServer};

/// A call's status, `Retry-After` (seconds) and error.
async fn refusal(response: reqwest::Response) -> (StatusCode, Option<u64>, AppError) {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let answer = Answer::of(response).await;
    (answer.status, retry_after, answer.err())
}

async fn login(
    server: &Endpoint,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> (StatusCode, Option<u64>, AppError) {
    refusal(server.login(client, email, password).await).await
}

each_backend!(every_kind_of_error_is_answered_with_its_own_status);
async fn every_kind_of_error_is_answered_with_its_own_status(backend: Backend) {
    let log = LogCapture::start();
    let server = TestServer::start(&backend).await;
    let anonymous = server.client();
    let admin = admin(&server).await;
    server
        .add_user("emp@example.test", "employee-password", Role::Employee)
        .await;
    let employee = server.client();
    server
        .login(&employee, "emp@example.test", "employee-password")
        .await;
    let (_, key) = owner_key(&server, "Olivia Owner", &[RETAIL]).await;
    let validate = |client, key: &str| {
        let key = key.to_owned();
        let server = &server;
        async move {
            refusal(
                server
                    .call(client, "validate_facility_key", &[("key", &key)])
                    .await,
            )
            .await
        }
    };

    // A refused sign-in, a signed-out and a forbidden call.
    let (status, _, error) = login(&server, &anonymous, ADMIN_EMAIL, "wrong-password").await;
    assert_eq!(
        (status, error),
        (StatusCode::UNAUTHORIZED, AppError::InvalidCredentials)
    );
    let (status, _, error) = refusal(server.call(&anonymous, "list_facilities", &[]).await).await;
    assert_eq!(
        (status, error),
        (StatusCode::UNAUTHORIZED, AppError::Unauthenticated)
    );
    let (status, _, error) = refusal(server.call(&employee, "list_facilities", &[]).await).await;
    assert_eq!(
        (status, error),
        (StatusCode::FORBIDDEN, AppError::Forbidden)
    );

    // Bad input: a malformed key (400); a key Metrc refuses (422); arguments that cannot be read.
    let (status, _, error) = validate(&admin, "not a key!").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error:?}");
    assert!(matches!(error, AppError::BadInput(_)), "{error:?}");
    let (status, _, error) = validate(&admin, "abcdefghijklmnopqrstuvwxyz012345").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error:?}");
    assert!(matches!(error, AppError::KeyRefused(_)), "{error:?}");
    let (status, _, error) = refusal(server.call(&admin, "validate_facility_key", &[]).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error:?}");

    // Not found.
    let (status, _, error) = refusal(
        server
            .call(
                &admin,
                "revalidate_facility",
                &[("license", "NO-SUCH-LICENSE")],
            )
            .await,
    )
    .await;
    assert_eq!((status, error), (StatusCode::NOT_FOUND, AppError::NotFound));

    // Metrc unavailable.
    let _outage = server
        .sandbox()
        .fail_next("", StatusCode::INTERNAL_SERVER_ERROR, 1000);
    let (status, _, error) = validate(&admin, &key).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error:?}");
    assert!(matches!(error, AppError::MetrcUnavailable(_)), "{error:?}");

    // Throttled, with Retry-After: the account's sign-in attempts are used up.
    let throttled = server.client();
    let mut last = None;
    for _ in 0..=support::test_throttle().account_burst {
        last = Some(login(&server, &throttled, "emp@example.test", "guess").await);
    }
    let Some((status, retry_after, AppError::Throttled { retry_after_secs })) = last else {
        panic!("expected Throttled: {last:?}");
    };
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after, Some(retry_after_secs));

    // Every one of them was the request's or Metrc's, none ours: no ERROR in the log, Metrc's
    // failure a WARN.
    let logged = log.text();
    assert!(
        logged.contains("path=\"/api/login\" status=401"),
        "the refusals are logged: {logged}"
    );
    assert!(
        logged
            .lines()
            .any(|line| line.contains(" WARN ") && line.contains("status=503")),
        "{logged}"
    );
    assert!(
        !logged.lines().any(|line| line.contains(" ERROR ")),
        "a refusal was logged at ERROR:\n{logged}"
    );
}
