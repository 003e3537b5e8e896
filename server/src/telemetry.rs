//! Structured logs (`tracing`), filtered by `RUST_LOG` (default: info, quiet SQL).

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn,tower_sessions=warn"));
    // A second init (tests start several servers in one process) is harmless: keep the first.
    // Colours on a terminal only: log files and journald get plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal())
        .try_init();
}
