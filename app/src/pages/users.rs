//! `/admin/users`: "User Management". Every user with their role, whether they may submit to
//! Metrc and the status of their own Metrc key; a banner counts the users who would submit under
//! the facility key owner's name (not compliant) and links to them (`?filter=no-key`).
//!
//! A deployment serving several states (one Metrc each) shows each user's key status in every
//! state they work in ("Missing in MI"); a user missing a key in one of them is counted as not
//! compliant.

use crate::api::users::list_users;
use crate::components::admin_page::AdminPage;
use crate::components::error_message::ErrorMessage;
use crate::components::format::when;
use crate::components::loading::Loading;
use crate::components::metrc_states::status_in_state;
use crate::types::key_validation::plural;
use crate::types::keys::KeyStatus;
use crate::types::users::{FILTER_NO_KEY, UserSummary};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <AdminPage>
            <Users />
        </AdminPage>
    }
}

/// The link to the users who would submit without a valid key of their own.
fn no_key_href() -> String {
    format!("/admin/users?filter={FILTER_NO_KEY}")
}

#[component]
fn Users() -> impl IntoView {
    let query = use_query_map();
    let only_no_key =
        Memo::new(move |_| query.with(|q| q.get("filter").as_deref() == Some(FILTER_NO_KEY)));
    let users = Resource::new(|| (), |()| list_users());
    view! {
        <Title text="User Management" />
        <section class="page" aria-labelledby="users-title">
            <div class="page-head">
                <h1 id="users-title">"User Management"</h1>
                <A href="/admin/users/new" attr:class="button">
                    "Add user"
                </A>
            </div>
            <Transition fallback=|| {
                view! { <Loading text="Loading users…" /> }
            }>
                {move || {
                    let only_no_key = only_no_key.get();
                    Suspend::new(async move {
                        match users.await {
                            Ok(rows) => view! { <UserList rows only_no_key /> }.into_any(),
                            Err(error) => view! { <ErrorMessage error /> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </section>
    }
}

/// The banner, the filter note and the table.
#[component]
fn UserList(
    /// Every user; the banner counts those who would submit without a valid key of their own.
    rows: Vec<UserSummary>,
    /// The address has `?filter=no-key`: only users who would submit without a valid key of
    /// their own are listed, and the banner does not link to them again.
    only_no_key: bool,
) -> impl IntoView {
    let non_compliant = rows.iter().filter(|u| u.non_compliant()).count();
    let banner = (non_compliant > 0).then(|| {
        let text = format!(
            "{non_compliant} {} will submit under the facility key owner's name. This is not compliant.",
            plural(non_compliant, "user", "users")
        );
        view! {
            <div class="banner banner-danger" role="alert">
                <p>
                    {text} " "
                    {(!only_no_key)
                        .then(|| view! { <A href=no_key_href()>"Show who has no valid key"</A> })}
                </p>
            </div>
        }
    });
    let shown: Vec<UserSummary> = if only_no_key {
        rows.into_iter()
            .filter(UserSummary::non_compliant)
            .collect()
    } else {
        rows
    };
    let filter_note = only_no_key.then(|| {
        let n = shown.len();
        let text = if n == 0 {
            "Every user who can submit to Metrc has a valid key of their own.".to_owned()
        } else {
            format!(
                "Showing only the {n} {} who can submit to Metrc without a valid key of their own.",
                plural(n, "user", "users")
            )
        };
        view! {
            <p class="filter-note" role="status">
                {text}
                " "
                <A href="/admin/users">"Show all users"</A>
            </p>
        }
    });
    let table = (!shown.is_empty()).then(|| view! { <UserTable rows=shown /> });
    view! {
        {banner}
        {filter_note}
        {table}
    }
}

#[component]
fn UserTable(
    /// The users listed, one row each (never empty).
    rows: Vec<UserSummary>,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="records users">
                <caption class="visually-hidden">"Users"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Email"</th>
                        <th scope="col">"Role"</th>
                        <th scope="col">"Can submit to Metrc"</th>
                        <th scope="col">"Metrc key"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|user| view! { <UserRow user /> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn UserRow(
    /// The user: name (linking to their page), email, role, whether they may submit to Metrc,
    /// their key's status (with several states, in each state they work in), and whether
    /// active; marked when not compliant.
    user: UserSummary,
) -> impl IntoView {
    let non_compliant = user.non_compliant();
    let href = format!("/admin/users/{}", user.id);
    let submit = match (user.can_submit, user.requires_review) {
        (true, true) => "Yes, with review",
        (true, false) => "Yes",
        (false, _) => "No",
    };
    let status_class = |status: KeyStatus| match status {
        KeyStatus::Valid => "status status-ok",
        KeyStatus::Invalid => "status status-danger",
        KeyStatus::Missing if non_compliant => "status status-danger",
        KeyStatus::Missing | KeyStatus::Unvalidated => "status",
    };
    let checked = match user.key_status {
        KeyStatus::Missing => None,
        KeyStatus::Unvalidated => Some("Not validated yet".to_owned()),
        KeyStatus::Valid | KeyStatus::Invalid => Some(format!(
            "Last validated {}",
            when(user.key_last_validated_at)
        )),
    };
    let note = non_compliant.then_some("Not compliant");
    // One state: the key's status. Several: a chip per state they work in ("Missing in MI").
    let statuses = if user.key_states.is_empty() {
        view! { <span class=status_class(user.key_status)>{user.key_status.label()}</span> }
            .into_any()
    } else {
        view! {
            <ul class="state-statuses" aria-label="Metrc key by state">
                {user
                    .key_states
                    .iter()
                    .map(|key| {
                        view! {
                            <li class=format!(
                                "chip {}",
                                status_class(key.status),
                            )>{status_in_state(key)}</li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <tr class:row-warn=non_compliant class:row-inactive=!user.active>
            <th scope="row">
                <A href=href>{user.name}</A>
            </th>
            <td data-label="Email">{user.email}</td>
            <td data-label="Role">{user.role.label()}</td>
            <td data-label="Can submit to Metrc">{submit}</td>
            <td data-label="Metrc key">
                {statuses} {checked.map(|text| view! { <span class="note">{text}</span> })}
                {note.map(|text| view! { <span class="note note-warn">{text}</span> })}
            </td>
            <td data-label="Status">{if user.active { "Active" } else { "Deactivated" }}</td>
        </tr>
    }
}
