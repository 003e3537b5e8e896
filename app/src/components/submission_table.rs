//! A submissions table's head and rows: Metrc Submissions (admins) and a user's own submissions.

use crate::components::format::when;
use crate::types::submissions::{SubmissionRow, SubmissionStatus};
use leptos::prelude::*;
use leptos_router::components::A;

/// The head of a submissions table; `show_user` and `show_state` as for its rows.
#[component]
pub fn SubmissionHead(
    /// Adds the "User" column (admins' view); must match the rows' `show_user`.
    show_user: bool,
    /// Adds the "State" column (the deployment serves several states); must match the rows'
    /// `show_state`.
    #[prop(optional)]
    show_state: bool,
) -> impl IntoView {
    view! {
        <thead>
            <tr>
                <th scope="col">"Time"</th>
                {show_user.then(|| view! { <th scope="col">"User"</th> })}
                <th scope="col">"Facility"</th>
                {show_state.then(|| view! { <th scope="col">"State"</th> })}
                <th scope="col">"Action"</th>
                <th scope="col">"Key used"</th>
                <th scope="col">"Compliance"</th>
                <th scope="col">"Status"</th>
                <th scope="col">"Metrc's answer"</th>
            </tr>
        </thead>
    }
}

/// One submission as a table row; admins' rows link to the detail and name the user.
#[component]
pub fn SubmissionTableRow(
    /// The submission: when, facility (and its state), action, key used, compliance, status and
    /// Metrc's answer.
    row: SubmissionRow,
    /// Admins' view: a user column and a link to the detail.
    #[prop(default = true)]
    show_user: bool,
    /// A "State" column with the facility's state (the deployment serves several states).
    #[prop(optional)]
    show_state: bool,
) -> impl IntoView {
    let detail = format!("/admin/metrc-submissions/detail/{}", row.id);
    let time = when(Some(row.created_at));
    let compliant = row.compliant;
    let status_class = match row.status {
        SubmissionStatus::Accepted => "status status-ok",
        SubmissionStatus::Rejected | SubmissionStatus::Failed | SubmissionStatus::Unknown => {
            "status status-danger"
        }
        _ => "status",
    };
    view! {
        <tr>
            <td data-label="Time">
                {if show_user {
                    view! {
                        <A href=detail attr:class="row-link">
                            {time}
                        </A>
                    }
                        .into_any()
                } else {
                    time.into_any()
                }}
            </td>
            {show_user.then(|| view! { <td data-label="User">{row.user_name}</td> })}
            <td data-label="Facility">{row.license_number}</td>
            {show_state.then(|| view! { <td data-label="State">{row.state}</td> })}
            <td data-label="Action">
                {row.action.label()} <span class="note">{row.subject}</span>
            </td>
            <td data-label="Key used">{row.key_used.label()}</td>
            <td data-label="Compliance" class:status-danger=!compliant>
                {if compliant { "Compliant" } else { "Not compliant" }}
            </td>
            <td data-label="Status" class=status_class>
                {row.status.label()}
            </td>
            <td data-label="Metrc's answer" class="metrc-answer">
                {row.metrc_answer.unwrap_or_default()}
            </td>
        </tr>
    }
}
