//! Synced Metrc data as the work screens see it (packages, plants, reference lists), and each
//! facility's sync state as Facility Management shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Rows per page on the work screens.
pub const PAGE_SIZE: u32 = 50;

/// One synced active package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageRow {
    pub license_number: String,
    pub metrc_id: i64,
    pub label: String,
    pub item: String,
    pub quantity: f64,
    pub unit: String,
    pub location: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
}

/// Filters of `/inventory/packages` (all optional; text filters match case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageFilter {
    pub license: Option<String>,
    /// Part of the label.
    pub label: Option<String>,
    pub item: Option<String>,
    pub location: Option<String>,
    /// 0-based.
    pub page: u32,
}

/// One synced plant (vegetative or flowering).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantRow {
    pub license_number: String,
    pub metrc_id: i64,
    pub label: String,
    pub strain: Option<String>,
    /// "Vegetative" or "Flowering".
    pub phase: String,
    pub location: Option<String>,
    pub last_modified: Option<DateTime<Utc>>,
}

/// Filters of `/inventory/plants`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlantFilter {
    pub license: Option<String>,
    pub label: Option<String>,
    pub page: u32,
}

/// A page of rows and how many match in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: u64,
    /// 0-based.
    pub page: u32,
    pub page_size: u32,
}

/// Metrc's lists the work forms choose from, for one license.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceLists {
    pub adjust_reasons: Vec<String>,
    pub locations: Vec<String>,
    pub units: Vec<String>,
    pub waste_methods: Vec<String>,
    pub waste_reasons: Vec<String>,
}

stored_as_string! {
/// A facility's sync with Metrc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncState {
    /// Never synced yet.
    Never,
    /// Up to date as of the last sync; the next runs on schedule.
    Idle,
    Running,
    /// Stopped: the facility key is invalid (or missing). Resumes from its cursors once a valid
    /// key is set.
    Paused,
    /// The last run failed (Metrc down); retried with backoff.
    Failed,
}
}

impl SyncState {
    pub fn label(self) -> &'static str {
        match self {
            SyncState::Never => "Not synced yet",
            SyncState::Idle => "Up to date",
            SyncState::Running => "Syncing",
            SyncState::Paused => "Paused: key invalid",
            SyncState::Failed => "Failed: retrying",
        }
    }
}

/// How far a running sync is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    pub windows_done: u32,
    pub windows_total: u32,
    pub records: u64,
}
