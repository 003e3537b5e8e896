//! What to sync and when: the lists a license's type can use, how often each list syncs, where a
//! walk starts, and how long a facility waits after a failed run.

use crate::ssr::config::SyncSettings;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use metrc::{FacilityType, Resource};
use std::time::Duration;

/// The lists sync walks, in the order it walks them: locations, strains and items first (the
/// work forms choose from them), then packages, plants and transfers.
pub const RESOURCES: [Resource; 12] = [
    Resource::LocationsActive,
    Resource::StrainsActive,
    Resource::ItemsActive,
    Resource::PackagesActive,
    Resource::PackagesInactive,
    Resource::PlantBatchesActive,
    Resource::PlantsVegetative,
    Resource::PlantsFlowering,
    Resource::PlantsInactive,
    Resource::HarvestsActive,
    Resource::TransfersIncoming,
    Resource::TransfersOutgoing,
];

/// The list's name in the database (`sync_cursors.resource`, `synced_records.resource`). Fixed
/// here, not derived from the client's `Debug`, so stored rows never depend on it.
pub fn name(resource: Resource) -> &'static str {
    match resource {
        Resource::PackagesActive => "PackagesActive",
        Resource::PackagesInactive => "PackagesInactive",
        Resource::PlantsVegetative => "PlantsVegetative",
        Resource::PlantsFlowering => "PlantsFlowering",
        Resource::PlantsInactive => "PlantsInactive",
        Resource::PlantBatchesActive => "PlantBatchesActive",
        Resource::HarvestsActive => "HarvestsActive",
        Resource::ItemsActive => "ItemsActive",
        Resource::LocationsActive => "LocationsActive",
        Resource::StrainsActive => "StrainsActive",
        Resource::TransfersIncoming => "TransfersIncoming",
        Resource::TransfersOutgoing => "TransfersOutgoing",
        Resource::SalesReceiptsActive => "SalesReceiptsActive",
        Resource::PatientsActive => "PatientsActive",
        Resource::ProcessingActive => "ProcessingActive",
    }
}

/// Packages and Transfers change all day and sync often; the other lists nightly.
pub fn is_fast(resource: Resource) -> bool {
    matches!(
        resource,
        Resource::PackagesActive
            | Resource::PackagesInactive
            | Resource::TransfersIncoming
            | Resource::TransfersOutgoing
    )
}

/// How often `resource` syncs.
pub fn every(resource: Resource, settings: &SyncSettings) -> Duration {
    if is_fast(resource) {
        settings.fast_every
    } else {
        settings.slow_every
    }
}

/// The lists of a license whose stored capabilities (`FacilityType` JSON) are `capabilities`:
/// a distribution license has no plants. Capabilities that cannot be read mean every list (a
/// list the license cannot use is then skipped when Metrc refuses it).
pub fn applicable(capabilities: &str) -> Vec<Resource> {
    let caps: Option<FacilityType> = serde_json::from_str(capabilities)
        .ok()
        .filter(|c: &FacilityType| !c.0.is_empty());
    RESOURCES
        .into_iter()
        .filter(|r| {
            caps.as_ref()
                .is_none_or(|c| r.section().applies(|cap| c.has(cap)))
        })
        .collect()
}

/// The lists a record of `resource` leaves when stored there: a package that turns up among the
/// inactive ones is no longer active, a flowering plant no longer vegetative, and back.
pub fn siblings(resource: Resource) -> &'static [Resource] {
    match resource {
        Resource::PackagesActive => &[Resource::PackagesInactive],
        Resource::PackagesInactive => &[Resource::PackagesActive],
        Resource::PlantsVegetative => &[Resource::PlantsFlowering, Resource::PlantsInactive],
        Resource::PlantsFlowering => &[Resource::PlantsVegetative, Resource::PlantsInactive],
        Resource::PlantsInactive => &[Resource::PlantsVegetative, Resource::PlantsFlowering],
        _ => &[],
    }
}

/// Whether `resource` should sync now, given its cursor (the end of its last stored window) and
/// the end of the facility's last completed run. A list with no cursor after a completed run is
/// one Metrc refused (the key owner lacks the permission): it is tried again on its own schedule,
/// not on every pass.
pub fn is_due(
    resource: Resource,
    cursor: Option<DateTime<Utc>>,
    last_run: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    settings: &SyncSettings,
) -> bool {
    match cursor.or(last_run) {
        None => true,
        Some(at) => (now - at).to_std().unwrap_or_default() >= every(resource, settings),
    }
}

/// Where the walk of a list starts: `overlap` before its cursor (a record modified on the
/// boundary is read again, never missed; storing is by id), or on the first sync at the start
/// of `history_start` (UTC), whatever the list: Metrc filters every list, active ones included,
/// by `LastModified`, and a record untouched since then is only in a window that reaches back to
/// it. No list is read without a window (v2 production answers such reads empty or with recent
/// records only).
pub fn walk_from(
    cursor: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    overlap: chrono::Duration,
    history_start: NaiveDate,
) -> DateTime<Utc> {
    match cursor {
        Some(at) => (at - overlap).min(now),
        None => history_start.and_time(NaiveTime::MIN).and_utc().min(now),
    }
}

/// How long a walk may run on without storing its cursor while every window it reads is empty
/// (see [`store_now`]).
pub const EMPTY_WINDOWS_STORED_EVERY: Duration = Duration::from_secs(1);

/// Whether a walk stores what it holds now: `held` records not yet stored, `window_closed` when
/// the page just read ended its window (the cursor can move to the window's end), and
/// `since_store` since the walk last stored. Records are stored when a window closes or when
/// `hold` of them are held; a run of empty windows (most of a 24-hour walk through a quiet
/// history) moves the cursor once per [`EMPTY_WINDOWS_STORED_EVERY`] instead of once per window.
/// A run cut short then reads at most that much of empty windows again (docs/design.md, "Sync").
pub fn store_now(held: usize, hold: usize, window_closed: bool, since_store: Duration) -> bool {
    held >= hold || (window_closed && (held > 0 || since_store >= EMPTY_WINDOWS_STORED_EVERY))
}

/// First wait after a failed run.
pub const BACKOFF_BASE: Duration = Duration::from_secs(60);
/// Longest wait between failed runs.
pub const BACKOFF_MAX: Duration = Duration::from_hours(1);

/// How long a facility waits after `failures` failed runs in a row: 1 min, doubling, at most 1 h,
/// of which a half to all is waited ("equal jitter"; `spread`, 0 to 1, says where), so that
/// facilities failed by one Metrc outage do not all come back at once.
pub fn backoff(failures: u32, spread: f64) -> Duration {
    metrc::backoff::equal_jitter(
        metrc::backoff::doubling(BACKOFF_BASE, BACKOFF_MAX, failures),
        spread,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap() + chrono::Duration::minutes(min)
    }

    #[test]
    fn names_are_distinct_and_cover_every_list() {
        let mut names: Vec<&str> = Resource::ALL.iter().map(|r| name(*r)).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Resource::ALL.len());
        for r in Resource::ALL {
            assert_eq!(name(r), format!("{r:?}"), "stored names match the lists");
        }
    }

    #[test]
    fn packages_and_transfers_every_ten_minutes_the_rest_nightly() {
        let settings = SyncSettings::default();
        let due = |r, cursor, now| is_due(r, cursor, None, now, &settings);
        assert!(due(Resource::PackagesActive, None, t(0)));
        assert!(!due(Resource::PackagesActive, Some(t(0)), t(9)));
        assert!(due(Resource::PackagesActive, Some(t(0)), t(10)));
        assert!(due(Resource::TransfersOutgoing, Some(t(0)), t(10)));
        assert!(!due(Resource::PlantsFlowering, Some(t(0)), t(10)));
        assert!(!due(Resource::LocationsActive, Some(t(0)), t(24 * 60 - 1)));
        assert!(due(Resource::LocationsActive, Some(t(0)), t(24 * 60)));
        // A cursor ahead of the clock is not due (no negative durations).
        assert!(!due(Resource::PackagesActive, Some(t(5)), t(0)));
        // A list Metrc refused (no cursor) waits for its schedule after a completed run.
        let refused = |now| is_due(Resource::PlantsVegetative, None, Some(t(0)), now, &settings);
        assert!(!refused(t(10)));
        assert!(refused(t(24 * 60)));
        // Its cursor, once it has one, is what counts.
        assert!(is_due(
            Resource::PackagesActive,
            Some(t(0)),
            Some(t(9)),
            t(10),
            &settings
        ));
    }

    #[test]
    fn walks_start_before_the_cursor_or_at_the_history_start() {
        let minute = chrono::Duration::minutes(1);
        let start = crate::ssr::config::default_history_start();
        assert_eq!(walk_from(Some(t(100)), t(200), minute, start), t(99));
        assert_eq!(walk_from(Some(t(300)), t(200), minute, start), t(200));
        assert_eq!(
            walk_from(None, t(0), minute, start),
            Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).unwrap()
        );
        // A history start after now (a misconfiguration) walks nothing rather than the future.
        let later = NaiveDate::from_ymd_opt(2030, 1, 1).unwrap();
        assert_eq!(walk_from(None, t(0), minute, later), t(0));
    }

    #[test]
    fn distribution_licenses_skip_plants_and_unknown_capabilities_try_everything() {
        let distribution = r#"{"CanGrowPlants": false, "CanSellToConsumers": false}"#;
        let lists = applicable(distribution);
        assert!(lists.contains(&Resource::PackagesActive));
        assert!(lists.contains(&Resource::TransfersIncoming));
        for plant in [
            Resource::PlantsVegetative,
            Resource::PlantsFlowering,
            Resource::PlantsInactive,
            Resource::PlantBatchesActive,
            Resource::HarvestsActive,
        ] {
            assert!(!lists.contains(&plant), "{plant:?}");
        }
        assert_eq!(
            applicable(r#"{"CanGrowPlants": true}"#).len(),
            RESOURCES.len()
        );
        assert_eq!(applicable("[]").len(), RESOURCES.len());
        assert_eq!(applicable("{}").len(), RESOURCES.len());
    }

    #[test]
    fn records_leave_their_other_lists() {
        assert_eq!(
            siblings(Resource::PackagesInactive),
            &[Resource::PackagesActive]
        );
        for r in RESOURCES {
            for s in siblings(r) {
                assert!(siblings(*s).contains(&r), "{r:?} and {s:?} pair up");
                assert_eq!(r.section(), s.section());
            }
        }
        assert!(siblings(Resource::TransfersIncoming).is_empty());
    }

    #[test]
    fn backoff_doubles_from_a_minute_up_to_an_hour() {
        assert_eq!(backoff(0, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(1, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(2, 1.0), Duration::from_secs(120));
        assert_eq!(backoff(3, 1.0), Duration::from_secs(240));
        assert_eq!(backoff(6, 1.0), Duration::from_mins(32));
        assert_eq!(backoff(7, 1.0), BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX, 1.0), BACKOFF_MAX);
    }

    #[test]
    fn backoff_waits_half_to_all_of_it() {
        assert_eq!(backoff(1, 0.0), Duration::from_secs(30));
        assert_eq!(backoff(3, 0.5), Duration::from_secs(180));
        assert_eq!(backoff(u32::MAX, 0.0), BACKOFF_MAX / 2);
        assert_ne!(backoff(4, 0.1), backoff(4, 0.9));
    }
    #[test]
    fn records_are_stored_when_their_window_closes_or_the_hold_is_full() {
        let quick = Duration::from_millis(5);
        assert!(store_now(3, 100, true, quick));
        assert!(store_now(100, 100, false, quick));
        assert!(!store_now(99, 100, false, quick));
        assert!(!store_now(99, 100, false, Duration::from_secs(60)));
    }

    #[test]
    fn empty_windows_move_the_cursor_once_a_second() {
        assert!(!store_now(0, 100, true, Duration::from_millis(999)));
        assert!(store_now(0, 100, true, EMPTY_WINDOWS_STORED_EVERY));
        assert!(!store_now(0, 100, false, Duration::from_secs(60)));
    }
}
