//! The validation panel of docs/design.md §3, used on both key screens: a one-line verdict with
//! progress, a grid of facilities by sections that fills in cell by cell, and beside failures
//! their likely cause and fix (the troubleshooting table of docs/design.md §7).

use crate::components::live_validation::LiveKeyCheck;
use crate::types::facilities::{CellState, ReachedFacility};
use crate::types::key_validation::{Phase, Verdict};
use leptos::prelude::*;

/// Likely cause and fix of red cells (docs/design.md §7).
pub const DENIED_CAUSE: &str = "Likely cause: the key owner lacks Manage access to these features in Metrc. Fix: in Metrc, Admin > Employees, grant manage access, then check the key again.";
/// Likely cause and fix of a facility the key does not reach (docs/design.md §7).
pub const NOT_REACHED_CAUSE: &str = "Likely cause: the key owner is not an employee of this license. Fix: generate the key from the License Owner's account.";

#[component]
pub fn ValidationPanel(
    /// The live check whose progress, facility grid and causes the panel shows; "Retry" runs it
    /// again.
    check: LiveKeyCheck,
    /// The one-line verdict: each key screen words it for what it sets.
    #[prop(into)]
    verdict: Signal<Verdict>,
) -> impl IntoView {
    let live = check.live;
    let progress = Memo::new(move |_| {
        live.with(super::super::types::key_validation::LiveValidation::progress)
    });
    let sections = Memo::new(move |_| live.with(|l| l.validation.sections.clone()));
    let licenses = Memo::new(move |_| {
        live.with(|l| {
            l.validation
                .facilities
                .iter()
                .map(|f| f.license_number.clone())
                .collect::<Vec<_>>()
        })
    });
    let checking = move || live.with(|l| l.phase == Phase::Checking);
    let can_retry = move || {
        live.with(|l| {
            matches!(l.phase, Phase::Failed(_))
                || (l.phase == Phase::Done
                    && l.validation
                        .facilities
                        .iter()
                        .any(|f| !f.failed().is_empty()))
        })
    };

    view! {
        <section
            class="validation-panel"
            aria-labelledby="validation-title"
            aria-busy=move || checking().to_string()
        >
            <h2 id="validation-title">"Validation"</h2>
            <p
                class="verdict"
                class:verdict-problem=move || verdict.with(Verdict::is_problem)
                class:verdict-ok=move || {
                    matches!(verdict.get(), Verdict::Valid { .. } | Verdict::UserKeyValid { .. })
                }
                role="status"
                aria-live="polite"
            >
                {move || verdict.get().to_string()}
            </p>
            <Show when=checking>
                <progress
                    aria-label="Checks done"
                    max=move || progress.get().1.max(1)
                    value=move || progress.get().0
                ></progress>
            </Show>
            <Show when=can_retry>
                <button type="button" class="secondary" on:click=move |_| check.retry()>
                    "Retry"
                </button>
            </Show>
            <Show when=move || !licenses.with(Vec::is_empty)>
                <div class="table-wrap">
                    <table class="validation-grid">
                        <caption class="visually-hidden">
                            "What the key can reach, by facility and section"
                        </caption>
                        <thead>
                            <tr>
                                <th scope="col">"Facility"</th>
                                <For each=move || sections.get() key=|s| s.clone() let:section>
                                    <th scope="col" class="section-head">
                                        {section}
                                    </th>
                                </For>
                            </tr>
                        </thead>
                        <tbody>
                            <For each=move || licenses.get() key=|l| l.clone() let:license>
                                <FacilityCells check license sections />
                            </For>
                        </tbody>
                    </table>
                </div>
                <ul class="legend" aria-label="Legend">
                    <li>
                        <span class="cell-icon granted" aria-hidden="true">
                            "✓"
                        </span>
                        " Granted"
                    </li>
                    <li>
                        <span class="cell-icon denied" aria-hidden="true">
                            "✗"
                        </span>
                        " Denied"
                    </li>
                    <li>
                        <span class="cell-icon na" aria-hidden="true">
                            "–"
                        </span>
                        " Not available for this license type"
                    </li>
                    <li>
                        <span class="cell-icon error" aria-hidden="true">
                            "!"
                        </span>
                        " Error: Metrc did not answer; retry"
                    </li>
                </ul>
                <Causes check />
            </Show>
        </section>
    }
}

/// One facility's row of the grid; each cell updates on its own as its probe returns.
#[component]
fn FacilityCells(
    /// The live check the row reads its facility and cells from.
    check: LiveKeyCheck,
    /// License number of the facility this row shows.
    license: String,
    /// The sections probed (the grid's columns), one cell each.
    sections: Memo<Vec<String>>,
) -> impl IntoView {
    let live = check.live;
    let facility = {
        let license = license.clone();
        Memo::new(move |_| live.with(|l| l.facility(&license).cloned()))
    };
    let header = move || {
        facility.with(|f| {
            f.as_ref().map(|f| {
                let new = !f.known;
                let not_owner = !f.is_owner;
                view! {
                    <span class="facility-label">{f.label()}</span>
                    <span class="facility-type">{f.license_type.clone()}</span>
                    {new.then(|| view! { <span class="badge badge-new">"New"</span> })}
                    {not_owner
                        .then(|| {
                            view! { <span class="badge badge-warn">"Not the License Owner"</span> }
                        })}
                }
            })
        })
    };
    view! {
        <tr>
            <th scope="row">{header}</th>
            {move || {
                sections
                    .get()
                    .into_iter()
                    .map(|section| {
                        let state = Memo::new(move |_| {
                            facility.with(|f| f.as_ref().and_then(|f| f.cell(&section).cloned()))
                        });
                        view! { <Cell state /> }
                    })
                    .collect_view()
            }}
        </tr>
    }
}

/// One cell: an icon for the eye, a word for screen readers and tests.
#[component]
fn Cell(
    /// The probe's result for this facility and section; `None` while it runs ("Checking").
    state: Memo<Option<CellState>>,
) -> impl IntoView {
    move || {
        let (class, icon, label, title) = match state.get() {
            None => ("cell pending", "…", "Checking".to_owned(), String::new()),
            Some(CellState::Granted) => ("cell granted", "✓", "Granted".to_owned(), String::new()),
            Some(CellState::Denied) => ("cell denied", "✗", "Denied".to_owned(), String::new()),
            Some(CellState::NotApplicable) => (
                "cell na",
                "–",
                "Not available for this license type".to_owned(),
                String::new(),
            ),
            Some(CellState::Error(why)) => ("cell error", "!", "Error".to_owned(), why),
        };
        view! {
            <td class=class title=title>
                <span aria-hidden="true">{icon}</span>
                <span class="visually-hidden">{label}</span>
            </td>
        }
    }
}

/// Beside failures: which sections, the likely cause and the fix.
#[component]
fn Causes(
    /// The live check whose facilities with denied or failed sections are listed.
    check: LiveKeyCheck,
) -> impl IntoView {
    let live = check.live;
    let troubled = Memo::new(move |_| {
        live.with(|l| {
            l.validation
                .facilities
                .iter()
                .filter(|f| !f.denied().is_empty() || !f.failed().is_empty())
                .cloned()
                .collect::<Vec<ReachedFacility>>()
        })
    });
    view! {
        <Show when=move || !troubled.with(Vec::is_empty)>
            <ul class="causes">
                {move || {
                    troubled
                        .get()
                        .into_iter()
                        .map(|f| {
                            let denied = f.denied().join(", ");
                            let failed = f.failed().join(", ");
                            view! {
                                <li>
                                    <strong>{f.label()}</strong>
                                    {(!denied.is_empty())
                                        .then(|| {
                                            view! {
                                                <p>{format!("Denied: {denied}. {DENIED_CAUSE}")}</p>
                                            }
                                        })}
                                    {(!failed.is_empty())
                                        .then(|| {
                                            view! {
                                                <p>
                                                    {format!(
                                                        "Metrc did not answer for {failed}: this is not about the key. Retry in a moment.",
                                                    )}
                                                </p>
                                            }
                                        })}
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </Show>
    }
}
