//! What a page shows while its data loads (a `Suspense` or `Transition` fallback).

use leptos::prelude::*;

/// One line saying what is loading, announced to screen readers (`role="status"`).
#[component]
pub fn Loading(
    /// What is loading, e.g. "Loading facilities…".
    text: &'static str,
) -> impl IntoView {
    view! {
        <p class="loading" role="status">
            {text}
        </p>
    }
}
