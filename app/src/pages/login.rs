//! `/login`: "Sign in".

use crate::components::auth::use_auth;
use crate::components::error_message::ErrorMessage;
use crate::components::hydration::HydratedMarker;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = use_auth();
    let error = move || auth.login.value().get().and_then(std::result::Result::err);
    view! {
        <Title text="Sign in" />
        <section class="page narrow" aria-labelledby="login-title">
            <h1 id="login-title">"Sign in"</h1>
            <ActionForm action=auth.login attr:class="stack">
                <label for="login-email">"Email"</label>
                <input
                    id="login-email"
                    type="email"
                    name="email"
                    autocomplete="username"
                    required
                />
                <label for="login-password">"Password"</label>
                <input
                    id="login-password"
                    type="password"
                    name="password"
                    autocomplete="current-password"
                    required
                />
                {move || error().map(|e| view! { <ErrorMessage error=e /> })}
                <button type="submit" disabled=move || auth.login.pending().get()>
                    "Sign in"
                </button>
            </ActionForm>
        </section>
        <HydratedMarker />
    }
}
