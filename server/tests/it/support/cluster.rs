//! Real processes for the tests that kill servers: `tracekeeper` servers started, killed
//! (SIGKILL), stopped (SIGTERM) and started again on the same port, and `HAProxy` in front of
//! several of them with the configuration the README gives (`docs/deploy/haproxy.cfg`).

use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The settings every server of a test deployment shares: `database_url`, a data directory under
/// `dir`, the vault's `identity` and fingerprint `secret`, the Metrc sandbox at `sandbox_url` with
/// the test vendor key, the first admin, no scheduled sync, warnings only in the logs. A test adds
/// its own after them.
pub fn deployment(
    database_url: &str,
    dir: &Path,
    identity: &SecretString,
    secret: &SecretString,
    sandbox_url: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", database_url.to_owned()),
        (
            "TRACEKEEPER_DATA_DIR",
            dir.join("data").display().to_string(),
        ),
        ("TRACEKEEPER_IDENTITY", identity.expose_secret().to_owned()),
        (
            "TRACEKEEPER_FINGERPRINT_SECRET",
            secret.expose_secret().to_owned(),
        ),
        ("METRC_BASE_URL", format!("{sandbox_url}/")),
        ("METRC_VENDOR_KEY", super::VENDOR_KEY.to_owned()),
        ("TRACEKEEPER_ADMIN_EMAIL", super::ADMIN_EMAIL.to_owned()),
        (
            "TRACEKEEPER_ADMIN_PASSWORD",
            super::ADMIN_PASSWORD.to_owned(),
        ),
        ("TRACEKEEPER_SYNC_SCHEDULED", "false".to_owned()),
        ("RUST_LOG", STARTUP_LOG.to_owned()),
    ]
}

/// `RUST_LOG` for a test's server: warnings, and the line naming the address it listens on.
pub const STARTUP_LOG: &str = "warn,server::startup=info";

/// The base URL a `tracekeeper` server gave in its log ("Tracekeeper is listening on http://…",
/// `server/src/startup.rs`), once it has: with `TRACEKEEPER_ADDR` at port 0, the port the system
/// picked for it, which no other process can have taken.
pub fn announced_base(log: &str) -> Option<String> {
    let (_, rest) = log.split_once("Tracekeeper is listening on ")?;
    let base: String = rest
        .chars()
        .take_while(|c| !c.is_whitespace() && !c.is_control())
        .collect();
    base.starts_with("http://").then_some(base)
}

/// Waits until the server logging into `log` has said where it listens (60 s at most; the log
/// is shown if it never does), then until it answers `/healthz` there ([`wait_healthy`]);
/// returns its base URL.
pub async fn wait_started(log: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(base) = announced_base(&text) {
            break base;
        }
        assert!(
            Instant::now() < deadline,
            "the server at {} did not say where it listens (RUST_LOG must include {STARTUP_LOG}): {text}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    wait_healthy(&base, log).await;
    base
}

/// A child process killed (SIGKILL) when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A free loopback port (free when asked: bind it soon).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Waits until `base`'s `/healthz` answers 200 (60 s at most; `log` is shown if it never does).
pub async fn wait_healthy(base: &str, log: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await
            && r.status() == reqwest::StatusCode::OK
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{base} did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One `tracekeeper` server with its settings: first started on a port the system picks, then
/// again on that same port after a kill or a stop. Its output goes to `<dir>/server-<n>-<run>.log`.
pub struct Node {
    /// Its port, once it has first started.
    port: Option<u16>,
    /// Names its log files apart from the other nodes' in `dir`.
    name: String,
    dir: PathBuf,
    env: Vec<(String, String)>,
    runs: u32,
    process: Option<Proc>,
}

impl Node {
    /// A server to be started with `env` (its address is added), logging into `dir`.
    pub fn new(dir: &Path, env: &[(&str, String)]) -> Node {
        static NODES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NODES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Node {
            port: None,
            name: format!("{}-{n}", std::process::id()),
            dir: dir.to_owned(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
            runs: 0,
            process: None,
        }
    }

    /// Its port (once it has started).
    pub fn port(&self) -> u16 {
        self.port.expect("the node has started once")
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port())
    }

    /// Starts the server and waits until it answers `/healthz`.
    pub async fn start(&mut self) {
        assert!(self.process.is_none(), "already running");
        self.runs += 1;
        let log_path = self
            .dir
            .join(format!("server-{}-{}.log", self.name, self.runs));
        let log = std::fs::File::create(&log_path).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_tracekeeper"))
            .current_dir(&self.dir)
            .env_remove("TRACEKEEPER_IDENTITY_FILE")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env(
                "TRACEKEEPER_ADDR",
                format!("127.0.0.1:{}", self.port.unwrap_or(0)),
            )
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start tracekeeper");
        self.process = Some(Proc(child));
        let base = wait_started(&log_path).await;
        let port = base.rsplit_once(':').and_then(|(_, p)| p.parse().ok());
        assert!(
            self.port.is_none() || self.port == port,
            "{base}: started again on another port"
        );
        self.port = port;
    }

    /// SIGKILL: the server dies at once, mid-request and mid-call.
    pub fn kill(&mut self) {
        drop(self.process.take());
    }

    /// SIGTERM, then waits for the server to finish what it was doing and exit.
    pub async fn stop(&mut self) {
        let Some(mut process) = self.process.take() else {
            return;
        };
        let pid = process.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while process.0.try_wait().expect("wait").is_none() {
            assert!(Instant::now() < deadline, "server {pid} did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(process);
    }
}

/// `HAProxy`'s binary: on `PATH`, or where Debian puts it.
fn haproxy() -> PathBuf {
    ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("haproxy"))
}

/// The README's `HAProxy` configuration (`docs/deploy/haproxy.cfg`).
fn haproxy_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/deploy/haproxy.cfg")
}

/// `HAProxy` in front of `servers` (three, as the configuration names), on a free port; returns
/// it and its address once it answers.
pub async fn load_balancer(dir: &Path, servers: &[&Node; 3]) -> (Proc, String) {
    let port = free_port();
    let log_path = dir.join("haproxy.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut command = Command::new(haproxy());
    command
        .args(["-db", "-f"])
        .arg(haproxy_config())
        .env("TK_LISTEN", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    for (i, server) in servers.iter().enumerate() {
        command.env(
            format!("TK_SERVER_{}", i + 1),
            format!("127.0.0.1:{}", server.port()),
        );
    }
    let process = Proc(command.spawn().expect(
        "start haproxy (the test command installs it: scripts/lib/setup.sh, ensure_haproxy)",
    ));
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&base, &log_path).await;
    (process, base)
}
