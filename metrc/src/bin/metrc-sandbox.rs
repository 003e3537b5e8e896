//! `metrc-sandbox --states CA,CO --port P --seed S --packages N --vendor-key K`: the Metrc sandbox
//! on its own, one per state (its testable parts: `metrc::sandbox::standalone`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::{CommandFactory, Parser};
use futures::FutureExt;
use metrc::sandbox::standalone::{employee_line, legacy_listening_line, listening_line, ports};
use metrc::sandbox::{Sandbox, SandboxConfig};

/// A faithful Metrc sandbox: Metrc's v2 routes, auth, paging, errors and rate limits, with demo
/// licenses and employees. Admin API under /sandbox/. Metrc is one system per state: one sandbox
/// runs per state named, each on its own port.
#[derive(Parser)]
#[command(name = "metrc-sandbox", version)]
struct Args {
    /// The states to run a sandbox for: two-letter codes, comma-separated (e.g. CA,CO,MI). Each
    /// has its own demo licenses and its own keys for the same demo employees.
    #[arg(long, default_value = "CA", value_parser = parse_states)]
    states: States,
    /// Port of the first state's sandbox; the next state's listens on the next port, and so on
    /// (0: each on its own free port; the bound addresses are printed).
    #[arg(long, default_value_t = 3100)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Seed of all generated data and keys (each state's sandbox derives its own from it).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Active packages in total per state, spread over its six demo licenses.
    #[arg(long, default_value_t = 120)]
    packages: usize,
    /// The only vendor key accepted (Basic auth user name), by every state's sandbox.
    #[arg(long, env = "METRC_VENDOR_KEY", hide_env_values = true)]
    vendor_key: String,
}

/// The `--states` codes, upper case, in the order given.
#[derive(Clone)]
struct States(Vec<String>);

fn parse_states(list: &str) -> Result<States, String> {
    metrc::parse_state_list(list)
        .map(States)
        .map_err(|e| e.to_string())
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let states = args.states.0;
    let ports = ports(args.port, states.len()).unwrap_or_else(|e| {
        Args::command()
            .error(clap::error::ErrorKind::ValueValidation, e)
            .exit()
    });
    let mut running = Vec::with_capacity(states.len());
    for (state, port) in states.into_iter().zip(ports) {
        let config = SandboxConfig {
            vendor_keys: vec![args.vendor_key.clone()],
            seed: args.seed,
            state,
            ..SandboxConfig::default()
        }
        .with_total_packages(args.packages);
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.host, port)).await?;
        running.push((Sandbox::new(config), listener));
    }
    if let Some((_, first)) = running.first() {
        println!("{}", legacy_listening_line(first.local_addr()?));
    }
    for (sandbox, listener) in &running {
        println!(
            "{}",
            listening_line(&sandbox.config().state_code(), listener.local_addr()?)
        );
        for e in sandbox.employees() {
            println!("{}", employee_line(&e));
        }
    }
    let shutdown = shutdown().shared();
    futures::future::try_join_all(
        running
            .into_iter()
            .map(|(sandbox, listener)| sandbox.serve(listener, shutdown.clone())),
    )
    .await
    .map(|_| ())
}

async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
