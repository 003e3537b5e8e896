//! "My submissions" under the work screens: the signed-in user's latest submissions, kept fresh
//! while any is still on its way to Metrc. With several states served, each row names its
//! facility's state.

use crate::api::submissions::my_submissions;
use crate::components::error_message::ErrorMessage;
use crate::components::filters::{served_states, several_states};
use crate::components::loading::Loading;
use crate::components::submission_table::{SubmissionHead, SubmissionTableRow};
use leptos::prelude::*;
use std::time::Duration;

/// How often the list is refreshed while a submission is not final.
const POLL: Duration = Duration::from_secs(2);

#[component]
pub fn MySubmissions(
    /// Bumped when the user queues a submission.
    refresh: RwSignal<u32>,
) -> impl IntoView {
    let tick = RwSignal::new(0_u32);
    let rows = Resource::new(move || (refresh.get(), tick.get()), |_| my_submissions(0));
    let states = served_states();
    // In the browser: poll while something is still queued, sending or retrying.
    Effect::new(move || {
        let unsettled = rows.get().and_then(Result::ok).is_some_and(|page| {
            page.rows.iter().any(|r| {
                !r.status.is_final()
                    && r.status != crate::types::submissions::SubmissionStatus::PendingApproval
            })
        });
        if unsettled {
            set_timeout(move || tick.update(|t| *t += 1), POLL);
        }
    });
    view! {
        <section class="my-submissions" aria-labelledby="my-submissions-title">
            <h2 id="my-submissions-title">"My submissions"</h2>
            <Transition fallback=|| {
                view! { <Loading text="Loading…" /> }
            }>
                {move || Suspend::new(async move {
                    match rows.await {
                        Ok(page) if page.rows.is_empty() => {
                            view! { <p class="muted">"None yet."</p> }.into_any()
                        }
                        Ok(page) => {
                            let show_state = states
                                .await
                                .is_ok_and(|states| several_states(&states));
                            view! {
                                <div class="table-wrap">
                                    <table class="records submissions">
                                        <SubmissionHead show_user=false show_state />
                                        <tbody>
                                            {page
                                                .rows
                                                .into_iter()
                                                .map(|row| {
                                                    view! {
                                                        <SubmissionTableRow row show_user=false show_state />
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                </div>
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
