//! How values read on every screen.

use chrono::{DateTime, Timelike, Utc};

/// A time as the tables show it: `2026-12-01 06:00 UTC` (UTC, the same on server and browser),
/// or `Never`. Written out field by field: chrono's `format` patterns would bring its pattern
/// parser into the client (docs/benchmarks.md, "A first visit on a tablet").
pub fn when(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "Never".into(),
        |t| format!("{} {:02}:{:02} UTC", t.date_naive(), t.hour(), t.minute()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_utc_to_the_minute_and_none_reads_never() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T06:00:59+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(when(Some(at)), "2026-12-01 05:00 UTC");
        assert_eq!(when(None), "Never");
        let late = DateTime::parse_from_rfc3339("0999-03-04T23:09:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(when(Some(late)), "0999-03-04 23:09 UTC");
    }
}
