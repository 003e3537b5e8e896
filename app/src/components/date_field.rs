//! The "Date" field of the work forms.

use leptos::prelude::*;

/// The day the change happened at the facility, required (a browser date input).
#[component]
pub fn DateField(
    /// The chosen day, `YYYY-MM-DD` (the forms start it at today).
    date: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label>
            "Date"
            <input
                type="date"
                required
                prop:value=move || date.get()
                on:input=move |ev| date.set(event_target_value(&ev))
            />
        </label>
    }
}
