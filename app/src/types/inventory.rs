//! Synced Metrc data as the work screens see it (packages, plants, reference lists), and each
//! facility's sync state as Facility Management shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A facility the user works at, as the work screens' facility picker names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyFacility {
    /// Metrc's license number.
    pub license_number: String,
    /// Metrc's name for the facility.
    pub name: String,
    /// Its state's two letters (`""` where none is recorded).
    pub state: String,
}

/// Rows per page on the work screens.
pub const PAGE_SIZE: u32 = 50;

/// One synced active package.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PackageRow {
    /// The license the package belongs to (synced with that facility's key).
    pub license_number: String,
    /// With several states served, its facility's state (two letters); `""` with one (the
    /// screens show no state).
    #[serde(default)]
    pub state: String,
    /// Metrc's `Id` of the package.
    pub metrc_id: i64,
    /// The package tag: 24 characters, e.g. `1A4000000000000000000123` (docs/metrc.md §7);
    /// empty when Metrc sent none.
    pub label: String,
    /// The item's name (`Item.Name`); empty when Metrc sent none.
    pub item: String,
    /// What the package holds (`Quantity`), in `unit`; 0 when Metrc sent none.
    pub quantity: f64,
    /// Metrc's `UnitOfMeasureName` of `quantity`; empty when Metrc sent none.
    pub unit: String,
    /// Where the package is (`LocationName`, or v1's `RoomName`: docs/metrc.md §7); `None` when
    /// Metrc names none.
    pub location: Option<String>,
    /// Metrc's `LastModified`, UTC; `None` when absent, a placeholder, or a local time in an
    /// unknown time zone (docs/metrc.md §6).
    pub last_modified: Option<DateTime<Utc>>,
}

/// Filters of `/inventory/packages` (all optional; text filters match case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageFilter {
    /// One license number, which the user must work at; `None` or empty: every facility they
    /// work at.
    pub license: Option<String>,
    /// Part of the label.
    pub label: Option<String>,
    /// Part of the item's name.
    pub item: Option<String>,
    /// Part of the location's name.
    pub location: Option<String>,
    /// Only the facilities of this state (two letters, e.g. `"CO"`: [`state_filter`]); `None` or
    /// empty: every state. In the address as `state=`.
    #[serde(default)]
    pub state: Option<String>,
    /// The page to show, 0-based, [`PAGE_SIZE`] rows a page.
    pub page: u32,
}

/// Why a state filter was refused ([`state_filter`]).
pub const BAD_STATE: &str = "The state must be two letters, such as CO.";

/// A state filter as the lists apply it: `None` or blank is no filter; two ASCII letters (any
/// case, surrounding spaces ignored) are the state's code, upper-cased as facilities store it;
/// anything else is refused with [`BAD_STATE`].
pub fn state_filter(value: Option<&str>) -> Result<Option<String>, &'static str> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    // Bytes are counted first, so a long value costs no more than a valid one.
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(Some(value.to_ascii_uppercase()))
    } else {
        Err(BAD_STATE)
    }
}

/// One synced plant (vegetative or flowering).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlantRow {
    /// The license the plant belongs to (synced with that facility's key).
    pub license_number: String,
    /// With several states served, its facility's state (two letters); `""` with one (the
    /// screens show no state).
    #[serde(default)]
    pub state: String,
    /// Metrc's `Id` of the plant.
    pub metrc_id: i64,
    /// The plant tag; empty when Metrc sent none.
    pub label: String,
    /// Metrc's `StrainName`; `None` when Metrc sent none.
    pub strain: Option<String>,
    /// "Vegetative" or "Flowering".
    pub phase: String,
    /// Where the plant is (`LocationName`, or v1's `RoomName`: docs/metrc.md §7); `None` when
    /// Metrc names none.
    pub location: Option<String>,
    /// Metrc's `LastModified`, UTC; `None` when absent, a placeholder, or a local time in an
    /// unknown time zone (docs/metrc.md §6).
    pub last_modified: Option<DateTime<Utc>>,
}

/// A work screen's row: the license it belongs to, and its facility's state to fill in.
pub trait OfFacility {
    /// The license the record belongs to.
    fn license_number(&self) -> &str;
    /// Where its facility's state goes.
    fn state_mut(&mut self) -> &mut String;
}

impl OfFacility for PackageRow {
    fn license_number(&self) -> &str {
        &self.license_number
    }

    fn state_mut(&mut self) -> &mut String {
        &mut self.state
    }
}

impl OfFacility for PlantRow {
    fn license_number(&self) -> &str {
        &self.license_number
    }

    fn state_mut(&mut self) -> &mut String {
        &mut self.state
    }
}

/// Filters of `/inventory/plants`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlantFilter {
    /// One license number, which the user must work at; `None` or empty: every facility they
    /// work at.
    pub license: Option<String>,
    /// Part of the label, matched case-insensitively.
    pub label: Option<String>,
    /// Only the facilities of this state (two letters, e.g. `"CO"`: [`state_filter`]); `None` or
    /// empty: every state. In the address as `state=`.
    #[serde(default)]
    pub state: Option<String>,
    /// The page to show, 0-based, [`PAGE_SIZE`] rows a page.
    pub page: u32,
}

/// A page of rows and how many match in all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// This page's rows, at most `page_size`.
    pub rows: Vec<T>,
    /// How many rows match in all, over every page; at least that many when `more`.
    pub total: u64,
    /// More rows match than `total`: counting stopped early (`ssr::queries::counting`).
    pub more: bool,
    /// 0-based.
    pub page: u32,
    /// The most rows a page holds.
    pub page_size: u32,
}

impl<T> Page<T> {
    /// Page `page` (0-based) of a list, holding `rows`, of `total` matching rows.
    pub fn new(rows: Vec<T>, total: Total, page: u32, page_size: u32) -> Self {
        Page {
            rows,
            total: total.rows,
            more: total.more,
            page,
            page_size,
        }
    }

    /// How many rows match, as counted.
    pub fn total(&self) -> Total {
        Total {
            rows: self.total,
            more: self.more,
        }
    }
}

/// How many rows a list matches: `rows`, or more than `rows` when `more` (a long list is counted
/// only so far past the page shown: `ssr::queries::counting`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Total {
    /// Rows counted.
    pub rows: u64,
    /// More rows match than were counted.
    pub more: bool,
}

impl Total {
    /// Exactly `rows`.
    pub fn exact(rows: u64) -> Self {
        Total { rows, more: false }
    }

    /// What counting up to `bound + 1` rows and finding `found` says: `bound` and more when it
    /// found more than `bound`, else exactly `found`.
    pub fn counted(found: u64, bound: u64) -> Self {
        Total {
            rows: found.min(bound),
            more: found > bound,
        }
    }

    /// The pages `page_size` rows each take (at least 1), and whether there are more.
    pub fn pages(self, page_size: u32) -> (u64, bool) {
        (
            self.rows.div_ceil(u64::from(page_size.max(1))).max(1),
            self.more,
        )
    }
}

/// Metrc's lists the work forms choose from, for one license.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceLists {
    /// Names of Metrc's package adjustment reasons (`GET /packages/v2/adjust/reasons`,
    /// docs/metrc.md §10).
    pub adjust_reasons: Vec<String>,
    /// Names of the license's active locations, from synced data (not asked of Metrc).
    pub locations: Vec<String>,
    /// Names of Metrc's active units of measure (`GET /unitsofmeasure/v2/active`, docs/metrc.md
    /// §10).
    pub units: Vec<String>,
    /// Names of Metrc's plant waste methods (`GET /plants/v2/waste/methods/all`, docs/metrc.md
    /// §10).
    pub waste_methods: Vec<String>,
    /// Names of Metrc's plant waste reasons (`GET /plants/v2/waste/reasons`, docs/metrc.md §10).
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
    /// A run is under way. A run cut short by a stop keeps this state and resumes from its
    /// cursors when Tracekeeper starts again.
    Running,
    /// Stopped: the facility key is invalid (or missing). Resumes from its cursors once a valid
    /// key is set.
    Paused,
    /// The last run failed (Metrc down); retried with backoff.
    Failed,
}
}

impl SyncState {
    /// The state as Facility Management words it, e.g. "Paused: key invalid".
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
    /// `lastModified` windows read and stored so far in this run (docs/metrc.md §6).
    pub windows_done: u32,
    /// The windows the run expects in all, over every list it walks; grows when Metrc makes
    /// the client narrow its windows.
    pub windows_total: u32,
    /// Records stored so far in this run.
    pub records: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_past_its_bound_is_the_bound_and_more() {
        assert_eq!(
            Total::counted(10_001, 10_000),
            Total {
                rows: 10_000,
                more: true
            }
        );
        assert_eq!(Total::counted(10_000, 10_000), Total::exact(10_000));
        assert_eq!(Total::counted(7, 10_000), Total::exact(7));
        assert_eq!(Total::exact(0).pages(50), (1, false));
        assert_eq!(Total::exact(101).pages(50), (3, false));
        assert_eq!(Total::counted(10_001, 10_000).pages(50), (200, true));
    }

    #[test]
    fn state_filters_are_two_letters_or_nothing() {
        assert_eq!(state_filter(None), Ok(None));
        assert_eq!(state_filter(Some("  ")), Ok(None));
        assert_eq!(state_filter(Some("CO")), Ok(Some("CO".into())));
        assert_eq!(state_filter(Some(" mi ")), Ok(Some("MI".into())));
        for bad in ["C", "COL", "C1", "é", "C\u{202e}", &"CO".repeat(1000)] {
            assert_eq!(state_filter(Some(bad)), Err(BAD_STATE), "{bad:?}");
        }
    }

    #[test]
    fn filters_without_a_state_still_deserialize() {
        let old: PackageFilter = serde_json::from_str(r#"{"license": null, "page": 0}"#).unwrap();
        assert_eq!(old, PackageFilter::default());
        let old: PlantFilter =
            serde_json::from_str(r#"{"license": null, "label": null, "page": 1}"#).unwrap();
        assert_eq!((old.state, old.page), (None, 1));
    }
}
