//! The end of every work form: what will happen before anything is queued (the pre-flight: which
//! key carries it, a missing Metrc permission named exactly, review by an admin), the
//! confirmation a fallback to the facility key needs, "Submit to Metrc", and the result.
//!
//! Every submit of the form carries its submission token ([`NewSubmission::submit_token`]): made
//! at the first "Submit to Metrc", sent again by every later submit until a submission is
//! stored (a retry after an error or a lost answer, a double click), then dropped so the next
//! submission gets a new one. The server stores a token once per user (docs/decisions.md, "A
//! submission is submitted once").

use crate::api::submissions::{Submit, preflight_submission};
use crate::components::error_message::ErrorMessage;
use crate::components::loading::Loading;
use crate::types::submissions::{
    ActionInput, NewSubmission, SUBMIT_TOKEN_CHARS, SubmissionAction, SubmissionRow,
};
use leptos::prelude::*;

#[component]
pub fn SubmitBox(
    /// License number of the facility the submission is for: the pre-flight checks the user's
    /// key and permissions there, and the submission is queued for it.
    license: String,
    /// What is submitted (adjust, finish, change location, record waste): the pre-flight names
    /// the Metrc permission it needs if the key lacks it.
    action: SubmissionAction,
    /// Builds the request from the form, or says what to fix (checked before anything is sent).
    request: Callback<(), Result<ActionInput, String>>,
    /// Called with the stored submission once it is queued.
    #[prop(optional)]
    on_queued: Option<Callback<SubmissionRow>>,
) -> impl IntoView {
    let preflight = {
        let license = license.clone();
        Resource::new(
            move || (license.clone(), action),
            |(license, action)| preflight_submission(license, action),
        )
    };
    let confirmed = RwSignal::new(false);
    let invalid = RwSignal::new(None::<String>);
    let submit = ServerAction::<Submit>::new();
    let license = StoredValue::new(license);
    // This form's submission token, until a submission is stored with it.
    let token = StoredValue::new(None::<String>);
    Effect::watch(
        move || submit.version().get(),
        move |_, _, _| {
            if let Some(Ok(row)) = submit.value().get_untracked() {
                token.set_value(None);
                if let Some(on_queued) = on_queued {
                    on_queued.run(row);
                }
            }
        },
        false,
    );
    let send = move |_| {
        invalid.set(None);
        let input = match request.run(()) {
            Ok(input) => input,
            Err(message) => return invalid.set(Some(message)),
        };
        let submit_token = match token.get_value() {
            Some(kept) => kept,
            None => match new_token() {
                Ok(made) => {
                    token.set_value(Some(made.clone()));
                    made
                }
                Err(message) => return invalid.set(Some(message)),
            },
        };
        submit.dispatch(Submit {
            input: NewSubmission {
                license: license.get_value(),
                input,
                confirm_facility_key: confirmed.get_untracked(),
                submit_token,
            },
        });
    };
    view! {
        <Transition fallback=|| {
            view! { <Loading text="Checking your Metrc key…" /> }
        }>
            {move || Suspend::new(async move {
                match preflight.await {
                    Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    Ok(check) => {
                        let blocked = check.blocked.clone();
                        let warning = check.warning.clone();
                        let needs_confirm = warning.is_some();
                        let can_send = move || {
                            blocked.is_none() && (!needs_confirm || confirmed.get())
                                && !submit.pending().get()
                        };
                        view! {
                            {check
                                .key_used
                                .as_ref()
                                .map(|k| {
                                    view! {
                                        <p class="note">{format!("Sent with: {}", k.label())}</p>
                                    }
                                })}
                            {check
                                .blocked
                                .clone()
                                .map(|why| {
                                    view! {
                                        <p class="error" role="alert">
                                            {why}
                                        </p>
                                    }
                                })}
                            {check
                                .needs_approval
                                .then(|| {
                                    view! {
                                        <p class="note">
                                            "An admin reviews your submissions before they are sent to Metrc."
                                        </p>
                                    }
                                })}
                            {warning
                                .map(|text| {
                                    view! {
                                        <div class="override" role="alert">
                                            <p>{text}</p>
                                        </div>
                                        <label class="choice">
                                            <input
                                                type="checkbox"
                                                prop:checked=move || confirmed.get()
                                                on:change=move |ev| confirmed.set(event_target_checked(&ev))
                                            />
                                            "I understand, submit anyway"
                                        </label>
                                    }
                                })}
                            <button
                                type="button"
                                class="primary"
                                disabled=move || !can_send()
                                on:click=send
                            >
                                {move || {
                                    if submit.pending().get() {
                                        "Submitting…"
                                    } else {
                                        "Submit to Metrc"
                                    }
                                }}
                            </button>
                        }
                            .into_any()
                    }
                }
            })}
        </Transition>
        {move || {
            invalid
                .get()
                .map(|message| {
                    view! {
                        <p class="error" role="alert">
                            {message}
                        </p>
                    }
                })
        }}
        {move || {
            submit
                .value()
                .get()
                .map(|result| match result {
                    Ok(row) => {
                        view! {
                            <p class="success" role="status">
                                {format!(
                                    "Submission stored: {}. {}",
                                    row.status.label(),
                                    row.key_used.label(),
                                )}
                            </p>
                        }
                            .into_any()
                    }
                    Err(error) => view! { <ErrorMessage error /> }.into_any(),
                })
        }}
    }
}

/// A new submission token: [`SUBMIT_TOKEN_CHARS`] lowercase hex digits, 128 bits from the
/// browser's `crypto.getRandomValues` (available on plain `http` too, unlike `randomUUID`).
/// `Err` says what to do when the browser has no such source.
fn new_token() -> Result<String, String> {
    let bytes = random_bytes()?;
    let token = bytes.iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(hex, "{b:02x}");
        hex
    });
    debug_assert_eq!(token.len(), SUBMIT_TOKEN_CHARS);
    Ok(token)
}

#[cfg(feature = "hydrate")]
fn random_bytes() -> Result<[u8; SUBMIT_TOKEN_CHARS / 2], String> {
    let mut bytes = [0u8; SUBMIT_TOKEN_CHARS / 2];
    web_sys::window()
        .and_then(|window| window.crypto().ok())
        .and_then(|crypto| crypto.get_random_values_with_u8_array(&mut bytes).ok())
        .ok_or_else(|| {
            "This browser cannot make the random number a submission needs: use a current browser."
                .to_owned()
        })?;
    Ok(bytes)
}

/// Only the browser submits the form (the button works once the page is hydrated).
#[cfg(not(feature = "hydrate"))]
fn random_bytes() -> Result<[u8; SUBMIT_TOKEN_CHARS / 2], String> {
    Err("Submitting needs the page to finish loading: wait a moment and try again.".to_owned())
}
