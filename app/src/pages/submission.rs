//! `/admin/metrc-submissions/detail/:id`: one submission: who, which key, request and response
//! bodies, every attempt with its timing, and the actions that apply: "Retry", "Cancel",
//! "Approve", "Deny" (with a reason), and for an unknown outcome "Mark accepted" / "Mark not
//! recorded" after looking in Metrc.

use crate::api::submissions::{
    ApproveSubmission, CancelSubmission, DenySubmission, ReconcileSubmission, RetrySubmission,
    submission_detail,
};
use crate::components::admin_page::AdminPage;
use crate::components::error_message::ErrorMessage;
use crate::components::filters::name_in_state;
use crate::components::format::when;
use crate::components::loading::Loading;
use crate::error::AppError;
use crate::types::submissions::SubmissionDetail;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

#[component]
pub fn SubmissionPage() -> impl IntoView {
    view! {
        <AdminPage>
            <SubmissionScreen />
        </AdminPage>
    }
}

/// The actions of the page; each answers with the submission as it now is.
#[derive(Clone, Copy)]
struct Actions {
    retry: ServerAction<RetrySubmission>,
    cancel: ServerAction<CancelSubmission>,
    approve: ServerAction<ApproveSubmission>,
    deny: ServerAction<DenySubmission>,
    reconcile: ServerAction<ReconcileSubmission>,
}

impl Actions {
    fn version(&self) -> usize {
        self.retry.version().get()
            + self.cancel.version().get()
            + self.approve.version().get()
            + self.deny.version().get()
            + self.reconcile.version().get()
    }

    fn pending(&self) -> bool {
        self.retry.pending().get()
            || self.cancel.pending().get()
            || self.approve.pending().get()
            || self.deny.pending().get()
            || self.reconcile.pending().get()
    }

    /// The last action's error, if it failed.
    fn error(&self) -> Option<AppError> {
        [
            self.retry.value().get(),
            self.cancel.value().get(),
            self.approve.value().get(),
            self.deny.value().get(),
            self.reconcile.value().get(),
        ]
        .into_iter()
        .flatten()
        .find_map(Result::err)
    }
}

#[component]
fn SubmissionScreen() -> impl IntoView {
    let params = use_params_map();
    let id = Memo::new(move |_| params.with(|p| p.get("id").and_then(|v| v.parse::<i64>().ok())));
    let actions = Actions {
        retry: ServerAction::new(),
        cancel: ServerAction::new(),
        approve: ServerAction::new(),
        deny: ServerAction::new(),
        reconcile: ServerAction::new(),
    };
    let detail = Resource::new(
        move || (id.get(), actions.version()),
        |(id, _)| async move {
            match id {
                Some(id) => submission_detail(id).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    view! {
        <Title text="Submission" />
        <section class="page" aria-labelledby="submission-title">
            <p>
                <A href="/admin/metrc-submissions/all">"All submissions"</A>
            </p>
            <Transition fallback=|| {
                view! { <Loading text="Loading…" /> }
            }>
                {move || Suspend::new(async move {
                    match detail.await {
                        Ok(detail) => view! { <Detail detail actions /> }.into_any(),
                        Err(error) => view! { <ErrorMessage error /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Detail(
    /// The submission as stored: its facts, request and response bodies, attempts, the admin's
    /// decision, and which actions apply to it now.
    detail: SubmissionDetail,
    /// The buttons' server actions ("Retry", "Cancel", "Approve", "Deny", "Mark accepted" / "Mark
    /// not recorded"): all buttons are off while one runs, and its error shows above them.
    actions: Actions,
) -> impl IntoView {
    let row = detail.row.clone();
    let id = row.id;
    let reason = RwSignal::new(String::new());
    let busy = move || actions.pending();
    view! {
        <h1 id="submission-title">{format!("{} · {}", row.action.label(), row.subject)}</h1>
        <dl class="key-facts">
            <dt>"Status"</dt>
            <dd class="status">{row.status.label()}</dd>
            <dt>"User"</dt>
            <dd>{row.user_name.clone()}</dd>
            <dt>"Facility"</dt>
            <dd>{name_in_state(&row.license_number, &row.state, true)}</dd>
            <dt>"Key used"</dt>
            <dd>{row.key_used.label()}</dd>
            <dt>"Compliance"</dt>
            <dd>{if row.compliant { "Compliant" } else { "Not compliant" }}</dd>
            <dt>"Created"</dt>
            <dd>{when(Some(row.created_at))}</dd>
            <dt>"Metrc's answer"</dt>
            <dd>{row.metrc_answer.clone().unwrap_or_else(|| "None yet".into())}</dd>
            {detail
                .decision
                .clone()
                .map(|d| {
                    view! {
                        <dt>"Decision"</dt>
                        <dd>{d}</dd>
                    }
                })}
        </dl>
        {move || actions.error().map(|error| view! { <ErrorMessage error /> })}
        <div class="actions">
            {detail
                .can_retry
                .then(|| {
                    let retry = move || {
                        actions.retry.dispatch(RetrySubmission { id });
                    };
                    view! { <ActionButton text="Retry" busy on_press=retry /> }
                })}
            {detail
                .can_approve
                .then(|| {
                    let approve = move || {
                        actions.approve.dispatch(ApproveSubmission { id });
                    };
                    view! { <ActionButton text="Approve" busy on_press=approve /> }
                })}
            {detail
                .can_cancel
                .then(|| {
                    let cancel = move || {
                        actions.cancel.dispatch(CancelSubmission { id });
                    };
                    view! { <ActionButton text="Cancel" secondary=true busy on_press=cancel /> }
                })}
            {detail
                .can_reconcile
                .then(|| {
                    let reconcile = move |accepted| {
                        actions
                            .reconcile
                            .dispatch(ReconcileSubmission {
                                id,
                                accepted,
                            });
                    };
                    view! {
                        <ActionButton text="Mark accepted" busy on_press=move || reconcile(true) />
                        <ActionButton
                            text="Mark not recorded"
                            secondary=true
                            busy
                            on_press=move || reconcile(false)
                        />
                    }
                })}
        </div>
        {detail
            .can_deny
            .then(|| {
                view! {
                    <form
                        class="stack deny"
                        on:submit=move |ev| {
                            ev.prevent_default();
                            actions
                                .deny
                                .dispatch(DenySubmission {
                                    id,
                                    reason: reason.get_untracked(),
                                });
                        }
                    >
                        <label for="deny-reason">"Reason"</label>
                        <textarea
                            id="deny-reason"
                            rows="2"
                            prop:value=move || reason.get()
                            on:input=move |ev| reason.set(event_target_value(&ev))
                        ></textarea>
                        <button
                            type="submit"
                            class="secondary"
                            disabled=move || busy() || reason.with(|r| r.trim().is_empty())
                        >
                            "Deny"
                        </button>
                    </form>
                }
            })}
        <h2>"Request"</h2>
        <pre class="body">{detail.request.clone()}</pre>
        <h2>"Response"</h2>
        <pre class="body">{detail.response.clone().unwrap_or_else(|| "None yet".into())}</pre>
        <h2>"Attempts"</h2>
        {if detail.attempts.is_empty() {
            view! { <p class="muted">"Not sent yet."</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table>
                        <thead>
                            <tr>
                                <th scope="col">"When"</th>
                                <th scope="col">"HTTP status"</th>
                                <th scope="col">"Outcome"</th>
                                <th scope="col">"Took"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {detail
                                .attempts
                                .iter()
                                .cloned()
                                .map(|a| {
                                    view! {
                                        <tr>
                                            <td>{when(Some(a.at))}</td>
                                            <td>
                                                {a
                                                    .http_status
                                                    .map_or_else(|| "None".into(), |s| s.to_string())}
                                            </td>
                                            <td>{a.outcome}</td>
                                            <td>{format!("{} ms", a.duration_ms)}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </tbody>
                    </table>
                </div>
            }
                .into_any()
        }}
    }
}

/// One of the detail's action buttons, disabled while any action is under way.
#[component]
fn ActionButton(
    /// What it says, e.g. "Retry".
    text: &'static str,
    /// A lesser action (Cancel, Mark not recorded), drawn as secondary.
    #[prop(optional)]
    secondary: bool,
    /// Whether one of the detail's actions is under way.
    busy: impl Fn() -> bool + Send + Sync + 'static,
    /// What pressing it does.
    on_press: impl Fn() + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <button type="button" class:secondary=secondary disabled=busy on:click=move |_| on_press()>
            {text}
        </button>
    }
}
