//! The "page is interactive" marker that end-to-end tests and benchmarks wait for.

use leptos::prelude::*;

/// Sets `<body data-hydrated="true">` once the view it sits in is hydrated in the browser.
///
/// Place it after a page's content, inside the guard's `Suspense`: an `Effect` runs only in the
/// browser and only after the view that created it is mounted, so by then the content above it
/// has its event handlers. (Set at the top of the app instead, it could fire before a page's
/// `Suspense` had hydrated, and a test could type into a field nothing listened to yet.)
#[component]
pub fn HydratedMarker() -> impl IntoView {
    Effect::new(|| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
