//! `/inventory/plants`: synced plants of the facilities the user works at; pick plants of one
//! facility and "Record waste" (method, reason, weight, unit), which becomes a submission.

use crate::api::inventory::{list_plants, my_facilities, reference_lists};
use crate::components::auth::RequireRole;
use crate::components::date_field::DateField;
use crate::components::error_message::ErrorMessage;
use crate::components::filters::{
    FilterSelect, SearchField, StateFilter, my_facility_choices, name_in_state, query_page,
    query_text, served_states, several_states,
};
use crate::components::loading::Loading;
use crate::components::my_submissions::MySubmissions;
use crate::components::paging::{Pager, with_query};
use crate::components::select_options::RequiredSelect;
use crate::components::submit_box::SubmitBox;
use crate::pages::packages::{parse_date, parse_number, today};
use crate::types::inventory::{Page, PlantFilter, PlantRow};
use crate::types::submissions::{ActionInput, SubmissionAction};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use std::collections::BTreeSet;

#[component]
pub fn PlantsPage() -> impl IntoView {
    view! {
        <RequireRole>
            <Plants />
        </RequireRole>
    }
}

fn href(filter: &PlantFilter) -> String {
    let mut pairs = Vec::new();
    if let Some(license) = &filter.license {
        pairs.push(("license", license.clone()));
    }
    if let Some(label) = &filter.label {
        pairs.push(("label", label.clone()));
    }
    if let Some(state) = &filter.state {
        pairs.push(("state", state.clone()));
    }
    if filter.page > 0 {
        pairs.push(("page", filter.page.to_string()));
    }
    with_query("/inventory/plants", &pairs)
}

#[component]
fn Plants() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        query.with(|q| PlantFilter {
            license: query_text(q, "license"),
            label: query_text(q, "label"),
            state: query_text(q, "state"),
            page: query_page(q),
        })
    });
    let plants = Resource::new(move || filter.get(), list_plants);
    // The facility picker lists the chosen state's facilities only.
    let facilities = Resource::new(move || filter.get().state, my_facilities);
    let states = served_states();
    // Picked plants, by license: waste is recorded for one facility at a time.
    let picked = RwSignal::new(None::<(String, BTreeSet<String>)>);
    let queued = RwSignal::new(0_u32);
    view! {
        <Title text="Plants" />
        <section class="page" aria-labelledby="plants-title">
            <h1 id="plants-title">"Plants"</h1>
            <Form method="GET" action="/inventory/plants" attr:class="filters">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        let facilities = facilities.await.unwrap_or_default();
                        let states = states.await.unwrap_or_default();
                        let several = several_states(&states);
                        let current = filter.get_untracked();
                        view! {
                            <StateFilter states current=current.state.clone() />
                            <FilterSelect
                                label="Facility"
                                name="license"
                                any="All my facilities"
                                choices=my_facility_choices(facilities, several)
                                current=current.license.clone().unwrap_or_default()
                            />
                            <SearchField label="Label" name="label" current=current.label.clone() />
                        }
                    })}
                </Transition>
                <button type="submit" class="secondary">
                    "Search"
                </button>
            </Form>
            {move || {
                picked
                    .get()
                    .filter(|(_, labels)| !labels.is_empty())
                    .map(|(license, labels)| {
                        view! {
                            <WastePanel
                                license
                                labels
                                on_queued=Callback::new(move |_| {
                                    queued.update(|n| *n += 1);
                                    picked.set(None);
                                })
                            />
                        }
                    })
            }}
            <Transition fallback=|| {
                view! { <Loading text="Loading plants…" /> }
            }>
                {move || Suspend::new(async move {
                    match plants.await {
                        Ok(page) => {
                            view! { <PlantTable page filter=filter.get_untracked() picked /> }
                                .into_any()
                        }
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    }
                })}
            </Transition>
            <MySubmissions refresh=queued />
        </section>
    }
}

#[component]
fn PlantTable(
    /// The plants of this page that match the filter, and the total for the pager; no rows
    /// shows "No plants match".
    page: Page<PlantRow>,
    /// The filter in the address, kept by the pager's links.
    filter: PlantFilter,
    /// The license number and labels of the plants ticked for waste (`None`: none yet); ticking
    /// a plant of another facility starts a new pick.
    picked: RwSignal<Option<(String, BTreeSet<String>)>>,
) -> impl IntoView {
    if page.rows.is_empty() {
        return view! {
            <p class="empty">
                "No plants match. Plants appear here once a facility that grows plants has synced with Metrc."
            </p>
        }.into_any();
    }
    let (total, current, page_size) = (page.total(), page.page, page.page_size);
    let page_href = Callback::new(move |n: u32| {
        href(&PlantFilter {
            page: n,
            ..filter.clone()
        })
    });
    view! {
        <p class="note">"Pick the plants of one facility, then record their waste above."</p>
        <div class="table-wrap">
            <table class="records plants">
                <caption class="visually-hidden">"Plants"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Waste"</th>
                        <th scope="col">"Label"</th>
                        <th scope="col">"Strain"</th>
                        <th scope="col">"Phase"</th>
                        <th scope="col">"Location"</th>
                        <th scope="col">"Facility"</th>
                    </tr>
                </thead>
                <tbody>
                    {page
                        .rows
                        .into_iter()
                        .map(|p| {
                            let (license, label) = (p.license_number.clone(), p.label.clone());
                            let checked = {
                                let (license, label) = (license.clone(), label.clone());
                                move || {
                                    picked
                                        .with(|x| {
                                            x.as_ref()
                                                .is_some_and(|(l, set)| {
                                                    *l == license && set.contains(&label)
                                                })
                                        })
                                }
                            };
                            view! {
                                <tr>
                                    <td data-label="Waste">
                                        <label class="choice">
                                            <input
                                                type="checkbox"
                                                prop:checked=checked
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    picked
                                                        .update(|x| {
                                                            let same = x.as_ref().is_some_and(|(l, _)| *l == license);
                                                            if !same {
                                                                *x = Some((license.clone(), BTreeSet::new()));
                                                            }
                                                            if let Some((_, set)) = x {
                                                                if on {
                                                                    set.insert(label.clone());
                                                                } else {
                                                                    set.remove(&label);
                                                                }
                                                            }
                                                        });
                                                }
                                            />
                                            <span class="visually-hidden">
                                                {format!("Waste {}", p.label)}
                                            </span>
                                        </label>
                                    </td>
                                    <th scope="row">
                                        <code>{p.label.clone()}</code>
                                    </th>
                                    <td data-label="Strain">
                                        {p.strain.clone().unwrap_or_default()}
                                    </td>
                                    <td data-label="Phase">{p.phase.clone()}</td>
                                    <td data-label="Location">
                                        {p.location.clone().unwrap_or_default()}
                                    </td>
                                    <td data-label="Facility">
                                        {name_in_state(&p.license_number, &p.state, true)}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total page=current page_size noun=["plant", "plants"] href=page_href />
    }
    .into_any()
}

/// "Record waste" for the picked plants of one facility.
#[component]
fn WastePanel(
    /// License number of the facility the waste is recorded at: Metrc's lists and the
    /// submission are for it.
    license: String,
    /// Labels of the picked plants the waste is recorded for (never empty).
    labels: BTreeSet<String>,
    /// Called with the stored submission once it is queued: the page refreshes "My submissions"
    /// and clears the pick, which closes the panel.
    on_queued: Callback<crate::types::submissions::SubmissionRow>,
) -> impl IntoView {
    let lists = {
        let license = license.clone();
        Resource::new(move || license.clone(), reference_lists)
    };
    let method = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let weight = RwSignal::new(String::new());
    let unit = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let date = RwSignal::new(today().to_string());
    let plant_labels: Vec<String> = labels.iter().cloned().collect();
    let count = plant_labels.len();
    let build = Callback::new(move |()| -> Result<ActionInput, String> {
        let weight = parse_number(&weight.get_untracked(), "weight")?;
        if weight <= 0.0 {
            return Err("The waste weight must be more than zero.".into());
        }
        let (method, reason, unit) = (
            method.get_untracked(),
            reason.get_untracked(),
            unit.get_untracked(),
        );
        if method.is_empty() || reason.is_empty() || unit.is_empty() {
            return Err("Choose the method, the reason and the unit.".into());
        }
        let note = note.get_untracked();
        Ok(ActionInput::RecordPlantWaste {
            plant_labels: plant_labels.clone(),
            method,
            reason,
            weight,
            unit,
            note: (!note.trim().is_empty()).then(|| note.trim().to_owned()),
            date: parse_date(&date.get_untracked())?,
        })
    });
    view! {
        <section class="action-panel" aria-labelledby="waste-title">
            <h2 id="waste-title">
                {format!(
                    "Record waste: {count} {} at {license}",
                    if count == 1 { "plant" } else { "plants" },
                )}
            </h2>
            <Transition fallback=|| {
                view! { <Loading text="Loading Metrc's lists…" /> }
            }>
                {move || Suspend::new(async move {
                    let lists = lists.await;
                    let (methods, reasons, units) = match &lists {
                        Ok(l) => (l.waste_methods.clone(), l.waste_reasons.clone(), l.units.clone()),
                        Err(_) => Default::default(),
                    };
                    let error = lists.err().map(|error| view! { <ErrorMessage error /> });
                    view! {
                        {error}
                        <div class="form-grid">
                            <RequiredSelect
                                label="Method"
                                names=methods
                                prompt="Choose a method"
                                value=method
                            />
                            <RequiredSelect
                                label="Reason"
                                names=reasons
                                prompt="Choose a reason"
                                value=reason
                            />
                            <label>
                                "Weight"
                                <input
                                    type="number"
                                    step="any"
                                    min="0"
                                    inputmode="decimal"
                                    required
                                    prop:value=move || weight.get()
                                    on:input=move |ev| weight.set(event_target_value(&ev))
                                />
                            </label>
                            <RequiredSelect
                                label="Unit"
                                names=units
                                prompt="Choose a unit"
                                value=unit
                            />
                            <label>
                                "Note"
                                <input
                                    type="text"
                                    prop:value=move || note.get()
                                    on:input=move |ev| note.set(event_target_value(&ev))
                                />
                            </label>
                            <DateField date />
                        </div>
                    }
                })}
            </Transition>
            <SubmitBox license action=SubmissionAction::RecordPlantWaste request=build on_queued />
        </section>
    }
}
