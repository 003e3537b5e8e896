//! The end of every work form: what will happen before anything is queued (the pre-flight: which
//! key carries it, a missing Metrc permission named exactly, review by an admin), the
//! confirmation a fallback to the facility key needs, "Submit to Metrc", and the result.

use crate::api::submissions::{Submit, preflight_submission};
use crate::components::error_message::ErrorMessage;
use crate::types::submissions::{ActionInput, NewSubmission, SubmissionAction, SubmissionRow};
use leptos::prelude::*;

#[component]
pub fn SubmitBox(
    license: String,
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
    Effect::watch(
        move || submit.version().get(),
        move |_, _, _| {
            if let (Some(Ok(row)), Some(on_queued)) = (submit.value().get_untracked(), on_queued) {
                on_queued.run(row);
            }
        },
        false,
    );
    let send = move |_| {
        invalid.set(None);
        match request.run(()) {
            Ok(input) => {
                submit.dispatch(Submit {
                    input: NewSubmission {
                        license: license.get_value(),
                        input,
                        confirm_facility_key: confirmed.get_untracked(),
                    },
                });
            }
            Err(message) => invalid.set(Some(message)),
        }
    };
    view! {
        <Transition fallback=|| view! { <p class="loading" role="status">"Checking your Metrc key…"</p> }>
            {move || Suspend::new(async move {
                match preflight.await {
                    Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    Ok(check) => {
                        let blocked = check.blocked.clone();
                        let warning = check.warning.clone();
                        let needs_confirm = warning.is_some();
                        let can_send = move || {
                            blocked.is_none() && (!needs_confirm || confirmed.get()) && !submit.pending().get()
                        };
                        view! {
                            {check.key_used.as_ref().map(|k| view! { <p class="note">{format!("Sent with: {}", k.label())}</p> })}
                            {check.blocked.clone().map(|why| view! { <p class="error" role="alert">{why}</p> })}
                            {check.needs_approval.then(|| view! { <p class="note">"An admin reviews your submissions before they are sent to Metrc."</p> })}
                            {warning.map(|text| view! {
                                <div class="override" role="alert">
                                    <p>{text}</p>
                                </div>
                                <label class="choice">
                                    <input type="checkbox" prop:checked=move || confirmed.get() on:change=move |ev| confirmed.set(event_target_checked(&ev)) />
                                    "I understand, submit anyway"
                                </label>
                            })}
                            <button type="button" class="primary" disabled=move || !can_send() on:click=send>
                                {move || if submit.pending().get() { "Submitting…" } else { "Submit to Metrc" }}
                            </button>
                        }
                        .into_any()
                    }
                }
            })}
        </Transition>
        {move || invalid.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
        {move || {
            submit.value().get().map(|result| match result {
                Ok(row) => view! {
                    <p class="success" role="status">
                        {format!("Submission stored: {}. {}", row.status.label(), row.key_used.label())}
                    </p>
                }
                .into_any(),
                Err(error) => view! { <ErrorMessage error /> }.into_any(),
            })
        }}
    }
}
