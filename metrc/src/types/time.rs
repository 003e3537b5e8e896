//! Metrc's dates and times (docs/metrc.md §6):
//!
//! - a timestamp with an offset (`2026-02-08T07:05:59.804361+00:00`) is that instant;
//! - a timestamp without one (`2016-10-11T14:48:30.000`, sales times) is the facility's local
//!   wall-clock time: the time zone of the license's state ([`state_time_zone`]), never silently
//!   UTC. Where the state is not known, such a time has no instant ([`MetrcTime::to_utc`] gives
//!   `None`);
//! - the placeholders Metrc sends for "none" (`0001-01-01`, `0001-01-01T00:00:00+00:00`: .NET's
//!   `DateTime.MinValue`) are absent, not year 1.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
/// An IANA time zone (`chrono-tz`), as [`state_time_zone`] gives it.
pub use chrono_tz::Tz;

/// Dates before this year are placeholders: Metrc has no records before 2014, and .NET's "no
/// date" is year 1.
const FIRST_REAL_YEAR: i32 = 1900;

fn real(d: NaiveDate) -> bool {
    d.year() >= FIRST_REAL_YEAR
}

/// A Metrc date (`YYYY-MM-DD`, or the date part of a timestamp); `None` for a placeholder or
/// anything else.
pub fn date(text: &str) -> Option<NaiveDate> {
    let text = text.trim();
    let day = text.get(..10).unwrap_or(text);
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .filter(|d| real(*d))
}

/// A Metrc timestamp as sent: an instant (it had an offset) or a local wall-clock time (it had
/// none). Placeholders never make one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetrcTime {
    /// With an offset: that instant.
    At(DateTime<FixedOffset>),
    /// Without an offset: the facility's local time.
    Local(NaiveDateTime),
}

impl MetrcTime {
    /// Reads `2026-02-08T07:05:59.804361+00:00`, `...Z`, `2016-10-11T14:48:30.000` or
    /// `2016-10-11 14:48:30` (any number of fraction digits); `None` for a placeholder (a year
    /// before 1900) or anything else. A bare date is not a timestamp.
    pub fn parse(text: &str) -> Option<MetrcTime> {
        let text = text.trim();
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return real(at.date_naive()).then_some(MetrcTime::At(at));
        }
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
            .iter()
            .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
            .filter(|t| real(t.date()))
            .map(MetrcTime::Local)
    }

    /// The instant, in UTC: an offset is honoured; a local time is read in `zone` (the
    /// facility's), and has no instant when the zone is not known. A local time that a
    /// daylight-saving change makes ambiguous is the earlier instant; one that it skips is read
    /// as the same wall time an hour later.
    pub fn to_utc(&self, zone: Option<Tz>) -> Option<DateTime<Utc>> {
        match self {
            MetrcTime::At(at) => Some(at.with_timezone(&Utc)),
            MetrcTime::Local(local) => {
                let zone = zone?;
                zone.from_local_datetime(local)
                    .earliest()
                    .or_else(|| {
                        zone.from_local_datetime(&(*local + chrono::Duration::hours(1)))
                            .earliest()
                    })
                    .map(|t| t.with_timezone(&Utc))
            }
        }
    }

    /// Whether Metrc sent an offset.
    pub fn has_offset(&self) -> bool {
        matches!(self, MetrcTime::At(_))
    }
}

/// Each state (and territory) Metrc serves, with the IANA time zone its facilities keep. Source:
/// the IANA time zone database (`zone1970.tab`, as compiled into `chrono-tz`) for the zone of
/// each state; where a state spans two zones, the one of its capital and most of its people
/// (Kentucky, Michigan, Oregon, South Dakota: noted below). The states are Metrc's deployments
/// (`api-<st>.metrc.com`, docs/metrc.md §2).
pub const STATE_TIME_ZONES: &[(&str, Tz)] = &[
    ("AL", Tz::America__Chicago),
    ("CA", Tz::America__Los_Angeles),
    ("CO", Tz::America__Denver),
    ("DC", Tz::America__New_York),
    ("GU", Tz::Pacific__Guam),
    ("IL", Tz::America__Chicago),
    // Eastern in Frankfort and Louisville; the west of the state keeps Central time.
    ("KY", Tz::America__New_York),
    ("LA", Tz::America__Chicago),
    ("MA", Tz::America__New_York),
    ("MD", Tz::America__New_York),
    ("ME", Tz::America__New_York),
    // Eastern but for four counties on the Wisconsin border (Central).
    ("MI", Tz::America__Detroit),
    ("MN", Tz::America__Chicago),
    ("MO", Tz::America__Chicago),
    ("MS", Tz::America__Chicago),
    ("MT", Tz::America__Denver),
    ("NJ", Tz::America__New_York),
    ("NV", Tz::America__Los_Angeles),
    ("NY", Tz::America__New_York),
    ("OH", Tz::America__New_York),
    ("OK", Tz::America__Chicago),
    // Pacific but for most of Malheur County (Mountain).
    ("OR", Tz::America__Los_Angeles),
    ("RI", Tz::America__New_York),
    // Central in Pierre and Sioux Falls; the west of the state keeps Mountain time.
    ("SD", Tz::America__Chicago),
    ("VA", Tz::America__New_York),
    ("VI", Tz::America__St_Thomas),
    ("WV", Tz::America__New_York),
];

/// The time zone of a facility in `state` (two letters, any case), or `None` for a state Metrc
/// does not serve (or an unknown one, `""`).
pub fn state_time_zone(state: &str) -> Option<Tz> {
    let state = state.trim();
    STATE_TIME_ZONES
        .iter()
        .find(|(st, _)| st.eq_ignore_ascii_case(state))
        .map(|(_, zone)| *zone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn an_offset_is_honoured_whatever_the_zone() {
        let t = MetrcTime::parse("2026-02-08T07:05:59.7441994+00:00").unwrap();
        assert!(t.has_offset());
        assert_eq!(t.to_utc(None), Some(utc("2026-02-08T07:05:59.7441994Z")));
        let t = MetrcTime::parse("2016-10-10T08:20:45-08:00").unwrap();
        assert_eq!(
            t.to_utc(state_time_zone("NY")),
            Some(utc("2016-10-10T16:20:45Z"))
        );
        assert_eq!(
            MetrcTime::parse("2026-01-17T06:30:00Z")
                .unwrap()
                .to_utc(None),
            Some(utc("2026-01-17T06:30:00Z"))
        );
    }

    #[test]
    fn a_time_without_offset_is_the_facilitys_local_time_never_utc() {
        let t = MetrcTime::parse("2016-10-11T14:48:30.000").unwrap();
        assert!(!t.has_offset());
        // Colorado in October: Mountain Daylight Time, UTC-6.
        assert_eq!(
            t.to_utc(state_time_zone("co")),
            Some(utc("2016-10-11T20:48:30Z"))
        );
        // California in January: Pacific Standard Time, UTC-8.
        let winter = MetrcTime::parse("2026-01-17 06:30:00").unwrap();
        assert_eq!(
            winter.to_utc(state_time_zone("CA")),
            Some(utc("2026-01-17T14:30:00Z"))
        );
        // Unknown state: no instant rather than a guess.
        assert_eq!(t.to_utc(state_time_zone("")), None);
        assert_eq!(t.to_utc(None), None);
    }

    #[test]
    fn daylight_saving_edges_read_one_instant() {
        let ny = state_time_zone("NY");
        // 2026-11-01 01:30 happens twice in New York: the earlier (EDT, UTC-4).
        let twice = MetrcTime::parse("2026-11-01T01:30:00").unwrap();
        assert_eq!(twice.to_utc(ny), Some(utc("2026-11-01T05:30:00Z")));
        // 2026-03-08 02:30 never happens: read as 03:30 EDT.
        let skipped = MetrcTime::parse("2026-03-08T02:30:00").unwrap();
        assert_eq!(skipped.to_utc(ny), Some(utc("2026-03-08T07:30:00Z")));
    }

    #[test]
    fn placeholders_are_absent_not_year_one() {
        assert_eq!(MetrcTime::parse("0001-01-01T00:00:00+00:00"), None);
        assert_eq!(MetrcTime::parse("0001-01-01T00:00:00"), None);
        assert_eq!(date("0001-01-01"), None);
        assert_eq!(date("0001-01-01T00:00:00+00:00"), None);
        assert_eq!(MetrcTime::parse(""), None);
        assert_eq!(MetrcTime::parse("2026-01-10"), None, "a date is not a time");
        assert_eq!(date("2026-01-10"), NaiveDate::from_ymd_opt(2026, 1, 10));
        assert_eq!(
            date("2026-01-20T17:02:44.513+00:00"),
            NaiveDate::from_ymd_opt(2026, 1, 20)
        );
        assert_eq!(date("soon"), None);
    }

    #[test]
    fn every_metrc_state_has_a_zone() {
        // docs/metrc.md §2: Metrc's deployments.
        for st in [
            "al", "ca", "co", "dc", "gu", "il", "ky", "la", "ma", "md", "me", "mi", "mn", "mo",
            "ms", "mt", "nj", "nv", "ny", "oh", "ok", "or", "ri", "sd", "va", "vi", "wv",
        ] {
            assert!(state_time_zone(st).is_some(), "{st}");
        }
        assert_eq!(STATE_TIME_ZONES.len(), 27);
        assert_eq!(state_time_zone("TX"), None);
        assert_eq!(state_time_zone(" ny "), Some(Tz::America__New_York));
    }
}
