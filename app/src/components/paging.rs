//! Paging by links (the page number lives in the address): "Previous", "Page N of M", "Next".

use crate::types::inventory::Total;
use leptos::prelude::*;
use leptos_router::components::A;
use thousands::Separable;

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

/// "Page 1 of 3 (120 packages)"; "Page 1 of 200+ (over 10,000 packages)" when the list was
/// counted only so far.
pub fn pager_text(total: Total, page: u32, page_size: u32, noun: [&str; 2]) -> String {
    let (pages, more) = total.pages(page_size);
    let plus = if more { "+" } else { "" };
    let over = if more { "over " } else { "" };
    let name = if total.rows == 1 && !more {
        noun[0]
    } else {
        noun[1]
    };
    format!(
        "Page {} of {}{plus} ({over}{} {name})",
        (u64::from(page) + 1).separate_with_commas(),
        pages.separate_with_commas(),
        total.rows.separate_with_commas()
    )
}

#[component]
pub fn Pager(
    /// Matching rows in all (or at least).
    total: Total,
    /// 0-based.
    page: u32,
    /// Rows per page: with `total`, the number of pages (0 counts as 1).
    page_size: u32,
    /// What one row is called and what several are (`["package", "packages"]`).
    noun: [&'static str; 2],
    /// The address of page `n`.
    href: Callback<u32, String>,
) -> impl IntoView {
    let (pages, more) = total.pages(page_size);
    let previous = (page > 0).then(|| href.run(page - 1));
    let next = (u64::from(page) + 1 < pages || more).then(|| href.run(page + 1));
    view! {
        <nav class="paging" aria-label="Pages">
            {previous.map(|to| view! { <A href=to>"Previous"</A> })}
            <span>{pager_text(total, page, page_size, noun)}</span>
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

    #[test]
    fn the_pager_says_one_facility_and_over_a_bound() {
        let nouns = ["facility", "facilities"];
        assert_eq!(
            pager_text(Total::exact(1), 0, 50, nouns),
            "Page 1 of 1 (1 facility)"
        );
        assert_eq!(
            pager_text(Total::exact(120), 2, 50, nouns),
            "Page 3 of 3 (120 facilities)"
        );
        assert_eq!(
            pager_text(
                Total::counted(10_001, 10_000),
                0,
                50,
                ["package", "packages"]
            ),
            "Page 1 of 200+ (over 10,000 packages)"
        );
    }
}
