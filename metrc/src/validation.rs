//! Key validation (docs/design.md §2): which licenses a key reaches and, for each, which sections
//! it can read. One facilities call, then every applicable section probe of every license at once,
//! within the rate limits. The streaming form feeds a live panel; the report is its fold.

use futures::stream::{self, FuturesUnordered, Stream, StreamExt};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::Error;
use crate::sections::Section;
use crate::types::{Facility, FacilityType};

/// What a key can do in one section of one license.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CellStatus {
    /// The probe succeeded.
    Granted,
    /// The probe answered 401 or 403: the key's user lacks the permission.
    Denied,
    /// The license type cannot use this section at all (from `FacilityType`); not probed.
    NotApplicable,
    /// Metrc failed (after retries) or answered unexpectedly; try again later.
    Error(String),
}

/// One license a key reaches, and its cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FacilityReport {
    /// `License.Number`; `""` when Metrc sent none.
    pub license_number: String,
    /// The facility's `Name`; `None` when Metrc sent none.
    pub name: Option<String>,
    /// The facility's `DisplayName`; `None` when Metrc sent none.
    pub display_name: Option<String>,
    /// `License.LicenseType`; `None` when Metrc sent none.
    pub license_type: Option<String>,
    /// Whether the key's user is the License Owner (`IsOwner`, docs/metrc.md §4); `false` when
    /// Metrc sent none.
    pub is_owner: bool,
    /// Whether the key's user is a manager at this license (`IsManager`); `false` when Metrc
    /// sent none.
    pub is_manager: bool,
    /// The key's user's own license number at this facility.
    pub employee_license_number: Option<String>,
    /// The license's capability flags, as Metrc sent them.
    pub facility_type: FacilityType,
    /// One cell per section, in [`Section::ALL`] order once complete.
    pub cells: Vec<(Section, CellStatus)>,
}

/// The result of validating one key. Holds no key: safe to store and send to a browser.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationReport {
    /// Every license the key reaches, in the order of Metrc's facilities answer.
    pub facilities: Vec<FacilityReport>,
}

/// One step of [`Client::validate_key_stream`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ValidationEvent {
    /// First: the licenses the key reaches, with no cells yet.
    Facilities(Vec<FacilityReport>),
    /// Then one per (license, section), in completion order.
    Cell {
        /// The license probed (`License.Number`).
        license_number: String,
        /// The section probed.
        section: Section,
        /// What the key can do there.
        status: CellStatus,
    },
}

impl FacilityReport {
    fn from_facility(f: &Facility) -> FacilityReport {
        let license = f.license.clone().unwrap_or_default();
        FacilityReport {
            license_number: f.license_number().to_string(),
            name: f.name.clone(),
            display_name: f.display_name.clone(),
            license_type: license.license_type,
            is_owner: f.is_owner.unwrap_or(false),
            is_manager: f.is_manager.unwrap_or(false),
            employee_license_number: license.employee_license_number,
            facility_type: f.facility_type.clone().unwrap_or_default(),
            cells: Vec::new(),
        }
    }

    /// The status of `section`, if known yet.
    pub fn cell(&self, section: Section) -> Option<&CellStatus> {
        self.cells
            .iter()
            .find(|(s, _)| *s == section)
            .map(|(_, status)| status)
    }
}

impl ValidationReport {
    /// Folds one event in. Cells are kept in [`Section::ALL`] order.
    pub fn apply(&mut self, event: ValidationEvent) {
        match event {
            ValidationEvent::Facilities(facilities) => self.facilities = facilities,
            ValidationEvent::Cell {
                license_number,
                section,
                status,
            } => {
                if let Some(f) = self
                    .facilities
                    .iter_mut()
                    .find(|f| f.license_number == license_number)
                {
                    f.cells.retain(|(s, _)| *s != section);
                    f.cells.push((section, status));
                    f.cells.sort_by_key(|(s, _)| *s);
                }
            }
        }
    }

    /// The facility report for `license_number`.
    pub fn facility(&self, license_number: &str) -> Option<&FacilityReport> {
        self.facilities
            .iter()
            .find(|f| f.license_number == license_number)
    }
}

impl Client {
    /// Validates a user key: [`ValidationReport`] for every license it reaches.
    /// `Err(Error::KeyInvalid)` if Metrc refuses the key; other errors of the facilities call
    /// too (after retries). Failures of single probes become [`CellStatus::Error`] cells.
    pub async fn validate_key(&self, key: &SecretString) -> Result<ValidationReport, Error> {
        let mut events = std::pin::pin!(self.validate_key_stream(key));
        let mut report = ValidationReport::default();
        while let Some(event) = events.next().await {
            report.apply(event?);
        }
        Ok(report)
    }

    /// [`Client::validate_key`] as it happens: first `Ok(Facilities)` (or the one `Err` of the
    /// facilities call), then one `Ok(Cell)` per license and section: `NotApplicable` ones at
    /// once, probed ones as their answers come in. Probes run concurrently; the rate limiter
    /// paces them.
    pub fn validate_key_stream(
        &self,
        key: &SecretString,
    ) -> impl Stream<Item = Result<ValidationEvent, Error>> + Send + 'static + use<> {
        let client = self.clone();
        let key = key.clone();
        stream::once(async move {
            let facilities = client.facilities(&key).await;
            (client, key, facilities)
        })
        .flat_map(|(client, key, facilities)| match facilities {
            Err(error) => stream::iter(vec![Err(error)]).left_stream(),
            Ok(facilities) => cell_events(client, key, facilities).right_stream(),
        })
    }
}

/// The `Facilities` event, then every cell.
fn cell_events(
    client: Client,
    key: SecretString,
    facilities: Vec<Facility>,
) -> impl Stream<Item = Result<ValidationEvent, Error>> + Send + 'static {
    let head = ValidationEvent::Facilities(
        facilities
            .iter()
            .map(FacilityReport::from_facility)
            .collect(),
    );
    let mut ready = Vec::new();
    let probes = FuturesUnordered::new();
    for facility in &facilities {
        let license = facility.license_number().to_string();
        for section in Section::ALL {
            if !facility.section_applies(section) {
                ready.push(cell(&license, section, CellStatus::NotApplicable));
                continue;
            }
            let (client, key, license) = (client.clone(), key.clone(), license.clone());
            probes.push(async move {
                let status = match client.probe(&key, &license, section).await {
                    Ok(()) => CellStatus::Granted,
                    Err(Error::NoAccess { .. } | Error::KeyInvalid) => CellStatus::Denied,
                    Err(other) => CellStatus::Error(other.to_string()),
                };
                cell(&license, section, status)
            });
        }
    }
    stream::iter(std::iter::once(head).chain(ready).map(Ok)).chain(probes.map(Ok))
}

fn cell(license: &str, section: Section, status: CellStatus) -> ValidationEvent {
    ValidationEvent::Cell {
        license_number: license.to_string(),
        section,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facility(license: &str) -> FacilityReport {
        FacilityReport {
            license_number: license.into(),
            name: None,
            display_name: None,
            license_type: None,
            is_owner: true,
            is_manager: false,
            employee_license_number: None,
            facility_type: FacilityType::default(),
            cells: vec![],
        }
    }

    #[test]
    fn report_is_the_fold_of_events_in_section_order() {
        let mut report = ValidationReport::default();
        report.apply(ValidationEvent::Facilities(vec![
            facility("A"),
            facility("B"),
        ]));
        report.apply(cell("B", Section::Plants, CellStatus::NotApplicable));
        report.apply(cell("A", Section::Sales, CellStatus::Denied));
        report.apply(cell("A", Section::Employees, CellStatus::Granted));
        report.apply(cell("Z", Section::Employees, CellStatus::Granted));
        let a = report.facility("A").unwrap();
        assert_eq!(
            a.cells,
            vec![
                (Section::Employees, CellStatus::Granted),
                (Section::Sales, CellStatus::Denied)
            ]
        );
        assert_eq!(
            report.facility("B").unwrap().cell(Section::Plants),
            Some(&CellStatus::NotApplicable)
        );
        let json = serde_json::to_string(&report).unwrap();
        let back: ValidationReport = serde_json::from_str(&json).unwrap();
        assert_eq!(back, report);
    }
}
