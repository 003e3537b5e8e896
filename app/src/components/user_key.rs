//! A user's own Metrc key: the "Metrc API Key" field with "Update", used on the user's page
//! (admins) and on /profile (the user). Never an "Update Key": this only ever sets a user's key
//! (docs/design.md §5). Pasting validates live; "Update" validates again on the server and saves
//! only a valid key; the panel then shows what the saved key reaches, and below it the user's exact
//! Metrc permissions where a facility key may list them.
//!
//! A deployment serving several states (one Metrc each) keeps a key per state: the section lists
//! the states the user works in with their key's status in each, and shows and sets one state's
//! key at a time. With one state it is about the one key, with no state shown.

use crate::api::user_keys::{SetUserKey, user_key, user_key_states, validate_user_key_live};
use crate::components::error_message::ErrorMessage;
use crate::components::format::when;
use crate::components::key_help::KeyHelp;
use crate::components::live_validation::{KeyInput, LiveKeyCheck};
use crate::components::loading::Loading;
use crate::components::metrc_states::{first_state, needs_key, several, state_name};
use crate::components::validation_panel::ValidationPanel;
use crate::error::AppError;
use crate::types::facilities::facility_label;
use crate::types::key_validation::{KeyHolder, LiveValidation, Phase};
use crate::types::keys::{KeyStatus, MetrcState, StateKeyStatus, StateKeys};
use crate::types::user_keys::{LicensePermissions, SetUserKeyInput, UserKeyView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The states a user's key section offers: with one state served, none (the section is about
/// the one key); with several, each state the user works in, with their key's status there.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct KeyStates {
    /// Every state the deployment serves.
    served: Vec<MetrcState>,
    /// The user's key status in each state they work in; empty with one state served.
    keys: Vec<StateKeyStatus>,
}

impl KeyStates {
    /// `served` and the user's key `keys` per state they work in; a user who works in no state
    /// any more (deactivated) has every state served, without a key.
    fn new(served: Vec<MetrcState>, keys: Option<Vec<StateKeyStatus>>) -> KeyStates {
        let keys = if several(&served) {
            keys.filter(|k| !k.is_empty()).unwrap_or_else(|| {
                served
                    .iter()
                    .map(|s| StateKeyStatus {
                        state: s.code.clone(),
                        status: KeyStatus::Missing,
                    })
                    .collect()
            })
        } else {
            Vec::new()
        };
        KeyStates { served, keys }
    }

    /// Whether the section offers a key per state.
    fn several(&self) -> bool {
        several(&self.served)
    }

    /// The state the section opens on (`None` with one state).
    fn first(&self) -> Option<String> {
        first_state(&self.served, &self.keys)
    }

    /// "Colorado" for `"CO"`.
    fn name(&self, code: &str) -> String {
        state_name(&self.served, code)
    }
}

/// The states served and, with several, the user's key status in each they work in: one server
/// function (a resource awaits nothing else before it, so the server function finds the
/// server's state: `ssr::state::state`).
async fn key_states(user_id: Option<i32>) -> Result<KeyStates, AppError> {
    let StateKeys { served, keys } = user_key_states(user_id).await?;
    Ok(KeyStates::new(served, Some(keys)))
}

/// The label of the key box: "Metrc API Key", or with several states "Colorado Metrc API Key".
fn key_label(state: Option<&str>) -> String {
    match state {
        Some(name) if !name.is_empty() => format!("{name} Metrc API Key"),
        _ => "Metrc API Key".to_owned(),
    }
}

#[component]
pub fn UserKeySection(
    /// The user whose key this is; `None` for the signed-in user (/profile).
    user_id: Option<i32>,
    /// An admin is looking (the user's page): they may confirm giving a user a facility key.
    #[prop(optional)]
    admin_view: bool,
) -> impl IntoView {
    let key = RwSignal::new(String::new());
    let confirm_facility_key = RwSignal::new(false);
    let save = ServerAction::<SetUserKey>::new();
    // With several states: the user's key status in each; their key is set one state at a time.
    let states = Resource::new(move || save.version().get(), move |_| key_states(user_id));
    // The state picked on the page; until then the one `KeyStates::first` names.
    let picked = RwSignal::new(None::<String>);
    let stored = Resource::new(
        move || (save.version().get(), picked.get()),
        // Unpicked: the server opens on the state `KeyStates::first` names (the same rule).
        move |(_, picked)| user_key(user_id, picked),
    );
    // In the browser: the states as last loaded, for what the key box sends.
    let loaded = RwSignal::new(KeyStates::default());
    Effect::new(move || {
        if let Some(Ok(states)) = states.get() {
            loaded.set(states);
        }
    });
    // The state whose key the section shows and sets: `None` with one state.
    let current = Memo::new(move |_| picked.get().or_else(|| loaded.with(KeyStates::first)));
    let check = LiveKeyCheck::new(move |key: String| {
        validate_user_key_live(user_id, key.into(), current.get_untracked())
    });
    let live = check.live;

    let facility_key_of = Memo::new(move |_| {
        live.with(|l| match &l.holder {
            KeyHolder::Facilities(licenses) if l.phase == Phase::Done => Some(licenses.clone()),
            _ => None,
        })
    });
    let typing = move || !key.with(String::is_empty);
    let can_update = move || {
        typing()
            && live.with(LiveValidation::assignable)
            && (facility_key_of.with(Option::is_none) || confirm_facility_key.get())
            && !save.pending().get()
    };
    let update = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if can_update() {
            save.dispatch(SetUserKey {
                input: SetUserKeyInput {
                    user_id,
                    key: key.get_untracked().into(),
                    confirm_facility_key: confirm_facility_key.get_untracked(),
                    state: current.get_untracked(),
                },
            });
        }
    };
    let on_edit = Callback::new(move |()| {
        confirm_facility_key.set(false);
        if save.value().with_untracked(Option::is_some) {
            save.value().set(None);
        }
    });
    // Another state's key: the box's key is checked with that state's Metrc, or with the box
    // empty the panel shows what that state's saved key reaches once it is loaded.
    let pick = Callback::new(move |code: String| {
        if current.get_untracked().as_deref() == Some(code.as_str()) {
            return;
        }
        picked.set(Some(code));
        on_edit.run(());
        if key.with_untracked(String::is_empty) {
            check.reset();
        } else {
            check.recheck();
        }
    });
    // After a save the box clears; the panel shows what the saved key reaches. With several
    // states the section stays on the state just saved.
    Effect::watch(
        move || save.version().get(),
        move |_, _, _| {
            if let Some(Ok(view)) = save.value().get_untracked() {
                key.set(String::new());
                confirm_facility_key.set(false);
                if loaded.with_untracked(KeyStates::several) {
                    picked.set(Some(view.state.clone()));
                }
                match view.validation {
                    Some(validation) => check.show(validation),
                    None => check.reset(),
                }
            }
        },
        false,
    );
    // In the browser: show what a valid saved key reaches until a new key is typed.
    Effect::new(move || {
        if let Some(Ok(view)) = stored.get()
            && view.status == KeyStatus::Valid
            && key.with_untracked(String::is_empty)
            && (!loaded.with_untracked(KeyStates::several)
                || current.get_untracked().as_deref() == Some(view.state.as_str()))
            && let Some(validation) = view.validation
        {
            check.show(validation);
        }
    });
    let label = Signal::derive(move || {
        let name = current.get().map(|code| loaded.with(|l| l.name(&code)));
        key_label(name.as_deref())
    });

    view! {
        <section class="user-key" aria-labelledby="user-key-title">
            <h2 id="user-key-title">"Metrc API Key"</h2>
            <p class="lede">
                "Everything sent to Metrc with this key shows under this person's name. It is theirs alone: never a facility's key."
            </p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    states
                        .await
                        .ok()
                        .filter(KeyStates::several)
                        .map(|states| view! { <StateKeys states current pick /> })
                })}
            </Transition>
            <Transition fallback=|| {
                view! { <Loading text="Loading the key…" /> }
            }>
                {move || Suspend::new(async move {
                    match stored.await {
                        Ok(view) => {
                            let heading = states
                                .await
                                .ok()
                                .filter(KeyStates::several)
                                .map(|states| {
                                    view! {
                                        <h3 class="state-key-title">
                                            {format!("{} Metrc key", states.name(&view.state))}
                                        </h3>
                                    }
                                });
                            view! {
                                {heading}
                                <StoredKey view />
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    }
                })}
            </Transition>
            <form class="key-form" on:submit=update>
                <KeyInput id="user-metrc-key" label key check on_edit />
                {move || {
                    facility_key_of
                        .get()
                        .map(|licenses| {
                            if admin_view {
                                view! {
                                    <label class="override">
                                        <input
                                            type="checkbox"
                                            prop:checked=move || confirm_facility_key.get()
                                            on:change=move |ev| {
                                                confirm_facility_key.set(event_target_checked(&ev));
                                            }
                                        />
                                        {format!(
                                            "Use the facility key of {} as this user's own key anyway. Their submissions will show in Metrc under the License Owner's name, not theirs: not compliant. This is recorded in the audit log.",
                                            licenses.join(", "),
                                        )}
                                    </label>
                                }
                                    .into_any()
                            } else {
                                view! {
                                    <p class="error" role="alert">
                                        "This is a facility key, not your own. Generate your own key in Metrc (your profile > API Keys) and paste that."
                                    </p>
                                }
                                    .into_any()
                            }
                        })
                }}
                <button type="submit" class="primary" disabled=move || !can_update()>
                    {move || if save.pending().get() { "Checking with Metrc…" } else { "Update" }}
                </button>
                {move || {
                    save.value()
                        .get()
                        .map(|result| match result {
                            Ok(_) => {
                                view! {
                                    <p class="success" role="status">
                                        "Key saved: Metrc accepted it."
                                    </p>
                                }
                                    .into_any()
                            }
                            Err(error) => view! { <ErrorMessage error /> }.into_any(),
                        })
                }}
            </form>
            <ValidationPanel
                check
                verdict=Signal::derive(move || live.with(LiveValidation::user_verdict))
            />
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    stored.await.ok().map(|view| view! { <Permissions rows=view.permissions /> })
                })}
            </Transition>
            <KeyHelp />
        </section>
    }
}

/// With several states: one button per state the user works in, saying their key's status
/// there ("Colorado: Missing"); pressing one shows and sets that state's key.
#[component]
fn StateKeys(
    /// The states served and the user's key status in each state they work in.
    states: KeyStates,
    /// The state whose key the section shows (its button is pressed).
    current: Memo<Option<String>>,
    /// Runs with a state's code when its button is pressed.
    pick: Callback<String>,
) -> impl IntoView {
    let buttons = states
        .keys
        .iter()
        .map(|k| {
            let code = k.state.clone();
            let name = states.name(&code);
            let status_class = match k.status {
                KeyStatus::Valid => "status status-ok",
                KeyStatus::Unvalidated => "status",
                KeyStatus::Missing | KeyStatus::Invalid => "status status-danger",
            };
            let pressed = {
                let code = code.clone();
                move || (current.get().as_deref() == Some(code.as_str())).to_string()
            };
            view! {
                <li>
                    <button
                        type="button"
                        class="state-key"
                        class:state-key-needed=needs_key(k.status)
                        aria-pressed=pressed
                        on:click=move |_| pick.run(code.clone())
                    >
                        <span class="state-key-name">{name}</span>
                        <span class="visually-hidden">": "</span>
                        <span class=status_class>{k.status.label()}</span>
                    </button>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="state-keys" role="group" aria-labelledby="user-key-states-title">
            <p id="user-key-states-title" class="state-keys-title">
                "A key per state: Metrc is separate in each state. Choose a state to see or set its key."
            </p>
            <ul>{buttons}</ul>
        </div>
    }
}

/// The saved key: masked, its status, when Metrc last confirmed it, and how to fix a dead one.
#[component]
fn StoredKey(
    /// The user's saved key as the server holds it: masked key, status and last validation.
    view: UserKeyView,
) -> impl IntoView {
    let status = match view.status {
        KeyStatus::Missing => "Missing",
        KeyStatus::Invalid => "Invalid",
        KeyStatus::Valid | KeyStatus::Unvalidated => "Assigned",
    };
    let invalid = view.status == KeyStatus::Invalid;
    view! {
        <dl class="key-facts">
            <dt>"Current key"</dt>
            <dd>
                {match view.masked_key {
                    Some(mask) => view! { <code class="masked-key">{mask}</code> }.into_any(),
                    None => view! { <span class="muted">"None"</span> }.into_any(),
                }}
            </dd>
            <dt>"Status"</dt>
            <dd class:status-danger=invalid class="status">
                {status}
            </dd>
            <dt>"Last validated"</dt>
            <dd>{when(view.last_validated_at)}</dd>
        </dl>
        {invalid
            .then(|| {
                view! {
                    <p class="error" role="alert">
                        "Metrc refuses this key: it was regenerated or revoked. Generate a new key in Metrc (profile > API Keys), paste it below and press Update."
                    </p>
                }
            })}
    }
}

/// The user's exact Metrc permissions per license, and what the work screens need that they lack.
#[component]
fn Permissions(
    /// Per license the saved key reaches: the user's Metrc permissions there and what they lack.
    /// Empty shows nothing.
    rows: Vec<LicensePermissions>,
) -> impl IntoView {
    (!rows.is_empty()).then(|| {
        view! {
            <section class="permissions" aria-labelledby="permissions-title">
                <h3 id="permissions-title">"Metrc permissions"</h3>
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">"Facility"</th>
                                <th scope="col">"Permissions in Metrc"</th>
                                <th scope="col">"Missing for work in Tracekeeper"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {rows
                                .into_iter()
                                .map(|row| {
                                    let listed = match &row.permissions {
                                        Some(p) if p.is_empty() => "None".to_owned(),
                                        Some(p) => p.join(", "),
                                        None => {
                                            "Not available: no valid facility key here may list employees' permissions."
                                                .to_owned()
                                        }
                                    };
                                    let gaps = if row.permissions.is_some() && row.gaps.is_empty() {
                                        "Nothing".to_owned()
                                    } else {
                                        row.gaps.join(" ")
                                    };
                                    view! {
                                        <tr>
                                            <th scope="row">
                                                {facility_label(&row.license_number, &row.name)}
                                            </th>
                                            <td>{listed}</td>
                                            <td class:status-danger=!row.gaps.is_empty()>{gaps}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
            </section>
        }
    })
}

/// After sign-in: tells a user whose own key Metrc refuses how to fix it.
#[component]
pub fn KeyNotice() -> impl IntoView {
    let status = Resource::new(|| (), |()| crate::api::user_keys::my_key_status());
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                (status.await == Ok(KeyStatus::Invalid))
                    .then(|| {
                        view! {
                            <div class="notice" role="alert">
                                <p>
                                    "Metrc no longer accepts your Metrc API key (it was regenerated or revoked), so your submissions cannot be sent under your name. Generate a new key in Metrc (your profile > API Keys) and paste it on "
                                    <a href="/profile">"your profile"</a> "."
                                </p>
                            </div>
                        }
                    })
            })}
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::keys::tests::{key, state};

    #[test]
    fn one_state_offers_no_choice() {
        let one = KeyStates::new(
            vec![state("CA", "California")],
            Some(vec![key("CA", KeyStatus::Missing)]),
        );
        assert!(!one.several());
        assert!(one.keys.is_empty());
        assert_eq!(one.first(), None);
        assert_eq!(key_label(None), "Metrc API Key");
    }

    #[test]
    fn several_states_offer_each_state_the_user_works_in() {
        let served = vec![
            state("CA", "California"),
            state("CO", "Colorado"),
            state("MI", "Michigan"),
        ];
        let states = KeyStates::new(
            served.clone(),
            Some(vec![
                key("CA", KeyStatus::Valid),
                key("MI", KeyStatus::Missing),
            ]),
        );
        assert!(states.several());
        assert_eq!(states.keys.len(), 2);
        assert_eq!(states.first().as_deref(), Some("MI"));
        assert_eq!(states.name("MI"), "Michigan");
        assert_eq!(key_label(Some("Michigan")), "Michigan Metrc API Key");
        // A deactivated user (no state known): every state served, none with a key.
        let nowhere = KeyStates::new(served, None);
        assert_eq!(nowhere.keys.len(), 3);
        assert!(nowhere.keys.iter().all(|k| k.status == KeyStatus::Missing));
        assert_eq!(nowhere.first().as_deref(), Some("CA"));
    }
}
