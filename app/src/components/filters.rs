//! The fields of a GET filter form and reading them back from the address: a labelled select
//! ("any" first, an empty value, so the filter is off) and a search box. One way for every filter
//! of the work and admin screens, so they look and behave alike and work before hydration.

use crate::api::user_keys::metrc_states;
use crate::error::AppError;
use crate::types::facilities::facility_label;
use crate::types::inventory::MyFacility;
use crate::types::keys::MetrcState;
use leptos::prelude::*;

/// One choice: the value sent in the address, and the text shown.
pub type Choice = (String, String);

#[component]
pub fn FilterSelect(
    /// The label's text before the select ("Facility", "Status").
    label: &'static str,
    /// The query parameter.
    name: &'static str,
    /// The text of the empty choice ("All my facilities", "Any status").
    any: &'static str,
    /// The choices after the empty one, in order: the value in the address and the text shown.
    choices: Vec<Choice>,
    /// The value in the address now ("" when the filter is off).
    current: String,
) -> impl IntoView {
    let off = current.is_empty();
    let options = choices
        .into_iter()
        .map(|(value, text)| {
            let selected = value == current;
            view! {
                <option value=value selected=selected>
                    {text}
                </option>
            }
        })
        .collect_view();
    view! {
        <label>
            {label} <select name=name>
                <option value="" selected=off>
                    {any}
                </option>
                {options}
            </select>
        </label>
    }
}

/// Facilities as choices: the license number is the value, "number · name" the text.
pub fn facility_choices(facilities: impl IntoIterator<Item = (String, String)>) -> Vec<Choice> {
    facilities
        .into_iter()
        .map(|(number, name)| {
            let text = facility_label(&number, &name);
            (number, text)
        })
        .collect()
}

/// The work screens' facility picker: each facility the user works at, named with its state
/// when `several` states are served ([`name_in_state`]).
pub fn my_facility_choices(facilities: Vec<MyFacility>, several: bool) -> Vec<Choice> {
    facility_choices(facilities.into_iter().map(|f| {
        let name = name_in_state(&f.name, &f.state, several);
        (f.license_number, name)
    }))
}

/// A facility (its name or license number) as the screens show it: with several states served,
/// its state after it ("Cherry Creek Dispensary, CO"), as facilities carry their state wherever
/// they are shown; as it is with one, or without a state.
pub fn name_in_state(name: &str, state: &str, several: bool) -> String {
    if several && !state.is_empty() {
        format!("{name}, {state}")
    } else {
        name.to_owned()
    }
}

/// The states the deployment serves, fetched once per page (`metrc_states`).
pub fn served_states() -> Resource<Result<Vec<MetrcState>, AppError>> {
    Resource::new(|| (), |()| metrc_states())
}

/// Whether the screens offer a state choice: only when the deployment serves more than one
/// ([`crate::types::keys::several`]).
pub use crate::types::keys::several as several_states;

/// The "State" select of a filter form (`state=` in the address, "All states" first, each state
/// by name); nothing at all when the deployment serves one state.
#[component]
pub fn StateFilter(
    /// The states served ([`served_states`]).
    states: Vec<MetrcState>,
    /// The state in the address now (`None` when the filter is off).
    current: Option<String>,
) -> impl IntoView {
    several_states(&states).then(|| {
        let choices: Vec<Choice> = states.into_iter().map(|s| (s.code, s.name)).collect();
        let current = current
            .map(|c| c.trim().to_ascii_uppercase())
            .unwrap_or_default();
        view! { <FilterSelect label="State" name="state" any="All states" choices current /> }
    })
}

/// A labelled search box of a GET filter form, showing the value in the address now.
#[component]
pub fn SearchField(
    /// The label's text before the box ("Label", "Item").
    label: &'static str,
    /// The query parameter.
    name: &'static str,
    /// The value in the address now; `None` leaves the box empty.
    current: Option<String>,
) -> impl IntoView {
    view! { <label>{label} <input type="search" name=name value=current.unwrap_or_default() /></label> }
}

/// A filter's text from the address: `None` when absent or blank.
pub fn query_text(query: &leptos_router::params::ParamsMap, name: &str) -> Option<String> {
    query.get(name).filter(|v| !v.trim().is_empty())
}

/// The page number from the address (0, the first, when absent or not a number).
pub fn query_page(query: &leptos_router::params::ParamsMap) -> u32 {
    query.get("page").and_then(|p| p.parse().ok()).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_facility_carries_its_state_only_when_there_are_several() {
        assert_eq!(
            name_in_state("Cherry Creek", "CO", true),
            "Cherry Creek, CO"
        );
        assert_eq!(name_in_state("Cherry Creek", "CO", false), "Cherry Creek");
        assert_eq!(name_in_state("Old Row", "", true), "Old Row");
    }
}
