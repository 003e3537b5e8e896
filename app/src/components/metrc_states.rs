//! Which state's Metrc a key is of (docs/design.md §12). Metrc is a separate system per state: a
//! deployment serving several states asks which state a key was generated in and shows the state
//! of facilities and keys; one serving a single state shows no choice and no state at all (and
//! sends no state: the server uses its only one).

use crate::types::keys::{MetrcState, StateKeyStatus};
use leptos::prelude::*;

/// What a state picker says before a state is chosen.
pub const CHOOSE_A_STATE: &str = "Choose a state";

pub use crate::types::keys::{first_state, needs_key, several};

/// How a picker names a state: "California (CA)"; the code alone for a code without a known name.
pub fn option_label(state: &MetrcState) -> String {
    if state.code.is_empty() {
        state.name.clone()
    } else if state.name.is_empty() || state.name.eq_ignore_ascii_case(&state.code) {
        state.code.clone()
    } else {
        format!("{} ({})", state.name, state.code)
    }
}

/// The name of the state `code` among `states` ("Colorado"); the code itself for one not among
/// them.
pub fn state_name(states: &[MetrcState], code: &str) -> String {
    states
        .iter()
        .find(|s| s.code.eq_ignore_ascii_case(code))
        .map_or_else(|| code.to_owned(), |s| s.name.clone())
}

/// A user's key status in one state, as User Management's chips say it: "Missing in MI",
/// "Assigned in CO".
pub fn status_in_state(key: &StateKeyStatus) -> String {
    if key.state.is_empty() {
        key.status.label().to_owned()
    } else {
        format!("{} in {}", key.status.label(), key.state)
    }
}

/// The required `<select>` of the state whose Metrc issued a key, with a first option "Choose a
/// state" that cannot be chosen back: nothing is preselected, the admin must pick. Show it only
/// when the deployment serves [`several`] states.
#[component]
pub fn StateSelect(
    /// The select's `id`, which its label points to (unique on the page).
    id: &'static str,
    /// The label's text, e.g. "State whose Metrc issued this key".
    label: &'static str,
    /// The states to choose from, in the deployment's order; each option reads "California
    /// (CA)".
    states: Vec<MetrcState>,
    /// The picked state's code; `None` until one is picked.
    picked: RwSignal<Option<String>>,
    /// Runs after each pick, e.g. to validate the key again with the picked state's Metrc.
    on_pick: Callback<()>,
) -> impl IntoView {
    let initial = picked.get_untracked();
    view! {
        <label for=id>{label}</label>
        <select
            id=id
            name="state"
            required
            prop:value=move || picked.get().unwrap_or_default()
            on:change=move |ev| {
                let code = event_target_value(&ev);
                picked.set((!code.is_empty()).then_some(code));
                on_pick.run(());
            }
        >
            <option value="" disabled selected=initial.is_none()>
                {CHOOSE_A_STATE}
            </option>
            {states
                .into_iter()
                .map(|state| {
                    let selected = initial.as_deref() == Some(state.code.as_str());
                    let text = option_label(&state);
                    view! {
                        <option value=state.code selected=selected>
                            {text}
                        </option>
                    }
                })
                .collect_view()}
        </select>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::keys::KeyStatus;
    use crate::types::keys::tests::{key, state};

    fn two() -> Vec<MetrcState> {
        vec![state("CA", "California"), state("CO", "Colorado")]
    }

    #[test]
    fn states_show_only_when_there_are_several() {
        assert!(!several(&[]));
        assert!(!several(&[state("CA", "California")]));
        assert!(!several(&[state("", "")]));
        assert!(several(&two()));
    }

    #[test]
    fn options_name_the_state_then_its_code() {
        assert_eq!(option_label(&state("CA", "California")), "California (CA)");
        // A code without a known name is its own name.
        assert_eq!(option_label(&state("ZZ", "ZZ")), "ZZ");
        assert_eq!(option_label(&state("ZZ", "")), "ZZ");
        assert_eq!(state_name(&two(), "co"), "Colorado");
        assert_eq!(state_name(&two(), "MI"), "MI");
    }

    #[test]
    fn chips_say_the_status_in_each_state() {
        assert_eq!(
            status_in_state(&key("MI", KeyStatus::Missing)),
            "Missing in MI"
        );
        assert_eq!(
            status_in_state(&key("CO", KeyStatus::Unvalidated)),
            "Assigned in CO"
        );
        assert_eq!(
            status_in_state(&key("CA", KeyStatus::Invalid)),
            "Invalid in CA"
        );
        assert_eq!(status_in_state(&key("", KeyStatus::Valid)), "Assigned");
    }

    #[test]
    fn the_key_section_opens_on_the_first_state_needing_a_key() {
        // One state: nothing is picked.
        assert_eq!(
            first_state(
                &[state("CA", "California")],
                &[key("CA", KeyStatus::Missing)]
            ),
            None
        );
        let states = two();
        assert_eq!(
            first_state(
                &states,
                &[key("CA", KeyStatus::Valid), key("CO", KeyStatus::Invalid)]
            ),
            Some("CO".into())
        );
        assert_eq!(
            first_state(
                &states,
                &[
                    key("CO", KeyStatus::Valid),
                    key("CA", KeyStatus::Unvalidated)
                ]
            ),
            Some("CO".into())
        );
        assert_eq!(first_state(&states, &[]), Some("CA".into()));
    }
}
