//! `/admin/users/:id`: one user, titled with their name. Edit their profile ("Save"), their own
//! Metrc key (the user-key section: it only ever sets this user's key, docs/design.md §5), and
//! "Deactivate" (with a confirmation that says what happens) or "Reactivate".

use crate::api::users::{DeactivateUser, ReactivateUser, UpdateUser, get_user};
use crate::components::admin_page::AdminPage;
use crate::components::auth::use_auth;
use crate::components::error_message::ErrorMessage;
use crate::components::loading::Loading;
use crate::components::user_form::UserForm;
use crate::components::user_key::UserKeySection;
use crate::error::AppError;
use crate::pages::not_found::NotFound;
use crate::types::auth::Role;
use crate::types::users::{UserDetail, UserInput};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn UserPage() -> impl IntoView {
    view! {
        <AdminPage>
            <UserScreen />
        </AdminPage>
    }
}

/// The page's actions, shared by its parts.
#[derive(Clone, Copy)]
struct Actions {
    save: ServerAction<UpdateUser>,
    deactivate: ServerAction<DeactivateUser>,
    reactivate: ServerAction<ReactivateUser>,
}

#[component]
fn UserScreen() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|v| v.parse::<i32>().ok())));
    move || match id.get() {
        Some(id) => view! { <UserScreenFor id /> }.into_any(),
        None => view! { <NotFound /> }.into_any(),
    }
}

/// The page of user `id`.
///
/// The key section is created with the page, not once the user has loaded: a resource created
/// after an await would be numbered differently on the server (which may render an admin page's
/// body more than once while the sign-in check resolves) than in the browser, and hydration
/// would fail.
#[component]
fn UserScreenFor(
    /// The user's id from the address: the user, their key section and the account actions are
    /// for them.
    id: i32,
) -> impl IntoView {
    let actions = Actions {
        save: ServerAction::<UpdateUser>::new(),
        deactivate: ServerAction::<DeactivateUser>::new(),
        reactivate: ServerAction::<ReactivateUser>::new(),
    };
    let user = Resource::new(|| (), move |()| get_user(id));
    // After a successful change the page shows the stored user (a failed "Save" keeps what was
    // typed).
    Effect::watch(
        move || actions.save.version().get(),
        move |_, _, _| {
            if matches!(actions.save.value().get_untracked(), Some(Ok(_))) {
                user.refetch();
            }
        },
        false,
    );
    Effect::watch(
        move || {
            (
                actions.deactivate.version().get(),
                actions.reactivate.version().get(),
            )
        },
        move |_, _, _| user.refetch(),
        false,
    );
    let auth = use_auth();
    let me = move || async move { auth.user.await.ok().flatten().map(|u| u.id) };
    view! {
        <section class="page" aria-labelledby="user-title">
            <p class="back">
                <A href="/admin/users" exact=true>
                    "Back to User Management"
                </A>
            </p>
            <Transition fallback=|| {
                view! { <Loading text="Loading user…" /> }
            }>
                {move || Suspend::new(async move {
                    let me = me().await;
                    match user.await {
                        Ok(detail) => {
                            let is_me = me == Some(detail.id);
                            view! { <UserProfile detail is_me save=actions.save /> }.into_any()
                        }
                        Err(AppError::NotFound) => {
                            // Hides the rest of the page (CSS: `.user-missing ~ *`).
                            view! {
                                <div class="user-missing">
                                    <NotFound />
                                </div>
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    }
                })}
            </Transition>
            <UserKeySection user_id=Some(id) admin_view=true />
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let me = me().await;
                    user.await
                        .ok()
                        .map(|detail| {
                            let is_me = me == Some(detail.id);
                            view! { <AccountStatus detail is_me actions /> }
                        })
                })}
            </Transition>
        </section>
    }
}

fn input_of(detail: &UserDetail) -> UserInput {
    UserInput {
        name: detail.name.clone(),
        email: detail.email.clone(),
        role: detail.role,
        all_facilities: detail.all_facilities,
        facilities: detail.facilities.clone(),
        can_submit: detail.can_submit,
        requires_review: detail.requires_review,
        password: None,
    }
}

/// The user's name as the page title, what they are, and the profile form ("Save").
#[component]
fn UserProfile(
    /// The stored user: name (the title), email, role, whether active, and the form's first
    /// values.
    detail: UserDetail,
    /// The admin is looking at themselves: the role is locked (they cannot drop their own Admin
    /// role).
    is_me: bool,
    /// Dispatched by "Save" with what was typed; its result shows below the form.
    save: ServerAction<UpdateUser>,
) -> impl IntoView {
    let id = detail.id;
    let saved = move || {
        save.value().get().map(|result| match result {
            Ok(_) => view! {
                <p class="success" role="status">
                    "Saved."
                </p>
            }
            .into_any(),
            Err(error) => view! { <ErrorMessage error /> }.into_any(),
        })
    };
    let status = if detail.active {
        view! { <span class="badge badge-ok">"Active"</span> }.into_any()
    } else {
        view! { <span class="badge badge-off">"Deactivated"</span> }.into_any()
    };
    view! {
        <Title text=detail.name.clone() />
        <h1 id="user-title">{detail.name.clone()}</h1>
        <p class="muted user-meta">
            {detail.email.clone()} " · " {detail.role.label()} " · " {status}
        </p>
        <UserForm
            initial=input_of(&detail)
            lock_role=is_me && detail.role == Role::Admin
            submit_label="Save"
            pending_label="Saving…"
            pending=save.pending()
            on_submit=Callback::new(move |input| {
                save.dispatch(UpdateUser { id, input });
            })
        />
        {saved}
    }
}

/// "Deactivate" (after a confirmation that says what happens) or "Reactivate".
#[component]
fn AccountStatus(
    /// The user: whether active picks "Deactivate" or "Reactivate"; the confirmation names them.
    detail: UserDetail,
    /// The admin is looking at themselves: no "Deactivate", only a note why.
    is_me: bool,
    /// The page's actions: "Deactivate" and "Reactivate" dispatch theirs, and a failure of either
    /// shows here.
    actions: Actions,
) -> impl IntoView {
    let Actions {
        deactivate,
        reactivate,
        ..
    } = actions;
    let id = detail.id;
    let confirming = RwSignal::new(false);
    // The confirmation replaces the button that opened it: focus moves to its safe choice.
    let cancel = NodeRef::<leptos::html::Button>::new();
    let ask = move |_| {
        confirming.set(true);
        request_animation_frame(move || {
            if let Some(button) = cancel.get_untracked() {
                let _ = button.focus();
            }
        });
    };
    let outcome = move || {
        let failed = |v: Option<Result<UserDetail, AppError>>| v.and_then(Result::err);
        failed(deactivate.value().get())
            .or_else(|| failed(reactivate.value().get()))
            .map(|error| view! { <ErrorMessage error /> })
    };
    let body = if is_me {
        view! { <p class="muted">"You cannot deactivate your own account. Another admin can."</p> }
            .into_any()
    } else if detail.active {
        let name = detail.name.clone();
        view! {
            <Show
                when=move || confirming.get()
                fallback=move || {
                    view! {
                        <button type="button" class="danger" on:click=ask>
                            "Deactivate"
                        </button>
                    }
                }
            >
                <div class="confirm" role="alertdialog" aria-labelledby="deactivate-text">
                    <p id="deactivate-text">
                        {format!(
                            "Deactivate {name}? They are signed out everywhere at once and cannot sign in. Their stored Metrc key is deleted (the audit log keeps that it happened). Their queued submissions are held until an admin decides what happens to them. Their history stays.",
                        )}
                    </p>
                    <button
                        type="button"
                        class="danger"
                        disabled=move || deactivate.pending().get()
                        on:click=move |_| {
                            confirming.set(false);
                            deactivate.dispatch(DeactivateUser { id });
                        }
                    >
                        "Yes, deactivate"
                    </button>
                    <button
                        type="button"
                        class="secondary"
                        node_ref=cancel
                        on:click=move |_| confirming.set(false)
                    >
                        "Cancel"
                    </button>
                </div>
            </Show>
        }
        .into_any()
    } else {
        view! {
            <p>
                "This user is deactivated: they cannot sign in. Reactivating lets them sign in again with their old password; they will need a new Metrc key."
            </p>
            <button
                type="button"
                disabled=move || reactivate.pending().get()
                on:click=move |_| {
                    reactivate.dispatch(ReactivateUser { id });
                }
            >
                "Reactivate"
            </button>
        }
        .into_any()
    };
    view! {
        <section class="account-status" aria-labelledby="account-title">
            <h2 id="account-title">"Account"</h2>
            {body}
            {outcome}
        </section>
    }
}
