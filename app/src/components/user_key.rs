//! A user's own Metrc key: the "Metrc API Key" field with "Update", used on the user's page
//! (admins) and on /profile (the user). Never an "Update Key": this only ever sets a user's key
//! (docs/design.md §5). Pasting validates live; "Update" validates again on the server and saves
//! only a valid key; the panel then shows what the saved key reaches, and below it the user's exact
//! Metrc permissions where a facility key may list them.

use crate::api::user_keys::{SetUserKey, user_key, validate_user_key_live};
use crate::components::error_message::ErrorMessage;
use crate::components::format::when;
use crate::components::key_help::KeyHelp;
use crate::components::live_validation::{KeyInput, LiveKeyCheck};
use crate::components::loading::Loading;
use crate::components::validation_panel::ValidationPanel;
use crate::types::facilities::facility_label;
use crate::types::key_validation::{KeyHolder, LiveValidation, Phase};
use crate::types::keys::KeyStatus;
use crate::types::user_keys::{LicensePermissions, SetUserKeyInput, UserKeyView};
use leptos::prelude::*;

#[component]
pub fn UserKeySection(
    /// The user whose key this is; `None` for the signed-in user (/profile).
    user_id: Option<i32>,
    /// An admin is looking (the user's page): they may confirm giving a user a facility key.
    #[prop(optional)]
    admin_view: bool,
) -> impl IntoView {
    let check = LiveKeyCheck::new(move |key: String| validate_user_key_live(user_id, key.into()));
    let live = check.live;
    let key = RwSignal::new(String::new());
    let confirm_facility_key = RwSignal::new(false);
    let save = ServerAction::<SetUserKey>::new();
    let stored = Resource::new(move || save.version().get(), move |_| user_key(user_id));

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
                },
            });
        }
    };
    // After a save the box clears; the panel shows what the saved key reaches.
    Effect::watch(
        move || save.version().get(),
        move |_, _, _| {
            if let Some(Ok(view)) = save.value().get_untracked() {
                key.set(String::new());
                confirm_facility_key.set(false);
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
            && let Some(validation) = view.validation
        {
            check.show(validation);
        }
    });

    view! {
        <section class="user-key" aria-labelledby="user-key-title">
            <h2 id="user-key-title">"Metrc API Key"</h2>
            <p class="lede">
                "Everything sent to Metrc with this key shows under this person's name. It is theirs alone: never a facility's key."
            </p>
            <Transition fallback=|| {
                view! { <Loading text="Loading the key…" /> }
            }>
                {move || Suspend::new(async move {
                    match stored.await {
                        Ok(view) => view! { <StoredKey view /> }.into_any(),
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    }
                })}
            </Transition>
            <form class="key-form" on:submit=update>
                <KeyInput
                    id="user-metrc-key"
                    label="Metrc API Key"
                    key
                    check
                    on_edit=Callback::new(move |()| {
                        confirm_facility_key.set(false);
                        if save.value().with_untracked(Option::is_some) {
                            save.value().set(None);
                        }
                    })
                />
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
