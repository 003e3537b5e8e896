//! How a sandbox is built ([`SandboxConfig`]) and how it answers where Metrc's behaviour is
//! uncertain ([`Settings`], docs/metrc.md §11).

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};

/// Everything a [`super::Sandbox`] is built from. `Default` is the embedded default of
/// docs/design.md §9: demo licenses and employees, 20 active packages per license, seed 0.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The vendor (integrator) API keys Metrc has registered. A call whose Basic user name is not
    /// one of them gets 401, like an unregistered vendor at Metrc. Empty: any non-empty vendor key
    /// is accepted (handy when the server runs without `METRC_VENDOR_KEY`).
    pub vendor_keys: Vec<String>,
    /// Seed of every generated record and key: the same seed gives the same data and keys.
    pub seed: u64,
    /// Active packages seeded per demo license (inactive ones, plants, etc. scale with it).
    pub packages_per_license: usize,
    /// Seed the demo licenses (one of each type) and demo employees. Without it the sandbox starts
    /// empty and is filled through the admin API.
    pub demo: bool,
    /// The moment seeded `LastModified` times count back from. `None`: when the sandbox is built.
    /// Set it for byte-identical seeds across runs.
    pub seeded_at: Option<DateTime<Utc>>,
    /// Answers to the uncertain parts of Metrc.
    pub settings: Settings,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            vendor_keys: Vec::new(),
            seed: 0,
            packages_per_license: 20,
            demo: true,
            seeded_at: None,
            settings: Settings::default(),
        }
    }
}

impl SandboxConfig {
    /// Spreads `total` active packages over the six demo licenses (at least one each).
    pub fn with_total_packages(mut self, total: usize) -> Self {
        self.packages_per_license = total.div_ceil(super::seed::DEMO_LICENSE_COUNT).max(1);
        self
    }
}

/// The sandbox's answers where Metrc's behaviour is uncertain (docs/metrc.md §11).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Status for a key whose user lacks the section's permission, or asks for a section the
    /// license type cannot use. Metrc documents 401 for "not at this license" and lists both 401
    /// and 403; integrators mostly see 401. Default 401 (`UNAUTHORIZED`); 403 is the alternative.
    pub missing_permission_status: StatusCode,
    /// Longest `lastModifiedStart`..`lastModifiedEnd` window; longer gets 400. v1 documents 24 h,
    /// v2 is uncertain (New York accepted years in 2026). Default 24 h; `None`: unlimited.
    pub max_window: Option<Duration>,
    /// Most rows in one write; more get 413. Uncertain in Metrc. Default 10; `None`: unlimited.
    pub max_write_rows: Option<usize>,
    /// GET rate limits; `None` disables them.
    pub rate_limits: Option<RateLimits>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            missing_permission_status: StatusCode::UNAUTHORIZED,
            max_window: Some(Duration::from_secs(24 * 60 * 60)),
            max_write_rows: Some(10),
            rate_limits: Some(RateLimits::default()),
        }
    }
}

/// Metrc's documented GET limits (docs/metrc.md §9). Over any of them: 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    pub per_license_per_second: u32,
    pub per_license_concurrent: u32,
    pub per_vendor_per_second: u32,
    pub per_vendor_concurrent: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            per_license_per_second: 50,
            per_license_concurrent: 10,
            per_vendor_per_second: 150,
            per_vendor_concurrent: 30,
        }
    }
}
