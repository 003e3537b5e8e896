//! The real HTTP server: health, sign-in, sessions, role checks and bad input, on every backend.

use crate::support;

use app::error::AppError;
use app::types::auth::{CurrentUser, Role};
use metrc::sandbox::SandboxConfig;
use reqwest::StatusCode;
use support::{ADMIN_EMAIL, ADMIN_PASSWORD, Backend, TestServer};

async fn error_of(response: reqwest::Response) -> AppError {
    assert!(
        !response.status().is_success(),
        "expected an error, got {}",
        response.status()
    );
    let body = response.text().await.expect("body");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("not an AppError ({e}): {body}"))
}

/// The session cookie `response` sets (`tracekeeper_session`, `__Host-` prefixed or not).
fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("tracekeeper_session="))
        .expect("session cookie")
        .to_owned()
}

async fn signed_in(server: &TestServer, client: &reqwest::Client) -> Option<CurrentUser> {
    let response = server.call(client, "signed_in_user", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.expect("json")
}

each_backend!(healthz_reports_version_and_backend);
async fn healthz_reports_version_and_backend(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let response = reqwest::get(server.url("/healthz")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["status"], "ok");
    let expected = match backend {
        support::Backend::Sqlite => "sqlite",
        support::Backend::Postgres(_) => "postgres",
    };
    assert_eq!(body["database"], expected);
}

/// A server started with no `TRACEKEEPER_ADMIN_PASSWORD`, the file its first admin's generated
/// password was written to, and that password.
async fn with_generated_password(backend: &Backend) -> (TestServer, std::path::PathBuf, String) {
    let server = TestServer::start_custom(
        backend,
        |config| config.admin_password = None,
        SandboxConfig::default(),
        |_| {},
    )
    .await;
    let file = server
        .state
        .config
        .data_dir
        .join(app::ssr::bootstrap::PASSWORD_FILE);
    let password = std::fs::read_to_string(&file).expect("the password file");
    let password = password.trim().to_owned();
    (server, file, password)
}

each_backend!(a_generated_first_admin_password_is_written_to_a_private_file_not_the_log);
/// With no `TRACEKEEPER_ADMIN_PASSWORD`, the first start makes up the admin's password and
/// writes it to `first-admin-password.txt` in the data directory (mode 0600); the log names the
/// file, never the password; the password in the file signs in.
async fn a_generated_first_admin_password_is_written_to_a_private_file_not_the_log(
    backend: Backend,
) {
    let log = support::LogCapture::start();
    let (server, file, password) = with_generated_password(&backend).await;
    let password = password.as_str();
    assert!(password.len() >= 12, "a generated password");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let logged = log.text();
    assert!(logged.contains("created the first admin"), "{logged}");
    assert!(logged.contains(&file.display().to_string()), "{logged}");
    assert!(
        !logged.contains(password),
        "the password is not logged: {logged}"
    );

    let client = server.client();
    let response = server.login(&client, ADMIN_EMAIL, password).await;
    assert!(response.status().is_success(), "{}", response.status());
}

each_backend!(a_generated_first_admin_password_must_be_changed_before_anything_else);
/// The first admin whose password Tracekeeper generated signs in, but every page sends them to
/// /profile and every server function but "Change password" refuses (on the server, not only in
/// the UI), until they change it; then the same calls succeed. An ordinary user is unaffected.
async fn a_generated_first_admin_password_must_be_changed_before_anything_else(backend: Backend) {
    let (server, _, generated) = with_generated_password(&backend).await;
    let generated = generated.as_str();

    let client = server.client();
    let login = server.login(&client, ADMIN_EMAIL, generated).await;
    assert!(login.status().is_success(), "{}", login.status());
    assert!(
        signed_in(&server, &client)
            .await
            .unwrap()
            .must_change_password
    );

    let refused = server.call(&client, "list_users", &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_of(refused).await, AppError::PasswordChangeRequired);
    let refused = server.call(&client, "my_key_status", &[]).await;
    assert_eq!(error_of(refused).await, AppError::PasswordChangeRequired);
    let export = client
        .get(server.url(app::ssr::outbox::csv::EXPORT_PATH))
        .send()
        .await
        .unwrap();
    assert_eq!(export.status(), StatusCode::FORBIDDEN);
    for path in ["/", "/admin/users", "/inventory/packages"] {
        let page = server.page(&client, path).await;
        assert!(page.status().is_redirection(), "{path}: {}", page.status());
        assert_eq!(page.headers()["location"], "/profile", "{path}");
    }
    let profile = server.page(&client, "/profile").await;
    assert_eq!(profile.status(), StatusCode::OK);
    let html = profile.text().await.unwrap();
    assert!(
        html.contains("Change it below before doing anything else"),
        "{html}"
    );
    assert!(html.contains("Change password"), "{html}");

    let new_password = "the admin's own password";
    let changed = server
        .call(
            &client,
            "change_password",
            &[("current", generated), ("new", new_password)],
        )
        .await;
    assert!(changed.status().is_success(), "{}", changed.status());
    assert!(
        !signed_in(&server, &client)
            .await
            .unwrap()
            .must_change_password
    );
    let listed = server.call(&client, "list_users", &[]).await;
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(
        server.page(&client, "/admin/users").await.status(),
        StatusCode::OK
    );
    // Signing in again with the new password does not ask again.
    let again = server.client();
    assert!(
        server
            .login(&again, ADMIN_EMAIL, new_password)
            .await
            .status()
            .is_success()
    );
    assert!(
        !signed_in(&server, &again)
            .await
            .unwrap()
            .must_change_password
    );

    server
        .add_user("emp@example.test", "employee-password", Role::Employee)
        .await;
    let employee = server.client();
    let login = server
        .login(&employee, "emp@example.test", "employee-password")
        .await;
    assert!(login.status().is_success());
    assert!(
        !signed_in(&server, &employee)
            .await
            .unwrap()
            .must_change_password
    );
    let status = server.call(&employee, "my_key_status", &[]).await;
    assert_eq!(status.status(), StatusCode::OK);
    assert_eq!(server.page(&employee, "/").await.status(), StatusCode::OK);
}

each_backend!(every_response_carries_the_security_headers_and_https_adds_hsts_and_a_host_cookie);
/// Pages, server functions and errors carry the security headers; with secure cookies on (served
/// over HTTPS), HSTS too, and the session cookie is `__Host-` prefixed, Secure and for `/`.
async fn every_response_carries_the_security_headers_and_https_adds_hsts_and_a_host_cookie(
    backend: Backend,
) {
    for secure in [false, true] {
        let server = TestServer::start_custom(
            &backend,
            |config| config.secure_cookies = secure,
            SandboxConfig::default(),
            |_| {},
        )
        .await;
        let client = server.client();
        let page = client.get(server.url("/login")).send().await.unwrap();
        let missing = client
            .get(server.url("/no-such-page"))
            .send()
            .await
            .unwrap();
        let login = server.login(&client, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        for response in [&page, &missing, &login] {
            let h = response.headers();
            let header = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
            assert_eq!(header("x-content-type-options"), Some("nosniff"));
            assert_eq!(header("x-frame-options"), Some("DENY"));
            assert!(
                header("content-security-policy")
                    .is_some_and(|csp| csp.contains("frame-ancestors 'none'")),
                "{h:?}"
            );
            assert_eq!(
                header("referrer-policy"),
                Some("strict-origin-when-cross-origin")
            );
            assert_eq!(
                header("strict-transport-security").is_some(),
                secure,
                "{h:?}"
            );
        }
        let cookie = session_cookie(&login);
        assert_eq!(cookie.starts_with("__Host-"), secure, "{cookie}");
        assert_eq!(cookie.contains("Secure"), secure, "{cookie}");
        assert!(
            cookie.contains("Path=/") && !cookie.contains("Domain"),
            "{cookie}"
        );
    }
}

/// The nonce in a page's Content-Security-Policy, after checking that its `script-src` allows
/// no inline script without it.
fn csp_nonce(response: &reqwest::Response) -> String {
    let csp = response
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .expect("a CSP header")
        .to_owned();
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find_map(|d| d.strip_prefix("script-src "))
        .unwrap_or_else(|| panic!("no script-src: {csp}"));
    assert!(!script_src.contains("'unsafe-inline'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    script_src
        .split_whitespace()
        .find_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no nonce: {csp}"))
        .to_owned()
}

/// Asserts that every `<script>` in `html` carries `nonce`, and that there is at least one.
fn every_script_carries(html: &str, nonce: &str) {
    let tags: Vec<&str> = html
        .split("<script")
        .skip(1)
        .map(|rest| &rest[..rest.find('>').expect("a closed tag")])
        .collect();
    assert!(
        !tags.is_empty(),
        "the page has its hydration script: {html}"
    );
    for tag in tags {
        assert!(
            tag.contains(&format!("nonce=\"{nonce}\"")),
            "a script without the response's nonce {nonce}: <script{tag}>"
        );
    }
}

each_backend!(pages_run_only_scripts_that_carry_the_responses_fresh_nonce);
/// A page's Content-Security-Policy allows no inline script but those carrying its nonce, every
/// `<script>` Leptos writes (the hydration bootstrap, the resolved resources of an async page)
/// carries that nonce, each response has a new one, and what is not a page loads nothing.
async fn pages_run_only_scripts_that_carry_the_responses_fresh_nonce(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = server.client();
    let mut nonces = std::collections::HashSet::new();
    let signed_out = server.page(&client, "/login").await;
    let missing = server.page(&client, "/no-such-page").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let login = server.login(&client, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(login.status().is_success());
    let first = server.page(&client, "/admin/users").await;
    let second = server.page(&client, "/admin/users").await;
    for page in [signed_out, missing, first, second] {
        let nonce = csp_nonce(&page);
        assert!(nonce.len() >= 16, "{nonce}");
        every_script_carries(&page.text().await.unwrap(), &nonce);
        assert!(nonces.insert(nonce), "a nonce used twice");
    }

    let not_a_page = server.call(&client, "signed_in_user", &[]).await;
    assert_eq!(
        not_a_page.headers()["content-security-policy"],
        app::ssr::csp::NOT_A_PAGE
    );
}

each_backend!(first_admin_signs_in_sees_users_and_signs_out);
async fn first_admin_signs_in_sees_users_and_signs_out(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = server.client();
    assert_eq!(signed_in(&server, &client).await, None);

    let response = server.login(&client, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert!(response.status().is_success(), "{}", response.status());
    let cookie = session_cookie(&response);
    assert!(cookie.starts_with("tracekeeper_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");

    let me = signed_in(&server, &client).await.expect("signed in");
    assert_eq!(me.email, ADMIN_EMAIL);
    assert_eq!(me.role, Role::Admin);

    let users = server.call(&client, "list_users", &[]).await;
    assert_eq!(users.status(), StatusCode::OK);
    let users: Vec<app::types::users::UserSummary> = users.json().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].email, ADMIN_EMAIL);

    let page = server.page(&client, "/admin/users").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("User Management"));
    assert!(html.contains(ADMIN_EMAIL));

    let out = server.call(&client, "logout", &[]).await;
    assert!(out.status().is_success());
    assert_eq!(signed_in(&server, &client).await, None);
}

each_backend!(a_session_cookie_is_worthless_after_sign_out);
async fn a_session_cookie_is_worthless_after_sign_out(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = server.client();
    let response = server.login(&client, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let cookie = response
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("cookie")
        .to_owned();
    server.call(&client, "logout", &[]).await;

    let replay = server
        .post(&reqwest::Client::new(), "/api/list_users")
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(replay).await, AppError::Unauthenticated);
}

each_backend!(wrong_password_and_unknown_email_get_the_same_message);
async fn wrong_password_and_unknown_email_get_the_same_message(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = server.client();
    let wrong = server.login(&client, ADMIN_EMAIL, "not the password").await;
    assert_eq!(error_of(wrong).await, AppError::InvalidCredentials);
    let unknown = server
        .login(&client, "nobody@example.test", "whatever-it-is")
        .await;
    assert_eq!(error_of(unknown).await, AppError::InvalidCredentials);
    assert_eq!(signed_in(&server, &client).await, None);
}

each_backend!(empty_credentials_are_bad_input);
async fn empty_credentials_are_bad_input(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = server.client();
    let response = server.login(&client, "  ", "").await;
    assert!(matches!(error_of(response).await, AppError::BadInput(_)));
    let missing_field = server.call(&client, "login", &[("email", "a@b.c")]).await;
    assert!(!missing_field.status().is_success());
}

each_backend!(repeated_failures_are_throttled_even_with_the_right_password);
async fn repeated_failures_are_throttled_even_with_the_right_password(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = server.client();
    let burst = support::test_throttle().account_burst;
    for _ in 0..burst {
        let r = server.login(&client, ADMIN_EMAIL, "guess").await;
        assert_eq!(error_of(r).await, AppError::InvalidCredentials);
    }
    let r = server.login(&client, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    match error_of(r).await {
        AppError::Throttled { retry_after_secs } => assert!(retry_after_secs >= 1),
        other => panic!("expected Throttled, got {other:?}"),
    }
    // Another account is not affected.
    server
        .add_user("emp@example.test", "employee-password", Role::Employee)
        .await;
    let other = server
        .login(&client, "emp@example.test", "employee-password")
        .await;
    assert!(other.status().is_success());
}

each_backend!(an_employee_is_refused_admin_functions_and_pages);
async fn an_employee_is_refused_admin_functions_and_pages(backend: Backend) {
    let server = TestServer::start(&backend).await;
    server
        .add_user("emp@example.test", "employee-password", Role::Employee)
        .await;
    let client = server.client();
    let r = server
        .login(&client, "EMP@example.test ", "employee-password")
        .await;
    assert!(r.status().is_success());
    assert_eq!(
        signed_in(&server, &client).await.unwrap().role,
        Role::Employee
    );

    let direct = server.call(&client, "list_users", &[]).await;
    assert_eq!(error_of(direct).await, AppError::Forbidden);

    let page = server.page(&client, "/admin/users").await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    let html = page.text().await.unwrap();
    assert!(html.contains("Not allowed"));
    assert!(!html.contains(ADMIN_EMAIL), "the admin UI must not render");
}

each_backend!(signed_out_visitors_are_sent_to_sign_in);
async fn signed_out_visitors_are_sent_to_sign_in(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let client = server.client();
    for path in ["/", "/admin/users"] {
        let page = server.page(&client, path).await;
        assert!(page.status().is_redirection(), "{path}: {}", page.status());
        assert_eq!(page.headers()["location"], "/login");
    }
    let direct = server.call(&client, "list_users", &[]).await;
    assert_eq!(error_of(direct).await, AppError::Unauthenticated);

    let login = server.page(&client, "/login").await;
    assert_eq!(login.status(), StatusCode::OK);
    let html = login.text().await.unwrap();
    assert!(html.contains("Sign in"));
    assert!(html.contains("name=\"email\""));
    assert!(html.contains("/pkg/tracekeeper.wasm") || html.contains("/pkg/tracekeeper.js"));
}

each_backend!(deactivated_users_cannot_sign_in);
async fn deactivated_users_cannot_sign_in(backend: Backend) {
    use sea_orm::{ActiveModelTrait, EntityTrait, Set};
    let server = TestServer::start(&backend).await;
    let id = server
        .add_user("gone@example.test", "employee-password", Role::Employee)
        .await;
    let user = app::ssr::entities::users::Entity::find_by_id(id)
        .one(&server.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut user: app::ssr::entities::users::ActiveModel = user.into();
    user.active = Set(false);
    user.update(&server.state.db).await.unwrap();
    let r = server
        .login(&server.client(), "gone@example.test", "employee-password")
        .await;
    assert_eq!(error_of(r).await, AppError::InvalidCredentials);
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let server = TestServer::start(&support::Backend::Sqlite).await;
    let response = server
        .client()
        .post(server.url("/api/login"))
        .header("Origin", "https://evil.example")
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let same_site = server
        .client()
        .post(server.url("/api/login"))
        .header("Origin", server.base.clone())
        .form(&[("email", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(same_site.status().is_success(), "{}", same_site.status());
}

#[tokio::test]
async fn unknown_pages_are_404() {
    let server = TestServer::start(&support::Backend::Sqlite).await;
    let page = server.page(&server.client(), "/no/such/page").await;
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
}
