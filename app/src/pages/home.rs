//! The landing page after sign-in.

use crate::components::auth::{RequireRole, use_auth};
use crate::components::user_key::KeyNotice;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <RequireRole>
            <Home />
        </RequireRole>
    }
}

#[component]
fn Home() -> impl IntoView {
    let auth = use_auth();
    let user = move || auth.user.get().and_then(std::result::Result::ok).flatten();
    view! {
        <Title text="Home" />
        <KeyNotice />
        <section class="page" aria-labelledby="home-title">
            <h1 id="home-title">
                "Welcome, " {move || user().map(|u| u.name).unwrap_or_default()}
            </h1>
            <p>
                "Tracekeeper keeps your Metrc connection healthy and every submission attributed."
            </p>
            <Show when=move || user().is_some_and(|u| u.is_admin())>
                <ul class="cards" role="list">
                    <li>
                        <A href="/admin/facilities">"Facility Management"</A>
                        <p>"Every facility, its Metrc key and whether it syncs."</p>
                    </li>
                    <li>
                        <A href="/admin/integrations">"Integrations"</A>
                        <p>"Paste a facility key, check it against Metrc, assign it."</p>
                    </li>
                    <li>
                        <A href="/admin/users">"User Management"</A>
                        <p>"Who can sign in, and with which role."</p>
                    </li>
                </ul>
            </Show>
        </section>
    }
}
