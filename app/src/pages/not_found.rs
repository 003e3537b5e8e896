//! Any route that does not exist.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <section class="page narrow" aria-labelledby="nf-title">
            <h1 id="nf-title">"Page not found"</h1>
            <p>
                <a class="button" href="/">
                    "Back to home"
                </a>
            </p>
        </section>
    }
}
