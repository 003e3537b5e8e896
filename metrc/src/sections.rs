//! The areas of Metrc a key may or may not reach ("sections"), the cheap read that proves access
//! to each, the permissions that read needs, and the license capabilities that make a section
//! applicable at all. One table, used by the client's key validation and by the sandbox's
//! permission checks, so the two can never disagree.

use serde::{Deserialize, Serialize};

/// One area of Metrc. The order of [`Section::ALL`] is the column order of the validation panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Section {
    /// The license's employees (`/employees/v2/`). Applies to every license.
    Employees,
    /// The license's locations (rooms) (`/locations/v2/active`). Applies to every license.
    Locations,
    /// The license's strains (`/strains/v2/active`). Applies to every license.
    Strains,
    /// The license's items, the products packages hold (`/items/v2/active`). Applies to every
    /// license.
    Items,
    /// The license's packages (`/packages/v2/active`). Applies to every license.
    Packages,
    /// Immature plants, tracked by batch (`/plantbatches/v2/active`). Only for licenses that can
    /// grow plants.
    PlantBatches,
    /// Tagged vegetative and flowering plants (`/plants/v2/vegetative`). Only for licenses that
    /// can grow plants.
    Plants,
    /// Harvests of the license's plants (`/harvests/v2/active`). Only for licenses that can grow
    /// plants.
    Harvests,
    /// Transfer manifests to and from the license (`/transfers/v2/incoming`). Applies to every
    /// license.
    Transfers,
    /// Sales receipts (`/sales/v2/receipts/active`). Only for licenses that sell to consumers or
    /// patients.
    Sales,
    /// Registered patients (`/patients/v2/active`). Only for licenses that have member patients
    /// or sell to patients.
    Patients,
    /// Processing jobs (`/processing/v2/active`). Only for licenses that record processing jobs.
    ProcessingJobs,
}

/// The license capabilities (`FacilityType` flags in Metrc's facilities response) that decide
/// whether a section applies to a license at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    /// `CanGrowPlants`: the license grows plants; Plant Batches, Plants and Harvests apply.
    CanGrowPlants,
    /// `CanSellToConsumers`: the license sells to consumers; Sales applies.
    CanSellToConsumers,
    /// `CanSellToPatients`: the license sells to patients; Sales and Patients apply.
    CanSellToPatients,
    /// `CanHaveMemberPatients`: the license has member patients; Patients applies.
    CanHaveMemberPatients,
    /// `CanRecordProcessingJobs`: the license records processing jobs; Processing Jobs applies.
    CanRecordProcessingJobs,
}

/// When a section applies to a license.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applicability {
    /// Every license type can use it.
    Always,
    /// The license needs at least one of these capabilities.
    AnyOf(&'static [Capability]),
}

impl Section {
    /// Every section, in the validation panel's column order (also the order `Ord` sorts by).
    pub const ALL: [Section; 12] = [
        Section::Employees,
        Section::Locations,
        Section::Strains,
        Section::Items,
        Section::Packages,
        Section::PlantBatches,
        Section::Plants,
        Section::Harvests,
        Section::Transfers,
        Section::Sales,
        Section::Patients,
        Section::ProcessingJobs,
    ];

    /// The name users see (and the sandbox accepts as a permission shorthand).
    pub fn name(self) -> &'static str {
        match self {
            Section::Employees => "Employees",
            Section::Locations => "Locations",
            Section::Strains => "Strains",
            Section::Items => "Items",
            Section::Packages => "Packages",
            Section::PlantBatches => "Plant Batches",
            Section::Plants => "Plants",
            Section::Harvests => "Harvests",
            Section::Transfers => "Transfers",
            Section::Sales => "Sales",
            Section::Patients => "Patients",
            Section::ProcessingJobs => "Processing Jobs",
        }
    }

    /// Parses [`Section::name`] (case-insensitive).
    pub fn from_name(name: &str) -> Option<Section> {
        Section::ALL
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name.trim()))
    }

    /// The cheap GET that proves access (sent with `licenseNumber=` and, where paged, `pageSize=1`).
    pub fn probe_path(self) -> &'static str {
        match self {
            Section::Employees => "/employees/v2/",
            Section::Locations => "/locations/v2/active",
            Section::Strains => "/strains/v2/active",
            Section::Items => "/items/v2/active",
            Section::Packages => "/packages/v2/active",
            Section::PlantBatches => "/plantbatches/v2/active",
            Section::Plants => "/plants/v2/vegetative",
            Section::Harvests => "/harvests/v2/active",
            Section::Transfers => "/transfers/v2/incoming",
            Section::Sales => "/sales/v2/receipts/active",
            Section::Patients => "/patients/v2/active",
            Section::ProcessingJobs => "/processing/v2/active",
        }
    }

    /// Metrc permissions of which any one grants the probe (docs/metrc.md §5).
    pub fn read_permissions(self) -> &'static [&'static str] {
        match self {
            Section::Employees => &["Manage Employees", "View Employees"],
            Section::Locations => &["Manage Locations"],
            Section::Strains => &["Manage Strains"],
            Section::Items => &["Manage Items"],
            Section::Packages => &["View Packages"],
            Section::PlantBatches => &["View Immature Plants"],
            Section::Plants => &["View Veg/Flower Plants"],
            Section::Harvests => &["View Harvests"],
            Section::Transfers => &["View Transfers", "Manage Transfers"],
            Section::Sales => &["View Sales", "Manage Sales"],
            Section::Patients => &["Manage Patients"],
            Section::ProcessingJobs => &["Manage Processing Job"],
        }
    }

    /// Every Metrc permission of this section, view and manage: what a sandbox employee gets when
    /// granted the section by name.
    pub fn all_permissions(self) -> &'static [&'static str] {
        match self {
            Section::Employees => &["View Employees", "Manage Employees"],
            Section::Locations => &["Manage Locations"],
            Section::Strains => &["Manage Strains"],
            Section::Items => &["Manage Items"],
            Section::Packages => &[
                "View Packages",
                "Create Packages",
                "Manage Packages Inventory",
                "Manage Package Notes",
            ],
            Section::PlantBatches => &["View Immature Plants", "Manage Immature Plants"],
            Section::Plants => &[
                "View Veg/Flower Plants",
                "Manage Veg/Flower Plants",
                "Manage Plants Waste",
            ],
            Section::Harvests => &["View Harvests", "Manage Harvests"],
            Section::Transfers => &["View Transfers", "Manage Transfers"],
            Section::Sales => &["View Sales", "Manage Sales"],
            Section::Patients => &["Manage Patients"],
            Section::ProcessingJobs => &["Manage Processing Job"],
        }
    }

    /// Which licenses can use this section at all.
    pub fn applicability(self) -> Applicability {
        use Capability::{
            CanGrowPlants, CanHaveMemberPatients, CanRecordProcessingJobs, CanSellToConsumers,
            CanSellToPatients,
        };
        match self {
            Section::PlantBatches | Section::Plants | Section::Harvests => {
                Applicability::AnyOf(&[CanGrowPlants])
            }
            Section::Sales => Applicability::AnyOf(&[CanSellToConsumers, CanSellToPatients]),
            Section::Patients => Applicability::AnyOf(&[CanHaveMemberPatients, CanSellToPatients]),
            Section::ProcessingJobs => Applicability::AnyOf(&[CanRecordProcessingJobs]),
            _ => Applicability::Always,
        }
    }

    /// Whether a license with the given capabilities can use this section.
    pub fn applies(self, has: impl Fn(Capability) -> bool) -> bool {
        match self.applicability() {
            Applicability::Always => true,
            Applicability::AnyOf(caps) => caps.iter().any(|c| has(*c)),
        }
    }

    /// Whether a holder of `permissions` (Metrc names, any case) may read this section.
    pub fn readable_with<S: AsRef<str>>(self, permissions: &[S]) -> bool {
        self.read_permissions().iter().any(|needed| {
            permissions
                .iter()
                .any(|p| p.as_ref().eq_ignore_ascii_case(needed))
        })
    }
}

impl Capability {
    /// The flag's name in Metrc's `FacilityType` object.
    pub fn flag_name(self) -> &'static str {
        match self {
            Capability::CanGrowPlants => "CanGrowPlants",
            Capability::CanSellToConsumers => "CanSellToConsumers",
            Capability::CanSellToPatients => "CanSellToPatients",
            Capability::CanHaveMemberPatients => "CanHaveMemberPatients",
            Capability::CanRecordProcessingJobs => "CanRecordProcessingJobs",
        }
    }
}

/// The paged lists of records, walked by `lastModified` windows: the client's
/// [`crate::Client::walk`] sends to [`Resource::path`]; a sandbox serving them can use the same
/// table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Resource {
    /// Active packages (`/packages/v2/active`).
    PackagesActive,
    /// Inactive packages (`/packages/v2/inactive`).
    PackagesInactive,
    /// Plants in the vegetative phase (`/plants/v2/vegetative`).
    PlantsVegetative,
    /// Plants in the flowering phase (`/plants/v2/flowering`).
    PlantsFlowering,
    /// Inactive plants (`/plants/v2/inactive`).
    PlantsInactive,
    /// Active plant batches (`/plantbatches/v2/active`).
    PlantBatchesActive,
    /// Active harvests (`/harvests/v2/active`).
    HarvestsActive,
    /// Active items (`/items/v2/active`).
    ItemsActive,
    /// Active locations (`/locations/v2/active`).
    LocationsActive,
    /// Active strains (`/strains/v2/active`).
    StrainsActive,
    /// Transfers coming to the license (`/transfers/v2/incoming`).
    TransfersIncoming,
    /// Transfers leaving the license (`/transfers/v2/outgoing`).
    TransfersOutgoing,
    /// Active sales receipts (`/sales/v2/receipts/active`).
    SalesReceiptsActive,
    /// Active patients (`/patients/v2/active`).
    PatientsActive,
    /// Active processing jobs (`/processing/v2/active`).
    ProcessingActive,
}

impl Resource {
    /// Every list the client walks and the sandbox serves with `lastModified` windows.
    pub const ALL: [Resource; 15] = [
        Resource::PackagesActive,
        Resource::PackagesInactive,
        Resource::PlantsVegetative,
        Resource::PlantsFlowering,
        Resource::PlantsInactive,
        Resource::PlantBatchesActive,
        Resource::HarvestsActive,
        Resource::ItemsActive,
        Resource::LocationsActive,
        Resource::StrainsActive,
        Resource::TransfersIncoming,
        Resource::TransfersOutgoing,
        Resource::SalesReceiptsActive,
        Resource::PatientsActive,
        Resource::ProcessingActive,
    ];

    /// The v2 path of the list.
    pub fn path(self) -> &'static str {
        match self {
            Resource::PackagesActive => "/packages/v2/active",
            Resource::PackagesInactive => "/packages/v2/inactive",
            Resource::PlantsVegetative => "/plants/v2/vegetative",
            Resource::PlantsFlowering => "/plants/v2/flowering",
            Resource::PlantsInactive => "/plants/v2/inactive",
            Resource::PlantBatchesActive => "/plantbatches/v2/active",
            Resource::HarvestsActive => "/harvests/v2/active",
            Resource::ItemsActive => "/items/v2/active",
            Resource::LocationsActive => "/locations/v2/active",
            Resource::StrainsActive => "/strains/v2/active",
            Resource::TransfersIncoming => "/transfers/v2/incoming",
            Resource::TransfersOutgoing => "/transfers/v2/outgoing",
            Resource::SalesReceiptsActive => "/sales/v2/receipts/active",
            Resource::PatientsActive => "/patients/v2/active",
            Resource::ProcessingActive => "/processing/v2/active",
        }
    }

    /// The section whose permission the list needs.
    pub fn section(self) -> Section {
        match self {
            Resource::PackagesActive | Resource::PackagesInactive => Section::Packages,
            Resource::PlantsVegetative | Resource::PlantsFlowering | Resource::PlantsInactive => {
                Section::Plants
            }
            Resource::PlantBatchesActive => Section::PlantBatches,
            Resource::HarvestsActive => Section::Harvests,
            Resource::ItemsActive => Section::Items,
            Resource::LocationsActive => Section::Locations,
            Resource::StrainsActive => Section::Strains,
            Resource::TransfersIncoming | Resource::TransfersOutgoing => Section::Transfers,
            Resource::SalesReceiptsActive => Section::Sales,
            Resource::PatientsActive => Section::Patients,
            Resource::ProcessingActive => Section::ProcessingJobs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Section::ALL {
            assert_eq!(Section::from_name(s.name()), Some(s));
            assert_eq!(Section::from_name(&s.name().to_uppercase()), Some(s));
        }
        assert_eq!(Section::from_name("Nope"), None);
    }

    #[test]
    fn distribution_license_has_no_plants_but_has_packages() {
        let distribution = |_c: Capability| false;
        assert!(!Section::Plants.applies(distribution));
        assert!(!Section::Sales.applies(distribution));
        assert!(Section::Packages.applies(distribution));
        let retail = |c: Capability| c == Capability::CanSellToConsumers;
        assert!(Section::Sales.applies(retail));
        assert!(!Section::Patients.applies(retail));
    }

    #[test]
    fn permissions_match_any_case_and_section_grant_covers_read() {
        assert!(Section::Packages.readable_with(&["view packages"]));
        assert!(!Section::Packages.readable_with(&["Manage Packages Inventory"]));
        assert!(Section::Transfers.readable_with(&["MANAGE TRANSFERS"]));
        for s in Section::ALL {
            assert!(s.readable_with(s.all_permissions()), "{s:?}");
        }
    }

    #[test]
    fn every_section_has_a_list_at_its_probe_path() {
        for s in Section::ALL {
            assert!(
                Resource::ALL
                    .iter()
                    .any(|r| r.section() == s && r.path() == s.probe_path())
                    || s == Section::Employees,
                "{s:?}"
            );
        }
        for r in Resource::ALL {
            assert!(r.path().contains("/v2/"), "{r:?}");
        }
    }
}
