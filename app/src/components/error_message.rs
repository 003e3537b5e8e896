//! One way to show an error to a person.

use crate::error::AppError;
use leptos::prelude::*;

/// An error as a short, announced message.
#[component]
pub fn ErrorMessage(
    /// What went wrong.
    #[prop(into)]
    error: AppError,
) -> impl IntoView {
    view! {
        <p class="error" role="alert">
            {error.to_string()}
        </p>
    }
}
