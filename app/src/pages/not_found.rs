//! Any route that does not exist.

use crate::components::status_page::StatusPage;
use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <StatusPage
            status=404
            title="Page not found"
            message="There is no page at this address. Check the link, or start again from home."
        />
    }
}
