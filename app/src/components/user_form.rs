//! The user form of "Add user" and of the user's page: name, email, role, the facilities they
//! work at, whether they may submit to Metrc and whether their submissions need review, and (to
//! add a user) the initial password.
//!
//! Its inputs have no `name`: submitted before the page is interactive, the form sends nothing
//! (never a password in a URL); once hydrated it hands a [`UserInput`] to `on_submit`.

use crate::components::admin_page::all_facilities;
use crate::components::loading::Loading;
use crate::types::auth::Role;
use crate::types::facilities::{FacilityRow, facility_label};
use crate::types::users::UserInput;
use leptos::prelude::*;
use std::collections::BTreeSet;

/// The shortest password the server accepts (`ssr::passwords::MIN_LENGTH`).
const MIN_PASSWORD_LENGTH: usize = 12;

/// Checkbox state of the facility list: "All facilities", or the chosen ones.
#[derive(Clone, Copy)]
struct FacilityPick {
    all: RwSignal<bool>,
    chosen: RwSignal<BTreeSet<String>>,
}

#[component]
pub fn UserForm(
    /// What the form shows first (a new user: the defaults). `password` is ignored.
    initial: UserInput,
    /// Ask for the initial password ("Add user").
    #[prop(optional)]
    with_password: bool,
    /// The user may not change the role (an admin editing themselves).
    #[prop(optional)]
    lock_role: bool,
    /// The submit button's label.
    submit_label: &'static str,
    /// The submit button's label while the request runs.
    pending_label: &'static str,
    /// A request is running: the button is off.
    #[prop(into)]
    pending: Signal<bool>,
    /// Called with what was typed.
    on_submit: Callback<UserInput>,
) -> impl IntoView {
    let name = RwSignal::new(initial.name.clone());
    let email = RwSignal::new(initial.email.clone());
    let role = RwSignal::new(initial.role);
    let pick = FacilityPick {
        all: RwSignal::new(initial.all_facilities),
        chosen: RwSignal::new(initial.facilities.iter().cloned().collect()),
    };
    let can_submit = RwSignal::new(initial.can_submit);
    let requires_review = RwSignal::new(initial.requires_review);
    let password = RwSignal::new(String::new());

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if pending.get_untracked() {
            return;
        }
        let all_facilities = pick.all.get_untracked();
        on_submit.run(UserInput {
            name: name.get_untracked(),
            email: email.get_untracked(),
            role: role.get_untracked(),
            all_facilities,
            facilities: if all_facilities {
                Vec::new()
            } else {
                pick.chosen.get_untracked().into_iter().collect()
            },
            can_submit: can_submit.get_untracked(),
            requires_review: requires_review.get_untracked(),
            password: with_password.then(|| password.get_untracked().into()),
        });
    };

    view! {
        <form class="user-form stack" on:submit=submit>
            <label for="user-name">"Name"</label>
            <input
                id="user-name"
                type="text"
                autocomplete="off"
                required
                value=initial.name
                prop:value=move || name.get()
                on:input=move |ev| name.set(event_target_value(&ev))
            />
            <label for="user-email">"Email"</label>
            <input
                id="user-email"
                type="email"
                autocomplete="off"
                spellcheck="false"
                required
                value=initial.email
                prop:value=move || email.get()
                on:input=move |ev| email.set(event_target_value(&ev))
            />
            <RoleSelect role initial=initial.role locked=lock_role />
            <FacilitiesField pick />
            <fieldset class="facility-choices">
                <legend>"Metrc"</legend>
                <label class="choice">
                    <input
                        type="checkbox"
                        checked=initial.can_submit
                        prop:checked=move || can_submit.get()
                        on:change=move |ev| can_submit.set(event_target_checked(&ev))
                    />
                    "Can submit to Metrc"
                </label>
                <label class="choice">
                    <input
                        type="checkbox"
                        checked=initial.requires_review
                        prop:checked=move || requires_review.get()
                        on:change=move |ev| requires_review.set(event_target_checked(&ev))
                    />
                    "Requires review on submissions"
                </label>
            </fieldset>
            {with_password
                .then(|| {
                    view! {
                        <label for="user-password">"Initial password"</label>
                        <input
                            id="user-password"
                            type="password"
                            autocomplete="new-password"
                            minlength=MIN_PASSWORD_LENGTH.to_string()
                            required
                            aria-describedby="user-password-hint"
                            prop:value=move || password.get()
                            on:input=move |ev| password.set(event_target_value(&ev))
                        />
                        <p id="user-password-hint" class="hint">
                            {format!(
                                "At least {MIN_PASSWORD_LENGTH} characters. Give it to the user in person; they can change it on their Profile page.",
                            )}
                        </p>
                    }
                })}
            <button type="submit" class="primary" disabled=move || pending.get()>
                {move || if pending.get() { pending_label } else { submit_label }}
            </button>
        </form>
    }
}

/// "Role": Admin or Employee.
#[component]
fn RoleSelect(
    /// The chosen role; the form sends it on submit.
    role: RwSignal<Role>,
    /// The role selected when the form opens (the user's stored role, or a new user's default).
    initial: Role,
    /// The select is disabled, with a hint why (an admin editing themselves).
    locked: bool,
) -> impl IntoView {
    view! {
        <label for="user-role">"Role"</label>
        <select
            id="user-role"
            disabled=locked
            aria-describedby=locked.then_some("user-role-hint")
            prop:value=move || role.get().as_str()
            on:change=move |ev| {
                if let Some(r) = Role::parse(&event_target_value(&ev)) {
                    role.set(r);
                }
            }
        >
            {Role::ALL
                .into_iter()
                .map(|r| {
                    view! {
                        <option value=r.as_str() selected=r == initial>
                            {r.label()}
                        </option>
                    }
                })
                .collect_view()}
        </select>
        {locked
            .then(|| {
                view! {
                    <p id="user-role-hint" class="hint">
                        "You cannot remove your own Admin role. Another admin can."
                    </p>
                }
            })}
    }
}

/// "All facilities" (the default: every facility, including ones added later) and one checkbox
/// per facility. Unticking one facility while "All facilities" is on keeps the others.
#[component]
fn FacilitiesField(
    /// "All facilities" or the chosen license numbers; the checkboxes set it, the form sends it.
    pick: FacilityPick,
) -> impl IntoView {
    let facilities = all_facilities();
    let initial_all = pick.all.get_untracked();
    view! {
        <fieldset class="facility-choices">
            <legend>"Facilities they work at"</legend>
            <label class="choice select-all">
                <input
                    type="checkbox"
                    checked=initial_all
                    aria-describedby="all-facilities-hint"
                    prop:checked=move || pick.all.get()
                    on:change=move |ev| {
                        let all = event_target_checked(&ev);
                        pick.all.set(all);
                        if !all {
                            pick.chosen.set(BTreeSet::new());
                        }
                    }
                />
                "All facilities"
            </label>
            <p id="all-facilities-hint" class="hint">
                "Includes facilities added later."
            </p>
            <Transition fallback=|| {
                view! { <Loading text="Loading facilities…" /> }
            }>
                {move || Suspend::new(async move {
                    match facilities.await {
                        Ok(rows) if rows.is_empty() => {
                            view! {
                                <p class="muted">
                                    "No facilities yet: they appear here once a facility key is set on Integrations."
                                </p>
                            }
                                .into_any()
                        }
                        Ok(rows) => view! { <FacilityBoxes rows pick /> }.into_any(),
                        Err(error) => {
                            view! { <crate::components::error_message::ErrorMessage error /> }
                                .into_any()
                        }
                    }
                })}
            </Transition>
        </fieldset>
    }
}

#[component]
fn FacilityBoxes(
    /// Every facility in Tracekeeper, one checkbox each (license number and name).
    rows: Vec<FacilityRow>,
    /// What is ticked: "All facilities" ticks every box; unticking one then keeps all the others.
    pick: FacilityPick,
) -> impl IntoView {
    let licenses: Vec<String> = rows.iter().map(|r| r.license_number.clone()).collect();
    rows.into_iter()
        .map(|row| {
            let license = row.license_number.clone();
            let initially =
                pick.all.get_untracked() || pick.chosen.with_untracked(|c| c.contains(&license));
            let checked = {
                let license = license.clone();
                move || pick.all.get() || pick.chosen.with(|c| c.contains(&license))
            };
            let licenses = licenses.clone();
            let toggle = move |ev: leptos::ev::Event| {
                let on = event_target_checked(&ev);
                if pick.all.get_untracked() {
                    // From "all" to every facility but this one.
                    pick.all.set(false);
                    pick.chosen.set(
                        licenses
                            .iter()
                            .filter(|l| on || **l != license)
                            .cloned()
                            .collect(),
                    );
                } else {
                    pick.chosen.update(|c| {
                        if on {
                            c.insert(license.clone());
                        } else {
                            c.remove(&license);
                        }
                    });
                }
            };
            view! {
                <label class="choice">
                    <input
                        type="checkbox"
                        checked=initially
                        prop:checked=checked
                        on:change=toggle
                    />
                    {facility_label(&row.license_number, &row.name)}
                </label>
            }
        })
        .collect_view()
}
