//! How wide a `lastModifiedStart/End` window the client asks for (docs/metrc.md §6): it starts
//! wide ([`crate::ClientConfig::window`]), narrows when Metrc refuses the range with a 400
//! ([`next_width`], a pure function of the width and the answer), and remembers the narrower
//! width for the base URL ([`WindowMemory`]: in memory, shared by every client of the process
//! for that base URL; a restart starts wide again and pays one refused call per narrowing step).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError, Weak};

use chrono::Duration;
use url::Url;

use crate::error::Error;

/// The narrowest window the client asks for. A deployment that refuses even this cannot be
/// walked by windows: its refusal stands.
pub const NARROWEST: Duration = Duration::hours(1);

/// The widths tried after a refusal that names no limit, widest first: a refused width gives
/// way to the first one below it.
const STEPS: [Duration; 5] = [
    Duration::days(365),
    Duration::days(31),
    Duration::days(7),
    Duration::days(1),
    NARROWEST,
];

/// What an answer means for the window width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// The width stands: Metrc accepted the window, or failed for a reason that is not the range.
    Keep,
    /// Metrc refused the range: read the refused window again in windows this wide.
    Narrow(Duration),
    /// Metrc refused even the narrowest width: the refusal stands.
    Exhausted,
}

/// What to do after Metrc answered a window read with a window `remembered` wide: `Ok(())` for
/// an answer, `Err` for a failure. A 400 that names the range (`lastModified…`, or a date or
/// time range or span) narrows: to the limit it states ("… must not exceed 24 hours") when that
/// is narrower, else to the next of 365, 31, 7 and 1 days and 1 hour below `remembered` (half of
/// it when the stated limit is what was asked: Metrc measures the span otherwise). Anything else
/// keeps the width.
pub fn next_width(remembered: Duration, answer: Result<(), &Error>) -> Width {
    let message = match answer {
        Err(Error::Rejected { rows, message }) if rows.is_empty() => message.as_deref(),
        _ => return Width::Keep,
    };
    let Some(message) = message.filter(|m| names_the_range(m)) else {
        return Width::Keep;
    };
    let narrower = match stated_limit(message) {
        Some(limit) if limit < remembered => Some(limit),
        Some(_) => Some(remembered / 2),
        None => STEPS.into_iter().find(|step| *step < remembered),
    };
    match narrower {
        Some(width) if width >= NARROWEST => Width::Narrow(width),
        _ if remembered > NARROWEST => Width::Narrow(NARROWEST),
        _ => Width::Exhausted,
    }
}

/// Whether a 400's message is about the `lastModified` range.
fn names_the_range(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("lastmodified")
        || ((m.contains("date") || m.contains("time"))
            && ["range", "span", "window", "interval"]
                .iter()
                .any(|w| m.contains(w)))
}

/// The first "N hours" (or days, minutes) in a message: the limit Metrc states.
fn stated_limit(message: &str) -> Option<Duration> {
    let m = message.to_ascii_lowercase();
    let bytes = m.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let number: Option<f64> = m[start..i].parse().ok();
        let unit = m[i..].trim_start_matches([' ', '-']);
        let seconds = if unit.starts_with("hour") || unit.starts_with("hr") {
            3_600.0
        } else if unit.starts_with("day") {
            86_400.0
        } else if unit.starts_with("minute") || unit.starts_with("min") {
            60.0
        } else {
            continue;
        };
        if let Some(n) = number.filter(|n| n.is_finite() && *n > 0.0) {
            // `as` saturates: an absurd count of days reads as the longest duration.
            #[allow(clippy::cast_possible_truncation)]
            let seconds = (n * seconds) as i64;
            return Some(Duration::seconds(seconds));
        }
    }
    None
}

/// The narrowest window width Metrc refused wider than, for one base URL: every client of the
/// process for that base URL shares it (created on first use, forgotten with the last client).
#[derive(Debug, Default)]
pub(crate) struct WindowMemory {
    narrowed: Mutex<Option<Duration>>,
}

static REGISTRY: LazyLock<Mutex<HashMap<String, Weak<WindowMemory>>>> =
    LazyLock::new(Default::default);

impl WindowMemory {
    /// The memory for `base_url`.
    pub(crate) fn shared(base_url: &Url) -> Arc<WindowMemory> {
        let key = base_url.origin().ascii_serialization() + base_url.path();
        let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
        registry.retain(|_, weak| weak.strong_count() > 0);
        if let Some(existing) = registry.get(&key).and_then(Weak::upgrade) {
            return existing;
        }
        let memory = Arc::new(WindowMemory::default());
        registry.insert(key, Arc::downgrade(&memory));
        memory
    }

    /// The width to ask for: `widest`, or narrower if Metrc refused wider.
    pub(crate) fn width(&self, widest: Duration) -> Duration {
        let narrowed = *self.narrowed.lock().unwrap_or_else(PoisonError::into_inner);
        narrowed.map_or(widest, |n| n.min(widest))
    }

    /// Remembers that windows `width` wide are what to ask for from now on (never wider than
    /// what is remembered already).
    pub(crate) fn narrow(&self, width: Duration) {
        let mut narrowed = self.narrowed.lock().unwrap_or_else(PoisonError::into_inner);
        *narrowed = Some(narrowed.map_or(width, |n| n.min(width)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(message: &str) -> Error {
        Error::Rejected {
            rows: Vec::new(),
            message: Some(message.to_string()),
        }
    }

    const YEARS: Duration = Duration::days(7_305);
    const DAY: Duration = Duration::hours(24);

    #[test]
    fn accepted_windows_and_other_failures_keep_the_width() {
        assert_eq!(next_width(YEARS, Ok(())), Width::Keep);
        assert_eq!(next_width(DAY, Ok(())), Width::Keep);
        for other in [
            Error::Server {
                status: 500,
                excerpt: "lastModifiedStart".into(),
            },
            Error::Timeout,
            Error::RateLimited { retry_after: None },
            refused("Package label ABC is not valid."),
            refused("An error has occurred."),
            Error::Rejected {
                rows: vec![crate::RowError {
                    row: Some(0),
                    message: "The date range is invalid.".into(),
                }],
                message: None,
            },
            Error::Rejected {
                rows: Vec::new(),
                message: None,
            },
        ] {
            assert_eq!(next_width(YEARS, Err(&other)), Width::Keep, "{other:?}");
        }
    }

    #[test]
    fn a_refusal_stating_a_limit_narrows_to_it_at_once() {
        let sandbox = refused(
            "The time span between lastModifiedStart and lastModifiedEnd must not exceed 24 hours.",
        );
        assert_eq!(next_width(YEARS, Err(&sandbox)), Width::Narrow(DAY));
        assert_eq!(
            next_width(
                YEARS,
                Err(&refused("Date range cannot be more than 7 days"))
            ),
            Width::Narrow(Duration::days(7))
        );
        assert_eq!(
            next_width(
                YEARS,
                Err(&refused("lastModified window over a 12-hour limit"))
            ),
            Width::Narrow(Duration::hours(12))
        );
        // Refused at the limit it states: Metrc counts the span otherwise; halve.
        assert_eq!(
            next_width(DAY, Err(&sandbox)),
            Width::Narrow(Duration::hours(12))
        );
    }

    #[test]
    fn a_refusal_without_a_limit_steps_down_to_an_hour_then_stands() {
        let vague = refused("The LastModifiedStart/LastModifiedEnd range is too large.");
        let mut width = YEARS;
        let mut seen = Vec::new();
        while let Width::Narrow(next) = next_width(width, Err(&vague)) {
            assert!(next < width);
            seen.push(next);
            width = next;
        }
        assert_eq!(seen, STEPS.to_vec());
        assert_eq!(next_width(NARROWEST, Err(&vague)), Width::Exhausted);
        // Between steps: the next step below.
        assert_eq!(
            next_width(Duration::days(40), Err(&vague)),
            Width::Narrow(Duration::days(31))
        );
        // Never below an hour, even when Metrc states less.
        assert_eq!(
            next_width(DAY, Err(&refused("date range must not exceed 10 minutes"))),
            Width::Narrow(NARROWEST)
        );
    }

    #[test]
    fn the_memory_is_per_base_url_and_only_narrows() {
        let a = Url::parse("http://127.0.0.1:9/a/").unwrap();
        let b = Url::parse("http://127.0.0.1:9/b/").unwrap();
        let memory = WindowMemory::shared(&a);
        assert_eq!(memory.width(YEARS), YEARS);
        memory.narrow(DAY);
        assert_eq!(WindowMemory::shared(&a).width(YEARS), DAY);
        assert_eq!(memory.width(Duration::hours(2)), Duration::hours(2));
        memory.narrow(Duration::days(7));
        assert_eq!(memory.width(YEARS), DAY, "never widens");
        assert_eq!(WindowMemory::shared(&b).width(YEARS), YEARS);
        drop(memory);
        assert_eq!(
            WindowMemory::shared(&a).width(YEARS),
            YEARS,
            "forgotten with its last client"
        );
    }
}
