//! Metrc's paged lists: the `{"Data": [...], "CurrentPage", "TotalPages", ...}` envelope, whole
//! lists walked page by page, and record lists walked in `lastModifiedStart/End` windows.

use chrono::{DateTime, SecondsFormat, Utc};
use std::sync::Arc;

use futures::stream::{self, Stream, StreamExt};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Scope, excerpt};
use crate::sections::Resource;
use crate::types::tolerant::{decode, field, key_of};

/// Largest page Metrc serves ("a value that does not exceed 20").
pub const PAGE_SIZE: u32 = 20;

/// Upper bound on pages walked for one list or window, in case a server keeps saying there is
/// more: 100,000 pages of 20 is far more than any license holds.
const MAX_PAGES: u32 = 100_000;

/// One page of one window, as [`Client::walk`] yields it.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowPage<T> {
    /// 0-based index of the window; windows go oldest first.
    pub window_index: usize,
    pub window_count: usize,
    /// The `lastModifiedStart` sent (includes the overlap into the previous window).
    pub window_start: DateTime<Utc>,
    /// The `lastModifiedEnd` sent.
    pub window_end: DateTime<Utc>,
    /// 1-based page number within the window.
    pub page: u32,
    /// Pages in this window, as Metrc last said.
    pub total_pages: u32,
    /// Whether this is the window's last page: once its records are stored, `window_end` is a
    /// safe cursor to resume from.
    pub window_complete: bool,
    pub records: Vec<T>,
}

/// One page as Metrc answered it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Page {
    pub(crate) records: Vec<Value>,
    pub(crate) current_page: u32,
    pub(crate) total_pages: u32,
}

impl Page {
    /// Reads the envelope (its keys in any case; the records are left exactly as sent). A bare
    /// array (an unpaged list) is one page; `null` or an empty body is an empty page. Missing
    /// page numbers mean "this was the last page".
    pub(crate) fn parse(json: Value, requested_page: u32) -> Result<Page, Error> {
        match json {
            Value::Null => Ok(Page::single(Vec::new())),
            Value::Array(records) => Ok(Page::single(records)),
            Value::Object(mut obj) => {
                let data = key_of(&obj, "Data").map(str::to_owned);
                let records = match data.and_then(|key| obj.remove(&key)) {
                    Some(Value::Array(records)) => records,
                    Some(Value::Null) | None => Vec::new(),
                    Some(other) => {
                        return Err(Error::Decode {
                            excerpt: excerpt(other.to_string().as_bytes(), &[]),
                        });
                    }
                };
                let number = |name: &str| {
                    field(&obj, name)
                        .and_then(Value::as_u64)
                        .and_then(|n| u32::try_from(n).ok())
                };
                let current_page = number("CurrentPage")
                    .or_else(|| number("Page"))
                    .unwrap_or(requested_page);
                let total_pages = number("TotalPages").unwrap_or(current_page);
                Ok(Page {
                    records,
                    current_page,
                    total_pages,
                })
            }
            other => Err(Error::Decode {
                excerpt: excerpt(other.to_string().as_bytes(), &[]),
            }),
        }
    }

    fn single(records: Vec<Value>) -> Page {
        Page {
            records,
            current_page: 1,
            total_pages: 1,
        }
    }

    /// Whether another page follows (`CurrentPage < TotalPages`, and this one was not empty).
    pub(crate) fn has_more(&self) -> bool {
        self.current_page < self.total_pages && !self.records.is_empty()
    }
}

/// Decodes every record of a page as `T`.
pub(crate) fn decode_records<T: DeserializeOwned>(records: Vec<Value>) -> Result<Vec<T>, Error> {
    records
        .into_iter()
        .map(|r| {
            let text = r.to_string();
            decode(r).map_err(|_| Error::Decode {
                excerpt: excerpt(text.as_bytes(), &[]),
            })
        })
        .collect()
}

/// The `[start, end]` windows covering `from..to`, oldest first. Each spans at most `size` (a
/// server limiting windows to 24 h accepts every one), and each after the first starts `overlap`
/// before the previous one ended. Needs `overlap < size` (checked by [`crate::ClientConfig`]).
pub(crate) fn windows(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    size: chrono::Duration,
    overlap: chrono::Duration,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut out = Vec::new();
    if size <= overlap {
        return out;
    }
    let mut start = from;
    while start < to {
        let end = (start + size).min(to);
        out.push((start, end));
        if end >= to {
            break;
        }
        start = end - overlap;
    }
    out
}

fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Client {
    /// One page of a license's list at `path`, with `pageSize=20`.
    pub(crate) async fn page(
        &self,
        key: &SecretString,
        license: &str,
        path: &str,
        extra: &[(&str, &str)],
        page: u32,
    ) -> Result<Page, Error> {
        let page_number = page.to_string();
        let page_size = PAGE_SIZE.to_string();
        let mut query = vec![
            ("licenseNumber", license),
            ("pageNumber", page_number.as_str()),
            ("pageSize", page_size.as_str()),
        ];
        query.extend_from_slice(extra);
        let json = self.get(key, Scope::License(license), path, &query).await?;
        Page::parse(json, page)
    }

    /// Every record of a license's list at `path`, all pages (an unpaged answer is one page).
    pub(crate) async fn list_all<T: DeserializeOwned>(
        &self,
        key: &SecretString,
        license: &str,
        path: &str,
        extra: &[(&str, &str)],
    ) -> Result<Vec<T>, Error> {
        let mut all = Vec::new();
        let mut number = 1;
        loop {
            let page = self.page(key, license, path, extra, number).await?;
            let more = page.has_more() && number < MAX_PAGES;
            all.extend(decode_records(page.records)?);
            if !more {
                return Ok(all);
            }
            number += 1;
        }
    }

    /// The `[start, end]` windows [`Client::walk`] reads for `from..to`, oldest first (to plan
    /// progress before walking).
    pub fn window_plan(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let cfg = self.config();
        windows(from, to, cfg.window, cfg.window_overlap)
    }

    /// Every record of `resource` for `license`, all pages, with no `lastModified` window (for
    /// short lists such as items, locations and strains, whose records may be years old).
    pub async fn list<T: DeserializeOwned>(
        &self,
        key: &SecretString,
        license: &str,
        resource: Resource,
    ) -> Result<Vec<T>, Error> {
        self.list_all(key, license, resource.path(), &[]).await
    }

    /// Walks `resource` for `license`, records last modified between `from` and `to`, in windows
    /// of [`crate::ClientConfig::window`] at most (oldest first, each after the first reaching
    /// back [`crate::ClientConfig::window_overlap`] into the previous one), page by page
    /// (`pageSize=20`, `pageNumber` from 1, while `CurrentPage < TotalPages`).
    ///
    /// Yields one [`WindowPage`] per page, in window order then page order, and ends after the
    /// first error. Up to [`crate::ClientConfig::windows_in_flight`] windows are fetched at once
    /// (each window's pages one after another), so Metrc's latency is overlapped; a window's
    /// pages are yielded once the whole window has been read. Records of the overlap may come
    /// twice: store them by `Id`.
    pub fn walk<T: DeserializeOwned + Send + 'static>(
        &self,
        key: &SecretString,
        license: &str,
        resource: Resource,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Stream<Item = Result<WindowPage<T>, Error>> + Send + 'static {
        let cfg = self.config();
        let plan = windows(from, to, cfg.window, cfg.window_overlap);
        let in_flight = cfg.windows_in_flight.max(1);
        let count = plan.len();
        let job = Arc::new(WalkJob {
            client: self.clone(),
            key: key.clone(),
            license: license.to_string(),
            resource,
        });
        stream::iter(plan.into_iter().enumerate())
            .map(move |(index, (start, end))| {
                let job = job.clone();
                async move { job.window::<T>(index, count, start, end).await }
            })
            .buffered(in_flight)
            .flat_map(stream::iter)
            .scan(false, |failed, item| {
                let done = *failed;
                *failed = item.is_err();
                futures::future::ready((!done).then_some(item))
            })
    }
}

/// What every window of one walk shares.
struct WalkJob {
    client: Client,
    key: SecretString,
    license: String,
    resource: Resource,
}

impl WalkJob {
    /// Every page of one window, ending with the first error if any.
    async fn window<T: DeserializeOwned>(
        &self,
        index: usize,
        count: usize,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<Result<WindowPage<T>, Error>> {
        let (start_text, end_text) = (timestamp(start), timestamp(end));
        let range = [
            ("lastModifiedStart", start_text.as_str()),
            ("lastModifiedEnd", end_text.as_str()),
        ];
        let mut pages = Vec::new();
        for number in 1..=MAX_PAGES {
            let page = self
                .client
                .page(
                    &self.key,
                    &self.license,
                    self.resource.path(),
                    &range,
                    number,
                )
                .await
                .and_then(|page| {
                    let window_complete = !page.has_more() || number == MAX_PAGES;
                    Ok(WindowPage {
                        window_index: index,
                        window_count: count,
                        window_start: start,
                        window_end: end,
                        page: number,
                        total_pages: page.total_pages.max(number),
                        window_complete,
                        records: decode_records(page.records)?,
                    })
                });
            let last = page.as_ref().map_or(true, |p| p.window_complete);
            pages.push(page);
            if last {
                break;
            }
        }
        pages
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn t(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::hours(h)
    }

    #[test]
    fn windows_cover_the_range_oldest_first_with_overlap() {
        let minute = chrono::Duration::minutes(1);
        let w = windows(t(0), t(47), chrono::Duration::hours(24), minute);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0], (t(0), t(24)));
        assert_eq!(w[1], (t(24) - minute, t(47)));
        let w = windows(t(0), t(48), chrono::Duration::hours(24), minute);
        assert_eq!(w.len(), 3);
        assert_eq!(w[2], (t(48) - minute * 2, t(48)));
        for (a, b) in &w {
            assert!(*b - *a <= chrono::Duration::hours(24));
        }
        for pair in w.windows(2) {
            assert_eq!(pair[1].0, pair[0].1 - minute);
        }
        let zero = chrono::Duration::zero();
        assert!(windows(t(5), t(5), chrono::Duration::hours(1), zero).is_empty());
        assert!(windows(t(5), t(1), chrono::Duration::hours(1), zero).is_empty());
        assert_eq!(
            windows(t(0), t(24), chrono::Duration::hours(24), zero).len(),
            1
        );
        assert_eq!(
            windows(t(0), t(72), chrono::Duration::hours(24), zero).len(),
            3
        );
    }

    #[test]
    fn envelope_pascal_camel_bare_array_and_null() {
        let p = Page::parse(
            json!({"Data": [{"Id": 1}], "Total": 41, "TotalRecords": 41, "PageSize": 20,
                   "RecordsOnPage": 1, "Page": 2, "CurrentPage": 2, "TotalPages": 3}),
            2,
        )
        .unwrap();
        assert_eq!((p.current_page, p.total_pages, p.records.len()), (2, 3, 1));
        assert!(p.has_more());
        let p = Page::parse(json!({"data": [], "currentPage": 3, "totalPages": 3}), 3).unwrap();
        assert!(!p.has_more());
        let p = Page::parse(json!([{"Id": 1}, {"Id": 2}]), 1).unwrap();
        assert_eq!((p.records.len(), p.has_more()), (2, false));
        let p = Page::parse(Value::Null, 1).unwrap();
        assert!(p.records.is_empty() && !p.has_more());
        // No page numbers at all: the answer is taken as the last page.
        let p = Page::parse(json!({"Data": [{"Id": 1}]}), 4).unwrap();
        assert!(!p.has_more());
        // A server claiming more pages but sending nothing does not loop forever.
        let p = Page::parse(json!({"Data": [], "CurrentPage": 1, "TotalPages": 9}), 1).unwrap();
        assert!(!p.has_more());
        assert!(matches!(
            Page::parse(json!("x"), 1),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            Page::parse(json!({"Data": 5}), 1),
            Err(Error::Decode { .. })
        ));
    }
}
