//! The header: product name, navigation (with the Admin menu for admins), who is signed in, and
//! "Sign out".

use crate::components::auth::use_auth;
use leptos::prelude::*;
use leptos_router::components::A;

/// The admin pages that exist, in menu order.
pub const ADMIN_PAGES: &[(&str, &str)] = &[
    ("/admin/facilities", "Facility Management"),
    ("/admin/integrations", "Integrations"),
    ("/admin/users", "User Management"),
    ("/admin/metrc-submissions/all", "Metrc Submissions"),
];

/// The work screens, for everyone signed in.
pub const WORK_PAGES: &[(&str, &str)] = &[
    ("/inventory/packages", "Packages"),
    ("/inventory/plants", "Plants"),
];

#[component]
pub fn Header() -> impl IntoView {
    let auth = use_auth();
    // The Admin menu is a <details>: picking an entry closes it, so it does not stay open over
    // the page it just led to.
    let menu = NodeRef::<leptos::html::Details>::new();
    let close_menu = move |_| {
        if let Some(details) = menu.get_untracked() {
            details.set_open(false);
        }
    };
    view! {
        <header class="app-header">
            <A href="/" attr:class="brand">
                "Tracekeeper"
            </A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    auth.user
                        .await
                        .ok()
                        .flatten()
                        .map(|user| {
                            let is_admin = user.is_admin();
                            view! {
                                <nav class="app-nav" aria-label="Main">
                                    {WORK_PAGES
                                        .iter()
                                        .map(|(href, label)| {
                                            view! {
                                                <A href=*href attr:class="nav-link">
                                                    {*label}
                                                </A>
                                            }
                                        })
                                        .collect_view()}
                                    <Show when=move || is_admin>
                                        <details class="menu" node_ref=menu>
                                            <summary>"Admin"</summary>
                                            <ul role="list" on:click=close_menu>
                                                {ADMIN_PAGES
                                                    .iter()
                                                    .map(|(href, label)| {
                                                        view! {
                                                            <li>
                                                                <A href=*href>{*label}</A>
                                                            </li>
                                                        }
                                                    })
                                                    .collect_view()}
                                            </ul>
                                        </details>
                                    </Show>
                                </nav>
                                <div class="who">
                                    <span class="user-name" title=user.email.clone()>
                                        {user.name.clone()}
                                    </span>
                                    <A href="/profile" attr:class="profile-link">
                                        "Profile"
                                    </A>
                                    <ActionForm action=auth.logout>
                                        <button type="submit" class="secondary">
                                            "Sign out"
                                        </button>
                                    </ActionForm>
                                </div>
                            }
                        })
                })}
            </Transition>
        </header>
    }
}
