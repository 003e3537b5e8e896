//! The `tracekeeper` binary run as a process on one data directory, database and Metrc sandbox:
//! its commands (`rotate-identity`, ...) and the server, started, waited for and stopped.

use super::{ADMIN_EMAIL, ADMIN_PASSWORD, Endpoint, VENDOR_KEY, eventually};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output};
use std::time::Duration;

/// The binary's settings for one test: its data directory, database and Metrc (the sandbox at
/// `metrc_url`, which accepts [`VENDOR_KEY`]).
pub struct Binary {
    pub dir: PathBuf,
    pub database_url: String,
    pub metrc_url: String,
}

impl Binary {
    /// `tracekeeper` with this test's settings and nothing from the environment that could
    /// point it elsewhere; the first admin is [`ADMIN_EMAIL`].
    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tracekeeper"));
        command
            .current_dir(&self.dir)
            .env_remove("TRACEKEEPER_IDENTITY")
            .env_remove("TRACEKEEPER_IDENTITY_FILE")
            .env_remove("TRACEKEEPER_FINGERPRINT_SECRET")
            .env("DATABASE_URL", &self.database_url)
            .env("TRACEKEEPER_DATA_DIR", self.data_dir())
            .env("METRC_BASE_URL", format!("{}/", self.metrc_url))
            .env("METRC_VENDOR_KEY", VENDOR_KEY)
            .env("TRACEKEEPER_ADMIN_EMAIL", ADMIN_EMAIL)
            .env("TRACEKEEPER_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("TRACEKEEPER_SYNC_SCHEDULED", "false")
            .env("RUST_LOG", super::cluster::STARTUP_LOG);
        command
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs a one-shot command (`rotate-identity`, `migrate`) to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .env("TRACEKEEPER_ADDR", "127.0.0.1:0")
            .output()
            .expect("run tracekeeper")
    }

    /// Starts the server and waits until it answers; `run` numbers its log file.
    pub async fn serve(&self, run: u32) -> Server {
        let log = self.dir.join(format!("server-{run}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = self
            .command()
            .env("TRACEKEEPER_ADDR", "127.0.0.1:0")
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("start tracekeeper");
        // Killed if the wait below panics.
        let mut server = Server {
            child: Some(child),
            http: Endpoint {
                base: String::new(),
            },
            log,
        };
        server.http.base = super::cluster::wait_started(&server.log).await;
        server
    }
}

/// A running `tracekeeper` server; killed if dropped while running.
pub struct Server {
    child: Option<Child>,
    pub http: Endpoint,
    log: PathBuf,
}

impl Server {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops it the way an operator does (SIGTERM) and waits for it to exit.
    pub async fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let signalled = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(signalled.success());
        eventually("the server stops", Duration::from_secs(30), || {
            let exited = child.try_wait().expect("wait");
            let log = self.log_text();
            async move { exited.ok_or(log) }
        })
        .await
    }
}

impl std::ops::Deref for Server {
    type Target = Endpoint;

    fn deref(&self) -> &Endpoint {
        &self.http
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
