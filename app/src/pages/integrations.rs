//! `/admin/integrations`: "Integrations". Paste a facility key, watch it validated live, pick the
//! facilities, "Update Key". The guard of docs/design.md §5 runs on the server; this page explains
//! it: a user's key is refused with the reason, a key that is not the License Owner's needs an
//! explicit override, and denied sections ask for confirmation first.
//!
//! A deployment serving several states (one Metrc each) asks first which state's Metrc issued
//! the key, and shows each facility's state; with one state there is no choice (docs/design.md
//! §12).

use crate::api::facility_keys::{
    AssignFacilityKey, AssignFacilityKeyInput, validate_facility_key_live,
};
use crate::api::user_keys::metrc_states;
use crate::components::admin_page::{AdminPage, all_facilities, use_key_health};
use crate::components::error_message::ErrorMessage;
use crate::components::key_help::KeyHelp;
use crate::components::live_validation::{KeyInput, LiveKeyCheck};
use crate::components::loading::Loading;
use crate::components::metrc_states::{StateSelect, several, state_name};
use crate::components::validation_panel::{NOT_REACHED_CAUSE, ValidationPanel};
use crate::types::facilities::{FacilityRow, facility_label};
use crate::types::key_validation::{LiveValidation, Phase};
use crate::types::keys::MetrcState;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use std::collections::BTreeSet;

#[component]
pub fn IntegrationsPage() -> impl IntoView {
    view! {
        <AdminPage>
            <Integrations />
        </AdminPage>
    }
}

/// One checkbox of the facility list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Choice {
    license: String,
    label: String,
    /// Not in Tracekeeper yet: Update Key adds it.
    new: bool,
    /// Whether the checked key reaches it; `None` until a check is complete. A facility of
    /// another state than the picked one is never reached.
    reached: Option<bool>,
    /// Its state's two letters, shown when the deployment serves several states.
    state: Option<String>,
    /// When it cannot be given the key (`reached` is `Some(false)`): why, and what to do.
    note: Option<String>,
}

/// Known facilities, then new licenses the key reaches. With several `states`, each shows its
/// state (a new one: the `picked` one, whose Metrc reaches it), and a known facility of another
/// state than `picked` cannot be given the key.
fn choices(
    known: &[FacilityRow],
    live: &LiveValidation,
    states: &[MetrcState],
    picked: Option<&str>,
) -> Vec<Choice> {
    let done = live.phase == Phase::Done;
    let several = several(states);
    let shown_state = |code: &str| (several && !code.is_empty()).then(|| code.to_ascii_uppercase());
    let mut out: Vec<Choice> = known
        .iter()
        .map(|f| {
            // A key covers the facilities of one state only.
            let other_state = picked
                .filter(|p| several && !f.state.is_empty() && !f.state.eq_ignore_ascii_case(p))
                .map(|p| other_state_note(&state_name(states, &f.state), &state_name(states, p)));
            let reached = match other_state {
                Some(_) => Some(false),
                None => done.then(|| live.facility(&f.license_number).is_some()),
            };
            Choice {
                license: f.license_number.clone(),
                label: facility_label(&f.license_number, &f.name),
                new: false,
                reached,
                state: shown_state(&f.state),
                note: other_state.or_else(|| {
                    (reached == Some(false))
                        .then(|| format!("Not reached by this key. {NOT_REACHED_CAUSE}"))
                }),
            }
        })
        .collect();
    for f in &live.validation.facilities {
        if !known.iter().any(|k| k.license_number == f.license_number) {
            out.push(Choice {
                license: f.license_number.clone(),
                label: f.label(),
                new: true,
                reached: done.then_some(true),
                state: picked.and_then(shown_state),
                note: None,
            });
        }
    }
    out
}

/// Why a facility in the state `theirs` cannot be given a key of the state `picked`.
fn other_state_note(theirs: &str, picked: &str) -> String {
    format!(
        "In {theirs}: this key is {picked}'s. To set its key, pick {theirs} above and paste a key from {theirs}'s Metrc."
    )
}

#[component]
fn Integrations() -> impl IntoView {
    let facilities = all_facilities();
    let states = Resource::new(|| (), |()| metrc_states());
    let health = use_key_health().0;
    // The state whose Metrc issued the key: picked only when the deployment serves several
    // (`None` is sent with one, as there is no choice).
    let picked = RwSignal::new(None::<String>);
    let check = LiveKeyCheck::new(move |key: String| {
        validate_facility_key_live(key.into(), picked.get_untracked())
    });
    let live = check.live;
    let key = RwSignal::new(String::new());
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let override_owner = RwSignal::new(false);
    // Sections denied on selected facilities, awaiting "Update Key anyway".
    let confirming = RwSignal::new(None::<Vec<String>>);
    let assign = ServerAction::<AssignFacilityKey>::new();

    // Only licenses the checked key reaches can be given it.
    let chosen = Memo::new(move |_| {
        live.with(|l| {
            selected.with(|s| {
                s.iter()
                    .filter(|license| l.facility(license).is_some())
                    .cloned()
                    .collect::<BTreeSet<String>>()
            })
        })
    });
    let not_owner = Memo::new(move |_| {
        live.with(|l| {
            chosen.with(|c| {
                c.iter()
                    .filter(|license| l.facility(license).is_some_and(|f| !f.is_owner))
                    .cloned()
                    .collect::<Vec<String>>()
            })
        })
    });
    let can_update = move || {
        live.with(LiveValidation::assignable)
            && !chosen.with(BTreeSet::is_empty)
            && (not_owner.with(Vec::is_empty) || override_owner.get())
            && !assign.pending().get()
    };
    let send = move || {
        confirming.set(None);
        assign.dispatch(AssignFacilityKey {
            input: AssignFacilityKeyInput {
                key: key.get_untracked().into(),
                licenses: chosen.get_untracked().into_iter().collect(),
                confirm_not_owner: override_owner.get_untracked(),
                state: picked.get_untracked(),
            },
        });
    };
    let update_key = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if !can_update() {
            return;
        }
        let denied: Vec<String> = live.with_untracked(|l| {
            chosen
                .get_untracked()
                .iter()
                .filter_map(|license| l.facility(license))
                .filter(|f| !f.denied().is_empty())
                .map(|f| format!("{} ({})", f.license_number, f.denied().join(", ")))
                .collect()
        });
        if denied.is_empty() {
            send();
        } else {
            confirming.set(Some(denied));
        }
    };
    // After success: the key box clears, the panel resets, the table and banner refresh.
    Effect::watch(
        move || assign.version().get(),
        move |_, _, _| {
            if matches!(assign.value().get_untracked(), Some(Ok(_))) {
                key.set(String::new());
                check.reset();
                selected.set(BTreeSet::new());
                override_owner.set(false);
                facilities.refetch();
                health.refetch();
            }
        },
        false,
    );
    let outcome = move || {
        assign.value().get().map(|result| match result {
            Ok(done) => {
                let licenses: Vec<String> = done
                    .facilities
                    .iter()
                    .map(|f| f.license_number.clone())
                    .collect();
                let added = (!done.added.is_empty())
                    .then(|| format!(" Added as new facilities: {}.", done.added.join(", ")));
                view! {
                    <p class="success" role="status">
                        {format!("Key updated for {}.", licenses.join(", "))}
                        {added}
                        " "
                        <A href="/admin/facilities">"See Facility Management"</A>
                    </p>
                }
                .into_any()
            }
            Err(error) => view! { <ErrorMessage error /> }.into_any(),
        })
    };

    let on_edit = Callback::new(move |()| {
        confirming.set(None);
        // The last outcome was about another key.
        if assign.value().with_untracked(Option::is_some) {
            assign.value().set(None);
        }
    });
    view! {
        <Title text="Integrations" />
        <section class="page" aria-labelledby="integrations-title">
            <h1 id="integrations-title">"Integrations"</h1>
            <p class="lede">
                "Connect each facility to Metrc with the License Owner's API key. Tracekeeper checks the key against Metrc as you paste it."
            </p>
            <KeyHelp />
            <form class="key-form" on:submit=update_key>
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let states = states.await.unwrap_or_default();
                        several(&states)
                            .then(|| {
                                view! {
                                    <StateSelect
                                        id="facility-key-state"
                                        label="State whose Metrc issued this key"
                                        states
                                        picked
                                        on_pick=Callback::new(move |()| {
                                            on_edit.run(());
                                            check.recheck();
                                        })
                                    />
                                }
                            })
                    })}
                </Transition>
                <KeyInput id="facility-key" label="Facility API key" key check on_edit />
                <Transition fallback=|| {
                    view! { <Loading text="Loading facilities…" /> }
                }>
                    {move || Suspend::new(async move {
                        let known = facilities.await.unwrap_or_default();
                        let states = states.await.unwrap_or_default();
                        view! { <FacilityChoices known states picked live selected /> }
                    })}
                </Transition>
                <ValidationPanel
                    check
                    verdict=Signal::derive(move || chosen.with(|c| live.with(|l| l.verdict(c))))
                />
                <Show when=move || !not_owner.with(Vec::is_empty)>
                    <label class="override">
                        <input
                            type="checkbox"
                            prop:checked=move || override_owner.get()
                            on:change=move |ev| override_owner.set(event_target_checked(&ev))
                        />
                        {move || {
                            format!(
                                "Use this key anyway for {}, although it is not the License Owner's there. Metrc will show that employee as the submitter. This override is recorded in the audit log.",
                                not_owner.get().join(", "),
                            )
                        }}
                    </label>
                </Show>
                {move || {
                    confirming
                        .get()
                        .map(|denied| {
                            view! {
                                <div
                                    class="confirm"
                                    role="alertdialog"
                                    aria-labelledby="confirm-text"
                                >
                                    <p id="confirm-text">
                                        {format!(
                                            "Some sections are denied for this key: {}. Those facilities will not sync or submit there until the key owner gets access.",
                                            denied.join("; "),
                                        )}
                                    </p>
                                    <button type="button" on:click=move |_| send()>
                                        "Update Key anyway"
                                    </button>
                                    <button
                                        type="button"
                                        class="secondary"
                                        on:click=move |_| confirming.set(None)
                                    >
                                        "Cancel"
                                    </button>
                                </div>
                            }
                        })
                }}
                <button type="submit" class="primary" disabled=move || !can_update()>
                    {move || if assign.pending().get() { "Updating…" } else { "Update Key" }}
                </button>
                {outcome}
            </form>
        </section>
    }
}

/// "Select all" and one checkbox per facility (license number and name); new licenses the key
/// reaches are marked "New", known ones it does not reach are disabled with the likely cause.
#[component]
fn FacilityChoices(
    /// The facilities already in Tracekeeper, listed first.
    known: Vec<FacilityRow>,
    /// The states the deployment serves: with several, each facility shows its state.
    states: Vec<MetrcState>,
    /// The state picked for the key (several states only): facilities of other states cannot
    /// be given it.
    picked: RwSignal<Option<String>>,
    /// The live validation of the pasted key: licenses it reaches that are not known are added
    /// as "New"; once it is done, known ones it does not reach are disabled.
    live: RwSignal<LiveValidation>,
    /// License numbers ticked; "Update Key" gives the key to those the key reaches.
    selected: RwSignal<BTreeSet<String>>,
) -> impl IntoView {
    let states = StoredValue::new(states);
    let options = Memo::new(move |_| {
        let picked = picked.get();
        live.with(|l| states.with_value(|s| choices(&known, l, s, picked.as_deref())))
    });
    let selectable = move || {
        options.with(|o| {
            o.iter()
                .filter(|c| c.reached != Some(false))
                .map(|c| c.license.clone())
                .collect::<BTreeSet<String>>()
        })
    };
    let all_selected = move || {
        let selectable = selectable();
        !selectable.is_empty() && selected.with(|s| selectable.is_subset(s))
    };
    view! {
        <fieldset class="facility-choices">
            <legend>"Facilities for this key"</legend>
            <Show
                when=move || !options.with(Vec::is_empty)
                fallback=|| {
                    view! { <p class="muted">"Paste a key to see the facilities it reaches."</p> }
                }
            >
                <label class="choice select-all">
                    <input
                        type="checkbox"
                        prop:checked=all_selected
                        on:change=move |ev| {
                            if event_target_checked(&ev) {
                                selected.set(selectable());
                            } else {
                                selected.set(BTreeSet::new());
                            }
                        }
                    />
                    "Select all"
                </label>
                <For each=move || options.get() key=|c| c.clone() let:choice>
                    {
                        let license = choice.license.clone();
                        let checked = {
                            let license = license.clone();
                            move || selected.with(|s| s.contains(&license))
                        };
                        let unreachable = choice.reached == Some(false);
                        let note = choice.note.clone();
                        let state = choice
                            .state
                            .clone()
                            .map(|code| {
                                let name = states.with_value(|s| state_name(s, &code));
                                view! {
                                    <span class="badge badge-state" title=name>
                                        {code}
                                    </span>
                                }
                            });
                        view! {
                            <label class="choice" class:choice-disabled=unreachable>
                                <input
                                    type="checkbox"
                                    prop:checked=checked
                                    disabled=unreachable
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        selected
                                            .update(|s| {
                                                if on {
                                                    s.insert(license.clone());
                                                } else {
                                                    s.remove(&license);
                                                }
                                            });
                                    }
                                />
                                {choice.label.clone()}
                                {state}
                                {choice
                                    .new
                                    .then(|| view! { <span class="badge badge-new">"New"</span> })}
                                {note.map(|note| view! { <span class="note">{note}</span> })}
                            </label>
                        }
                    }
                </For>
            </Show>
        </fieldset>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::facilities::{KeyValidation, ReachedFacility};
    use crate::types::inventory::SyncState;
    use crate::types::key_validation::KeyHolder;
    use crate::types::keys::KeyStatus;
    use crate::types::keys::tests::state;

    fn known(license: &str, state: &str) -> FacilityRow {
        FacilityRow {
            license_number: license.into(),
            name: String::new(),
            license_type: String::new(),
            state: state.into(),
            masked_key: None,
            key_fingerprint_prefix: None,
            key_status: KeyStatus::Missing,
            key_owner_name: None,
            key_is_owner: None,
            key_age_days: None,
            key_expiring: false,
            last_validated_at: None,
            last_sync_at: None,
            sync_state: SyncState::Never,
            sync_progress: None,
            sync_message: None,
        }
    }

    /// A finished check whose key reaches `licenses`.
    fn done(licenses: &[&str]) -> LiveValidation {
        LiveValidation {
            phase: Phase::Done,
            validation: KeyValidation {
                sections: vec![],
                facilities: licenses
                    .iter()
                    .map(|l| ReachedFacility {
                        license_number: (*l).into(),
                        name: String::new(),
                        license_type: String::new(),
                        is_owner: true,
                        is_manager: false,
                        known: false,
                        cells: vec![],
                    })
                    .collect(),
            },
            holder: KeyHolder::default(),
        }
    }

    fn states() -> Vec<MetrcState> {
        vec![state("CA", "California"), state("CO", "Colorado")]
    }

    #[test]
    fn one_state_shows_no_state_and_disables_only_what_the_key_does_not_reach() {
        let one = &states()[..1];
        let rows = [known("A", "CA"), known("B", "CA")];
        let out = choices(&rows, &done(&["A", "N"]), one, None);
        let summary: Vec<_> = out
            .iter()
            .map(|c| (c.license.as_str(), c.new, c.reached, c.state.clone()))
            .collect();
        assert_eq!(
            summary,
            [
                ("A", false, Some(true), None),
                ("B", false, Some(false), None),
                ("N", true, Some(true), None),
            ]
        );
        assert_eq!(out[0].note, None);
        assert!(
            out[1]
                .note
                .as_deref()
                .is_some_and(|n| n.starts_with("Not reached by this key."))
        );
        // Before the check is complete nothing is disabled.
        let checking = choices(&rows, &LiveValidation::checking(), one, None);
        assert!(checking.iter().all(|c| c.reached.is_none()));
    }

    #[test]
    fn several_states_show_each_facilitys_state_and_keep_other_states_out() {
        let states = states();
        let rows = [known("A", "CA"), known("B", "CO"), known("L", "")];
        // Nothing picked yet: every facility shows its state, none is ruled out.
        let out = choices(&rows, &LiveValidation::default(), &states, None);
        let shown: Vec<_> = out.iter().map(|c| c.state.clone()).collect();
        assert_eq!(shown, [Some("CA".into()), Some("CO".into()), None]);
        assert!(out.iter().all(|c| c.reached.is_none()));

        // California picked: Colorado's facility cannot be given the key, even mid-check.
        let out = choices(&rows, &LiveValidation::checking(), &states, Some("CA"));
        assert_eq!(out[0].reached, None);
        assert_eq!(out[1].reached, Some(false));
        let note = out[1].note.clone().unwrap_or_default();
        assert!(
            note.starts_with("In Colorado: this key is California's."),
            "{note}"
        );
        assert_eq!(
            out[2].reached, None,
            "a facility without a state is not ruled out"
        );

        // A new license the key reaches is in the picked state.
        let out = choices(&rows, &done(&["A", "N"]), &states, Some("ca"));
        let new = out.iter().find(|c| c.new).unwrap();
        assert_eq!(new.state.as_deref(), Some("CA"));
    }
}
