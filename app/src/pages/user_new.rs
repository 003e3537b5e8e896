//! `/admin/users/new`: "Add user". On success the browser goes to the new user's page, where the
//! admin can give them their Metrc key.

use crate::api::users::CreateUser;
use crate::components::admin_page::AdminPage;
use crate::components::error_message::ErrorMessage;
use crate::components::user_form::UserForm;
use crate::types::auth::Role;
use crate::types::users::UserInput;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::NavigateOptions;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

#[component]
pub fn NewUserPage() -> impl IntoView {
    view! {
        <AdminPage>
            <NewUser />
        </AdminPage>
    }
}

/// A new user: an employee at every facility, not (yet) submitting to Metrc.
fn defaults() -> UserInput {
    UserInput {
        name: String::new(),
        email: String::new(),
        role: Role::Employee,
        all_facilities: true,
        facilities: Vec::new(),
        can_submit: false,
        requires_review: false,
        password: None,
    }
}

#[component]
fn NewUser() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let navigate = use_navigate();
    Effect::watch(
        move || create.version().get(),
        move |_, _, _| {
            if let Some(Ok(user)) = create.value().get_untracked() {
                navigate(
                    &format!("/admin/users/{}", user.id),
                    NavigateOptions::default(),
                );
            }
        },
        false,
    );
    let failed = move || create.value().get().and_then(Result::err);
    view! {
        <Title text="Add user" />
        <section class="page" aria-labelledby="new-user-title">
            <p class="back">
                <A href="/admin/users" exact=true>
                    "Back to User Management"
                </A>
            </p>
            <h1 id="new-user-title">"Add user"</h1>
            <UserForm
                initial=defaults()
                with_password=true
                submit_label="Add user"
                pending_label="Adding…"
                pending=create.pending()
                on_submit=Callback::new(move |input| {
                    create.dispatch(CreateUser { input });
                })
            />
            {move || failed().map(|error| view! { <ErrorMessage error /> })}
        </section>
    }
}
