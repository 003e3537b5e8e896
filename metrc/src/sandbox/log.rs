//! The log of Metrc calls: who (whose key) called what, and what they got. Bounded: the oldest
//! entries go once [`CAPACITY`] is reached.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Entries kept.
pub const CAPACITY: usize = 100_000;

/// One Metrc call the sandbox received, as `GET /sandbox/requests` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    /// When the call was logged (UTC): once it was answered, or, for a lost request, when it
    /// started to be held.
    pub at: DateTime<Utc>,
    /// The HTTP method (`GET`, `POST`, `PUT`).
    pub method: String,
    /// The request path, without the query (`/packages/v2/active`).
    pub path: String,
    /// The `licenseNumber` query parameter as sent (any key case, trimmed); `None` when absent
    /// or empty.
    pub license: Option<String>,
    /// The employee whose key made the call; `None` when the key was unknown.
    pub employee_id: Option<u64>,
    /// That employee's name; `None` when the key was unknown.
    pub employee_name: Option<String>,
    /// The status answered; for a lost answer, the one that would have been answered; 499 for a
    /// lost request whose caller hung up (never carried out).
    pub status: u16,
    /// The call was carried out but its answer was held back (the `lose_answer` fault): the
    /// caller never got `status`.
    pub answer_lost: bool,
}

#[derive(Debug)]
pub struct RequestLog {
    entries: VecDeque<LogEntry>,
    capacity: usize,
}

impl Default for RequestLog {
    fn default() -> Self {
        RequestLog::with_capacity(CAPACITY)
    }
}

impl RequestLog {
    pub fn with_capacity(capacity: usize) -> RequestLog {
        RequestLog {
            entries: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn push(&mut self, entry: LogEntry) {
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }

    /// Oldest first.
    pub fn entries(&self) -> Vec<LogEntry> {
        self.entries.iter().cloned().collect()
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_entries() {
        let mut log = RequestLog::with_capacity(2);
        for status in [200, 401, 429] {
            log.push(LogEntry {
                at: Utc::now(),
                method: "GET".into(),
                path: "/".into(),
                license: None,
                employee_id: None,
                employee_name: None,
                status,
                answer_lost: false,
            });
        }
        let statuses: Vec<u16> = log.entries().iter().map(|e| e.status).collect();
        assert_eq!(statuses, vec![401, 429]);
    }
}
