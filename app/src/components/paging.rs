//! Paging by links (the page number lives in the address): "Previous", "Page N of M", "Next".

use leptos::prelude::*;
use leptos_router::components::A;

/// `name=value&…`, each part percent-encoded (for addresses built from filters).
pub fn query_string(pairs: &[(&str, String)]) -> String {
    fn encode(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// `path`, with `?query` when there are pairs.
pub fn with_query(path: &str, pairs: &[(&str, String)]) -> String {
    if pairs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query_string(pairs))
    }
}

#[component]
pub fn Pager(
    /// Matching rows in all.
    total: u64,
    /// 0-based.
    page: u32,
    /// Rows per page: with `total`, the number of pages (0 counts as 1).
    page_size: u32,
    /// What the rows are called ("packages").
    noun: &'static str,
    /// The address of page `n`.
    href: Callback<u32, String>,
) -> impl IntoView {
    let pages = total.div_ceil(u64::from(page_size.max(1))).max(1);
    let previous = (page > 0).then(|| href.run(page - 1));
    let next = (u64::from(page) + 1 < pages).then(|| href.run(page + 1));
    view! {
        <nav class="paging" aria-label="Pages">
            {previous.map(|to| view! { <A href=to>"Previous"</A> })}
            <span>{format!("Page {} of {pages} ({total} {noun})", page + 1)}</span>
            {next.map(|to| view! { <A href=to>"Next"</A> })}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded() {
        assert_eq!(
            query_string(&[("label", "1A4 00&x".into()), ("page", "2".into())]),
            "label=1A4%2000%26x&page=2"
        );
        assert_eq!(with_query("/p", &[]), "/p");
    }
}
