//! Every input is bounded before any work is done on it (`app::ssr::input`): each bounded input
//! over HTTP at its limit and one past it, refused by name and limit; an oversized body refused
//! at once, and the server responsive while 16 of them arrive together.

use crate::support;

use app::error::AppError;
use app::ssr::input::{MAX_BODY_BYTES, MAX_EMAIL_BYTES, MAX_PASSWORD_CHARS, MAX_TEXT_CHARS};
use app::types::users::UserDetail;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::facility_keys::{Answer, admin, sandbox_requests, validate};
use support::{Backend, TestServer};

/// How long a refusal of a bounded input may take ("at once").
const AT_ONCE: Duration = Duration::from_secs(2);

/// `login` with a form body of exactly `size` bytes: `email=aaa…&password=x`.
fn login_body(size: usize) -> Vec<u8> {
    let frame = "email=&password=x".len();
    format!("email={}&password=x", "a".repeat(size - frame)).into_bytes()
}

async fn post_login(server: &TestServer, client: &reqwest::Client, body: Vec<u8>) -> Answer {
    let response = server
        .post(client, "/api/login")
        .header("Accept", "application/json")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("login call");
    Answer::of(response).await
}

fn bad_input(answer: &Answer) -> String {
    match answer.err() {
        AppError::BadInput(text) => text,
        other => panic!("expected BadInput, got {other:?}"),
    }
}

each_backend!(each_bounded_input_is_refused_by_name_and_limit_just_past_it);
async fn each_bounded_input_is_refused_by_name_and_limit_just_past_it(backend: Backend) {
    let server = TestServer::start(&backend).await;
    let anonymous = server.client();

    // The body: at the limit it reaches the server function (which refuses the long email),
    // one byte past it is refused before it is read.
    let at = post_login(&server, &anonymous, login_body(MAX_BODY_BYTES)).await;
    assert!(bad_input(&at).contains("email"), "{}", at.body);
    let past = post_login(&server, &anonymous, login_body(MAX_BODY_BYTES + 1)).await;
    assert_eq!(past.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", past.body);
    assert_eq!(
        past.body,
        "The request body is too large: 65536 bytes at most."
    );

    // Sign-in: an email of 254 bytes is checked (and unknown), 255 is refused by name.
    let email_at = format!("{}@example.test", "e".repeat(MAX_EMAIL_BYTES - 13));
    assert_eq!(email_at.len(), MAX_EMAIL_BYTES);
    let answer = Answer::of(server.login(&anonymous, &email_at, "password123456").await).await;
    assert_eq!(answer.err(), AppError::InvalidCredentials);
    let answer = Answer::of(
        server
            .login(&anonymous, &format!("e{email_at}"), "password123456")
            .await,
    )
    .await;
    assert_eq!(
        bad_input(&answer),
        "The email is too long: 254 bytes at most."
    );
    // A password of 256 characters is checked, 257 are refused by name.
    let password_at = "p".repeat(MAX_PASSWORD_CHARS);
    let answer = Answer::of(
        server
            .login(&anonymous, "nobody@example.test", &password_at)
            .await,
    )
    .await;
    assert_eq!(answer.err(), AppError::InvalidCredentials);
    let answer = Answer::of(
        server
            .login(
                &anonymous,
                "nobody@example.test",
                &format!("{password_at}p"),
            )
            .await,
    )
    .await;
    assert_eq!(
        bad_input(&answer),
        "The password is too long: 256 characters at most."
    );

    // A Metrc key that is not letters and digits is refused before Metrc is asked; a
    // well-formed one of 16 characters goes to Metrc (which does not know it).
    let client = admin(&server).await;
    let asked_before = sandbox_requests(&server).await.len();
    for bad in ["not-a-metrc-key-0000", "abcdefghijklmno", &"k".repeat(129)] {
        let text = bad_input(&validate(&server, &client, bad).await);
        assert!(text.contains("16 to 128 letters and digits"), "{text}");
    }
    assert_eq!(sandbox_requests(&server).await.len(), asked_before);
    assert!(matches!(
        validate(&server, &client, "abcdefghijklmnop").await.err(),
        AppError::KeyRefused(_)
    ));
    assert!(sandbox_requests(&server).await.len() > asked_before);

    // A name: 100 characters are kept, 101 are refused, and so is a text-direction override.
    let add = |name: String, email: &'static str| {
        let client = client.clone();
        let server = &server;
        async move {
            let body = json!({ "input": {
                "name": name, "email": email, "role": "Employee", "all_facilities": true,
                "facilities": [], "can_submit": false, "requires_review": false,
                "password": "a-long-initial-password",
            }});
            Answer::of(server.call_json(&client, "create_user", &body).await).await
        }
    };
    let name_at = "N".repeat(MAX_TEXT_CHARS);
    let added: UserDetail = add(name_at.clone(), "at@example.test").await.ok();
    assert_eq!(added.name, name_at);
    assert_eq!(
        bad_input(&add(format!("{name_at}N"), "past@example.test").await),
        "The name is too long: 100 characters at most."
    );
    assert!(
        bad_input(&add("Eve \u{202e}nimda".into(), "eve@example.test").await)
            .contains("text-direction mark")
    );

    // A search text: 100 characters are searched for, 101 are refused by name.
    let search = |label: String| {
        let client = client.clone();
        let server = &server;
        async move {
            let body = json!({ "filter": {
                "license": null, "label": label, "item": null, "location": null, "page": 0,
            }});
            Answer::of(server.call_json(&client, "list_packages", &body).await).await
        }
    };
    let page: Value = search("1".repeat(MAX_TEXT_CHARS)).await.ok();
    assert_eq!(page["total"], 0);
    assert_eq!(
        bad_input(&search("1".repeat(MAX_TEXT_CHARS + 1)).await),
        "The label is too long: 100 characters at most."
    );
}

/// One oversized POST of `body` with its length declared, as browsers send it, over a raw
/// connection: the body is written while the answer is read, so an answer that comes before the
/// body is through (and the connection closed under it) is seen, as a browser sees it. Returns
/// the status code, the answer's body and how long the answer took.
async fn oversized(addr: String, body: std::sync::Arc<Vec<u8>>) -> (u16, String, Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let started = Instant::now();
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let (mut read, mut write) = stream.into_split();
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {addr}\r\n\
         Origin: http://{addr}\r\nSec-Fetch-Site: same-origin\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let sending = tokio::spawn(async move {
        // The server may close the connection before all of it is sent: that is the point.
        if write.write_all(head.as_bytes()).await.is_ok() {
            let _ = write.write_all(&body).await;
        }
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let (status, body) = loop {
        let n = read.read(&mut buf).await.expect("read the answer");
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().expect("length"))
                })
                .expect("a content length");
            if body.len() >= length {
                let status = head
                    .split(' ')
                    .nth(1)
                    .expect("status")
                    .parse()
                    .expect("status");
                break (status, body[..length].to_owned());
            }
        }
        assert!(n > 0, "the connection closed before an answer: {text}");
    };
    let took = started.elapsed();
    sending.abort();
    (status, body, took)
}

each_backend!(
    sixteen_oversized_bodies_are_refused_at_once_and_the_server_stays_responsive,
    flavor = "multi_thread",
    worker_threads = 2
);
async fn sixteen_oversized_bodies_are_refused_at_once_and_the_server_stays_responsive(
    backend: Backend,
) {
    const SIZE: usize = 8 * 1024 * 1024;
    let server = TestServer::start(&backend).await;
    let health = server.client();
    let healthz = server.url("/healthz");
    let quiet = Instant::now();
    assert!(
        health
            .get(&healthz)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let quiet = quiet.elapsed();

    let addr = server.base.trim_start_matches("http://").to_owned();
    let body = std::sync::Arc::new(login_body(SIZE));
    let started = Instant::now();
    let storm: Vec<_> = (0..16)
        .map(|_| tokio::spawn(oversized(addr.clone(), body.clone())))
        .collect();
    // Health checks while the storm lasts.
    let mut slowest = Duration::ZERO;
    let mut checks = 0;
    while !storm.iter().all(tokio::task::JoinHandle::is_finished) {
        let asked = Instant::now();
        let status = health.get(&healthz).send().await.unwrap().status();
        assert!(status.is_success());
        slowest = slowest.max(asked.elapsed());
        checks += 1;
    }
    let mut longest = Duration::ZERO;
    for task in storm {
        let (status, body, took) = task.await.unwrap();
        assert_eq!(status, 413, "{body}");
        assert_eq!(body, "The request body is too large: 65536 bytes at most.");
        longest = longest.max(took);
    }
    let all = started.elapsed();
    eprintln!(
        "16 oversized requests of {} MiB ({}): all refused in {all:?} (slowest {longest:?}); \
         {checks} health checks meanwhile, slowest {slowest:?} (one alone before: {quiet:?})",
        SIZE / (1024 * 1024),
        backend_name(&backend),
    );
    assert!(all < AT_ONCE, "the oversized requests took {all:?}");
    assert!(slowest < AT_ONCE, "a health check took {slowest:?}");
}

fn backend_name(backend: &Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres(_) => "PostgreSQL",
    }
}
