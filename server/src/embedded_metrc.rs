//! Which Metrc the server talks to: real Metrc when `METRC_BASE_URL` is set, otherwise the
//! embedded Metrc sandbox (docs/design.md §9), started in-process on its own address with
//! Metrc's routes at its root, seeded with the demo licenses, employees and keys.

use crate::cli::MetrcArgs;
use crate::error::StartError;
use metrc::sandbox::{Sandbox, SandboxConfig};
use rand::distr::{Alphanumeric, SampleString};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpListener;
use url::Url;

/// The Metrc the server uses, and the sandbox when it is embedded (kept alive with the server).
pub struct MetrcTarget {
    pub base_url: Url,
    pub vendor_key: SecretString,
    pub sandbox: Option<Sandbox>,
}

impl MetrcArgs {
    /// Connects to real Metrc, or starts the embedded sandbox.
    pub async fn start(self) -> Result<MetrcTarget, StartError> {
        let vendor_key = self
            .metrc_vendor_key
            .filter(|k| !k.expose_secret().trim().is_empty());
        if let Some(base_url) = self.metrc_base_url {
            let vendor_key = vendor_key.ok_or(StartError::MissingVendorKey)?;
            tracing::info!(%base_url, "using Metrc");
            return Ok(MetrcTarget {
                base_url,
                vendor_key,
                sandbox: None,
            });
        }
        let vendor_key = vendor_key.unwrap_or_else(|| {
            SecretString::from(Alphanumeric.sample_string(&mut rand::rng(), 32))
        });
        let sandbox = Sandbox::new(SandboxConfig {
            vendor_keys: vec![vendor_key.expose_secret().to_owned()],
            ..SandboxConfig::default()
        });
        let addr = self.sandbox_addr;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartError::SandboxListen { addr, source })?;
        let bound = sandbox
            .spawn(listener)
            .map_err(|source| StartError::SandboxListen { addr, source })?;
        let base_url =
            Url::parse(&format!("http://{bound}/")).map_err(|e| StartError::SandboxListen {
                addr,
                source: std::io::Error::other(e),
            })?;
        // Keys are never logged, not even the sandbox's demo keys: the sandbox lists them itself.
        tracing::info!(
            %base_url,
            "embedded Metrc sandbox running (set METRC_BASE_URL to use real Metrc); its demo employees and their keys: GET {base_url}sandbox/employees"
        );
        Ok(MetrcTarget {
            base_url,
            vendor_key,
            sandbox: Some(sandbox),
        })
    }
}
