//! `metrc-sandbox --port P --seed S --packages N --vendor-key K`: the Metrc sandbox on its own.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use clap::Parser;
use metrc::sandbox::{Sandbox, SandboxConfig};

/// A faithful Metrc sandbox: Metrc's v2 routes, auth, paging, errors and rate limits, with demo
/// licenses and employees. Admin API under /sandbox/.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Port to listen on (0: any free port; the bound address is printed).
    #[arg(long, default_value_t = 3100)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Seed of all generated data and keys.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Active packages in total, spread over the six demo licenses.
    #[arg(long, default_value_t = 120)]
    packages: usize,
    /// The only vendor key accepted (Basic auth user name).
    #[arg(long, env = "METRC_VENDOR_KEY", hide_env_values = true)]
    vendor_key: String,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let config = SandboxConfig {
        vendor_keys: vec![args.vendor_key],
        seed: args.seed,
        ..SandboxConfig::default()
    }
    .with_total_packages(args.packages);
    let sandbox = Sandbox::new(config);
    let listener = tokio::net::TcpListener::bind(SocketAddr::new(args.host, args.port)).await?;
    let addr = listener.local_addr()?;
    println!("Metrc sandbox listening on http://{addr}");
    for e in sandbox.employees() {
        println!(
            "  employee {} {:<16} key {}  licenses {}",
            e.id,
            e.name,
            e.api_key,
            e.licenses.join(", ")
        );
    }
    sandbox.serve(listener, shutdown()).await
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
