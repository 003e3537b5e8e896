//! `/admin/users`: "User Management".

use crate::api::users::list_users;
use crate::components::admin_page::AdminPage;
use crate::components::error_message::ErrorMessage;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <AdminPage>
            <Users />
        </AdminPage>
    }
}

#[component]
fn Users() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <Title text="User Management" />
        <section class="page" aria-labelledby="users-title">
            <h1 id="users-title">"User Management"</h1>
            <Suspense fallback=|| view! { <p class="loading" role="status">"Loading users…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(rows) => {
                            view! {
                                <div class="table-wrap">
                                    <table>
                                        <caption class="visually-hidden">"Users"</caption>
                                        <thead>
                                            <tr>
                                                <th scope="col">"Name"</th>
                                                <th scope="col">"Email"</th>
                                                <th scope="col">"Role"</th>
                                                <th scope="col">"Can submit to Metrc"</th>
                                                <th scope="col">"Status"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {rows
                                                .into_iter()
                                                .map(|u| {
                                                    view! {
                                                        <tr>
                                                            <td>{u.name}</td>
                                                            <td>{u.email}</td>
                                                            <td>{u.role.label()}</td>
                                                            <td>{if u.can_submit { "Yes" } else { "No" }}</td>
                                                            <td>{if u.active { "Active" } else { "Deactivated" }}</td>
                                                        </tr>
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <ErrorMessage error=e /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
