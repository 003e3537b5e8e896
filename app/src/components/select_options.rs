//! The `<option>`s of a select over Metrc's names: a prompt first (value ""), then each name.

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
