//! The sandbox's world: licenses, employees with per-license permissions and one current API key
//! each, and each license's data. Plain data and synchronous methods; the HTTP layer holds it
//! behind a lock for the few microseconds a call needs.

pub mod license;
pub mod records;
pub mod reference;
pub mod table;
pub mod writes;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use rand::distr::Alphanumeric;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::sections::{Resource, Section};
use license::LicenseKind;
use records::{
    Adjustment, Harvest, Item, Location, Package, Patient, Plant, PlantBatch, PlantWaste,
    ProcessingJob, SaleReceipt, Strain, Transfer,
};
use table::Table;

/// Position of a license in [`Model::licenses`].
pub type LicenseIdx = usize;

/// A licensed facility.
#[derive(Debug, Clone)]
pub struct License {
    pub number: String,
    pub name: String,
    pub kind: LicenseKind,
    /// `License.LicenseType` as Metrc shows it.
    pub license_type: String,
    pub state: String,
    pub facility_id: u64,
    pub start_date: NaiveDate,
    /// Seven characters that make this license's tags (labels) distinct.
    pub tag_prefix: String,
}

/// A Metrc user. Holds a secret (the API key): no `Debug`.
#[derive(Clone)]
pub struct Employee {
    pub id: u64,
    pub name: String,
    /// The user's own license (badge) number: `License.EmployeeLicenseNumber`.
    pub license_number: String,
    pub api_key: String,
    /// Canonical Metrc permission names per license.
    pub permissions: BTreeMap<LicenseIdx, BTreeSet<&'static str>>,
    pub owner_of: BTreeSet<LicenseIdx>,
    pub hire_date: NaiveDate,
}

impl Employee {
    /// Whether the employee works at the license (has permissions there or owns it).
    pub fn works_at(&self, license: LicenseIdx) -> bool {
        self.permissions.contains_key(&license) || self.owner_of.contains(&license)
    }

    pub fn licenses(&self) -> BTreeSet<LicenseIdx> {
        self.permissions
            .keys()
            .chain(&self.owner_of)
            .copied()
            .collect()
    }

    fn holds(&self, license: LicenseIdx, permission: &str) -> bool {
        self.permissions
            .get(&license)
            .is_some_and(|p| p.iter().any(|h| h.eq_ignore_ascii_case(permission)))
    }
}

/// What a call needs besides a valid key.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// Only that the key's user works at the license.
    AtLicense,
    /// A section's read permission (any of [`Section::read_permissions`]), on a license type the
    /// section applies to.
    Read(Section),
    /// Every one of these permissions, on a license type the section applies to.
    AllOf(Section, &'static [&'static str]),
}

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// Documented: 401.
    #[error("No valid license {0} is associated with the current user.")]
    NotAtLicense(String),
    /// Uncertain in Metrc: 401 or 403 per `Settings::missing_permission_status`.
    #[error("The current user does not have the {0} permission for this Facility.")]
    MissingPermission(String),
    /// The license type cannot use the section; answered like a missing permission.
    #[error("The {0} area is not available for this Facility's license type.")]
    NotApplicable(&'static str),
}

/// A bad admin request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    #[error("License {0} already exists.")]
    DuplicateLicense(String),
    #[error("License {0} does not exist.")]
    UnknownLicense(String),
    #[error("Employee {0} does not exist.")]
    UnknownEmployee(u64),
    #[error(
        "Unknown license type \"{0}\": name one of cultivation, manufacturing, distribution, retail, testing laboratory, microbusiness."
    )]
    UnknownLicenseType(String),
    #[error(
        "Unknown permission \"{0}\": use a section name (e.g. \"Packages\") or an exact Metrc permission (e.g. \"View Packages\")."
    )]
    UnknownPermission(String),
    #[error("{0} must not be empty.")]
    Empty(&'static str),
}

/// The whole sandbox state.
pub struct Model {
    pub licenses: Vec<License>,
    by_number: HashMap<String, LicenseIdx>,
    pub employees: Vec<Employee>,
    keys: HashMap<String, u64>,
    pub packages: Table<Package>,
    package_labels: HashMap<String, u64>,
    pub plants: Table<Plant>,
    plant_labels: HashMap<String, u64>,
    pub plant_batches: Table<PlantBatch>,
    pub harvests: Table<Harvest>,
    pub items: Table<Item>,
    pub locations: Table<Location>,
    pub strains: Table<Strain>,
    pub transfers: Table<Transfer>,
    pub sales: Table<SaleReceipt>,
    pub patients: Table<Patient>,
    pub processing: Table<ProcessingJob>,
    pub adjustments: Vec<Adjustment>,
    pub plant_waste: Vec<PlantWaste>,
    next_id: u64,
    /// Draws API keys (and seeded data): the same seed gives the same keys.
    pub rng: StdRng,
}

/// Every Metrc permission name the sandbox knows: those of the shared section table.
pub fn known_permissions() -> BTreeSet<&'static str> {
    Section::ALL
        .iter()
        .flat_map(|s| s.all_permissions().iter().chain(s.read_permissions()))
        .copied()
        .collect()
}

/// Expands a permission grant (a section name or an exact permission name, any case) into
/// canonical Metrc permission names.
pub fn expand_permission(grant: &str) -> Result<Vec<&'static str>, AdminError> {
    if let Some(section) = Section::from_name(grant) {
        return Ok(section.all_permissions().to_vec());
    }
    known_permissions()
        .into_iter()
        .find(|p| p.eq_ignore_ascii_case(grant.trim()))
        .map(|p| vec![p])
        .ok_or_else(|| AdminError::UnknownPermission(grant.to_string()))
}

impl Model {
    pub fn new(seed: u64) -> Model {
        Model {
            licenses: Vec::new(),
            by_number: HashMap::new(),
            employees: Vec::new(),
            keys: HashMap::new(),
            packages: Table::default(),
            package_labels: HashMap::new(),
            plants: Table::default(),
            plant_labels: HashMap::new(),
            plant_batches: Table::default(),
            harvests: Table::default(),
            items: Table::default(),
            locations: Table::default(),
            strains: Table::default(),
            transfers: Table::default(),
            sales: Table::default(),
            patients: Table::default(),
            processing: Table::default(),
            adjustments: Vec::new(),
            plant_waste: Vec::new(),
            next_id: 10_001,
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// A fresh record id (unique across every kind of record).
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn license_idx(&self, number: &str) -> Option<LicenseIdx> {
        self.by_number.get(number.trim()).copied()
    }

    pub fn license(&self, idx: LicenseIdx) -> Option<&License> {
        self.licenses.get(idx)
    }

    /// Adds a license (no data: see `seed::license_data`).
    pub fn add_license(
        &mut self,
        number: &str,
        name: &str,
        license_type: &str,
        state: &str,
        start_date: NaiveDate,
    ) -> Result<LicenseIdx, AdminError> {
        let number = number.trim();
        if number.is_empty() {
            return Err(AdminError::Empty("number"));
        }
        if self.by_number.contains_key(number) {
            return Err(AdminError::DuplicateLicense(number.to_string()));
        }
        let kind = LicenseKind::from_license_type(license_type)
            .ok_or_else(|| AdminError::UnknownLicenseType(license_type.to_string()))?;
        let idx = self.licenses.len();
        let facility_id = self.next_id();
        self.licenses.push(License {
            number: number.to_string(),
            name: name.trim().to_string(),
            kind,
            license_type: license_type.trim().to_string(),
            state: state.trim().to_uppercase(),
            facility_id,
            start_date,
            tag_prefix: format!("{:07}", 300_000 + idx * 1_111),
        });
        self.by_number.insert(number.to_string(), idx);
        Ok(idx)
    }

    /// A new API key nobody holds.
    fn fresh_key(&mut self) -> String {
        loop {
            let key: String = (&mut self.rng)
                .sample_iter(&Alphanumeric)
                .take(48)
                .map(char::from)
                .collect();
            if !self.keys.contains_key(&key) {
                return key;
            }
        }
    }

    /// Adds an employee. `permissions` maps license numbers to grants (section names or exact
    /// permission names); `owner_of` lists licenses where the employee is the License Owner.
    pub fn add_employee(
        &mut self,
        name: &str,
        owner_of: &[String],
        permissions: &BTreeMap<String, Vec<String>>,
        hire_date: NaiveDate,
    ) -> Result<u64, AdminError> {
        if name.trim().is_empty() {
            return Err(AdminError::Empty("name"));
        }
        let lookup = |number: &String| {
            self.license_idx(number)
                .ok_or_else(|| AdminError::UnknownLicense(number.clone()))
        };
        let owner_of = owner_of
            .iter()
            .map(lookup)
            .collect::<Result<BTreeSet<_>, _>>()?;
        let mut granted = BTreeMap::new();
        for (number, grants) in permissions {
            let set: &mut BTreeSet<&'static str> = granted.entry(lookup(number)?).or_default();
            for grant in grants {
                set.extend(expand_permission(grant)?);
            }
        }
        let id = self.employees.len() as u64 + 1;
        let api_key = self.fresh_key();
        self.keys.insert(api_key.clone(), id);
        self.employees.push(Employee {
            id,
            name: name.trim().to_string(),
            license_number: format!("EMP-{:06}", 104_000 + id * 7),
            api_key,
            permissions: granted,
            owner_of,
            hire_date,
        });
        Ok(id)
    }

    pub fn employee(&self, id: u64) -> Option<&Employee> {
        id.checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.employees.get(i))
    }

    /// The employee whose current key this is.
    pub fn employee_by_key(&self, key: &str) -> Option<&Employee> {
        self.keys.get(key).and_then(|id| self.employee(*id))
    }

    /// Gives the employee a new key; the previous one stops working at once (one key per user).
    pub fn regenerate_key(&mut self, id: u64) -> Result<String, AdminError> {
        let old = self
            .employee(id)
            .ok_or(AdminError::UnknownEmployee(id))?
            .api_key
            .clone();
        let key = self.fresh_key();
        self.keys.remove(&old);
        self.keys.insert(key.clone(), id);
        if let Some(e) = id
            .checked_sub(1)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.employees.get_mut(i))
        {
            e.api_key.clone_from(&key);
        }
        Ok(key)
    }

    /// Checks that `employee` may make a call on license `number` that needs `need`.
    pub fn authorize(&self, employee: u64, number: &str, need: Need) -> Result<LicenseIdx, Denied> {
        let not_at = || Denied::NotAtLicense(number.to_string());
        let idx = self.license_idx(number).ok_or_else(not_at)?;
        let who = self
            .employee(employee)
            .filter(|e| e.works_at(idx))
            .ok_or_else(not_at)?;
        let kind = self.licenses[idx].kind;
        let section = match need {
            Need::AtLicense => return Ok(idx),
            Need::Read(s) | Need::AllOf(s, _) => s,
        };
        if !kind.section_applies(section) {
            return Err(Denied::NotApplicable(section.name()));
        }
        match need {
            Need::Read(s) => {
                let held: Vec<&str> = who
                    .permissions
                    .get(&idx)
                    .into_iter()
                    .flatten()
                    .copied()
                    .collect();
                if !s.readable_with(&held) {
                    return Err(Denied::MissingPermission(s.read_permissions().join(" or ")));
                }
            }
            Need::AllOf(_, all) => {
                if let Some(missing) = all.iter().find(|p| !who.holds(idx, p)) {
                    return Err(Denied::MissingPermission((*missing).to_string()));
                }
            }
            Need::AtLicense => {}
        }
        Ok(idx)
    }

    /// Registers a package (keeps the label index).
    pub fn insert_packages(&mut self, rows: Vec<Package>) {
        self.package_labels
            .extend(rows.iter().map(|p| (p.label.clone(), p.id)));
        self.packages.extend(rows);
    }

    /// Registers plants (keeps the label index).
    pub fn insert_plants(&mut self, rows: Vec<Plant>) {
        self.plant_labels
            .extend(rows.iter().map(|p| (p.label.clone(), p.id)));
        self.plants.extend(rows);
    }

    /// The package with this label at this license.
    pub fn package_at(&self, license: LicenseIdx, label: &str) -> Option<&Package> {
        let id = self.package_labels.get(label.trim())?;
        self.packages.get(*id).filter(|p| p.license == license)
    }

    /// The plant with this label at this license.
    pub fn plant_at(&self, license: LicenseIdx, label: &str) -> Option<&Plant> {
        let id = self.plant_labels.get(label.trim())?;
        self.plants.get(*id).filter(|p| p.license == license)
    }

    /// The location with this name at this license.
    pub fn location_named(&self, license: LicenseIdx, name: &str) -> Option<&Location> {
        self.locations
            .all((license, Resource::LocationsActive))
            .find(|l| l.name.eq_ignore_ascii_case(name.trim()))
    }

    /// Employees of a license, by id.
    pub fn employees_at(&self, license: LicenseIdx) -> impl Iterator<Item = &Employee> {
        self.employees.iter().filter(move |e| e.works_at(license))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, 2).unwrap_or_default()
    }

    fn grants(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(l, p)| {
                (
                    l.to_string(),
                    p.iter().map(std::string::ToString::to_string).collect(),
                )
            })
            .collect()
    }

    fn two_licenses() -> Model {
        let mut m = Model::new(7);
        for (n, t) in [("C11-1", "Distributor"), ("CCL-2", "Adult-Use Cultivation")] {
            assert!(m.add_license(n, "X", t, "ca", day()).is_ok());
        }
        m
    }

    #[test]
    fn permissions_sections_and_licenses() {
        let mut m = two_licenses();
        let id = m
            .add_employee(
                "Ann",
                &[],
                &grants(&[("C11-1", &["Packages"]), ("CCL-2", &["view packages"])]),
                day(),
            )
            .unwrap_or_default();
        assert_eq!(
            m.authorize(id, "C11-1", Need::Read(Section::Packages)),
            Ok(0)
        );
        let manage = Need::AllOf(
            Section::Packages,
            &["View Packages", "Manage Packages Inventory"],
        );
        assert_eq!(m.authorize(id, "C11-1", manage), Ok(0));
        assert_eq!(
            m.authorize(id, "CCL-2", manage),
            Err(Denied::MissingPermission(
                "Manage Packages Inventory".into()
            ))
        );
        assert!(matches!(
            m.authorize(id, "CCL-2", Need::Read(Section::Plants)),
            Err(Denied::MissingPermission(_))
        ));
        assert_eq!(
            m.authorize(id, "C11-1", Need::Read(Section::Plants)),
            Err(Denied::NotApplicable("Plants"))
        );
        assert_eq!(
            m.authorize(id, "NOPE", Need::AtLicense),
            Err(Denied::NotAtLicense("NOPE".into()))
        );
        assert_eq!(
            m.add_employee("Bob", &[], &grants(&[("C11-1", &["Fly"])]), day()),
            Err(AdminError::UnknownPermission("Fly".into()))
        );
        let owner = m
            .add_employee("Olga", &["CCL-2".into()], &BTreeMap::new(), day())
            .unwrap_or_default();
        assert_eq!(m.authorize(owner, "CCL-2", Need::AtLicense), Ok(1));
        assert!(m.authorize(owner, "C11-1", Need::AtLicense).is_err());
    }

    #[test]
    fn regenerating_a_key_invalidates_the_previous_one_at_once() {
        let mut m = two_licenses();
        let id = m
            .add_employee("Ann", &[], &grants(&[("C11-1", &["Packages"])]), day())
            .unwrap_or_default();
        let old = m
            .employee(id)
            .map(|e| e.api_key.clone())
            .unwrap_or_default();
        assert_eq!(m.employee_by_key(&old).map(|e| e.id), Some(id));
        let new = m.regenerate_key(id).unwrap_or_default();
        assert_ne!(old, new);
        assert_eq!(new.len(), 48);
        assert!(m.employee_by_key(&old).is_none());
        assert_eq!(m.employee_by_key(&new).map(|e| e.id), Some(id));
        assert_eq!(m.regenerate_key(99), Err(AdminError::UnknownEmployee(99)));
    }
}
