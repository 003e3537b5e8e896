//! `/profile`: "Profile", for any signed-in user. Their name and email, their own Metrc key, and
//! "Change password".

use crate::api::profile::ChangePassword;
use crate::components::auth::{RequireRole, use_auth};
use crate::components::error_message::ErrorMessage;
use crate::components::user_key::UserKeySection;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ProfilePage() -> impl IntoView {
    view! {
        <RequireRole changes_password=true>
            <Profile />
        </RequireRole>
    }
}

#[component]
fn Profile() -> impl IntoView {
    let auth = use_auth();
    let user = move || auth.user.get().and_then(Result::ok).flatten();
    // Until a generated password is changed, the server refuses everything else (the key too).
    let must_change = move || user().is_some_and(|u| u.must_change_password);
    view! {
        <Title text="Profile" />
        <section class="page" aria-labelledby="profile-title">
            <h1 id="profile-title">"Profile"</h1>
            <Show when=must_change>
                <div class="banner banner-warn" role="alert">
                    "Your password was generated when Tracekeeper was set up. Change it below before doing anything else."
                </div>
            </Show>
            <dl class="facts">
                <dt>"Name"</dt>
                <dd>{move || user().map(|u| u.name).unwrap_or_default()}</dd>
                <dt>"Email"</dt>
                <dd>{move || user().map(|u| u.email).unwrap_or_default()}</dd>
                <dt>"Role"</dt>
                <dd>{move || user().map(|u| u.role.label()).unwrap_or_default()}</dd>
            </dl>
            <Show when=move || !must_change()>
                <UserKeySection user_id=None />
            </Show>
            <ChangePasswordForm />
        </section>
    }
}

/// "Change password": the current one, then the new one.
#[component]
fn ChangePasswordForm() -> impl IntoView {
    let auth = use_auth();
    let change = ServerAction::<ChangePassword>::new();
    let form = NodeRef::<leptos::html::Form>::new();
    // After a change the fields empty, so the passwords do not linger on screen.
    Effect::watch(
        move || change.version().get(),
        move |_, _, _| {
            if !matches!(change.value().get_untracked(), Some(Ok(()))) {
                return;
            }
            if let Some(form) = form.get_untracked() {
                form.reset();
            }
            // A pending password change is now done: the rest of the app opens. (Only then: the
            // refetch rebuilds the page, and the success line above goes with it.)
            let was_pending = auth
                .user
                .get_untracked()
                .and_then(Result::ok)
                .flatten()
                .is_some_and(|u| u.must_change_password);
            if was_pending {
                auth.user.refetch();
            }
        },
        false,
    );
    let outcome = move || {
        change.value().get().map(|result| match result {
            Ok(()) => view! {
                <p class="success" role="status">
                    "Password changed. Your other sessions were signed out."
                </p>
            }
            .into_any(),
            Err(error) => view! { <ErrorMessage error /> }.into_any(),
        })
    };
    view! {
        <section class="change-password" aria-labelledby="password-title">
            <h2 id="password-title">"Change password"</h2>
            <ActionForm action=change node_ref=form attr:class="stack narrow-form">
                <label for="current-password">"Current password"</label>
                <input
                    id="current-password"
                    type="password"
                    name="current"
                    autocomplete="current-password"
                    required
                />
                <label for="new-password">"New password"</label>
                <input
                    id="new-password"
                    type="password"
                    name="new"
                    autocomplete="new-password"
                    minlength="12"
                    required
                    aria-describedby="new-password-hint"
                />
                <p id="new-password-hint" class="hint">
                    "At least 12 characters."
                </p>
                <button type="submit" disabled=move || change.pending().get()>
                    {move || if change.pending().get() { "Changing…" } else { "Change password" }}
                </button>
            </ActionForm>
            {outcome}
        </section>
    }
}
