//! Facilities (`GET /facilities/v2/`) and employees (`GET /employees/v2/`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::tolerant::{FromWire, metrc_record, normalise};
use crate::sections::{Capability, Section};

metrc_record! {
    /// One license the key's user works at, as `GET /facilities/v2/` describes it.
    pub struct Facility {
        /// `FacilityId`: Metrc's numeric id of the facility.
        facility_id: i64,
        /// `0001-01-01` (Metrc's "none", in its own example) reads as `None`.
        hire_date: NaiveDate,
        /// `IsOwner`: whether the key's user is the License Owner of this license (docs/metrc.md
        /// §4).
        is_owner: bool,
        /// `IsManager`: whether the key's user is a manager at this license.
        is_manager: bool,
        /// `IsFinancialContact`: whether the key's user is this license's financial contact.
        is_financial_contact: bool,
        /// `Email`, as Metrc sends it; Tracekeeper does not read it.
        email: String,
        /// `Occupations`: the key's user's occupations at this license (e.g. `["Owner"]`).
        occupations: Vec<String>,
        /// `Name`: the facility's name.
        name: String,
        /// `Alias`: another name Metrc holds for the facility.
        alias: String,
        /// `DisplayName`: the name Metrc shows for the facility.
        display_name: String,
        /// `CredentialedDate`, as Metrc sends it; Tracekeeper does not read it.
        credentialed_date: NaiveDate,
        /// `SupportActivationDate`, as Metrc sends it; Tracekeeper does not read it.
        support_activation_date: NaiveDate,
        /// `SupportExpirationDate`, as Metrc sends it; Tracekeeper does not read it.
        support_expiration_date: NaiveDate,
        /// `FacilityType`: the license's capability flags (docs/metrc.md §4).
        facility_type: FacilityType,
        /// `License`: the license's number, type and dates, and the key's user's own number at it.
        license: License,
    }
}

metrc_record! {
    /// The license part of a [`Facility`].
    pub struct License {
        /// `Number`: the license number, the `licenseNumber` of every call about this license.
        number: String,
        /// `EmployeeLicenseNumber`: the key's user's own license number at this license
        /// (docs/metrc.md §4).
        employee_license_number: String,
        /// `StartDate`: the day the license starts.
        start_date: NaiveDate,
        /// `EndDate`: the day the license ends.
        end_date: NaiveDate,
        /// `LicenseType`: the license type's name, as Metrc words it.
        license_type: String,
    }
}

/// A facility's capability flags (`CanGrowPlants`, `IsMedical`, ... about 96 of them), kept as
/// Metrc sent them (keys in Metrc's spelling, whatever their case).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FacilityType(pub BTreeMap<String, serde_json::Value>);

impl FromWire for FacilityType {
    fn from_wire(value: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(value.clone()).ok()
    }
}

impl FacilityType {
    /// Whether the flag `name` (e.g. `"CanGrowPlants"`; any key case, as Metrc sent it) is
    /// `true`. A missing or non-boolean flag counts as `false`.
    pub fn flag(&self, name: &str) -> bool {
        let value = self.0.get(name).or_else(|| {
            let wanted = normalise(name);
            self.0
                .iter()
                .find(|(key, _)| normalise(key) == wanted)
                .map(|(_, v)| v)
        });
        value.and_then(serde_json::Value::as_bool) == Some(true)
    }

    /// Whether the flag of `capability` is `true` ([`FacilityType::flag`]).
    pub fn has(&self, capability: Capability) -> bool {
        self.flag(capability.flag_name())
    }
}

impl Facility {
    /// `License.Number`, or `""` when Metrc sent none.
    pub fn license_number(&self) -> &str {
        self.license
            .as_ref()
            .and_then(|l| l.number.as_deref())
            .unwrap_or_default()
    }

    /// Whether the license has `capability` (from `FacilityType`).
    pub fn has(&self, capability: Capability) -> bool {
        self.facility_type
            .as_ref()
            .is_some_and(|t| t.has(capability))
    }

    /// Whether the license type can use `section` at all (the "applies when" column of
    /// docs/metrc.md §5).
    pub fn section_applies(&self, section: Section) -> bool {
        section.applies(|c| self.has(c))
    }
}

metrc_record! {
    /// One employee of a license (`GET /employees/v2/`).
    pub struct Employee {
        /// `FullName`: the employee's name.
        full_name: String,
        /// `License`: the employee's own license.
        license: EmployeeLicense,
        /// `IsOwner`: whether the employee is the License Owner.
        is_owner: bool,
        /// `IsManager`: whether the employee is a manager at the license.
        is_manager: bool,
    }
}

metrc_record! {
    /// An employee's own license (the `EmployeeLicenseNumber` used by
    /// `/employees/v2/permissions`).
    pub struct EmployeeLicense {
        /// `Number`: the employee's own license number (the `employeeLicenseNumber` of
        /// `/employees/v2/permissions`, docs/metrc.md §5).
        number: String,
        /// `StartDate`: the day the employee's license starts.
        start_date: NaiveDate,
        /// `EndDate`: the day the employee's license ends.
        end_date: NaiveDate,
        /// `LicenseType`: the employee license's type, as Metrc words it.
        license_type: String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::tolerant::decode;
    use serde_json::json;

    fn sample_pascal() -> serde_json::Value {
        json!({
            "HireDate": "2020-01-01", "IsOwner": true, "IsManager": false,
            "Occupations": ["Owner"], "Name": "Green Leaf", "DisplayName": "Green Leaf (Main)",
            "FacilityType": {"CanGrowPlants": true, "CanSellToConsumers": false, "IsMedical": true,
                             "SomeFutureFlag": true},
            "License": {"Number": "CUL-0001", "EmployeeLicenseNumber": "EMP-7",
                        "StartDate": "2020-01-01", "EndDate": "2030-01-01", "LicenseType": "Cultivator"},
            "BrandNewField": 42
        })
    }

    #[test]
    fn decodes_pascal_facility_with_capabilities() {
        let f: Facility = decode(sample_pascal()).unwrap();
        assert_eq!(f.license_number(), "CUL-0001");
        assert_eq!(f.is_owner, Some(true));
        assert_eq!(
            f.license
                .as_ref()
                .unwrap()
                .employee_license_number
                .as_deref(),
            Some("EMP-7")
        );
        assert!(f.has(Capability::CanGrowPlants));
        assert!(!f.has(Capability::CanSellToConsumers));
        assert!(f.section_applies(Section::Plants));
        assert!(!f.section_applies(Section::Sales));
        assert!(f.facility_type.as_ref().unwrap().flag("SomeFutureFlag"));
        assert_eq!(f.raw["BrandNewField"], 42);
        assert_eq!(f.hire_date, NaiveDate::from_ymd_opt(2020, 1, 1));
        assert_eq!(serde_json::to_value(&f).unwrap(), sample_pascal());
    }

    #[test]
    fn decodes_camel_facility_and_tolerates_missing_fields() {
        let f: Facility = decode(json!({
            "isOwner": false, "name": "Dist",
            "facilityType": {"canGrowPlants": false},
            "license": {"number": "DIS-1", "licenseType": "Distributor"}
        }))
        .unwrap();
        assert_eq!(f.license_number(), "DIS-1");
        assert_eq!(f.is_owner, Some(false));
        assert_eq!(f.display_name, None);
        assert!(!f.section_applies(Section::Plants));
        assert!(f.section_applies(Section::Packages));
        // Metrc's own example: a hire date of 0001-01-01 means none.
        let placeholder: Facility = decode(json!({"HireDate": "0001-01-01"})).unwrap();
        assert_eq!(placeholder.hire_date, None);
        assert_eq!(placeholder.raw["HireDate"], "0001-01-01");
        let empty: Facility = decode(json!({})).unwrap();
        assert_eq!(empty.license_number(), "");
        assert!(!empty.has(Capability::CanGrowPlants));
    }

    #[test]
    fn employee_decodes_in_any_key_case() {
        let e: Employee =
            decode(json!({"FullName": "Ann", "License": {"Number": "EMP-1"}})).unwrap();
        assert_eq!(e.full_name.as_deref(), Some("Ann"));
        assert_eq!(e.license.unwrap().number.as_deref(), Some("EMP-1"));
        let e: Employee = decode(json!({
            "fullName": "John Smith", "isOwner": true,
            "license": {"number": "403-X0001", "startDate": "2023-06-28", "licenseType": "Medical Cultivation"}
        }))
        .unwrap();
        assert_eq!(e.full_name.as_deref(), Some("John Smith"));
        assert_eq!(e.is_owner, Some(true));
        let license = e.license.unwrap();
        assert_eq!(license.number.as_deref(), Some("403-X0001"));
        assert_eq!(license.start_date, NaiveDate::from_ymd_opt(2023, 6, 28));
    }
}
