//! How a sandbox is built ([`SandboxConfig`]) and how it answers where Metrc's behaviour is
//! uncertain or differs between deployments ([`Settings`], docs/metrc.md §11).

use std::time::Duration;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};

/// Everything a [`super::Sandbox`] is built from. `Default` is the embedded default of
/// docs/design.md §9: California's Metrc with its demo licenses and employees, 20 active packages
/// per license, seed 0.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The state this sandbox is the Metrc of: its two-letter code, upper case (`"CO"`; other case
    /// and surrounding spaces are read as that code). A sandbox is one state's Metrc, as Metrc is
    /// one system per state (`https://api-ca.metrc.com`, `https://api-co.metrc.com`, ...): run one
    /// sandbox per state. The demo licenses are that state's (California's, Colorado's and
    /// Michigan's have their own numbers and names; any other code gets generated ones such as
    /// `OR-CUL-0001`), and so are their keys ([`SandboxConfig::state_seed`]). Default `"CA"`.
    pub state: String,
    /// The vendor (integrator) API keys Metrc has registered. A call whose Basic user name is not
    /// one of them gets 401, like an unregistered vendor at Metrc. Empty: any non-empty vendor key
    /// is accepted (handy when the server runs without `METRC_VENDOR_KEY`).
    pub vendor_keys: Vec<String>,
    /// Seed of every generated record and key: the same seed and state give the same data and
    /// keys. Each state's sandbox draws from its own seed derived from this one
    /// ([`SandboxConfig::state_seed`]).
    pub seed: u64,
    /// Active packages seeded per demo license (inactive ones, plants, etc. scale with it).
    pub packages_per_license: usize,
    /// Seed the demo licenses (one of each type) and demo employees. Without it the sandbox starts
    /// empty and is filled through the admin API.
    pub demo: bool,
    /// The moment seeded `LastModified` times count back from. `None`: when the sandbox is built.
    /// Set it for byte-identical seeds across runs.
    pub seeded_at: Option<DateTime<Utc>>,
    /// Answers to the uncertain parts of Metrc (default: the production profile). The admin API
    /// can change them while the sandbox runs; a reset restores these.
    pub settings: Settings,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            state: "CA".to_string(),
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
    #[must_use]
    pub fn with_total_packages(mut self, total: usize) -> Self {
        self.packages_per_license = total.div_ceil(super::seed::DEMO_LICENSE_COUNT).max(1);
        self
    }

    /// [`SandboxConfig::state`] as a code: trimmed, upper case.
    pub fn state_code(&self) -> String {
        self.state.trim().to_ascii_uppercase()
    }

    /// The seed the sandbox actually draws its records and keys from. California's is
    /// [`SandboxConfig::seed`] itself (so its data and keys are what they have always been);
    /// every other state's mixes in a stable hash of the state code, so the same person has a
    /// different key in each state's sandbox, as in Metrc, where each state's system has its own
    /// accounts.
    pub fn state_seed(&self) -> u64 {
        let code = self.state_code();
        if code == "CA" {
            return self.seed;
        }
        // FNV-1a of the code, then SplitMix64's finaliser: stable across builds and platforms.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in code.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        let mut z = self.seed.wrapping_add(hash);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The sandbox's answers where Metrc's behaviour is uncertain or differs between deployments
/// (docs/metrc.md §11). `Default` is the production profile: what v2 production answers, as
/// integrators report it (docs/metrc.md §12). [`Settings::legacy`] is the sandbox's former,
/// friendlier behaviour, for tests that need it. Every field but `rate_limits` can be changed on
/// a running sandbox (`PUT /sandbox/settings`, docs/design.md §10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Status for a key whose user lacks the section's permission, or asks for a section the
    /// license type cannot use. Metrc documents 401 for "not at this license" and lists both 401
    /// and 403; integrators mostly see 401. Default 401 (`UNAUTHORIZED`); 403 is the alternative.
    pub missing_permission_status: StatusCode,
    /// Longest `lastModifiedStart`..`lastModifiedEnd` window; longer gets 400 naming the range.
    /// Default `None`: any window, as New York's v2 production accepted years in one call;
    /// `Some(24 h)` ([`Settings::DAY`]) for the deployments that keep v1's 24-hour limit.
    pub max_window: Option<Duration>,
    /// What a list read without a `lastModified` window answers. Default
    /// [`UnwindowedReads::Production`].
    pub unwindowed_reads: UnwindowedReads,
    /// Which field names records carry. Default [`RecordShapes::V2`].
    pub record_shapes: RecordShapes,
    /// Most rows in one write; more get 413. Uncertain in Metrc. Default 10; `None`: unlimited.
    pub max_write_rows: Option<usize>,
    /// GET rate limits; `None` disables them. Fixed when the sandbox is built.
    pub rate_limits: Option<RateLimits>,
}

/// How a per-license list answers a read without `lastModifiedStart` (docs/metrc.md §6, §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnwindowedReads {
    /// As v2 production (New York, 2026): items, locations and strains answer an empty page;
    /// every other list only the records modified in the last 24 hours.
    Production,
    /// Every record of the list (the sandbox's former behaviour; California's v1-era sandbox).
    All,
    /// An empty page, whatever the list.
    Empty,
}

/// Which field names the sandbox's records carry (docs/metrc.md §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordShapes {
    /// v2 only: plant batches carry `UntrackedCount`, `TrackedCount` and `PlantBatchTypeName`
    /// (not v1's `Count` and `Type`); items carry no `LastModified` (Metrc sends none).
    V2,
    /// v2 plus the v1 spellings Metrc has dropped (`Count`, `Type` on plant batches) and a
    /// `LastModified` on items: the sandbox's former, friendlier shapes.
    WithV1,
}

impl Settings {
    /// A 24-hour window: [`Settings::max_window`] for the deployments that keep v1's limit.
    pub const DAY: Duration = Duration::from_hours(24);

    /// The production profile (the default).
    pub fn production() -> Settings {
        Settings {
            missing_permission_status: StatusCode::UNAUTHORIZED,
            max_window: None,
            unwindowed_reads: UnwindowedReads::Production,
            record_shapes: RecordShapes::V2,
            max_write_rows: Some(10),
            rate_limits: Some(RateLimits::default()),
        }
    }

    /// The production profile of a deployment that refuses windows over 24 hours.
    pub fn production_24h() -> Settings {
        Settings {
            max_window: Some(Settings::DAY),
            ..Settings::production()
        }
    }

    /// The sandbox's former behaviour: unwindowed reads return every record, records carry v1
    /// spellings beside v2's and items a `LastModified`, windows over 24 hours are refused.
    pub fn legacy() -> Settings {
        Settings {
            max_window: Some(Settings::DAY),
            unwindowed_reads: UnwindowedReads::All,
            record_shapes: RecordShapes::WithV1,
            ..Settings::production()
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::production()
    }
}

/// Metrc's documented GET limits (docs/metrc.md §9). Over any of them: 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// GETs per second for one license (its `licenseNumber`, when the license exists). Default
    /// 50; 0 counts as 1.
    pub per_license_per_second: u32,
    /// GETs in flight at once for one license. Default 10; 0 counts as 1.
    pub per_license_concurrent: u32,
    /// GETs per second for one vendor key, over all its licenses. Default 150; 0 counts as 1.
    pub per_vendor_per_second: u32,
    /// GETs in flight at once for one vendor key. Default 30; 0 counts as 1.
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
