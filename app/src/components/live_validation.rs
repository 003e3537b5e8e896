//! Validating a key while it is typed or pasted: waits for a pause in typing, asks the server for
//! a live validation, and folds the streamed updates into a signal the panel renders. A newer key
//! supersedes a running check (its late updates are dropped).

use crate::error::AppError;
use crate::types::facilities::KeyValidation;
use crate::types::key_validation::{
    KeyHolder, LineBuffer, LiveValidation, Phase, ValidationUpdate,
};
use futures::StreamExt;
use leptos::prelude::*;
use leptos::server_fn::codec::TextStream;
use std::future::Future;
use std::time::Duration;

/// How long typing must pause before the key is checked.
const DEBOUNCE: Duration = Duration::from_millis(400);

/// A live check of one key field.
#[derive(Clone, Copy)]
pub struct LiveKeyCheck {
    /// What the panel shows.
    pub live: RwSignal<LiveValidation>,
    start: Callback<String>,
    /// Bumped by every new check and reset; a check only writes while it is current.
    generation: RwSignal<u64>,
    timer: StoredValue<Option<TimeoutHandle>>,
    last_key: StoredValue<String>,
}

impl LiveKeyCheck {
    /// `validate` is the streaming server function that checks a key.
    pub fn new<F, Fut>(validate: F) -> LiveKeyCheck
    where
        F: Fn(String) -> Fut + Copy + Send + Sync + 'static,
        Fut: Future<Output = Result<TextStream<AppError>, AppError>> + 'static,
    {
        let live = RwSignal::new(LiveValidation::default());
        let generation = RwSignal::new(0_u64);
        let start = Callback::new(move |key: String| {
            let current = generation.get_untracked() + 1;
            generation.set(current);
            live.set(LiveValidation::checking());
            leptos::task::spawn_local(follow(validate(key), live, generation, current));
        });
        LiveKeyCheck {
            live,
            start,
            generation,
            timer: StoredValue::new(None),
            last_key: StoredValue::new(String::new()),
        }
    }

    /// The key field changed: check it after a pause (an empty field clears the panel).
    pub fn key_changed(&self, key: String) {
        if let Some(timer) = self.timer.get_value() {
            timer.clear();
        }
        let key = key.trim().to_owned();
        if key.is_empty() {
            self.reset();
            return;
        }
        if key == self.last_key.get_value() && self.live.with_untracked(|l| l.phase != Phase::Idle)
        {
            return;
        }
        self.last_key.set_value(key.clone());
        let start = self.start;
        self.timer
            .set_value(set_timeout_with_handle(move || start.run(key), DEBOUNCE).ok());
    }

    /// What the key is checked against changed (the state whose Metrc issued it): checks the key
    /// in the box again now, as if it had just been edited; nothing while the box is empty.
    pub fn recheck(&self) {
        if let Some(timer) = self.timer.get_value() {
            timer.clear();
        }
        let key = self.last_key.get_value();
        if !key.is_empty() {
            self.start.run(key);
        }
    }

    /// Checks the last key again now ("Retry").
    pub fn retry(&self) {
        let key = self.last_key.get_value();
        if !key.is_empty() {
            self.start.run(key);
        }
    }

    /// Shows a stored key's last validation (no key typed): what a saved key reaches.
    pub fn show(&self, validation: KeyValidation) {
        self.reset();
        self.live.set(LiveValidation {
            phase: Phase::Done,
            validation,
            holder: KeyHolder::ThisUser,
        });
    }

    /// Forgets the key and clears the panel (after the key was saved, or the field emptied).
    pub fn reset(&self) {
        if let Some(timer) = self.timer.get_value() {
            timer.clear();
        }
        self.generation.update(|g| *g += 1);
        self.last_key.set_value(String::new());
        self.live.set(LiveValidation::default());
    }
}

/// Reads the streamed updates of check number `current` into `live` while it is current.
async fn follow(
    answer: impl Future<Output = Result<TextStream<AppError>, AppError>>,
    live: RwSignal<LiveValidation>,
    generation: RwSignal<u64>,
    current: u64,
) {
    let is_current = move || generation.get_untracked() == current;
    let apply = move |update: ValidationUpdate| {
        if is_current() {
            live.update(|l| l.apply(update));
        }
    };
    let stream = match answer.await {
        Ok(stream) => stream,
        Err(error) => return apply(ValidationUpdate::Failed(error)),
    };
    let mut chunks = stream.into_inner();
    let mut lines = LineBuffer::default();
    while let Some(chunk) = chunks.next().await {
        if !is_current() {
            return;
        }
        let text = match chunk {
            Ok(text) => text,
            Err(error) => return apply(ValidationUpdate::Failed(error)),
        };
        for line in lines.push(&text) {
            match serde_json::from_str::<ValidationUpdate>(&line) {
                Ok(update) => apply(update),
                Err(error) => {
                    return apply(ValidationUpdate::Failed(AppError::Communication(
                        error.to_string(),
                    )));
                }
            }
        }
    }
    if is_current() && live.with_untracked(|l| l.phase == Phase::Checking) {
        apply(ValidationUpdate::Failed(AppError::Communication(
            "the check stopped before it was complete".into(),
        )));
    }
}

/// The box a Metrc key is pasted into, validated live as it changes: a password field (the key
/// is not shown over a shoulder), never autocompleted or spell-checked (a key must not reach a
/// dictionary service). `on_edit` runs before each check, to drop answers about the last key.
#[component]
pub fn KeyInput(
    /// The input's `id`, which its label points to (unique on the page).
    id: &'static str,
    /// The label's text ("Facility API key", "Metrc API Key", "Colorado Metrc API Key").
    #[prop(into)]
    label: Signal<String>,
    /// The key as typed: the form sends it when saving, and setting it empty clears the box.
    key: RwSignal<String>,
    /// The live check each edit restarts after a pause in typing; the validation panel shows it.
    check: LiveKeyCheck,
    /// Runs on every edit, before the check restarts: the page drops its confirmations and the
    /// last save's result, which were about the previous key.
    on_edit: Callback<()>,
) -> impl IntoView {
    view! {
        <label for=id>{move || label.get()}</label>
        <input
            id=id
            name="key"
            type="password"
            autocomplete="off"
            spellcheck="false"
            placeholder="Paste your API key here..."
            prop:value=move || key.get()
            on:input=move |ev| {
                let value = event_target_value(&ev);
                key.set(value.clone());
                on_edit.run(());
                check.key_changed(value);
            }
        />
    }
}
