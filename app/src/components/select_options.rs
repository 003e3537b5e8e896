//! Selects over Metrc's names (units, waste methods and reasons, adjustment reasons, locations):
//! their `<option>`s, a prompt first (value ""), then each name; and the required select of a
//! work form.

use leptos::prelude::*;

/// `prompt` (an empty value, so `required` selects refuse it), then `values`; `selected` is
/// preselected when it is one of them.
pub fn select_options(
    values: Vec<String>,
    prompt: Option<&'static str>,
    selected: Option<String>,
) -> impl IntoView + use<> {
    view! {
        {prompt.map(|p| view! { <option value="">{p}</option> })}
        {values
            .into_iter()
            .map(|v| {
                let is_selected = selected.as_deref() == Some(v.as_str());
                let text = v.clone();
                view! {
                    <option value=v selected=is_selected>
                        {text}
                    </option>
                }
            })
            .collect_view()}
    }
}

/// A required select over Metrc's `names` inside its `<label>`, starting at `prompt` so that
/// nothing is chosen until the user picks; the choice goes to `value`.
#[component]
pub fn RequiredSelect(
    /// The field's visible label, e.g. "Reason".
    label: &'static str,
    /// Metrc's names to choose from, in the order shown.
    names: Vec<String>,
    /// What the empty first option says, e.g. "Choose a reason".
    prompt: &'static str,
    /// The chosen name; "" until one is chosen.
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label>
            {label} <select required on:change=move |ev| value.set(event_target_value(&ev))>
                {select_options(names, Some(prompt), None)}
            </select>
        </label>
    }
}
