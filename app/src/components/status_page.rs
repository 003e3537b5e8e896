//! A page that answers with an HTTP status other than 200 ("Not allowed", "Page not found").

use crate::components::hydration::HydratedMarker;
use leptos::prelude::*;
use leptos_meta::Title;

/// Sets the response status when rendered on the server, and shows a title, a sentence and a
/// way back home.
#[component]
pub fn StatusPage(
    /// The HTTP status of the server-rendered response.
    status: u16,
    /// The page heading (and document title).
    title: &'static str,
    /// One sentence saying what happened and what to do.
    message: &'static str,
) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(response), Ok(code)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        axum::http::StatusCode::from_u16(status),
    ) {
        response.set_status(code);
    }
    #[cfg(not(feature = "ssr"))]
    let _ = status;
    view! {
        <Title text=title />
        <section class="page narrow" aria-labelledby="status-title">
            <h1 id="status-title">{title}</h1>
            <p>{message}</p>
            <p>
                <a class="button" href="/">
                    "Back to home"
                </a>
            </p>
        </section>
        <HydratedMarker />
    }
}
