//! Starts the real server in-process on 127.0.0.1:0, against SQLite and (when
//! `TRACEKEEPER_TEST_POSTGRES_URL` names a server we may create databases on) PostgreSQL.

pub mod cluster;
pub mod facility_keys;
pub mod process;
pub mod submissions;
pub mod user_keys;

use app::ssr::config::{Config, ThrottleLimits, ValidationLimits};
use app::ssr::metrc_states::MetrcStates;
use app::ssr::passwords;
use app::ssr::queries::users::{self, NewUser};
use app::ssr::state::AppState;
use app::types::auth::Role;
use metrc::sandbox::{Sandbox, SandboxConfig};
use rand::distr::{Alphanumeric, SampleString};
use sea_orm::{ConnectionTrait, Database};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

pub const ADMIN_EMAIL: &str = "admin@example.test";
pub const ADMIN_PASSWORD: &str = "first-admin-password";

#[derive(Debug, Clone)]
pub enum Backend {
    Sqlite,
    /// An admin URL of a PostgreSQL server; each test gets its own database on it.
    Postgres(String),
}

impl Backend {
    /// The PostgreSQL backend when `TRACEKEEPER_TEST_POSTGRES_URL` names a server. In CI
    /// PostgreSQL is required, so a missing server fails loudly instead of silently testing half.
    pub fn postgres() -> Option<Backend> {
        match std::env::var("TRACEKEEPER_TEST_POSTGRES_URL") {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(url)),
            _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
                "CI=true but TRACEKEEPER_TEST_POSTGRES_URL is unset: the PostgreSQL half would be skipped"
            ),
            _ => None,
        }
    }
}

/// Declares the test `NAME` once per database, as `NAME::sqlite` and `NAME::postgres`, each
/// calling `async fn NAME(backend: Backend)` with its backend: a failure names the database and
/// the two run in parallel. Anything after the name goes to `#[tokio::test(…)]`. Without a
/// PostgreSQL server (and outside CI) the `postgres` case says it skipped and passes.
macro_rules! each_backend {
    ($name:ident $(, $($arg:tt)*)?) => {
        mod $name {
            #[tokio::test$(($($arg)*))?]
            async fn sqlite() {
                super::$name($crate::support::Backend::Sqlite).await
            }

            #[tokio::test$(($($arg)*))?]
            async fn postgres() {
                match $crate::support::Backend::postgres() {
                    Some(backend) => super::$name(backend).await,
                    None => eprintln!("skipped: TRACEKEEPER_TEST_POSTGRES_URL is unset"),
                }
            }
        }
    };
}

/// The vendor key the test sandbox accepts.
pub const VENDOR_KEY: &str = "test-vendor-key-0123456789";

/// A Metrc sandbox running in the test process, on a free port, accepting [`VENDOR_KEY`]. It
/// stops with the test's runtime.
#[derive(Clone)]
pub struct MetrcSandbox {
    /// Its address (the admin API is under `/sandbox/`), e.g. `http://127.0.0.1:1234`.
    pub url: String,
    /// The sandbox itself: typed faults (`fail_next`, `slow_down`, ...) and its request log.
    pub sandbox: Sandbox,
}

impl MetrcSandbox {
    /// The sandbox as Metrc's production behaves (`SandboxConfig::default()`).
    pub async fn start() -> MetrcSandbox {
        MetrcSandbox::start_with(SandboxConfig::default()).await
    }

    /// A sandbox built from `config` (its vendor keys replaced by [`VENDOR_KEY`]).
    pub async fn start_with(config: SandboxConfig) -> MetrcSandbox {
        let sandbox = Sandbox::new(SandboxConfig {
            vendor_keys: vec![VENDOR_KEY.to_owned()],
            ..config
        });
        let addr = sandbox.start().await.expect("sandbox");
        MetrcSandbox {
            url: format!("http://{addr}"),
            sandbox,
        }
    }
}

/// Another state's Metrc sandbox of a server that serves several states.
#[derive(Clone)]
pub struct StateSandbox {
    /// Its state's two letters.
    pub code: String,
    pub metrc: MetrcSandbox,
}

/// Whatever has a Metrc sandbox: the sandbox helpers take any of them.
pub trait HasSandbox {
    /// The sandbox's address, e.g. `http://127.0.0.1:1234`.
    fn sandbox_url(&self) -> &str;

    /// The sandbox, for typed faults: `server.sandbox().fail_next("/packages/", status, 1)`.
    fn sandbox(&self) -> &Sandbox;
}

impl HasSandbox for MetrcSandbox {
    fn sandbox_url(&self) -> &str {
        &self.url
    }

    fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }
}

impl HasSandbox for TestServer {
    fn sandbox_url(&self) -> &str {
        &self.sandbox_url
    }

    fn sandbox(&self) -> &Sandbox {
        &self.metrc.sandbox
    }
}

/// The app over HTTP at `base`: pages and server functions, called the way a browser does. A
/// [`TestServer`] is one (it derefs to it); so is a `tracekeeper` process (`support::process`).
pub struct Endpoint {
    /// E.g. `http://127.0.0.1:1234`.
    pub base: String,
}

impl Endpoint {
    /// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
    /// A method, so a test asks the server it talks to for its client.
    #[allow(clippy::unused_self)]
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Loads a page the way a browser navigation does (which is what makes redirects real 302s).
    pub async fn page(&self, client: &reqwest::Client, path: &str) -> reqwest::Response {
        client
            .get(self.url(path))
            .header("Accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .expect("page load")
    }

    /// A POST from one of our pages, with the headers a browser adds to it (`Origin`,
    /// `Sec-Fetch-Site`), which the router's same-origin guard asks for.
    pub fn post(&self, client: &reqwest::Client, path: &str) -> reqwest::RequestBuilder {
        client
            .post(self.url(path))
            .header("Origin", &self.base)
            .header("Sec-Fetch-Site", "same-origin")
    }

    /// A server function call as the hydrated app makes it, still without its body.
    fn server_fn(&self, client: &reqwest::Client, name: &str) -> reqwest::RequestBuilder {
        self.post(client, &format!("/api/{name}"))
            .header("Accept", "application/json")
    }

    /// Calls a server function the way the hydrated app does.
    pub async fn call(
        &self,
        client: &reqwest::Client,
        name: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let request = self.server_fn(client, name).form(form);
        request.send().await.expect("server function call")
    }

    /// Calls a server function whose body is JSON (`input = Json`), the way the hydrated app does.
    pub async fn call_json(
        &self,
        client: &reqwest::Client,
        name: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        let request = self.server_fn(client, name).json(body);
        request.send().await.expect("server function call")
    }

    pub async fn login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        self.call(client, "login", &[("email", email), ("password", password)])
            .await
    }
}

pub struct TestServer {
    pub http: Endpoint,
    /// The Metrc sandbox the server talks to (its admin API is under `/sandbox/`), e.g.
    /// `http://127.0.0.1:1234`.
    pub sandbox_url: String,
    metrc: MetrcSandbox,
    /// The Metrc sandboxes of the states after the first, when the server serves several
    /// ([`TestServer::start_in_states`]); empty for one state.
    pub more_states: Vec<StateSandbox>,
    pub state: AppState,
    pub backend: Backend,
    stop: Option<oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<()>>,
    /// The last audit event of the start (the first admin's `user.created`).
    audit_start: i32,
    /// The data directory (and SQLite file), shared with the servers started beside this one.
    dir: std::sync::Arc<tempfile::TempDir>,
}

impl std::ops::Deref for TestServer {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.http
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn random_suffix() -> String {
    Alphanumeric
        .sample_string(&mut rand::rng(), 10)
        .to_lowercase()
}

/// A new, empty database for one test: a SQLite file in `dir`, or a new PostgreSQL database.
pub async fn database_url(backend: &Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", dir.join("test.db").display()),
        Backend::Postgres(admin_url) => {
            let name = format!("tk_test_{}", random_suffix());
            let admin = Database::connect(admin_url.as_str())
                .await
                .expect("connect to the test PostgreSQL server");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create a test database");
            let (base, _) = admin_url.rsplit_once('/').expect("postgres URL has a path");
            format!("{base}/{name}")
        }
    }
}

/// Login attempts before throttling in tests: enough for ordinary tests, few enough to test it.
pub fn test_throttle() -> ThrottleLimits {
    ThrottleLimits {
        account_burst: 4,
        account_period: Duration::from_secs(60),
        ip_burst: 50,
        ip_period: Duration::from_secs(1),
        overall_burst: 100,
        overall_period: Duration::from_millis(10),
        ipv6_prefix: app::ssr::config::DEFAULT_IPV6_PREFIX,
    }
}

/// Key validations per user in tests: enough for every ordinary test (one at a time still).
pub fn test_validation_limits() -> ValidationLimits {
    ValidationLimits { per_minute: 600 }
}

/// Serves `state` on a free loopback port: its address, the sender that stops it, and its task.
async fn serve(state: AppState) -> (String, oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        let _ = server::startup::serve_on(listener, state, async {
            let _ = stopped.await;
        })
        .await;
    });
    (base, stop, serving)
}

impl TestServer {
    pub async fn start(backend: &Backend) -> TestServer {
        TestServer::start_with(backend, |_| {}).await
    }

    /// [`TestServer::start`] with settings changed by `tweak`.
    pub async fn start_with(backend: &Backend, tweak: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_custom(backend, tweak, SandboxConfig::default(), |_| {}).await
    }

    /// [`TestServer::start_with`] against a sandbox built from `sandbox`, with the Metrc client's
    /// settings changed by `tweak_client`.
    pub async fn start_custom(
        backend: &Backend,
        tweak: impl FnOnce(&mut Config),
        sandbox: SandboxConfig,
        tweak_client: impl Fn(&mut metrc::ClientConfig),
    ) -> TestServer {
        // Boxed: the start's future is large, and every test's future would carry it.
        Box::pin(TestServer::start_full(
            backend,
            tweak,
            sandbox,
            tweak_client,
            &[],
        ))
        .await
    }

    /// A server of several states: California's sandbox as [`TestServer::start`]'s (a state of
    /// its own, `CA`), and one more sandbox per code in `more`, each its state's Metrc (the
    /// same vendor key; its own licenses, keys and rate limits).
    pub async fn start_in_states(
        backend: &Backend,
        more: &[&str],
        tweak_client: impl Fn(&mut metrc::ClientConfig),
    ) -> TestServer {
        Box::pin(TestServer::start_full(
            backend,
            |_| {},
            SandboxConfig::default(),
            tweak_client,
            more,
        ))
        .await
    }

    async fn start_full(
        backend: &Backend,
        tweak: impl FnOnce(&mut Config),
        sandbox: SandboxConfig,
        tweak_client: impl Fn(&mut metrc::ClientConfig),
        more: &[&str],
    ) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config {
            database_url: database_url(backend, dir.path()).await,
            addr: "127.0.0.1:0".parse().expect("addr"),
            data_dir: dir.path().join("data"),
            admin_email: ADMIN_EMAIL.into(),
            admin_password: Some(ADMIN_PASSWORD.to_owned().into()),
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            public_origin: None,
            identity: None,
            identity_file: None,
            fingerprint_secret: None,
            key_warn_after_days: app::ssr::config::DEFAULT_KEY_WARN_AFTER_DAYS,
            revalidate_every: Duration::from_secs(app::ssr::config::DEFAULT_REVALIDATE_EVERY_SECS),
            lease: Duration::from_secs(app::ssr::config::DEFAULT_LEASE_SECS),
            // Tests sync when they ask to ("Sync now" or the service), never behind their back.
            sync: app::ssr::config::SyncSettings {
                scheduled: false,
                ..Default::default()
            },
            outbox: app::ssr::config::OutboxSettings::default(),
            sign_in: test_throttle(),
            key_validations: test_validation_limits(),
        };
        if let Backend::Postgres(_) = backend {
            // On PostgreSQL servers never generate the vault's secrets (docs/design.md §11).
            let (identity, fingerprint_secret) = app::ssr::vault::new_secrets();
            config.identity = Some(identity);
            config.fingerprint_secret = Some(fingerprint_secret);
        }
        tweak(&mut config);
        let first_state = sandbox.state.clone();
        let client_of = |url: &str| {
            let mut client = metrc::ClientConfig::new(
                url::Url::parse(&format!("{url}/")).expect("sandbox URL"),
                VENDOR_KEY.to_owned().into(),
            );
            tweak_client(&mut client);
            metrc::Client::new(client).expect("Metrc client")
        };
        let sandbox = MetrcSandbox::start_with(sandbox).await;
        let sandbox_url = sandbox.url.clone();
        let mut more_states = Vec::new();
        for code in more {
            let metrc = MetrcSandbox::start_with(SandboxConfig {
                state: (*code).to_owned(),
                ..SandboxConfig::default()
            })
            .await;
            more_states.push(StateSandbox {
                code: (*code).to_owned(),
                metrc,
            });
        }
        // One state: its Metrc on a local address names no state (as a one-state deployment's
        // `METRC_BASE_URL`). Several: each named.
        let metrc = if more_states.is_empty() {
            MetrcStates::single(client_of(&sandbox_url))
        } else {
            MetrcStates::new(
                (first_state, client_of(&sandbox_url)),
                more_states
                    .iter()
                    .map(|s| (s.code.clone(), client_of(&s.metrc.url))),
            )
        };
        let state = server::startup::build_state(config, metrc)
            .await
            .expect("server state");
        let audit_start = app::ssr::queries::audit_events::recent(&state.db, 1)
            .await
            .expect("audit log")
            .first()
            .map_or(0, |event| event.id);
        let (base, stop, serving) = serve(state.clone()).await;
        TestServer {
            http: Endpoint { base },
            sandbox_url,
            metrc: sandbox,
            more_states,
            state,
            backend: backend.clone(),
            stop: Some(stop),
            serving: Some(serving),
            audit_start,
            dir: std::sync::Arc::new(dir),
        }
    }

    /// Another server on this one's database, data directory and Metrc sandbox, as a second
    /// server of one deployment (docs/design.md §11), with its settings changed by `tweak`.
    pub async fn start_beside(&self, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::clone(&self.state.config);
        tweak(&mut config);
        let client = metrc::ClientConfig::new(
            url::Url::parse(&format!("{}/", self.sandbox_url)).expect("sandbox URL"),
            VENDOR_KEY.to_owned().into(),
        );
        let metrc = metrc::Client::new(client).expect("Metrc client");
        let state = server::startup::build_state(config, metrc)
            .await
            .expect("server state");
        let (base, stop, serving) = serve(state.clone()).await;
        TestServer {
            http: Endpoint { base },
            sandbox_url: self.sandbox_url.clone(),
            metrc: self.metrc.clone(),
            more_states: self.more_states.clone(),
            state,
            backend: self.backend.clone(),
            stop: Some(stop),
            serving: Some(serving),
            audit_start: self.audit_start,
            dir: std::sync::Arc::clone(&self.dir),
        }
    }

    /// The latest `limit` audit events recorded since the server started, newest first: what
    /// the test did, without the first admin's creation at the start.
    pub async fn audit_events(&self, limit: u64) -> Vec<app::ssr::entities::audit_events::Model> {
        app::ssr::queries::audit_events::recent(&self.state.db, limit)
            .await
            .expect("audit log")
            .into_iter()
            .filter(|event| event.id > self.audit_start)
            .collect()
    }

    /// Stops the server as a signal would, and returns once it has stopped (its requests and the
    /// outbox's calls under way finished).
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            serving.await.expect("the server task");
        }
    }

    /// Creates a user straight in the database.
    pub async fn add_user(&self, email: &str, password: &str, role: Role) -> i32 {
        let hash = passwords::hash(password.to_owned()).await.expect("hash");
        users::insert(
            &self.state.db,
            NewUser {
                email,
                name: "Test User",
                password_hash: hash,
                role,
                can_submit: true,
            },
        )
        .await
        .expect("insert user")
        .id
    }
}

/// Polls `probe` (every 50 ms) until it gives `Ok`, and returns that; once `within` has passed,
/// fails naming `what` and the last `Err` (what it was instead). For waiting on something that
/// happens in the background.
pub async fn eventually<T, F, Fut>(what: &str, within: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(now) => assert!(
                std::time::Instant::now() < deadline,
                "{what}: not within {within:?}; instead: {now}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the server logs on this thread (down to DEBUG, without colours) while it lives. The
/// tests' runtime runs on the test's thread (`#[tokio::test]`'s default), and so does a server
/// started by the test, so its log lands here; work moved to other threads does not.
pub struct LogCapture {
    lines: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct CaptureWriter(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CaptureWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    pub fn start() -> LogCapture {
        let lines = std::sync::Arc::default();
        let writer = CaptureWriter(std::sync::Arc::clone(&lines));
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .finish();
        LogCapture {
            lines,
            _guard: tracing::subscriber::set_default(subscriber),
        }
    }

    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(
            &self
                .lines
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned()
    }
}
