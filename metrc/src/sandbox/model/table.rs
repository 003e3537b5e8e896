//! A table of records indexed by (license, list) and last-modified time, so a page of any list,
//! filtered by a `lastModified` window, is two binary searches and a slice: no sorting per request.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::LicenseIdx;
use crate::sections::Resource;

/// What a table needs to know about its rows.
pub trait Record {
    fn id(&self) -> u64;
    fn license(&self) -> LicenseIdx;
    /// The list the row is in now (a finished package moves from active to inactive).
    fn list(&self) -> Resource;
    fn last_modified(&self) -> DateTime<Utc>;
}

type Key = (DateTime<Utc>, u64);

/// Rows by id, plus per (license, list) a vector of (last-modified, id) kept sorted.
#[derive(Debug, Clone)]
pub struct Table<T> {
    rows: HashMap<u64, T>,
    index: HashMap<(LicenseIdx, Resource), Vec<Key>>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            rows: HashMap::new(),
            index: HashMap::new(),
        }
    }
}

/// One page of a list and the count of all rows that matched.
pub struct Page<'a, T> {
    pub rows: Vec<&'a T>,
    pub total: usize,
}

impl<T: Record> Table<T> {
    fn key(row: &T) -> Key {
        (row.last_modified(), row.id())
    }

    /// Adds a row, keeping its index sorted.
    #[cfg(test)]
    pub fn insert(&mut self, row: T) {
        let keys = self.index.entry((row.license(), row.list())).or_default();
        let key = Self::key(&row);
        let at = keys.partition_point(|k| *k < key);
        keys.insert(at, key);
        self.rows.insert(row.id(), row);
    }

    /// Adds many rows at once and sorts each index once (seeding).
    pub fn extend(&mut self, rows: impl IntoIterator<Item = T>) {
        for row in rows {
            self.index
                .entry((row.license(), row.list()))
                .or_default()
                .push(Self::key(&row));
            self.rows.insert(row.id(), row);
        }
        for keys in self.index.values_mut() {
            keys.sort_unstable();
        }
    }

    pub fn get(&self, id: u64) -> Option<&T> {
        self.rows.get(&id)
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Changes a row and moves it in the index (its list or last-modified time may change).
    pub fn update(&mut self, id: u64, change: impl FnOnce(&mut T)) {
        let Some(row) = self.rows.get_mut(&id) else {
            return;
        };
        let (old_slot, old_key) = ((row.license(), row.list()), Self::key(row));
        change(row);
        let (new_slot, new_key) = ((row.license(), row.list()), Self::key(row));
        if let Some(keys) = self.index.get_mut(&old_slot)
            && let Ok(at) = keys.binary_search(&old_key)
        {
            keys.remove(at);
        }
        let keys = self.index.entry(new_slot).or_default();
        let at = keys.partition_point(|k| *k < new_key);
        keys.insert(at, new_key);
    }

    /// Rows of one license's list with `start <= LastModified <= end`, oldest first, from `skip`,
    /// at most `take`.
    pub fn page(
        &self,
        slot: (LicenseIdx, Resource),
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        skip: usize,
        take: usize,
    ) -> Page<'_, T> {
        let keys = self.index.get(&slot).map(Vec::as_slice).unwrap_or_default();
        let from = start.map_or(0, |s| keys.partition_point(|(t, _)| *t < s));
        let to = end.map_or(keys.len(), |e| keys.partition_point(|(t, _)| *t <= e));
        let matching = keys.get(from..to.max(from)).unwrap_or_default();
        let rows = matching
            .iter()
            .skip(skip)
            .take(take)
            .filter_map(|(_, id)| self.rows.get(id))
            .collect();
        Page {
            rows,
            total: matching.len(),
        }
    }

    /// Every row of a license's list, oldest first.
    pub fn all(&self, slot: (LicenseIdx, Resource)) -> impl Iterator<Item = &T> {
        self.page(slot, None, None, 0, usize::MAX).rows.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[derive(Debug, Clone)]
    struct Row {
        id: u64,
        list: Resource,
        at: DateTime<Utc>,
    }

    impl Record for Row {
        fn id(&self) -> u64 {
            self.id
        }
        fn license(&self) -> LicenseIdx {
            0
        }
        fn list(&self) -> Resource {
            self.list
        }
        fn last_modified(&self) -> DateTime<Utc> {
            self.at
        }
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, hour, 0, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn pages_follow_last_modified_and_updates_move_rows() {
        let mut table = Table::default();
        table.extend((0..10).rev().map(|i| Row {
            id: i,
            list: Resource::PackagesActive,
            at: at(u32::try_from(i).unwrap()),
        }));
        let slot = (0, Resource::PackagesActive);
        let page = table.page(slot, Some(at(2)), Some(at(5)), 1, 2);
        assert_eq!(page.total, 4);
        assert_eq!(
            page.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![3, 4]
        );

        table.update(3, |r| {
            r.list = Resource::PackagesInactive;
            r.at = at(20);
        });
        assert_eq!(table.page(slot, None, None, 0, 100).total, 9);
        let inactive = table.page((0, Resource::PackagesInactive), Some(at(19)), None, 0, 100);
        assert_eq!(
            inactive.rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            vec![3]
        );
        table.insert(Row {
            id: 42,
            list: Resource::PackagesActive,
            at: at(0),
        });
        assert_eq!(table.all(slot).next().map(|r| r.id), Some(0));
        assert_eq!(table.len(), 11);
    }
}
