//! Metrc's paged lists: the `{"Data": [...], "CurrentPage", "TotalPages", ...}` envelope, whole
//! lists walked page by page (reference lists, employees), and record lists walked in
//! `lastModifiedStart/End` windows as wide as Metrc accepts (`crate::window`).

use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use futures::future::{self, Either};
use futures::stream::{self, FuturesOrdered, Stream, StreamExt};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Scope, excerpt};
use crate::sections::Resource;
use crate::types::tolerant::{decode, field, key_of};
use crate::window::{Width, next_width};

/// Largest page Metrc serves ("a value that does not exceed 20").
pub const PAGE_SIZE: u32 = 20;

/// Upper bound on pages walked for one list or window, in case a server keeps saying there is
/// more: 100,000 pages of 20 is far more than any license holds. A window that would go past it
/// ends the walk with an error rather than be taken as read.
const MAX_PAGES: u32 = 100_000;

/// One page of one window, as [`Client::walk`] yields it.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowPage<T> {
    /// 0-based index of the window; windows go oldest first.
    pub window_index: usize,
    /// Windows in the walk, as far as the walk knows when this window starts: it grows when
    /// Metrc makes the walk narrow its windows.
    pub window_count: usize,
    /// The `lastModifiedStart` sent (includes the overlap into the previous window).
    pub window_start: DateTime<Utc>,
    /// The `lastModifiedEnd` sent.
    pub window_end: DateTime<Utc>,
    /// 1-based page number within the window.
    pub page: u32,
    /// Pages in this window, as Metrc last said.
    pub total_pages: u32,
    /// Whether this is the window's last page: once its records (and those of the window's
    /// earlier pages) are stored, `window_end` is a safe cursor to resume from.
    pub window_complete: bool,
    /// The page's records, decoded as `T`, in the order Metrc sent them. A record can come in
    /// more than one page (the windows' overlap, a window read again): store records by `Id`.
    pub records: Vec<T>,
}

/// One page as Metrc answered it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Page {
    pub(crate) records: Vec<Value>,
    pub(crate) current_page: u32,
    pub(crate) total_pages: u32,
    /// `TotalRecords` (or `Total`): the records in the whole list or window when this page was
    /// served, if Metrc said.
    pub(crate) total_records: Option<u64>,
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
                let total_records = ["TotalRecords", "Total"]
                    .iter()
                    .find_map(|name| field(&obj, name).and_then(Value::as_u64));
                Ok(Page {
                    records,
                    current_page,
                    total_pages,
                    total_records,
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
            total_records: None,
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

    /// The `[start, end]` windows [`Client::walk`] would read for `from..to` now, oldest first,
    /// in windows of [`Client::window_width`] (to plan progress before walking; a walk that
    /// Metrc makes narrow its windows says so in [`WindowPage::window_count`]).
    pub fn window_plan(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let overlap = self.config().window_overlap;
        windows(
            from,
            to,
            usable_width(self.window_width(), overlap),
            overlap,
        )
    }

    /// Walks `resource` for `license`, records last modified between `from` and `to`, in windows
    /// of [`Client::window_width`] (oldest first, each after the first reaching back
    /// [`crate::ClientConfig::window_overlap`] into the previous one), page by page
    /// (`pageSize=20`, `pageNumber` from 1 to the window's `TotalPages`). Every list Metrc
    /// filters by `LastModified` is read this way: none is read without a window, which v2
    /// production answers empty or with recent records only (docs/metrc.md §6).
    ///
    /// When Metrc refuses a window with a 400 naming the range, the walk narrows
    /// ([`crate::window::next_width`]), remembers the width for the base URL, and reads the
    /// refused window again in narrower windows: the windows it yields still cover `from..to`
    /// without a gap.
    ///
    /// Yields one [`WindowPage`] per page, in window order then page order, and ends after the
    /// first error. Up to [`crate::ClientConfig::windows_in_flight`] windows are started at once
    /// and, once a window's first page has said how many there are, up to
    /// [`crate::ClientConfig::pages_in_flight`] of its pages, so Metrc's latency is overlapped
    /// whether windows are many or wide; pages are yielded as they come, in order. Records of
    /// the overlap may come twice: store them by `Id`.
    pub fn walk<T: DeserializeOwned + Send + 'static>(
        &self,
        key: &SecretString,
        license: &str,
        resource: Resource,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Stream<Item = Result<WindowPage<T>, Error>> + Send + 'static {
        let cfg = self.config();
        let walk = Walk::<T> {
            job: Arc::new(WalkJob {
                client: self.clone(),
                key: key.clone(),
                license: license.to_string(),
                resource,
                pages_in_flight: cfg.pages_in_flight.max(1),
            }),
            to,
            overlap: cfg.window_overlap,
            windows_in_flight: cfg.windows_in_flight.max(1),
            width: usable_width(self.window_width(), cfg.window_overlap),
            next_start: (from < to).then_some(from),
            heads: FuturesOrdered::new(),
            ready: VecDeque::new(),
            current: None,
            index: 0,
            done: false,
        };
        stream::unfold(walk, |mut walk| async move {
            let item = walk.next().await?;
            Some((item, walk))
        })
    }
}

/// `width`, made wider than `overlap` so that windows advance.
fn usable_width(width: chrono::Duration, overlap: chrono::Duration) -> chrono::Duration {
    width
        .max(overlap + overlap)
        .max(chrono::Duration::seconds(1))
}

/// How many windows [`windows`] makes, without making them.
fn window_count(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    size: chrono::Duration,
    overlap: chrono::Duration,
) -> usize {
    if from >= to || size <= overlap {
        return 0;
    }
    let nanos = |d: chrono::Duration| d.num_nanoseconds().map_or(u64::MAX, i64::unsigned_abs);
    let span = nanos(to - from);
    let (size, step) = (nanos(size), nanos(size - overlap).max(1));
    if span <= size {
        1
    } else {
        1 + usize::try_from((span - size).div_ceil(step)).unwrap_or(usize::MAX)
    }
}

/// What every window of one walk shares.
struct WalkJob {
    client: Client,
    key: SecretString,
    license: String,
    resource: Resource,
    pages_in_flight: usize,
}

impl WalkJob {
    /// Page `number` of the window `start..end`.
    async fn page(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        number: u32,
    ) -> Result<Page, Error> {
        let (start_text, end_text) = (timestamp(start), timestamp(end));
        let range = [
            ("lastModifiedStart", start_text.as_str()),
            ("lastModifiedEnd", end_text.as_str()),
        ];
        self.client
            .page(
                &self.key,
                &self.license,
                self.resource.path(),
                &range,
                number,
            )
            .await
    }
}

type Pending<O> = Pin<Box<dyn Future<Output = O> + Send>>;
type PageStream<T> = Pin<Box<dyn Stream<Item = Result<WindowPage<T>, Error>> + Send>>;

/// A window started: its first page, or why Metrc would not answer it.
struct Head {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// The width the window was planned with.
    width: chrono::Duration,
    first: Result<Page, Error>,
}

/// A walk in progress (see [`Client::walk`]).
struct Walk<T> {
    job: Arc<WalkJob>,
    to: DateTime<Utc>,
    overlap: chrono::Duration,
    windows_in_flight: usize,
    /// The width new windows are planned with.
    width: chrono::Duration,
    /// Where the next window to plan starts; `None` once a window reaches `to`.
    next_start: Option<DateTime<Utc>>,
    /// Windows started, oldest first, each until its first page is in.
    heads: FuturesOrdered<Pending<Head>>,
    /// Windows whose first page came in while an earlier window's pages were read, oldest
    /// first (all older than those still in `heads`).
    ready: VecDeque<Head>,
    /// The pages of the window being yielded.
    current: Option<PageStream<T>>,
    /// Windows yielded so far.
    index: usize,
    done: bool,
}

impl<T: DeserializeOwned + Send + 'static> Walk<T> {
    async fn next(&mut self) -> Option<Result<WindowPage<T>, Error>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(pages) = &mut self.current {
                // The windows started keep going while this one's pages are read.
                let item = {
                    let next_page = pages.next();
                    futures::pin_mut!(next_page);
                    loop {
                        if self.heads.is_empty() {
                            break next_page.await;
                        }
                        match future::select(next_page.as_mut(), self.heads.next()).await {
                            Either::Left((item, _)) => break item,
                            Either::Right((Some(head), _)) => self.ready.push_back(head),
                            Either::Right((None, _)) => {}
                        }
                    }
                };
                let item = item.unwrap_or_else(|| {
                    // Never: a window's pages end with the one that completes it.
                    Err(Error::Decode {
                        excerpt: "a window's pages ended before its last page".into(),
                    })
                });
                match &item {
                    Ok(page) if !page.window_complete => {}
                    Ok(_) => self.current = None,
                    Err(_) => self.done = true,
                }
                return Some(item);
            }
            self.start_windows();
            let head = match self.ready.pop_front() {
                Some(head) => head,
                None => self.heads.next().await?,
            };
            let first = match head.first {
                Ok(first) => first,
                Err(error) => {
                    if let Width::Narrow(width) = next_width(head.width, Err(&error)) {
                        self.narrow(head.start, head.width, width);
                        continue;
                    }
                    self.done = true;
                    return Some(Err(error));
                }
            };
            let index = self.index;
            self.index += 1;
            let remaining = self
                .next_start
                .map_or(0, |s| window_count(s, self.to, self.width, self.overlap));
            let window = WindowMeta {
                index,
                count: index + 1 + self.ready.len() + self.heads.len() + remaining,
                start: head.start,
                end: head.end,
            };
            self.current = Some(Box::pin(window_pages(self.job.clone(), window, first)));
        }
    }

    /// Starts windows until [`crate::ClientConfig::windows_in_flight`] are in flight.
    fn start_windows(&mut self) {
        while self.ready.len() + self.heads.len() < self.windows_in_flight {
            let Some(start) = self.next_start else {
                return;
            };
            // Another walk may have learnt a narrower width meanwhile.
            self.width = usable_width(self.job.client.window_width().min(self.width), self.overlap);
            let (width, end) = (self.width, (start + self.width).min(self.to));
            self.next_start = (end < self.to).then(|| end - self.overlap);
            let job = self.job.clone();
            self.heads.push_back(Box::pin(async move {
                let first = job.page(start, end, 1).await;
                Head {
                    start,
                    end,
                    width,
                    first,
                }
            }));
        }
    }

    /// Metrc refused the window from `start`, `refused` wide: from `start` on, windows `width`
    /// wide (or narrower, if another walk learnt so); the windows started after it are dropped.
    fn narrow(&mut self, start: DateTime<Utc>, refused: chrono::Duration, width: chrono::Duration) {
        let client = &self.job.client;
        client.narrow_windows(width);
        self.width = usable_width(client.window_width(), self.overlap);
        tracing::warn!(
            base_url = %client.config().base_url,
            license = %self.job.license,
            list = self.job.resource.path(),
            refused_hours = refused.num_hours(),
            now_hours = self.width.num_hours(),
            "Metrc refused a lastModified window: narrower windows from now on"
        );
        self.heads = FuturesOrdered::new();
        self.ready.clear();
        self.next_start = Some(start);
    }
}

/// Which window a page belongs to.
#[derive(Clone, Copy)]
struct WindowMeta {
    index: usize,
    count: usize,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

/// The rest of a window whose first page is in.
struct Rest {
    job: Arc<WalkJob>,
    window: WindowMeta,
    first: Option<Page>,
    /// `TotalRecords` of the first page.
    first_total: Option<u64>,
    /// Pages in the window, as Metrc last said.
    total: u32,
    /// The next page to ask for.
    next: u32,
    pending: FuturesOrdered<Pending<(u32, Result<Page, Error>)>>,
    /// Reading again, last page first (see [`window_pages`]).
    backwards: bool,
    done: bool,
}

/// A window's pages, from its `first`: the others are fetched
/// [`crate::ClientConfig::pages_in_flight`] at a time, in order, up to the window's
/// `TotalPages` (as the latest page says), ending with the page that completes the window (the
/// last one, or an empty one), or with an error.
///
/// Metrc pages by offset, and a record modified while its window is read leaves the window
/// (its `LastModified` is now past the window's end), moving every record after it one place
/// up: one of them can slip onto a page already read. So when the window's `TotalRecords`
/// changes while it is read, the window is read again, one page at a time from the last page
/// to the first: then a record that moves up moves onto a page still to be read, and none is
/// missed (records only leave a window in the past; none enters). The cursor moves only with
/// the page that completes the window.
fn window_pages<T: DeserializeOwned + Send + 'static>(
    job: Arc<WalkJob>,
    window: WindowMeta,
    first: Page,
) -> impl Stream<Item = Result<WindowPage<T>, Error>> + Send {
    let rest = Rest {
        job,
        window,
        first_total: first.total_records,
        first: Some(first),
        total: 1,
        next: 2,
        pending: FuturesOrdered::new(),
        backwards: false,
        done: false,
    };
    stream::unfold(rest, |mut r| async move {
        if r.done {
            return None;
        }
        let (number, page) = if let Some(first) = r.first.take() {
            (1, Ok(first))
        } else {
            let in_flight = if r.backwards {
                1
            } else {
                r.job.pages_in_flight
            };
            while r.pending.len() < in_flight && (1..=r.total.min(MAX_PAGES)).contains(&r.next) {
                let (job, number, w) = (r.job.clone(), r.next, r.window);
                r.pending.push_back(Box::pin(async move {
                    (number, job.page(w.start, w.end, number).await)
                }));
                r.next = if r.backwards { number - 1 } else { number + 1 };
            }
            r.pending.next().await?
        };
        let w = r.window;
        let item = page.and_then(|page| {
            let changed = page.total_records.is_some() && page.total_records != r.first_total;
            let complete = if r.backwards {
                number == 1
            } else {
                r.total = page.total_pages.max(number);
                // The requested number, not the envelope's, decides: a server that misnumbers
                // its pages cannot make the walk stop early or loop.
                let last = number >= page.total_pages || page.records.is_empty();
                if !last && number >= MAX_PAGES {
                    return Err(Error::Decode {
                        excerpt: format!("more than {MAX_PAGES} pages in one lastModified window"),
                    });
                }
                if changed {
                    // Read it again from the last page; drop the pages ahead.
                    tracing::debug!(
                        license = %r.job.license,
                        list = r.job.resource.path(),
                        "records left a lastModified window while it was read: reading it again backwards"
                    );
                    r.backwards = true;
                    r.pending = FuturesOrdered::new();
                    r.next = page.total_pages.clamp(1, MAX_PAGES);
                    r.total = r.next;
                }
                last && !changed
            };
            Ok(WindowPage {
                window_index: w.index,
                window_count: w.count,
                window_start: w.start,
                window_end: w.end,
                page: number,
                total_pages: r.total,
                window_complete: complete,
                records: decode_records(page.records)?,
            })
        });
        r.done = item.as_ref().map_or(true, |p| p.window_complete);
        Some((item, r))
    })
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
    fn window_counts_match_the_windows_made() {
        let minute = chrono::Duration::minutes(1);
        for (from, to) in [
            (0, 1),
            (0, 24),
            (0, 25),
            (0, 47),
            (0, 48),
            (3, 500),
            (5, 5),
            (9, 2),
        ] {
            for size in [1, 24, 24 * 7, 24 * 365] {
                let size = chrono::Duration::hours(size);
                assert_eq!(
                    window_count(t(from), t(to), size, minute),
                    windows(t(from), t(to), size, minute).len(),
                    "{from}..{to} by {size}"
                );
            }
        }
        let day = chrono::Duration::days(1);
        let years = Utc.with_ymd_and_hms(2015, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(window_count(years, t(0), crate::WIDEST_WINDOW, minute), 1);
        assert_eq!(
            window_count(years, t(0), day, minute),
            windows(years, t(0), day, minute).len()
        );
        assert_eq!(usable_width(minute, minute), minute * 2);
        assert_eq!(usable_width(day, minute), day);
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
