//! Live key validation as the browser sees it: the updates the server streams while Metrc
//! answers, their fold into the panel's state, and the one-line verdict above the panel.

use super::facilities::{KeyValidation, ReachedFacility, SectionCell};
use crate::error::AppError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// One step of a live validation: the server sends one per line (JSON), in this order:
/// `Facilities`, then `Cell`s as probes return, then `Done`; or `Failed` instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ValidationUpdate {
    /// The licenses the key reaches (no cells yet) and the sections each will get.
    Facilities {
        /// The sections probed for every license, in column order.
        sections: Vec<String>,
        /// Every license the key reaches, each with no cells yet.
        facilities: Vec<ReachedFacility>,
        /// Who holds this key in Tracekeeper already.
        holder: KeyHolder,
    },
    /// One cell has come in.
    Cell {
        /// The license the cell belongs to.
        license_number: String,
        /// The section and what the key can do there.
        cell: SectionCell,
    },
    /// Every cell has come in.
    Done,
    /// The key could not be validated: Metrc refused it or failed.
    Failed(AppError),
}

/// Who already holds a key in Tracekeeper (by fingerprint; docs/design.md §5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyHolder {
    /// Nobody: a new key.
    #[default]
    Nobody,
    /// The user whose key is being set already has it.
    ThisUser,
    /// Another user's own key (their name, for admins). Never a facility key, never shared.
    OtherUser {
        /// Their name; `None` when the asker may not see it (only admins may).
        name: Option<String>,
    },
    /// The facility key of these licenses.
    Facilities(Vec<String>),
}

/// Where a live validation stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Phase {
    /// No key to validate.
    #[default]
    Idle,
    /// Asked Metrc; cells are coming in.
    Checking,
    /// Every cell is in.
    Done,
    /// Validation could not complete.
    Failed(AppError),
}

/// The validation panel's state: the fold of [`ValidationUpdate`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveValidation {
    /// How far the validation has got.
    pub phase: Phase,
    /// The licenses and cells that have come in so far.
    pub validation: KeyValidation,
    /// Who holds the key already.
    pub holder: KeyHolder,
}

impl LiveValidation {
    /// A validation that has just been asked for.
    pub fn checking() -> LiveValidation {
        LiveValidation {
            phase: Phase::Checking,
            ..LiveValidation::default()
        }
    }

    /// Folds one update in. Cells of unknown licenses are ignored; a cell replaces an earlier
    /// one for the same section.
    pub fn apply(&mut self, update: ValidationUpdate) {
        match update {
            ValidationUpdate::Facilities {
                sections,
                facilities,
                holder,
            } => {
                self.validation = KeyValidation {
                    sections,
                    facilities,
                };
                self.holder = holder;
            }
            ValidationUpdate::Cell {
                license_number,
                cell,
            } => {
                if let Some(f) = self
                    .validation
                    .facilities
                    .iter_mut()
                    .find(|f| f.license_number == license_number)
                {
                    f.cells.retain(|c| c.section != cell.section);
                    f.cells.push(cell);
                }
            }
            ValidationUpdate::Done => self.phase = Phase::Done,
            ValidationUpdate::Failed(error) => self.phase = Phase::Failed(error),
        }
    }

    /// Cells in, of all expected (`(done, total)`); `total` is 0 until the licenses are known.
    pub fn progress(&self) -> (usize, usize) {
        let sections = self.validation.sections.len();
        let facilities = &self.validation.facilities;
        let done = facilities.iter().map(|f| f.cells.len()).sum();
        (done, sections * facilities.len())
    }

    /// The reached facility of `license_number`.
    pub fn facility(&self, license_number: &str) -> Option<&ReachedFacility> {
        self.validation
            .facilities
            .iter()
            .find(|f| f.license_number == license_number)
    }

    /// The key may be saved: every cell is in, Metrc accepted it, it reaches a facility and it is
    /// no other user's key. (A facility key may become a user's key only with a confirmation.)
    pub fn assignable(&self) -> bool {
        self.phase == Phase::Done
            && !matches!(self.holder, KeyHolder::OtherUser { .. })
            && !self.validation.facilities.is_empty()
    }

    /// The verdict line on a user's key screens.
    pub fn user_verdict(&self) -> Verdict {
        match &self.phase {
            Phase::Done if !self.validation.facilities.is_empty() => match &self.holder {
                KeyHolder::OtherUser { name } => Verdict::OtherUsersKey(name.clone()),
                KeyHolder::Facilities(licenses) => Verdict::FacilityKey(licenses.clone()),
                KeyHolder::Nobody | KeyHolder::ThisUser => Verdict::UserKeyValid {
                    reached: self.validation.facilities.len(),
                },
            },
            _ => self.verdict(&BTreeSet::new()),
        }
    }

    /// The verdict line above the panel, for the selected licenses.
    pub fn verdict(&self, selected: &BTreeSet<String>) -> Verdict {
        match &self.phase {
            Phase::Idle => Verdict::Idle,
            Phase::Failed(error) => Verdict::Failed(error.clone()),
            Phase::Checking => {
                let (done, total) = self.progress();
                Verdict::Checking { done, total }
            }
            Phase::Done if matches!(self.holder, KeyHolder::OtherUser { .. }) => Verdict::UserKey,
            Phase::Done if self.validation.facilities.is_empty() => Verdict::ReachesNothing,
            Phase::Done => {
                let chosen: Vec<&ReachedFacility> = self
                    .validation
                    .facilities
                    .iter()
                    .filter(|f| selected.contains(&f.license_number))
                    .collect();
                let not_owner: Vec<String> = chosen
                    .iter()
                    .filter(|f| !f.is_owner)
                    .map(|f| f.license_number.clone())
                    .collect();
                if !not_owner.is_empty() {
                    return Verdict::NotOwner(not_owner);
                }
                let fully = chosen
                    .iter()
                    .filter(|f| f.denied().is_empty() && f.failed().is_empty())
                    .count();
                Verdict::Valid {
                    fully,
                    selected: chosen.len(),
                    reached: self.validation.facilities.len(),
                }
            }
        }
    }
}

/// The one-line verdict above the validation panel (docs/design.md §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No key yet: asks for one.
    Idle,
    /// Metrc is being asked; cells are coming in.
    Checking {
        /// Cells in so far.
        done: usize,
        /// Cells expected in all; 0 until the licenses are known.
        total: usize,
    },
    /// The key could not be validated: Metrc refused it or failed (the error says which).
    Failed(AppError),
    /// Setting a facility key: the key is a user's own, so it cannot be a facility key.
    UserKey,
    /// Metrc accepts the key but its user works at no license.
    ReachesNothing,
    /// The key is not the License Owner's for these selected licenses.
    NotOwner(Vec<String>),
    /// Valid: `fully` of the `selected` facilities have every applicable section granted.
    Valid {
        /// Selected facilities where no section is denied or failed.
        fully: usize,
        /// Facilities selected among those the key reaches.
        selected: usize,
        /// Facilities the key reaches in all.
        reached: usize,
    },
    /// A user's key screens: the key is another user's own (their name, for admins).
    OtherUsersKey(Option<String>),
    /// A user's key screens: the key is the facility key of these licenses.
    FacilityKey(Vec<String>),
    /// A user's key screens: valid, reaching this many facilities.
    UserKeyValid {
        /// Facilities the key reaches.
        reached: usize,
    },
}

impl Verdict {
    /// Whether this verdict is bad news (shown as an error).
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            Verdict::Failed(_)
                | Verdict::UserKey
                | Verdict::ReachesNothing
                | Verdict::NotOwner(_)
                | Verdict::OtherUsersKey(_)
                | Verdict::FacilityKey(_)
        )
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Verdict::Idle => write!(f, "Paste a key to check it against Metrc."),
            Verdict::Checking { total: 0, .. } => write!(f, "Checking the key with Metrc…"),
            Verdict::Checking { done, total } => {
                write!(
                    f,
                    "Checking the key with Metrc: {done} of {total} checks done…"
                )
            }
            Verdict::Failed(error) => write!(f, "Key invalid. {error}"),
            Verdict::UserKey => write!(
                f,
                "This is a user's own Metrc key: it cannot be a facility key. Use the License Owner's key here; user keys belong on the user's page."
            ),
            Verdict::ReachesNothing => write!(
                f,
                "Metrc accepts this key, but it reaches no facility: its owner is not an employee of any license."
            ),
            Verdict::NotOwner(licenses) => write!(
                f,
                "This key is not the License Owner's for {}: Metrc will show that employee as the submitter.",
                licenses.join(", ")
            ),
            Verdict::OtherUsersKey(Some(name)) => write!(
                f,
                "This key is already {name}'s own Metrc key. A key belongs to one person: Metrc attributes everything sent with it to them."
            ),
            Verdict::OtherUsersKey(None) => write!(
                f,
                "This key is already another user's own Metrc key. A key belongs to one person: Metrc attributes everything sent with it to them."
            ),
            Verdict::FacilityKey(licenses) => write!(
                f,
                "This is the facility key of {}: with it, this user's submissions show in Metrc under the License Owner's name, not theirs.",
                licenses.join(", ")
            ),
            Verdict::UserKeyValid { reached } => write!(
                f,
                "Key valid: it reaches {reached} {}.",
                plural(*reached, "facility", "facilities")
            ),
            Verdict::Valid {
                reached,
                selected: 0,
                ..
            } => write!(
                f,
                "Key valid: it reaches {reached} {}. Select the facilities to use it for.",
                plural(*reached, "facility", "facilities")
            ),
            Verdict::Valid {
                fully, selected, ..
            } => write!(
                f,
                "Key valid for {fully} of {selected} selected {}.",
                plural(*selected, "facility", "facilities")
            ),
        }
    }
}

/// `one` or `many` by count.
pub fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

/// A stream of text chunks cut into whole lines (a chunk may end mid-line or hold several).
#[derive(Debug, Default)]
pub struct LineBuffer {
    pending: String,
}

impl LineBuffer {
    /// Adds `chunk`; returns the lines it completed, without their newlines.
    pub fn push(&mut self, chunk: &str) -> Vec<String> {
        self.pending.push_str(chunk);
        let Some(end) = self.pending.rfind('\n') else {
            return Vec::new();
        };
        let rest = self.pending.split_off(end + 1);
        let complete = std::mem::replace(&mut self.pending, rest);
        complete
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::facilities::CellState;

    fn reached(license: &str, is_owner: bool) -> ReachedFacility {
        ReachedFacility {
            license_number: license.into(),
            name: format!("{license} name"),
            license_type: "Retail".into(),
            is_owner,
            is_manager: false,
            known: false,
            cells: vec![],
        }
    }

    fn cell(license: &str, section: &str, status: CellState) -> ValidationUpdate {
        ValidationUpdate::Cell {
            license_number: license.into(),
            cell: SectionCell {
                section: section.into(),
                status,
            },
        }
    }

    fn selected(licenses: &[&str]) -> BTreeSet<String> {
        licenses
            .iter()
            .map(std::string::ToString::to_string)
            .collect()
    }

    fn started(facilities: Vec<ReachedFacility>) -> LiveValidation {
        let mut live = LiveValidation::checking();
        live.apply(ValidationUpdate::Facilities {
            sections: vec!["Packages".into(), "Plants".into()],
            facilities,
            holder: KeyHolder::Nobody,
        });
        live
    }

    #[test]
    fn cells_fill_in_and_progress_counts_them() {
        let mut live = started(vec![reached("A", true), reached("B", true)]);
        assert_eq!(live.progress(), (0, 4));
        assert_eq!(
            live.verdict(&selected(&[])).to_string(),
            "Checking the key with Metrc: 0 of 4 checks done…"
        );
        live.apply(cell("A", "Packages", CellState::Granted));
        live.apply(cell("A", "Packages", CellState::Denied));
        live.apply(cell("Z", "Packages", CellState::Granted));
        assert_eq!(live.progress(), (1, 4));
        assert_eq!(live.facility("A").unwrap().denied(), vec!["Packages"]);
        assert!(!live.assignable());
        live.apply(cell("A", "Plants", CellState::Granted));
        live.apply(cell("B", "Packages", CellState::Granted));
        live.apply(cell("B", "Plants", CellState::NotApplicable));
        live.apply(ValidationUpdate::Done);
        assert_eq!(live.progress(), (4, 4));
        assert!(live.assignable());
        assert_eq!(
            live.verdict(&selected(&["A", "B"])),
            Verdict::Valid {
                fully: 1,
                selected: 2,
                reached: 2
            }
        );
        assert_eq!(
            live.verdict(&selected(&["A", "B"])).to_string(),
            "Key valid for 1 of 2 selected facilities."
        );
        assert_eq!(
            live.verdict(&selected(&[])).to_string(),
            "Key valid: it reaches 2 facilities. Select the facilities to use it for."
        );
    }

    #[test]
    fn a_refused_key_a_user_key_and_a_non_owner_key_are_problems() {
        let mut live = LiveValidation::checking();
        live.apply(ValidationUpdate::Failed(AppError::KeyRefused("no".into())));
        let verdict = live.verdict(&selected(&[]));
        assert!(verdict.is_problem());
        assert_eq!(verdict.to_string(), "Key invalid. no");
        assert!(!live.assignable());

        let mut live = started(vec![reached("A", true)]);
        live.holder = KeyHolder::OtherUser { name: None };
        live.apply(ValidationUpdate::Done);
        assert_eq!(live.verdict(&selected(&["A"])), Verdict::UserKey);
        assert_eq!(live.user_verdict(), Verdict::OtherUsersKey(None));
        assert!(!live.assignable());

        let mut live = started(vec![reached("A", true), reached("B", false)]);
        live.apply(ValidationUpdate::Done);
        assert!(!live.verdict(&selected(&["A"])).is_problem());
        assert_eq!(
            live.verdict(&selected(&["A", "B"])),
            Verdict::NotOwner(vec!["B".into()])
        );

        let mut live = started(vec![]);
        live.apply(ValidationUpdate::Done);
        assert_eq!(live.verdict(&selected(&[])), Verdict::ReachesNothing);
        assert!(!live.assignable());
    }

    #[test]
    fn on_user_screens_a_facility_key_is_a_problem_and_the_own_key_is_fine() {
        let mut live = started(vec![reached("A", true)]);
        live.apply(ValidationUpdate::Done);
        assert_eq!(live.user_verdict(), Verdict::UserKeyValid { reached: 1 });
        assert_eq!(
            live.user_verdict().to_string(),
            "Key valid: it reaches 1 facility."
        );
        live.holder = KeyHolder::ThisUser;
        assert!(!live.user_verdict().is_problem());
        live.holder = KeyHolder::Facilities(vec!["A".into()]);
        let verdict = live.user_verdict();
        assert!(verdict.is_problem());
        assert!(
            verdict.to_string().contains("facility key of A"),
            "{verdict}"
        );
        assert!(
            live.assignable(),
            "a facility key may be set with a confirmation"
        );
        live.holder = KeyHolder::OtherUser {
            name: Some("Uma".into()),
        };
        assert!(
            live.user_verdict()
                .to_string()
                .contains("Uma's own Metrc key")
        );
    }

    #[test]
    fn lines_are_cut_whole_across_chunks() {
        let mut lines = LineBuffer::default();
        assert!(lines.push("{\"a\":").is_empty());
        assert_eq!(lines.push("1}\n{\"b\""), vec!["{\"a\":1}"]);
        assert_eq!(
            lines.push(":2}\n\n{\"c\":3}\n"),
            vec!["{\"b\":2}", "{\"c\":3}"]
        );
        assert!(lines.push("").is_empty());
    }

    #[test]
    fn updates_round_trip_as_json_lines() {
        let update = cell("A", "Sales", CellState::Error("503".into()));
        let line = serde_json::to_string(&update).unwrap();
        assert!(!line.contains('\n'));
        assert_eq!(
            serde_json::from_str::<ValidationUpdate>(&line).unwrap(),
            update
        );
    }
}
