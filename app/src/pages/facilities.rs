//! `/admin/facilities`: "Facility Management". Every facility (searchable by name or license
//! number, 50 a page), its masked key, the key's status and age, and "Revalidate now". A facility
//! whose key Metrc refuses is shown red: its data no longer syncs until a valid key is set.
//! A deployment serving several states (one Metrc each) shows each facility's state.

use crate::api::facility_keys::{RevalidateFacility, search_facilities};
use crate::api::sync::SyncNow;
use crate::api::user_keys::metrc_states;
use crate::components::admin_page::{AdminPage, use_key_health};
use crate::components::error_message::ErrorMessage;
use crate::components::filters::{SearchField, query_page, query_text};
use crate::components::format::when;
use crate::components::loading::Loading;
use crate::components::metrc_states::{several, state_name};
use crate::components::paging::{Pager, with_query};
use crate::types::facilities::{FacilityFilter, FacilityRow};
use crate::types::inventory::SyncState;
use crate::types::keys::{KeyStatus, MetrcState};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

#[component]
pub fn FacilitiesPage() -> impl IntoView {
    view! {
        <AdminPage>
            <Facilities />
        </AdminPage>
    }
}

/// `/admin/facilities` with `filter` in its address.
fn facilities_href(filter: &FacilityFilter) -> String {
    let mut pairs = Vec::new();
    if let Some(search) = &filter.search {
        pairs.push(("search", search.clone()));
    }
    if filter.page > 0 {
        pairs.push(("page", filter.page.to_string()));
    }
    with_query("/admin/facilities", &pairs)
}

#[component]
fn Facilities() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        query.with(|q| FacilityFilter {
            search: query_text(q, "search"),
            page: query_page(q),
        })
    });
    let facilities = Resource::new(move || filter.get(), search_facilities);
    // With several states each row shows its facility's state.
    let states = Resource::new(|| (), |()| metrc_states());
    let health = use_key_health().0;
    let revalidate = ServerAction::<RevalidateFacility>::new();
    let sync_now = ServerAction::<SyncNow>::new();
    // After each "Revalidate now" or "Sync now", the table and the banner show the new status.
    Effect::watch(
        move || (revalidate.version().get(), sync_now.version().get()),
        move |_, _, _| {
            facilities.refetch();
            health.refetch();
        },
        false,
    );
    // While a facility of this page syncs, its row shows how far it is: look again every few
    // seconds.
    Effect::new(move |_| {
        let syncing = facilities
            .get()
            .and_then(Result::ok)
            .is_some_and(|page| page.rows.iter().any(|r| r.sync_state == SyncState::Running));
        if syncing
            && let Ok(handle) = set_timeout_with_handle(
                move || facilities.refetch(),
                std::time::Duration::from_secs(2),
            )
        {
            on_cleanup(move || handle.clear());
        }
    });
    let failed = move || {
        let revalidated = revalidate.value().get().and_then(std::result::Result::err);
        revalidated.or_else(|| sync_now.value().get().and_then(std::result::Result::err))
    };
    view! {
        <Title text="Facility Management" />
        <section class="page" aria-labelledby="facilities-title">
            <h1 id="facilities-title">"Facility Management"</h1>
            <p class="lede">
                "Each facility syncs with Metrc through its facility key. Keys are set on "
                <A href="/admin/integrations">"Integrations"</A> "."
            </p>
            <Form method="GET" action="/admin/facilities" attr:class="filters">
                <SearchField
                    label="Facility or license number"
                    name="search"
                    current=filter.get_untracked().search
                />
                <button type="submit" class="secondary">
                    "Search"
                </button>
            </Form>
            {move || failed().map(|error| view! { <ErrorMessage error /> })}
            <Transition fallback=|| {
                view! { <Loading text="Loading facilities…" /> }
            }>
                {move || Suspend::new(async move {
                    match facilities.await {
                        Ok(page) if page.total == 0 && filter.get_untracked().search.is_some() => {
                            view! {
                                <p class="empty" role="status">
                                    "No facility's name or license number contains that."
                                </p>
                            }
                                .into_any()
                        }
                        Ok(page) if page.total == 0 => {
                            view! {
                                <p class="empty">
                                    "No facilities yet. Paste the License Owner's key on "
                                    <A href="/admin/integrations">"Integrations"</A>
                                    " to add the licenses it reaches."
                                </p>
                            }
                                .into_any()
                        }
                        Ok(page) => {
                            let filter = filter.get_untracked();
                            let href = Callback::new(move |n| {
                                facilities_href(
                                    &FacilityFilter {
                                        page: n,
                                        ..filter.clone()
                                    },
                                )
                            });
                            let total = page.total();
                            let states = states.await.unwrap_or_default();
                            let states = several(&states).then_some(states);
                            view! {
                                <FacilityTable rows=page.rows states revalidate sync_now />
                                <Pager
                                    total
                                    page=page.page
                                    page_size=page.page_size
                                    noun=["facility", "facilities"]
                                    href
                                />
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

#[component]
fn FacilityTable(
    /// This page's facilities, one row each (never empty: the page says so instead).
    rows: Vec<FacilityRow>,
    /// The states the deployment serves when it serves several: a "State" column shows each
    /// facility's. `None` with one state: no such column.
    states: Option<Vec<MetrcState>>,
    /// "Revalidate now" of every row: checks a facility's key with Metrc again.
    revalidate: ServerAction<RevalidateFacility>,
    /// "Sync now" of every row: syncs a facility's data from Metrc now.
    sync_now: ServerAction<SyncNow>,
) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="records facilities">
                <caption class="visually-hidden">"Facilities and their Metrc keys"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Facility"</th>
                        <th scope="col">"License number"</th>
                        {states.is_some().then(|| view! { <th scope="col">"State"</th> })}
                        <th scope="col">"License type"</th>
                        <th scope="col">"Facility key"</th>
                        <th scope="col">"Key status"</th>
                        <th scope="col">"Last validated"</th>
                        <th scope="col">"Last sync"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows
                        .into_iter()
                        .map(|row| {
                            let state = states
                                .as_deref()
                                .map(|states| (row.state.clone(), state_name(states, &row.state)));
                            view! { <FacilityTableRow row state revalidate sync_now /> }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn FacilityTableRow(
    /// The facility: name, license, masked key with its owner and age, key status, last
    /// validation and last sync.
    row: FacilityRow,
    /// The facility's state code and name, for the "State" cell; `None` when the deployment
    /// serves one state (no such cell).
    state: Option<(String, String)>,
    /// Dispatched by "Revalidate now" (shown only when the facility has a key); the button says
    /// "Revalidating…" while it runs for this license.
    revalidate: ServerAction<RevalidateFacility>,
    /// Dispatched by "Sync now" (enabled only with a valid key); the button says "Syncing…"
    /// while it runs for this license or the facility's sync is running.
    sync_now: ServerAction<SyncNow>,
) -> impl IntoView {
    let invalid = row.key_status == KeyStatus::Invalid;
    let license = row.license_number.clone();
    let busy = {
        let license = license.clone();
        move || {
            revalidate.pending().get()
                && revalidate
                    .input()
                    .with(|input| input.as_ref().is_some_and(|i| i.license == license))
        }
    };
    let has_key = row.masked_key.is_some();
    let syncing = {
        let license = license.clone();
        let running = row.sync_state == SyncState::Running;
        move || {
            running
                || sync_now.pending().get()
                    && sync_now
                        .input()
                        .with(|input| input.as_ref().is_some_and(|i| i.license == license))
        }
    };
    let can_sync = row.key_status == KeyStatus::Valid;
    let sync_label = format!("Sync now: {}", row.license_number);
    let revalidate_label = format!("Revalidate now: {}", row.license_number);
    let status = match row.key_status {
        KeyStatus::Valid => view! { <span class="status status-ok">"Valid"</span> }.into_any(),
        KeyStatus::Invalid => view! { <span class="status status-danger">"Key invalid: data no longer syncs with Metrc"</span> }
        .into_any(),
        KeyStatus::Unvalidated => {
            view! { <span class="status">"Not checked yet"</span> }.into_any()
        }
        KeyStatus::Missing => view! {
            <span class="status status-danger">
                "No key: " <A href="/admin/integrations">"set one on Integrations"</A>
            </span>
        }
        .into_any(),
    };
    let age = row.key_age_days.map(|days| match days {
        0 => "set today".to_owned(),
        1 => "set 1 day ago".to_owned(),
        n => format!("set {n} days ago"),
    });
    let expiring = row.key_expiring.then(|| {
        let who = row
            .key_owner_name
            .clone().map_or_else(|| "the License Owner".into(), |name| format!("the License Owner ({name})"));
        format!(
            "Key is {} days old: Metrc lapses keys after about a year. Ask {who} to generate a new key.",
            row.key_age_days.unwrap_or_default()
        )
    });
    let not_owner = (row.key_is_owner == Some(false))
        .then_some("Not the License Owner's key (override recorded in the audit log)");
    view! {
        <tr class:row-invalid=invalid class:row-warn=row.key_expiring && !invalid>
            <th scope="row">{row.name.clone()}</th>
            <td data-label="License number">{row.license_number.clone()}</td>
            {state
                .map(|(code, name)| {
                    view! {
                        <td data-label="State">
                            {if code.is_empty() {
                                view! { <span class="muted">"Not recorded"</span> }.into_any()
                            } else {
                                view! { <abbr title=name>{code}</abbr> }.into_any()
                            }}
                        </td>
                    }
                })}
            <td data-label="License type">{row.license_type.clone()}</td>
            <td data-label="Facility key">
                {match row.masked_key.clone() {
                    Some(mask) => view! { <code class="masked-key">{mask}</code> }.into_any(),
                    None => view! { <span class="muted">"None"</span> }.into_any(),
                }}
                {row
                    .key_owner_name
                    .clone()
                    .map(|name| view! { <span class="key-owner">{name}</span> })}
                {age.map(|age| view! { <span class="key-age">{age}</span> })}
                {not_owner.map(|text| view! { <span class="note">{text}</span> })}
                {expiring.map(|text| view! { <span class="note note-warn">{text}</span> })}
            </td>
            <td data-label="Key status">{status}</td>
            <td data-label="Last validated">{when(row.last_validated_at)}</td>
            <td data-label="Last sync">
                <SyncCell row=row.clone() />
            </td>
            <td>
                <div class="row-actions">
                    <button
                        type="button"
                        class="secondary"
                        aria-label=sync_label
                        disabled={
                            let syncing = syncing.clone();
                            move || !can_sync || syncing()
                        }
                        on:click={
                            let license = license.clone();
                            move |_| {
                                sync_now
                                    .dispatch(SyncNow {
                                        license: license.clone(),
                                    });
                            }
                        }
                    >
                        {
                            let syncing = syncing.clone();
                            move || if syncing() { "Syncing…" } else { "Sync now" }
                        }
                    </button>
                    <Show when=move || has_key>
                        <button
                            type="button"
                            class="secondary"
                            aria-label=revalidate_label.clone()
                            disabled=busy.clone()
                            on:click={
                                let license = license.clone();
                                move |_| {
                                    revalidate
                                        .dispatch(RevalidateFacility {
                                            license: license.clone(),
                                        });
                                }
                            }
                        >
                            {
                                let busy = busy.clone();
                                move || if busy() { "Revalidating…" } else { "Revalidate now" }
                            }
                        </button>
                    </Show>
                </div>
            </td>
        </tr>
    }
}

/// The "Last sync" cell: when, the state, and while running how far; why, when failed or paused.
#[component]
fn SyncCell(
    /// The facility: its last sync time, sync state, progress while running, and sync message.
    row: FacilityRow,
) -> impl IntoView {
    let class = match row.sync_state {
        SyncState::Idle => "status status-ok",
        SyncState::Failed | SyncState::Paused => "status status-danger",
        SyncState::Never | SyncState::Running => "status",
    };
    let progress = (row.sync_state == SyncState::Running)
        .then_some(row.sync_progress)
        .flatten()
        .map(|p| {
            format!(
                "{} of {} windows, {} records",
                p.windows_done, p.windows_total, p.records
            )
        });
    view! {
        <span class="sync-time">{when(row.last_sync_at)}</span>
        <span class=class>{row.sync_state.label()}</span>
        {progress
            .map(|text| {
                view! {
                    <span class="note" role="status">
                        {text}
                    </span>
                }
            })}
        {row.sync_message.map(|text| view! { <span class="note">{text}</span> })}
    }
}
