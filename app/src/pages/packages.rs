//! `/inventory/packages`: synced packages of the facilities the user works at, searchable by
//! label and filtered by facility, item and location; per package "Adjust", "Finish" and "Change
//! location", each becoming a submission (stored first, then sent by the outbox).

use crate::api::inventory::{list_packages, my_facilities, reference_lists};
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
use crate::components::select_options::{RequiredSelect, select_options};
use crate::components::submit_box::SubmitBox;
use crate::types::inventory::{PackageFilter, PackageRow, Page};
use crate::types::submissions::{ActionInput, SubmissionAction};
use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;

#[component]
pub fn PackagesPage() -> impl IntoView {
    view! {
        <RequireRole>
            <Packages />
        </RequireRole>
    }
}

/// The page's address for `filter`.
fn href(filter: &PackageFilter) -> String {
    let mut pairs = Vec::new();
    for (name, value) in [
        ("license", &filter.license),
        ("label", &filter.label),
        ("item", &filter.item),
        ("location", &filter.location),
        ("state", &filter.state),
    ] {
        if let Some(v) = value {
            pairs.push((name, v.clone()));
        }
    }
    if filter.page > 0 {
        pairs.push(("page", filter.page.to_string()));
    }
    with_query("/inventory/packages", &pairs)
}

/// Today where the browser is (Metrc dates are the facility's local dates).
pub fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// A date field's value (`YYYY-MM-DD`), checked: present and not in the future.
pub fn parse_date(value: &str) -> Result<NaiveDate, String> {
    let date = value
        .trim()
        .parse::<NaiveDate>()
        .map_err(|_| "Enter the date (YYYY-MM-DD).".to_owned())?;
    if date > today() {
        return Err("The date cannot be in the future.".into());
    }
    Ok(date)
}

/// A number field's value, checked: a finite number.
pub fn parse_number(value: &str, what: &str) -> Result<f64, String> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| format!("Enter the {what} as a number."))
}

/// What the user is doing to which package.
#[derive(Debug, Clone, PartialEq)]
struct Open {
    package: PackageRow,
    action: SubmissionAction,
}

#[component]
fn Packages() -> impl IntoView {
    let query = use_query_map();
    let filter = Memo::new(move |_| {
        query.with(|q| PackageFilter {
            license: query_text(q, "license"),
            label: query_text(q, "label"),
            item: query_text(q, "item"),
            location: query_text(q, "location"),
            state: query_text(q, "state"),
            page: query_page(q),
        })
    });
    let packages = Resource::new(move || filter.get(), list_packages);
    // The facility picker lists the chosen state's facilities only.
    let facilities = Resource::new(move || filter.get().state, my_facilities);
    let states = served_states();
    let open = RwSignal::new(None::<Open>);
    let queued = RwSignal::new(0_u32);
    view! {
        <Title text="Packages" />
        <section class="page" aria-labelledby="packages-title">
            <h1 id="packages-title">"Packages"</h1>
            <Form method="GET" action="/inventory/packages" attr:class="filters">
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
                            <SearchField label="Item" name="item" current=current.item.clone() />
                            <SearchField
                                label="Location"
                                name="location"
                                current=current.location.clone()
                            />
                        }
                    })}
                </Transition>
                <button type="submit" class="secondary">
                    "Search"
                </button>
            </Form>
            {move || {
                open.get()
                    .map(|o| {
                        view! {
                            <ActionPanel
                                open=o
                                close=Callback::new(move |()| open.set(None))
                                on_queued=Callback::new(move |_| queued.update(|n| *n += 1))
                            />
                        }
                    })
            }}
            <Transition fallback=|| {
                view! { <Loading text="Loading packages…" /> }
            }>
                {move || Suspend::new(async move {
                    match packages.await {
                        Ok(page) => {
                            view! { <PackageTable page filter=filter.get_untracked() open /> }
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
fn PackageTable(
    /// The packages of this page that match the filter, and the total for the pager; no rows
    /// shows "No packages match".
    page: Page<PackageRow>,
    /// The filter in the address, kept by the pager's links.
    filter: PackageFilter,
    /// The package and action in the action panel: each row's "Adjust", "Finish" and "Change
    /// location" set it.
    open: RwSignal<Option<Open>>,
) -> impl IntoView {
    if page.rows.is_empty() {
        return view! {
            <p class="empty">
                "No packages match. Packages appear here once their facility has synced with Metrc."
            </p>
        }
        .into_any();
    }
    let (total, current, page_size) = (page.total(), page.page, page.page_size);
    let page_href = Callback::new(move |n: u32| {
        href(&PackageFilter {
            page: n,
            ..filter.clone()
        })
    });
    view! {
        <div class="table-wrap">
            <table class="records packages">
                <caption class="visually-hidden">"Packages"</caption>
                <thead>
                    <tr>
                        <th scope="col">"Label"</th>
                        <th scope="col">"Item"</th>
                        <th scope="col">"Quantity"</th>
                        <th scope="col">"Location"</th>
                        <th scope="col">"Facility"</th>
                        <th scope="col">"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {page
                        .rows
                        .into_iter()
                        .map(|p| {
                            let actions = [
                                (SubmissionAction::AdjustPackage, "Adjust"),
                                (SubmissionAction::FinishPackage, "Finish"),
                                (SubmissionAction::ChangePackageLocation, "Change location"),
                            ];
                            let label = p.label.clone();
                            view! {
                                <tr>
                                    <th scope="row">
                                        <code>{p.label.clone()}</code>
                                    </th>
                                    <td data-label="Item">{p.item.clone()}</td>
                                    <td data-label="Quantity">
                                        {format!("{} {}", p.quantity, p.unit)}
                                    </td>
                                    <td data-label="Location">
                                        {p.location.clone().unwrap_or_default()}
                                    </td>
                                    <td data-label="Facility">
                                        {name_in_state(&p.license_number, &p.state, true)}
                                    </td>
                                    <td class="row-actions">
                                        {actions
                                            .into_iter()
                                            .map(|(action, text)| {
                                                let package = p.clone();
                                                view! {
                                                    <button
                                                        type="button"
                                                        class="secondary"
                                                        aria-label=format!("{text}: {label}")
                                                        on:click=move |_| {
                                                            open.set(
                                                                Some(Open {
                                                                    package: package.clone(),
                                                                    action,
                                                                }),
                                                            );
                                                        }
                                                    >
                                                        {text}
                                                    </button>
                                                }
                                            })
                                            .collect_view()}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <Pager total page=current page_size noun=["package", "packages"] href=page_href />
    }
    .into_any()
}

/// The form of one action on one package, and its submit box.
#[component]
fn ActionPanel(
    /// The package and the action on it that the form is for.
    open: Open,
    /// "Close": the page closes the panel.
    close: Callback<()>,
    /// Called with the stored submission once it is queued: the page refreshes "My submissions".
    on_queued: Callback<crate::types::submissions::SubmissionRow>,
) -> impl IntoView {
    let Open { package, action } = open;
    let lists = {
        let license = package.license_number.clone();
        Resource::new(move || license.clone(), reference_lists)
    };
    let quantity = RwSignal::new(String::new());
    let unit = RwSignal::new(package.unit.clone());
    let reason = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    let location = RwSignal::new(String::new());
    let date = RwSignal::new(today().to_string());
    let label = package.label.clone();
    let build = {
        let label = label.clone();
        Callback::new(move |()| -> Result<ActionInput, String> {
            let label = label.clone();
            let date = parse_date(&date.get_untracked())?;
            Ok(match action {
                SubmissionAction::AdjustPackage => {
                    let quantity = parse_number(&quantity.get_untracked(), "quantity")?;
                    if quantity == 0.0 {
                        return Err("The adjustment cannot be zero.".into());
                    }
                    let reason = reason.get_untracked();
                    if reason.is_empty() {
                        return Err("Choose a reason.".into());
                    }
                    let note = note.get_untracked();
                    ActionInput::AdjustPackage {
                        label,
                        quantity,
                        unit: unit.get_untracked(),
                        reason,
                        note: (!note.trim().is_empty()).then(|| note.trim().to_owned()),
                        date,
                    }
                }
                SubmissionAction::FinishPackage => ActionInput::FinishPackage { label, date },
                SubmissionAction::ChangePackageLocation => {
                    let location = location.get_untracked();
                    if location.is_empty() {
                        return Err("Choose the new location.".into());
                    }
                    ActionInput::ChangePackageLocation {
                        label,
                        location,
                        date,
                    }
                }
                SubmissionAction::RecordPlantWaste => {
                    return Err("Plant waste is recorded on the Plants page.".into());
                }
            })
        })
    };
    let heading = format!("{}: {}", action.label(), package.label);
    let panel = NodeRef::<leptos::html::Section>::new();
    // Focus moves to the panel when it opens, so keyboard and screen-reader users land in it.
    Effect::new(move || {
        if let Some(el) = panel.get() {
            let _ = el.focus();
        }
    });
    view! {
        <section class="action-panel" aria-labelledby="action-title" tabindex="-1" node_ref=panel>
            <h2 id="action-title">{heading}</h2>
            <p class="note">
                {format!(
                    "{} · {} {} now · {}",
                    package.item,
                    package.quantity,
                    package.unit,
                    package.license_number,
                )}
            </p>
            <Transition fallback=|| {
                view! { <Loading text="Loading Metrc's lists…" /> }
            }>
                {move || Suspend::new(async move {
                    let lists = lists.await;
                    let (reasons, units, locations) = match &lists {
                        Ok(l) => (l.adjust_reasons.clone(), l.units.clone(), l.locations.clone()),
                        Err(_) => Default::default(),
                    };
                    let error = lists.err().map(|error| view! { <ErrorMessage error /> });
                    view! {
                        {error}
                        <div class="form-grid">
                            {(action == SubmissionAction::AdjustPackage)
                                .then(|| {
                                    view! {
                                        <label>
                                            "Quantity"
                                            <input
                                                type="number"
                                                step="any"
                                                inputmode="decimal"
                                                required
                                                prop:value=move || quantity.get()
                                                on:input=move |ev| quantity.set(event_target_value(&ev))
                                            /> <span class="note">"Negative to take away."</span>
                                        </label>
                                        <label>
                                            "Unit"
                                            <select on:change=move |ev| {
                                                unit.set(event_target_value(&ev));
                                            }>
                                                {select_options(
                                                    units.clone(),
                                                    None,
                                                    Some(unit.get_untracked()),
                                                )}
                                            </select>
                                        </label>
                                        <RequiredSelect
                                            label="Reason"
                                            names=reasons.clone()
                                            prompt="Choose a reason"
                                            value=reason
                                        />
                                        <label>
                                            "Note"
                                            <input
                                                type="text"
                                                prop:value=move || note.get()
                                                on:input=move |ev| note.set(event_target_value(&ev))
                                            />
                                        </label>
                                    }
                                })}
                            {(action == SubmissionAction::ChangePackageLocation)
                                .then(|| {
                                    view! {
                                        <RequiredSelect
                                            label="Location"
                                            names=locations.clone()
                                            prompt="Choose a location"
                                            value=location
                                        />
                                    }
                                })} <DateField date />
                        </div>
                    }
                })}
            </Transition>
            <SubmitBox license=package.license_number.clone() action request=build on_queued />
            <button type="button" class="secondary" on:click=move |_| close.run(())>
                "Close"
            </button>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_reads_as_year_month_day_and_not_in_the_future() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        assert_eq!(parse_date("2026-01-05"), Ok(day));
        assert_eq!(parse_date(" 2026-01-05 "), Ok(day));
        assert_eq!(day.to_string(), "2026-01-05", "the form's value reads back");
        let entered = "Enter the date (YYYY-MM-DD).".to_owned();
        for bad in ["", "05/01/2026", "2026-13-01", "2026-02-30", "yesterday"] {
            assert_eq!(parse_date(bad), Err(entered.clone()), "{bad:?}");
        }
        let tomorrow = today().succ_opt().unwrap().to_string();
        assert_eq!(
            parse_date(&tomorrow),
            Err("The date cannot be in the future.".into())
        );
        assert_eq!(parse_date(&today().to_string()), Ok(today()));
    }
}
