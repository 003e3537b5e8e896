//! Single reads: facilities, section probes, employees and permissions, reference lists.

use secrecy::SecretString;
use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Scope};
use crate::paging::{Page, decode_records};
use crate::sections::Section;
use crate::types::{AdjustReason, Employee, Facility, UnitOfMeasure, WasteMethod, WasteReason};

impl Client {
    /// `GET /facilities/v2/`: every license the key's user works at. Needs no permission, so a
    /// 401 here (or 403) is [`Error::KeyInvalid`]. Accepts a paging envelope too.
    pub async fn facilities(&self, key: &SecretString) -> Result<Vec<Facility>, Error> {
        let json = self
            .get(key, Scope::Facilities, "/facilities/v2/", &[])
            .await?;
        decode_records(Page::parse(json, 1)?.records)
    }

    /// The section's cheap read ([`Section::probe_path`] with `licenseNumber`, `pageNumber=1`,
    /// `pageSize=1`): `Ok(())` if the key may read that section of `license`,
    /// [`Error::NoAccess`] on 401/403. The body is not read beyond being JSON.
    pub async fn probe(
        &self,
        key: &SecretString,
        license: &str,
        section: Section,
    ) -> Result<(), Error> {
        let query = [
            ("licenseNumber", license),
            ("pageNumber", "1"),
            ("pageSize", "1"),
        ];
        self.get(key, Scope::License(license), section.probe_path(), &query)
            .await
            .map(drop)
    }

    /// `GET /employees/v2/` (all pages): the license's employees. Needs Manage or View Employees.
    pub async fn employees(
        &self,
        key: &SecretString,
        license: &str,
    ) -> Result<Vec<Employee>, Error> {
        self.list_all(key, license, "/employees/v2/", &[]).await
    }

    /// `GET /employees/v2/permissions`: the permission names (lower case, as Metrc sends them) of
    /// the employee with `employee_license_number` at `license`. Needs Manage Employees.
    /// Non-string entries are skipped; an envelope is accepted as well as a bare array.
    pub async fn employee_permissions(
        &self,
        key: &SecretString,
        license: &str,
        employee_license_number: &str,
    ) -> Result<Vec<String>, Error> {
        let query = [
            ("licenseNumber", license),
            ("employeeLicenseNumber", employee_license_number),
        ];
        let json = self
            .get(
                key,
                Scope::License(license),
                "/employees/v2/permissions",
                &query,
            )
            .await?;
        Ok(Page::parse(json, 1)?
            .records
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect())
    }

    /// `GET /packages/v2/adjust/reasons` for `license`.
    pub async fn adjust_reasons(
        &self,
        key: &SecretString,
        license: &str,
    ) -> Result<Vec<AdjustReason>, Error> {
        self.list_all(key, license, "/packages/v2/adjust/reasons", &[])
            .await
    }

    /// `GET /plants/v2/waste/methods/all` for `license`.
    pub async fn waste_methods(
        &self,
        key: &SecretString,
        license: &str,
    ) -> Result<Vec<WasteMethod>, Error> {
        self.list_all(key, license, "/plants/v2/waste/methods/all", &[])
            .await
    }

    /// `GET /plants/v2/waste/reasons` for `license`.
    pub async fn waste_reasons(
        &self,
        key: &SecretString,
        license: &str,
    ) -> Result<Vec<WasteReason>, Error> {
        self.list_all(key, license, "/plants/v2/waste/reasons", &[])
            .await
    }

    /// `GET /unitsofmeasure/v2/active`. Units are state-wide; `licenseNumber` is sent anyway
    /// (our guess: Metrc ignores it where it does not need it) so that the call counts against
    /// that license's rate limit and a 401 reads as no access rather than an invalid key.
    pub async fn units_of_measure(
        &self,
        key: &SecretString,
        license: &str,
    ) -> Result<Vec<UnitOfMeasure>, Error> {
        self.list_all(key, license, "/unitsofmeasure/v2/active", &[])
            .await
    }
}
