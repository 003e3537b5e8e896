//! Submissions (docs/design.md §7): writes Tracekeeper sends to Metrc on behalf of a user, as the
//! work screens and Metrc Submissions see them. No key is ever in here.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

stored_as_string! {
/// What a submission does in Metrc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubmissionAction {
    /// Changes a package's quantity: `POST /packages/v2/adjust` (docs/metrc.md §8).
    AdjustPackage,
    /// Marks a package finished: `PUT /packages/v2/finish` (docs/metrc.md §8).
    FinishPackage,
    /// Moves a package to another location: `PUT /packages/v2/location` (docs/metrc.md §8).
    ChangePackageLocation,
    /// Records waste from plants: `POST /plants/v2/waste` (docs/metrc.md §8).
    RecordPlantWaste,
}
}

impl SubmissionAction {
    /// Every action Tracekeeper sends.
    pub const ALL: [SubmissionAction; 4] = [
        SubmissionAction::AdjustPackage,
        SubmissionAction::FinishPackage,
        SubmissionAction::ChangePackageLocation,
        SubmissionAction::RecordPlantWaste,
    ];

    /// The action as the screens word it, e.g. "Adjust package".
    pub fn label(self) -> &'static str {
        match self {
            SubmissionAction::AdjustPackage => "Adjust package",
            SubmissionAction::FinishPackage => "Finish package",
            SubmissionAction::ChangePackageLocation => "Change location",
            SubmissionAction::RecordPlantWaste => "Record plant waste",
        }
    }
}

stored_as_string! {
/// Where a submission stands (the exact labels of Metrc Submissions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SubmissionStatus {
    /// Waits for an admin (the user "Requires review on submissions").
    PendingApproval,
    /// Stored and waiting its turn to be sent.
    Queued,
    /// Handed to Metrc; the answer has not come back yet.
    Sending,
    /// Metrc rate-limited or failed before accepting anything: sent again after a backoff.
    Retrying,
    /// Metrc answered 2xx: the write is recorded (docs/metrc.md §8).
    Accepted,
    /// Metrc answered 400: nothing was recorded; its messages say why.
    Rejected,
    /// Cannot be sent as it is (the key was refused, a permission is missing).
    Failed,
    /// Sent, but no answer came back: never resent blindly; reconciled with Metrc's data or by
    /// an admin.
    Unknown,
    /// An admin denied it (with a reason).
    Denied,
    /// An admin cancelled it before it was sent: not in Metrc.
    Cancelled,
}
}

impl SubmissionStatus {
    /// Every status, in the order the status filter lists them.
    pub const ALL: [SubmissionStatus; 10] = [
        SubmissionStatus::PendingApproval,
        SubmissionStatus::Queued,
        SubmissionStatus::Sending,
        SubmissionStatus::Retrying,
        SubmissionStatus::Accepted,
        SubmissionStatus::Rejected,
        SubmissionStatus::Failed,
        SubmissionStatus::Unknown,
        SubmissionStatus::Denied,
        SubmissionStatus::Cancelled,
    ];

    /// The status as Metrc Submissions words it, e.g. "Pending approval".
    pub fn label(self) -> &'static str {
        match self {
            SubmissionStatus::PendingApproval => "Pending approval",
            SubmissionStatus::Queued => "Queued",
            SubmissionStatus::Sending => "Sending",
            SubmissionStatus::Retrying => "Retrying",
            SubmissionStatus::Accepted => "Accepted",
            SubmissionStatus::Rejected => "Rejected",
            SubmissionStatus::Failed => "Failed",
            SubmissionStatus::Unknown => "Unknown",
            SubmissionStatus::Denied => "Denied",
            SubmissionStatus::Cancelled => "Cancelled",
        }
    }

    /// The value in the filter's URL query (`status=`), the same as the one stored in the
    /// database (`ssr::entities` checks that they agree).
    pub fn as_str(self) -> &'static str {
        match self {
            SubmissionStatus::PendingApproval => "pending_approval",
            SubmissionStatus::Queued => "queued",
            SubmissionStatus::Sending => "sending",
            SubmissionStatus::Retrying => "retrying",
            SubmissionStatus::Accepted => "accepted",
            SubmissionStatus::Rejected => "rejected",
            SubmissionStatus::Failed => "failed",
            SubmissionStatus::Unknown => "unknown",
            SubmissionStatus::Denied => "denied",
            SubmissionStatus::Cancelled => "cancelled",
        }
    }

    /// The status of a URL query's `status=` value.
    pub fn parse(value: &str) -> Option<SubmissionStatus> {
        SubmissionStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == value)
    }

    /// Nothing more will happen to it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SubmissionStatus::Accepted
                | SubmissionStatus::Rejected
                | SubmissionStatus::Denied
                | SubmissionStatus::Cancelled
        )
    }
}

/// Which key carried (or will carry) a submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyUsed {
    /// The acting user's own key: Metrc attributes it to them (compliant).
    UserKey,
    /// The facility key: Metrc shows its owner as the submitter (not compliant).
    FacilityKey {
        /// The facility key owner's name as Metrc shows it (or a description when unknown).
        owner: String,
    },
}

impl KeyUsed {
    /// "User key" or "Facility key (<owner>)".
    pub fn label(&self) -> String {
        match self {
            KeyUsed::UserKey => "User key".into(),
            KeyUsed::FacilityKey { owner } => format!("Facility key ({owner})"),
        }
    }

    /// Whether Metrc attributes the write to the acting user: only with their own key.
    pub fn compliant(&self) -> bool {
        matches!(self, KeyUsed::UserKey)
    }
}

/// What the user fills in on a work screen; one row of one Metrc write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ActionInput {
    /// A package adjustment (Metrc's row: docs/metrc.md §8).
    AdjustPackage {
        /// The package's label (`Label`): letters and digits only.
        label: String,
        /// Signed: negative takes away.
        quantity: f64,
        /// The unit of `quantity` (`UnitOfMeasure`), a name from Metrc's units of measure.
        unit: String,
        /// The adjustment reason (`AdjustmentReason`), a name from Metrc's list.
        reason: String,
        /// Free text sent as `ReasonNote`; `None` or blank: none. Some reasons require one
        /// (`RequiresNote`, docs/metrc.md §8).
        note: Option<String>,
        /// The day of the adjustment (`AdjustmentDate`), not after today.
        date: NaiveDate,
    },
    /// Finishing a package (docs/metrc.md §8).
    FinishPackage {
        /// The package's label (`Label`): letters and digits only.
        label: String,
        /// The day it was finished (`ActualDate`), not after today.
        date: NaiveDate,
    },
    /// Moving a package (docs/metrc.md §8).
    ChangePackageLocation {
        /// The package's label (`Label`): letters and digits only.
        label: String,
        /// The new location's name (`Location`), from the license's locations.
        location: String,
        /// The day of the move (`MoveDate`), not after today.
        date: NaiveDate,
    },
    /// Waste from one or more plants, in one row (docs/metrc.md §8).
    RecordPlantWaste {
        /// The plants' labels (`PlantLabels`); duplicates are dropped.
        plant_labels: Vec<String>,
        /// The waste method (`WasteMethodName`), a name from Metrc's list.
        method: String,
        /// The waste reason (`ReasonName`), a name from Metrc's list.
        reason: String,
        /// The waste's weight (`WasteWeight`) in `unit`: above zero.
        weight: f64,
        /// The unit of `weight` (`UnitOfMeasureName`).
        unit: String,
        /// Free text sent as `Note`; `None` or blank: none.
        note: Option<String>,
        /// The day of the waste (`WasteDate`), not after today.
        date: NaiveDate,
    },
}

impl ActionInput {
    /// Which Metrc write this input becomes.
    pub fn action(&self) -> SubmissionAction {
        match self {
            ActionInput::AdjustPackage { .. } => SubmissionAction::AdjustPackage,
            ActionInput::FinishPackage { .. } => SubmissionAction::FinishPackage,
            ActionInput::ChangePackageLocation { .. } => SubmissionAction::ChangePackageLocation,
            ActionInput::RecordPlantWaste { .. } => SubmissionAction::RecordPlantWaste,
        }
    }
}

/// The length of a submission token ([`NewSubmission::submit_token`]): 32 lowercase hex digits,
/// 128 random bits.
pub const SUBMIT_TOKEN_CHARS: usize = 32;

/// A new submission from a work screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewSubmission {
    /// The license number to send it for; the user must work there.
    pub license: String,
    /// What the user filled in.
    pub input: ActionInput,
    /// The user saw "You have no Metrc API key: this will show in Metrc under <owner>'s name"
    /// and confirmed.
    #[serde(default)]
    pub confirm_facility_key: bool,
    /// The work form's token, [`SUBMIT_TOKEN_CHARS`] lowercase hex digits made in the browser
    /// for one submission: the same on every submit of the form until one is stored (a retry
    /// after a lost answer, a double click), a new one after. A repeated submit with the same
    /// token returns the submission stored first instead of storing another; with other values
    /// it is refused (docs/decisions.md, "A submission is submitted once"). Missing (empty) or
    /// malformed: refused before any other work.
    #[serde(default)]
    pub submit_token: String,
}

/// What will happen if the user submits now (before anything is queued).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preflight {
    /// The key that would carry it.
    pub key_used: Option<KeyUsed>,
    /// Why it cannot be submitted at all (no valid key, a missing Metrc permission named
    /// exactly, a personal key required by the settings).
    pub blocked: Option<String>,
    /// What the user must confirm first (no personal key: not compliant).
    pub warning: Option<String>,
    /// It will wait for an admin's approval.
    pub needs_approval: bool,
}

/// One row of Metrc Submissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionRow {
    /// The submission's id in Tracekeeper (`/admin/metrc-submissions/detail/<id>`).
    pub id: i64,
    /// When the user submitted it, UTC.
    pub created_at: DateTime<Utc>,
    /// The user who submitted it.
    pub user_id: i32,
    /// That user's name; "User <id>" when the user is no longer found.
    pub user_name: String,
    /// The license it is sent for.
    pub license_number: String,
    /// Which Metrc write it is.
    pub action: SubmissionAction,
    /// What it was about, e.g. the package label.
    pub subject: String,
    /// The key that carried it, or will.
    pub key_used: KeyUsed,
    /// Sent with the user's own key, so Metrc attributes it to them; fixed when it is stored.
    pub compliant: bool,
    /// Where it stands.
    pub status: SubmissionStatus,
    /// The latest word on it in one line: Metrc's answer (status code and messages) when there
    /// is one, else Tracekeeper's own note (waiting for approval, cancelled by whom, why it
    /// failed).
    pub metrc_answer: Option<String>,
    /// The state of the facility it is sent for: two upper-case letters; `""` where none is
    /// recorded or not looked up.
    #[serde(default)]
    pub state: String,
}

/// The tabs of Metrc Submissions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SubmissionTab {
    /// Every submission.
    #[default]
    All,
    /// Those waiting for an admin's approval.
    PendingApproval,
    /// What did not go through, or may not have: `Failed`, `Rejected` and `Unknown`.
    Failed,
    /// Those carried by a facility key: Metrc shows the key's owner as the submitter.
    NotCompliant,
}

/// Filters of Metrc Submissions (and of its CSV export).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionFilter {
    /// The tab shown; its statuses and the `status` filter must agree, else nothing matches.
    pub tab: SubmissionTab,
    /// Only this user's submissions; `None`: everyone's.
    pub user_id: Option<i32>,
    /// Only this license's; `None` or empty: every license.
    pub license: Option<String>,
    /// Only those of the facilities of this state (two letters, e.g. `"CO"`:
    /// [`state_filter`](super::inventory::state_filter)); `None` or empty: every state.
    #[serde(default)]
    pub state: Option<String>,
    /// Only this status; `None`: any the tab shows.
    pub status: Option<SubmissionStatus>,
    /// Only compliant (`Some(true)`) or non-compliant (`Some(false)`) ones; `None`: both.
    pub compliant: Option<bool>,
    /// 0-based.
    pub page: u32,
}

impl SubmissionTab {
    /// Every tab, in the order they are shown.
    pub const ALL: [SubmissionTab; 4] = [
        SubmissionTab::All,
        SubmissionTab::PendingApproval,
        SubmissionTab::Failed,
        SubmissionTab::NotCompliant,
    ];

    /// The tab's title, e.g. "Not compliant".
    pub fn label(self) -> &'static str {
        match self {
            SubmissionTab::All => "All",
            SubmissionTab::PendingApproval => "Pending approval",
            SubmissionTab::Failed => "Failed",
            SubmissionTab::NotCompliant => "Not compliant",
        }
    }

    /// The tab's path segment: `/admin/metrc-submissions/<slug>`.
    pub fn slug(self) -> &'static str {
        match self {
            SubmissionTab::All => "all",
            SubmissionTab::PendingApproval => "pending-approval",
            SubmissionTab::Failed => "failed",
            SubmissionTab::NotCompliant => "not-compliant",
        }
    }

    /// The tab of a path segment ([`SubmissionTab::slug`]); `None` for an unknown one.
    pub fn from_slug(slug: &str) -> Option<SubmissionTab> {
        SubmissionTab::ALL.into_iter().find(|t| t.slug() == slug)
    }
}

impl SubmissionFilter {
    /// The filter as URL query pairs (the page's address and the CSV export's), empty ones left
    /// out: `tab`, `user`, `license`, `state`, `status`, `compliant` (`yes`/`no`), `page`.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = vec![("tab", self.tab.slug().to_owned())];
        if let Some(user) = self.user_id {
            pairs.push(("user", user.to_string()));
        }
        if let Some(license) = &self.license {
            pairs.push(("license", license.clone()));
        }
        if let Some(state) = &self.state {
            pairs.push(("state", state.clone()));
        }
        if let Some(status) = self.status {
            pairs.push(("status", status.as_str().to_owned()));
        }
        if let Some(compliant) = self.compliant {
            pairs.push(("compliant", if compliant { "yes" } else { "no" }.to_owned()));
        }
        if self.page > 0 {
            pairs.push(("page", self.page.to_string()));
        }
        pairs
    }

    /// The filter from query pairs; unknown or malformed values are ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> SubmissionFilter {
        let mut filter = SubmissionFilter::default();
        for (name, value) in pairs {
            let value = value.trim();
            match name {
                "tab" => filter.tab = SubmissionTab::from_slug(value).unwrap_or_default(),
                "user" => filter.user_id = value.parse().ok(),
                "license" if !value.is_empty() => filter.license = Some(value.to_owned()),
                // Kept as given: the server refuses a malformed state rather than show every one.
                "state" if !value.is_empty() => filter.state = Some(value.to_owned()),
                "status" => filter.status = SubmissionStatus::parse(value),
                "compliant" => {
                    filter.compliant = match value {
                        "yes" => Some(true),
                        "no" => Some(false),
                        _ => None,
                    }
                }
                "page" => filter.page = value.parse().unwrap_or(0),
                _ => {}
            }
        }
        filter
    }
}

/// One try at sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    /// When the call started, UTC.
    pub at: DateTime<Utc>,
    /// Metrc's HTTP status, if one came back.
    pub http_status: Option<u16>,
    /// What came of it, in a few words.
    pub outcome: String,
    /// How long the call took, in milliseconds; 0 when nothing was sent.
    pub duration_ms: u64,
}

/// A submission opened from its row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionDetail {
    /// The submission as its row shows it.
    pub row: SubmissionRow,
    /// The request body as sent (JSON, pretty); keys are never part of it.
    pub request: String,
    /// Metrc's response body, if any.
    pub response: Option<String>,
    /// Every try at sending, oldest first.
    pub attempts: Vec<Attempt>,
    /// An admin's decision (approve/deny) and its reason.
    pub decision: Option<String>,
    /// `Failed` or `Retrying`: an admin may queue it to be sent again now.
    pub can_retry: bool,
    /// Not sent, not being sent and not possibly in Metrc (`Pending approval`, `Queued`,
    /// `Retrying`, `Failed`): an admin may cancel it.
    pub can_cancel: bool,
    /// `Pending approval`: an admin may approve it (it is then queued).
    pub can_approve: bool,
    /// `Pending approval`: an admin may deny it, with a reason.
    pub can_deny: bool,
    /// Unknown outcome: an admin may mark it accepted or not recorded after looking in Metrc.
    pub can_reconcile: bool,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Sam's queued, compliant "Finish package" of 1A4 under their own key, at
    /// 2027-01-15 08:00 UTC.
    pub(crate) fn submission_row(id: i64, license: &str) -> SubmissionRow {
        SubmissionRow {
            id,
            created_at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            user_id: 1,
            user_name: "Sam".into(),
            license_number: license.into(),
            action: SubmissionAction::FinishPackage,
            subject: "1A4".into(),
            key_used: KeyUsed::UserKey,
            compliant: true,
            status: SubmissionStatus::Queued,
            metrc_answer: None,
            state: String::new(),
        }
    }

    #[test]
    fn query_values_round_trip_and_labels_are_the_screens() {
        for s in SubmissionStatus::ALL {
            assert_eq!(SubmissionStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(
            SubmissionStatus::PendingApproval.label(),
            "Pending approval"
        );
        assert_eq!(
            KeyUsed::FacilityKey {
                owner: "Olivia Owner".into()
            }
            .label(),
            "Facility key (Olivia Owner)"
        );
        assert!(KeyUsed::UserKey.compliant());
    }

    #[test]
    fn filters_survive_the_address_bar() {
        let filter = SubmissionFilter {
            tab: SubmissionTab::Failed,
            user_id: Some(7),
            license: Some("C10-1".into()),
            state: Some("CO".into()),
            status: Some(SubmissionStatus::Rejected),
            compliant: Some(false),
            page: 2,
        };
        let pairs = filter.to_pairs();
        let back = SubmissionFilter::from_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())));
        assert_eq!(back, filter);
        let junk = SubmissionFilter::from_pairs([("user", "x"), ("status", "nope"), ("tab", "?")]);
        assert_eq!(junk, SubmissionFilter::default());
        let no_state = SubmissionFilter::from_pairs([("state", " "), ("tab", "all")]);
        assert_eq!(no_state.state, None);
    }

    #[test]
    fn a_filter_without_a_state_still_deserializes() {
        let old: SubmissionFilter = serde_json::from_str(
            r#"{"tab": "All", "user_id": null, "license": null, "status": null, "compliant": null, "page": 0}"#,
        )
        .unwrap();
        assert_eq!(old, SubmissionFilter::default());
    }

    #[test]
    fn a_row_carries_its_state_and_reads_without_one() {
        let row = SubmissionRow {
            state: "CO".into(),
            ..submission_row(4, "C10-1")
        };
        let mut json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["state"], "CO");
        assert_eq!(json["license_number"], "C10-1");
        assert_eq!(
            serde_json::from_value::<SubmissionRow>(json.clone()).unwrap(),
            row
        );
        // A row written without `state` reads with none.
        json.as_object_mut().unwrap().remove("state");
        assert_eq!(
            serde_json::from_value::<SubmissionRow>(json).unwrap(),
            SubmissionRow {
                state: String::new(),
                ..row
            }
        );
    }
}
