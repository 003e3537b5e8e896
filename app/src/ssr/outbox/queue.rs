//! Storing a submission: the user's input checked and turned into the Metrc row it becomes, the
//! pre-flight verdict applied, and the row stored (`Queued`, or `Pending approval` for users an
//! admin reviews) before anything is sent.

use super::preflight::check;
use super::{OutboxError, view};
use crate::ssr::entities::submissions::Model as Submission;
use crate::ssr::input::{self, MAX_LABEL_CHARS, MAX_PLANTS};
use crate::ssr::queries::submissions::{self, NewSubmissionRow, Selection};
use crate::ssr::state::AppState;
use crate::types::inventory::Page;
use crate::types::submissions::{
    ActionInput, NewSubmission, SubmissionAction, SubmissionRow, SubmissionStatus,
};
use chrono::{NaiveDate, Utc};
use metrc::{PackageAdjustment, PackageFinish, PackageLocationChange, PlantWaste};
use sea_orm::ActiveEnum;
use sea_orm::{ConnectionTrait, DbErr, SqlErr};
use std::collections::HashMap;

/// Largest quantity or weight accepted in one row.
const MAX_AMOUNT: f64 = 1_000_000.0;

fn bad(text: impl Into<String>) -> OutboxError {
    OutboxError::BadInput(text.into())
}

/// A Metrc label; `field` is "package label" or "plant label".
fn label(value: &str, field: &'static str) -> Result<String, OutboxError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(input::InputError::Missing { field }.into());
    }
    input::max_chars(value, field, MAX_LABEL_CHARS)?;
    if !value.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(bad(format!(
            "\"{value}\" is not a {field}: Metrc labels are letters and digits only, like 1A4000000000000000000123."
        )));
    }
    Ok(value.to_owned())
}

fn required(value: &str, what: &'static str) -> Result<String, OutboxError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(bad(format!("Choose the {what}.")));
    }
    input::text(value, what)?;
    Ok(value.to_owned())
}

fn note(value: Option<&str>) -> Result<Option<String>, OutboxError> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    if let Some(value) = value {
        input::note(value, "note")?;
    }
    Ok(value.map(str::to_owned))
}

fn date(value: NaiveDate, what: &'static str) -> Result<NaiveDate, OutboxError> {
    input::date(value, what)?;
    let today = Utc::now().date_naive();
    if value > today {
        return Err(bad(format!(
            "The {what} {value} is in the future: Metrc records what has happened, up to today ({today})."
        )));
    }
    Ok(value)
}

/// The user's input as the Metrc row it becomes (JSON text), or what to fix.
pub fn metrc_row(input: &ActionInput) -> Result<(SubmissionAction, String), OutboxError> {
    let json = match input {
        ActionInput::AdjustPackage {
            label: l,
            quantity,
            unit,
            reason,
            note: n,
            date: d,
        } => {
            if !quantity.is_finite() || *quantity == 0.0 {
                return Err(bad(
                    "Enter a quantity other than zero: negative takes away, positive adds.",
                ));
            }
            if quantity.abs() > MAX_AMOUNT {
                return Err(bad(format!(
                    "The quantity {quantity} is too large ({MAX_AMOUNT} at most)."
                )));
            }
            serde_json::to_string(&PackageAdjustment {
                label: label(l, "package label")?,
                quantity: *quantity,
                unit_of_measure: required(unit, "unit of measure")?,
                adjustment_reason: required(reason, "adjustment reason")?,
                adjustment_date: date(*d, "adjustment date")?,
                reason_note: note(n.as_deref())?,
            })
        }
        ActionInput::FinishPackage { label: l, date: d } => serde_json::to_string(&PackageFinish {
            label: label(l, "package label")?,
            actual_date: date(*d, "finish date")?,
        }),
        ActionInput::ChangePackageLocation {
            label: l,
            location,
            date: d,
        } => serde_json::to_string(&PackageLocationChange {
            label: label(l, "package label")?,
            location: required(location, "new location")?,
            sublocation: None,
            move_date: date(*d, "move date")?,
        }),
        ActionInput::RecordPlantWaste {
            plant_labels,
            method,
            reason,
            weight,
            unit,
            note: n,
            date: d,
        } => {
            // Counted as sent, before duplicates are dropped, so the work below is bounded.
            input::count(plant_labels, "plants in one waste record", MAX_PLANTS)?;
            let labels = input::dedup(
                plant_labels
                    .iter()
                    .map(|l| label(l, "plant label"))
                    .collect::<Result<Vec<_>, _>>()?,
            );
            if labels.is_empty() {
                return Err(bad("Choose at least one plant."));
            }
            if !weight.is_finite() || *weight <= 0.0 {
                return Err(bad("Enter the waste weight: a number above zero."));
            }
            if *weight > MAX_AMOUNT {
                return Err(bad(format!(
                    "The weight {weight} is too large ({MAX_AMOUNT} at most)."
                )));
            }
            serde_json::to_string(&PlantWaste {
                waste_method_name: required(method, "waste method")?,
                // The work screen does not ask for it; Metrc's examples send a material name
                // where the waste was mixed with one, and an empty value is what "none" is.
                mixed_material: String::new(),
                waste_weight: *weight,
                unit_of_measure_name: required(unit, "unit of weight")?,
                reason_name: required(reason, "waste reason")?,
                note: note(n.as_deref())?,
                waste_date: date(*d, "waste date")?,
                plant_labels: labels,
            })
        }
    };
    let json = json.map_err(|e| {
        tracing::error!(error = %e, "a Metrc row did not serialise");
        bad("This request cannot be sent.")
    })?;
    Ok((input.action(), json))
}

fn idempotency_key() -> String {
    format!("sub-{:032x}", rand::random::<u128>())
}

/// Stores `new` for `user_id` after the pre-flight check: refused when the check blocks it, or
/// when the facility key would carry it and the user has not confirmed that. Wakes the worker.
///
/// Once per work form: the form's token ([`NewSubmission::submit_token`], checked before
/// anything else) is stored with the row, unique per user. A submit whose token is already
/// stored (a retry after a lost answer, a double click, two requests at once) returns that
/// submission as it stands now, with no new row and no pre-flight check; with other values
/// ([`OutboxError::TokenReused`]) it is refused. docs/decisions.md, "A submission is submitted
/// once".
pub async fn submit(
    state: &AppState,
    user_id: i32,
    new: NewSubmission,
) -> Result<SubmissionRow, OutboxError> {
    let token = input::submit_token(&new.submit_token)?;
    let license = new.license.trim();
    input::text(license, "license number")?;
    let (action, request) = metrc_row(&new.input)?;
    let form = Form {
        user_id,
        license,
        action,
        request: &request,
    };
    if let Some(first) = submissions::find_by_token(&state.db, user_id, token).await? {
        return repeated(state, &form, first).await;
    }
    let plan = check(state, user_id, license, action).await?;
    if let Some(why) = plan.preflight.blocked {
        return Err(OutboxError::Blocked(why));
    }
    let Some(carrier) = plan.carrier else {
        return Err(OutboxError::Blocked(
            "There is no key to send this with.".into(),
        ));
    };
    if let Some(warning) = plan.preflight.warning
        && !new.confirm_facility_key
    {
        return Err(OutboxError::NeedsConfirmation(warning));
    }
    let (status, message) = if plan.preflight.needs_approval {
        (
            SubmissionStatus::PendingApproval,
            Some("Waiting for an admin's approval before it is sent.".to_owned()),
        )
    } else {
        (SubmissionStatus::Queued, None)
    };
    let inserted = submissions::insert(
        &state.db,
        NewSubmissionRow {
            idempotency_key: &idempotency_key(),
            user_id,
            submit_token: Some(token),
            license_number: license,
            action,
            request: request.clone(),
            key_kind: carrier.kind,
            key_owner: &carrier.owner,
            compliant: carrier.kind == super::KeyKind::User,
            status,
            message,
        },
    )
    .await;
    let stored = match inserted {
        Ok(stored) => stored,
        // The same form submitted twice at once: the other request stored it first (the unique
        // index on user and token decides, on SQLite and PostgreSQL alike).
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return match submissions::find_by_token(&state.db, user_id, token).await? {
                Some(first) => repeated(state, &form, first).await,
                None => Err(err.into()),
            };
        }
        Err(err) => return Err(err.into()),
    };
    tracing::info!(
        submission = stored.id,
        user_id,
        license,
        action = %action.to_value(),
        key = %carrier.kind.to_value(),
        status = status.as_str(),
        "submission stored"
    );
    if status == SubmissionStatus::Queued {
        state.outbox.wake();
    }
    let names = HashMap::from([(user_id, plan.user.name)]);
    Ok(view::row(&stored, &names))
}

/// One submit of a work form, checked: what [`submit`] would store.
struct Form<'a> {
    user_id: i32,
    license: &'a str,
    action: SubmissionAction,
    /// The Metrc row (JSON text), as [`metrc_row`] makes it.
    request: &'a str,
}

impl Form<'_> {
    /// Whether `stored` is this form's submission: the same facility, action and Metrc row.
    fn is(&self, stored: &Submission) -> bool {
        stored.license_number == self.license
            && stored.action == self.action
            && stored.request == self.request
    }
}

/// A submit whose token was stored before: the submission stored then, as it stands now, if it
/// carries the same values; else refused.
async fn repeated(
    state: &AppState,
    form: &Form<'_>,
    first: Submission,
) -> Result<SubmissionRow, OutboxError> {
    if !form.is(&first) {
        tracing::info!(
            submission = first.id,
            user_id = form.user_id,
            "a submit token came back with other values: refused"
        );
        return Err(OutboxError::TokenReused { first: first.id });
    }
    tracing::info!(
        submission = first.id,
        user_id = form.user_id,
        "a repeated submit: the submission stored first is returned"
    );
    let names = submissions::user_names(&state.db, [first.user_id]).await?;
    Ok(view::row(&first, &names))
}

/// The user's own submissions, newest first (the work screens).
pub async fn my_submissions(
    state: &AppState,
    user_id: i32,
    page: u32,
) -> Result<Page<SubmissionRow>, OutboxError> {
    let selection = Selection {
        user_id: Some(user_id),
        ..Default::default()
    };
    super::paging::page_of(state, &selection, page).await
}

/// What a held submission says.
pub const HELD_MESSAGE: &str =
    "Held for an admin: its user was deactivated before it was sent. Approve or deny it.";

/// Turns the user's queued and retrying submissions into `Pending approval` (a deactivated user's
/// work waits for an admin instead of going out under their name). Returns how many.
pub async fn hold_for_user(db: &impl ConnectionTrait, user_id: i32) -> Result<u64, DbErr> {
    let held = submissions::hold_for_user(db, user_id, HELD_MESSAGE).await?;
    if held > 0 {
        tracing::info!(user_id, held, "submissions held for an admin");
    }
    Ok(held)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn adjust(label: &str, quantity: f64) -> ActionInput {
        ActionInput::AdjustPackage {
            label: label.into(),
            quantity,
            unit: "Grams".into(),
            reason: "Drying".into(),
            note: Some("  ".into()),
            date: day(2026, 1, 2),
        }
    }

    fn message(input: &ActionInput) -> String {
        match metrc_row(input) {
            Err(OutboxError::BadInput(text)) => text,
            other => panic!("expected BadInput, got {other:?}"),
        }
    }

    #[test]
    fn inputs_become_metrc_rows() {
        let (action, json) = metrc_row(&adjust(" 1A4000000000000000000123 ", -2.5)).unwrap();
        assert_eq!(action, SubmissionAction::AdjustPackage);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["Label"], "1A4000000000000000000123");
        assert_eq!(v["Quantity"], -2.5);
        assert_eq!(
            v["ReasonNote"],
            serde_json::Value::Null,
            "a blank note is no note"
        );
        assert_eq!(v["AdjustmentDate"], "2026-01-02");
    }

    #[test]
    fn bad_inputs_say_what_to_fix() {
        assert!(message(&adjust("", -1.0)).contains("Enter the package label"));
        assert!(message(&adjust("1A4 000", -1.0)).contains("letters and digits"));
        assert!(message(&adjust("1A4", 0.0)).contains("other than zero"));
        assert!(message(&adjust("1A4", f64::NAN)).contains("other than zero"));
        assert!(message(&adjust("1A4", 1e12)).contains("too large"));
        let tomorrow = Utc::now().date_naive() + chrono::Duration::days(1);
        let future = ActionInput::FinishPackage {
            label: "1A4".into(),
            date: tomorrow,
        };
        assert!(message(&future).contains("in the future"));
        let no_plants = ActionInput::RecordPlantWaste {
            plant_labels: vec![],
            method: "Grinder".into(),
            reason: "Trim".into(),
            weight: 1.0,
            unit: "Grams".into(),
            note: None,
            date: day(2026, 1, 2),
        };
        assert!(message(&no_plants).contains("at least one plant"));
        let no_location = ActionInput::ChangePackageLocation {
            label: "1A4".into(),
            location: " ".into(),
            date: day(2026, 1, 2),
        };
        assert!(message(&no_location).contains("new location"));
    }

    fn waste(labels: Vec<String>, date: NaiveDate) -> ActionInput {
        ActionInput::RecordPlantWaste {
            plant_labels: labels,
            method: "Grinder".into(),
            reason: "Trim".into(),
            weight: 1.0,
            unit: "Grams".into(),
            note: None,
            date,
        }
    }

    #[test]
    fn plant_labels_are_counted_as_sent_before_duplicates_are_dropped() {
        let distinct: Vec<String> = (0..MAX_PLANTS).map(|i| format!("1A4{i:05}")).collect();
        let (_, json) = metrc_row(&waste(distinct.clone(), day(2026, 1, 2))).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["PlantLabels"].as_array().unwrap().len(), MAX_PLANTS);
        // One past the limit, all the same plant: refused, not deduplicated down to one.
        let repeated = vec!["1A400001".to_owned(); MAX_PLANTS + 1];
        assert_eq!(
            message(&waste(repeated, day(2026, 1, 2))),
            "Too many plants in one waste record: 100 at most."
        );
        // Duplicates within the limit are sent once, in order.
        let twice = vec!["1A4B".to_owned(), "1A4A".into(), "1A4B".into()];
        let (_, json) = metrc_row(&waste(twice, day(2026, 1, 2))).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["PlantLabels"], serde_json::json!(["1A4B", "1A4A"]));
        // A label past its length is refused without being echoed.
        let long = "1".repeat(MAX_LABEL_CHARS + 1);
        assert_eq!(
            message(&waste(vec![long], day(2026, 1, 2))),
            "The plant label is too long: 64 characters at most."
        );
    }

    #[test]
    fn dates_before_the_first_metrc_year_are_refused() {
        let labels = vec!["1A4".to_owned()];
        assert!(metrc_row(&waste(labels.clone(), day(2015, 1, 1))).is_ok());
        assert_eq!(
            message(&waste(labels.clone(), day(2014, 12, 31))),
            "The waste date is too early: Metrc takes dates from 2015-01-01 on."
        );
        let finish = ActionInput::FinishPackage {
            label: "1A4".into(),
            date: day(1, 1, 1),
        };
        assert!(message(&finish).contains("finish date is too early"));
    }
}
