//! `/admin/metrc-submissions/<tab>`: "Metrc Submissions". Every submission: who made it, which
//! key carried it, whether that was compliant, where it stands and Metrc's answer; tabs, filters
//! (kept in the address, so a filtered view can be shared and exported), paging and "Export CSV".
//! A row opens its detail. With several states served, a "State" filter and column.

use crate::api::submissions::list_submissions;
use crate::api::users::list_users;
use crate::components::admin_page::{AdminPage, all_facilities};
use crate::components::error_message::ErrorMessage;
use crate::components::filters::{
    Choice, FilterSelect, StateFilter, facility_choices, name_in_state, served_states,
    several_states,
};
use crate::components::loading::Loading;
use crate::components::paging::{Pager, query_string, with_query};
use crate::components::submission_table::{SubmissionHead, SubmissionTableRow};
use crate::error::AppError;
use crate::types::inventory::Page;
use crate::types::keys::MetrcState;
use crate::types::submissions::{SubmissionFilter, SubmissionRow, SubmissionStatus, SubmissionTab};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};

/// Where the CSV export of a filter is served (admin only).
pub const EXPORT_PATH: &str = "/admin/metrc-submissions/export.csv";

#[component]
pub fn SubmissionsPage() -> impl IntoView {
    view! {
        <AdminPage>
            <Submissions />
        </AdminPage>
    }
}

/// The page's address for `filter`.
fn href(filter: &SubmissionFilter) -> String {
    let pairs: Vec<(&str, String)> = filter
        .to_pairs()
        .into_iter()
        .filter(|(k, _)| *k != "tab")
        .collect();
    with_query(
        &format!("/admin/metrc-submissions/{}", filter.tab.slug()),
        &pairs,
    )
}

#[component]
fn Submissions() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        let mut filter = query.with(|q| {
            SubmissionFilter::from_pairs(
                ["user", "license", "state", "status", "compliant", "page"]
                    .into_iter()
                    .filter_map(|name| q.get_str(name).map(|v| (name, v))),
            )
        });
        filter.tab = params
            .with(|p| p.get("tab").and_then(|t| SubmissionTab::from_slug(&t)))
            .unwrap_or_default();
        filter
    });
    let rows = Resource::new(move || filter.get(), list_submissions);
    let states = served_states();
    let export = move || {
        let mut all_pages = filter.get();
        all_pages.page = 0;
        format!("{EXPORT_PATH}?{}", query_string(&all_pages.to_pairs()))
    };
    view! {
        <Title text="Metrc Submissions" />
        <section class="page" aria-labelledby="submissions-title">
            <h1 id="submissions-title">"Metrc Submissions"</h1>
            <nav class="tabs" aria-label="Submission views">
                {SubmissionTab::ALL
                    .into_iter()
                    .map(|tab| {
                        let to = href(
                            &SubmissionFilter {
                                tab,
                                ..SubmissionFilter::default()
                            },
                        );
                        view! {
                            <A href=to attr:class="tab">
                                {tab.label()}
                            </A>
                        }
                    })
                    .collect_view()}
            </nav>
            <Filters filter states />
            <p>
                <a class="button secondary" href=export download="metrc-submissions.csv">
                    "Export CSV"
                </a>
            </p>
            <Transition fallback=|| {
                view! { <Loading text="Loading submissions…" /> }
            }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Ok(page) => {
                            let show_state = states
                                .await
                                .is_ok_and(|states| several_states(&states));
                            view! {
                                <SubmissionTable page filter=filter.get_untracked() show_state />
                            }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// User, facility, state (with several states served), status and compliance filters: a GET
/// form, so it works before hydration and the address always says what is shown.
#[component]
fn Filters(
    /// The filter in the address: its tab is where the form is sent, the rest preselect the
    /// choices.
    filter: Memo<SubmissionFilter>,
    /// The states the deployment serves: the "State" choice is shown only with more than one.
    states: Resource<Result<Vec<MetrcState>, AppError>>,
) -> impl IntoView {
    let users = Resource::new(|| (), |()| list_users());
    let facilities = all_facilities();
    let action = move || format!("/admin/metrc-submissions/{}", filter.get().tab.slug());
    view! {
        <Form method="GET" action=action attr:class="filters">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let users = users.await.unwrap_or_default();
                    let facilities = facilities.await.unwrap_or_default();
                    let states = states.await.unwrap_or_default();
                    let current = filter.get_untracked();
                    let users: Vec<Choice> = users
                        .into_iter()
                        .map(|user| (user.id.to_string(), user.name))
                        .collect();
                    let several = several_states(&states);
                    let facilities = facility_choices(
                        facilities
                            .into_iter()
                            .map(|f| {
                                let name = name_in_state(&f.name, &f.state, several);
                                (f.license_number, name)
                            }),
                    );
                    let statuses: Vec<Choice> = SubmissionStatus::ALL
                        .into_iter()
                        .map(|s| (s.as_str().to_owned(), s.label().to_owned()))
                        .collect();
                    let compliance = vec![
                        ("yes".to_owned(), "Compliant".to_owned()),
                        ("no".to_owned(), "Not compliant".to_owned()),
                    ];
                    let compliant = match current.compliant {
                        Some(true) => "yes",
                        Some(false) => "no",
                        None => "",
                    };
                    view! {
                        <FilterSelect
                            label="User"
                            name="user"
                            any="All users"
                            choices=users
                            current=current.user_id.map(|u| u.to_string()).unwrap_or_default()
                        />
                        <FilterSelect
                            label="Facility"
                            name="license"
                            any="All facilities"
                            choices=facilities
                            current=current.license.clone().unwrap_or_default()
                        />
                        <StateFilter states current=current.state.clone() />
                        <FilterSelect
                            label="Status"
                            name="status"
                            any="Any status"
                            choices=statuses
                            current=current
                                .status
                                .map(|s| s.as_str().to_owned())
                                .unwrap_or_default()
                        />
                        <FilterSelect
                            label="Compliance"
                            name="compliant"
                            any="Any"
                            choices=compliance
                            current=compliant.to_owned()
                        />
                    }
                })}
            </Transition>
            <button type="submit" class="secondary">
                "Apply filters"
            </button>
        </Form>
    }
}

#[component]
fn SubmissionTable(
    /// The submissions of this page that match the filter, and the total for the pager; no rows
    /// shows "No submissions match".
    page: Page<SubmissionRow>,
    /// The filter in the address (tab included), kept by the pager's links.
    filter: SubmissionFilter,
    /// A "State" column (the deployment serves several states).
    show_state: bool,
) -> impl IntoView {
    if page.rows.is_empty() {
        return view! { <p class="empty">"No submissions match."</p> }.into_any();
    }
    let (total, current, page_size) = (page.total(), page.page, page.page_size);
    let page_href = Callback::new(move |n: u32| {
        href(&SubmissionFilter {
            page: n,
            ..filter.clone()
        })
    });
    view! {
        <div class="table-wrap">
            <table class="records submissions">
                <caption class="visually-hidden">"Submissions"</caption>
                <SubmissionHead show_user=true show_state />
                <tbody>
                    {page
                        .rows
                        .into_iter()
                        .map(|row| view! { <SubmissionTableRow row show_user=true show_state /> })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total page=current page_size noun=["submission", "submissions"] href=page_href />
    }
    .into_any()
}
