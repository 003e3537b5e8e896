//! Carries out the [`MetrcPlan`]: real Metrc per state, or the embedded Metrc sandbox
//! (docs/design.md §9, §12), one per state, each started in-process on its own address with
//! Metrc's routes at its root, seeded with that state's demo licenses, employees and keys.

use crate::cli::MetrcArgs;
use crate::error::StartError;
use crate::metrc_plan::{MetrcPlan, StateHost};
use metrc::sandbox::{Sandbox, SandboxConfig};
use rand::distr::{Alphanumeric, SampleString};
use secrecy::{ExposeSecret, SecretString};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use url::Url;

/// The Metrc of each state the server uses, and the sandboxes when they are embedded (kept
/// alive with the server).
pub struct MetrcTarget {
    /// In the configured order; never empty.
    pub states: Vec<StateHost>,
    pub sandboxes: Vec<Sandbox>,
}

impl MetrcArgs {
    /// Connects to real Metrc, or starts the embedded sandboxes, as [`MetrcArgs::plan`] decides
    /// from these settings and the environment's `METRC_XX_*`.
    pub async fn start(self) -> Result<MetrcTarget, StartError> {
        match self.plan(|name| std::env::var(name).ok())? {
            MetrcPlan::Hosts(states) => {
                for s in &states {
                    tracing::info!(state = %s.code, base_url = %s.base_url, "using Metrc");
                }
                Ok(MetrcTarget {
                    states,
                    sandboxes: Vec::new(),
                })
            }
            MetrcPlan::Embedded { states, vendor_key } => {
                let mut target = MetrcTarget {
                    states: Vec::new(),
                    sandboxes: Vec::new(),
                };
                for (i, code) in states.into_iter().enumerate() {
                    let addr = nth_addr(self.sandbox_addr, i);
                    let vendor_key = vendor_key.clone().unwrap_or_else(|| {
                        SecretString::from(Alphanumeric.sample_string(&mut rand::rng(), 32))
                    });
                    let (sandbox, base_url) = embed(&code, addr, &vendor_key).await?;
                    target.states.push(StateHost {
                        code,
                        base_url,
                        vendor_key,
                    });
                    target.sandboxes.push(sandbox);
                }
                Ok(target)
            }
        }
    }
}

/// Where the `i`th state's sandbox listens: `first`, then the ports after it (port 0: each a
/// free port of its own).
fn nth_addr(first: SocketAddr, i: usize) -> SocketAddr {
    let port = match first.port() {
        0 => 0,
        p => u16::try_from(i)
            .ok()
            .and_then(|i| p.checked_add(i))
            .unwrap_or(0),
    };
    SocketAddr::new(first.ip(), port)
}

/// Starts state `code`'s sandbox on `addr`, accepting `vendor_key`; returns it and its base URL.
async fn embed(
    code: &str,
    addr: SocketAddr,
    vendor_key: &SecretString,
) -> Result<(Sandbox, Url), StartError> {
    let sandbox = Sandbox::new(SandboxConfig {
        vendor_keys: vec![vendor_key.expose_secret().to_owned()],
        state: code.to_owned(),
        ..SandboxConfig::default()
    });
    let fail = |source| StartError::SandboxListen { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(fail)?;
    let bound = sandbox.spawn(listener).map_err(fail)?;
    let base_url =
        Url::parse(&format!("http://{bound}/")).map_err(|e| fail(std::io::Error::other(e)))?;
    // Keys are never logged, not even the sandbox's demo keys: the sandbox lists them itself.
    tracing::info!(
        state = code,
        %base_url,
        "embedded Metrc sandbox for {code} running (set METRC_BASE_URL or METRC_STATES to use real Metrc); its demo employees and their keys: GET {base_url}sandbox/employees"
    );
    Ok((sandbox, base_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_state_listens_on_the_port_after_the_one_before() {
        let first: SocketAddr = "127.0.0.1:3100".parse().unwrap();
        assert_eq!(nth_addr(first, 0), first);
        assert_eq!(nth_addr(first, 2).port(), 3102);
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert_eq!(nth_addr(any, 3).port(), 0);
        let last: SocketAddr = "127.0.0.1:65535".parse().unwrap();
        assert_eq!(nth_addr(last, 1).port(), 0);
    }
}
