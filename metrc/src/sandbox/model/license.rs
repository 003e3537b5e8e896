//! License types and the `FacilityType` capability flags they carry.

use crate::sections::{Capability, Section};

/// The kinds of license the sandbox knows. Capabilities follow the kind (California-like types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LicenseKind {
    Cultivation,
    Manufacturing,
    Distribution,
    Retail,
    TestingLab,
    Microbusiness,
}

/// Every boolean flag of Metrc's `FacilityType` (as in the community `OpenAPI` description).
pub const FACILITY_FLAGS: &[&str] = &[
    "IsMedical",
    "IsRetail",
    "IsHemp",
    "IsSalesDeliveryHub",
    "CanGrowPlants",
    "CanCreateOpeningBalancePlantBatches",
    "CanTagPlantBatches",
    "CanAssignLocationsToPlantBatches",
    "PlantsRequirePatientAffiliation",
    "PlantBatchesCanContainMotherPlants",
    "CanUpdatePlantStrains",
    "CanTrackVegetativePlants",
    "CanCreateImmaturePlantPackagesFromPlants",
    "CanPackageVegetativePlants",
    "CanPackageWaste",
    "CanReportHarvestSchedules",
    "CanSubmitHarvestsForTesting",
    "CanRequireHarvestSampleLabTestBatches",
    "CanCreateOpeningBalancePackages",
    "CanCreateDerivedPackages",
    "CanAssignLocationsToPackages",
    "CanUpdateLocationsOnPackages",
    "PackagesRequirePatientAffiliation",
    "CanCreateTradeSamplePackages",
    "CanDonatePackages",
    "CanSubmitPackagesForTesting",
    "CanCreateProcessValidationPackages",
    "CanRequirePackageSampleLabTestBatches",
    "CanRequestProductRemediation",
    "CanRemediatePackagesWithFailedLabResults",
    "CanInfuseProducts",
    "CanDestroyProduct",
    "CanTestPackages",
    "CanTransferFromExternalFacilities",
    "CanSellToConsumers",
    "CanSellToPatients",
    "CanSellToExternalPatients",
    "CanSellToCaregivers",
    "AdvancedSales",
    "SalesRequirePatientNumber",
    "SalesRequireExternalPatientNumber",
    "SalesRequireExternalPatientIdentificationMethod",
    "SalesRequireCaregiverNumber",
    "SalesRequireCaregiverPatientNumber",
    "CanDeliverSalesToConsumers",
    "SalesDeliveryRequireConsumerId",
    "CanDeliverSalesToPatients",
    "SalesDeliveryRequirePatientNumber",
    "SalesDeliveryRequireRecipientName",
    "CanHaveMemberPatients",
    "CanReportPatientCheckIns",
    "CanSpecifyPatientSalesLimitExemption",
    "CanReportPatientsAdverseResponses",
    "CanReportStrainProperties",
    "CanRecordProcessingJobs",
    "CanRecordProductForDestruction",
    "CanClonePlantBatches",
    "TestsRequireLabSample",
    "CanTakePlantBatchesOnTrip",
    "CanTakePlantsOnTrip",
    "CanTakeHarvestsOnTrip",
    "CanTakePackagesOnTrip",
    "CanSellFromPackagesOnTrip",
    "SalesDeliveryAllowPlannedRoute",
    "SalesDeliveryAllowAddress",
    "SalesDeliveryAllowCity",
    "SalesDeliveryAllowState",
    "SalesDeliveryAllowCounty",
    "SalesDeliveryAllowZip",
    "RetailerDelivery",
    "RetailerDeliveryAllowTradeSamples",
    "RetailerDeliveryAllowDonations",
    "RetailerDeliveryRequirePrice",
    "RetailerDeliveryAllowPartialPackages",
    "CanCreatePartialPackages",
    "CanAdjustSourcePackagesWithPartials",
    "CanReportOperationalExceptions",
    "CanReportAdulteration",
    "CanGenerateProductLabel",
    "CanPrintProductLabel",
    "CanReceiveAssociateProductLabel",
    "CanViewSourcePackages",
    "TaxExemptReportingFeesFacilityType",
    "TaxExemptTagOrdersFacilityType",
    "CanDownloadProductLabel",
];

const EVERY_LICENSE: &[&str] = &[
    "CanCreateOpeningBalancePackages",
    "CanAssignLocationsToPackages",
    "CanUpdateLocationsOnPackages",
    "CanDestroyProduct",
    "CanTakePackagesOnTrip",
    "CanReportOperationalExceptions",
    "CanViewSourcePackages",
    "CanCreatePartialPackages",
    "CanGenerateProductLabel",
    "CanPrintProductLabel",
];

const GROWS: &[&str] = &[
    "CanGrowPlants",
    "CanCreateOpeningBalancePlantBatches",
    "CanTagPlantBatches",
    "CanAssignLocationsToPlantBatches",
    "PlantBatchesCanContainMotherPlants",
    "CanUpdatePlantStrains",
    "CanTrackVegetativePlants",
    "CanCreateImmaturePlantPackagesFromPlants",
    "CanPackageVegetativePlants",
    "CanPackageWaste",
    "CanReportHarvestSchedules",
    "CanSubmitHarvestsForTesting",
    "CanClonePlantBatches",
    "CanTakePlantBatchesOnTrip",
    "CanTakePlantsOnTrip",
    "CanTakeHarvestsOnTrip",
    "CanSubmitPackagesForTesting",
    "CanCreateTradeSamplePackages",
];

const MANUFACTURES: &[&str] = &[
    "CanCreateDerivedPackages",
    "CanInfuseProducts",
    "CanRecordProcessingJobs",
    "CanSubmitPackagesForTesting",
    "CanCreateProcessValidationPackages",
    "CanRemediatePackagesWithFailedLabResults",
    "CanRequestProductRemediation",
    "CanAdjustSourcePackagesWithPartials",
];

const DISTRIBUTES: &[&str] = &[
    "CanTransferFromExternalFacilities",
    "CanSubmitPackagesForTesting",
    "CanCreateTradeSamplePackages",
    "CanDonatePackages",
];

const SELLS: &[&str] = &[
    "IsRetail",
    "CanSellToConsumers",
    "CanDeliverSalesToConsumers",
    "SalesDeliveryAllowAddress",
    "SalesDeliveryAllowCity",
    "SalesDeliveryAllowState",
    "SalesDeliveryAllowZip",
    "SalesDeliveryRequireConsumerId",
    "CanSellFromPackagesOnTrip",
    "AdvancedSales",
];

const SELLS_MEDICAL: &[&str] = &[
    "IsMedical",
    "CanSellToPatients",
    "CanSellToCaregivers",
    "SalesRequirePatientNumber",
    "CanDeliverSalesToPatients",
    "SalesDeliveryRequirePatientNumber",
];

const TESTS: &[&str] = &["CanTestPackages", "TestsRequireLabSample"];

impl LicenseKind {
    #[cfg(test)]
    pub const ALL: [LicenseKind; 6] = [
        LicenseKind::Cultivation,
        LicenseKind::Manufacturing,
        LicenseKind::Distribution,
        LicenseKind::Retail,
        LicenseKind::TestingLab,
        LicenseKind::Microbusiness,
    ];

    /// The license type Metrc shows (`License.LicenseType`) for the demo licenses.
    pub fn default_license_type(self) -> &'static str {
        match self {
            LicenseKind::Cultivation => "Adult-Use Cultivation",
            LicenseKind::Manufacturing => "Adult-Use Manufacturing",
            LicenseKind::Distribution => "Distributor",
            LicenseKind::Retail => "Medicinal and Adult-Use Retail",
            LicenseKind::TestingLab => "Testing Laboratory",
            LicenseKind::Microbusiness => "Adult-Use Microbusiness",
        }
    }

    /// Reads a license type name ("Adult-Use Cultivation", "retail", "Testing Laboratory", ...)
    /// by its keyword; `None` when no kind matches.
    pub fn from_license_type(name: &str) -> Option<LicenseKind> {
        let n = name.to_ascii_lowercase();
        let has = |words: &[&str]| words.iter().any(|w| n.contains(w));
        // Microbusiness first: its names often mention the other activities too.
        if has(&["micro"]) {
            Some(LicenseKind::Microbusiness)
        } else if has(&["test", "lab"]) {
            Some(LicenseKind::TestingLab)
        } else if has(&["cultivat", "grow", "nursery"]) {
            Some(LicenseKind::Cultivation)
        } else if has(&["manufactur", "process", "product"]) {
            Some(LicenseKind::Manufacturing)
        } else if has(&["distribut", "transport"]) {
            Some(LicenseKind::Distribution)
        } else if has(&["retail", "dispensar"]) {
            Some(LicenseKind::Retail)
        } else {
            None
        }
    }

    fn flag_groups(self) -> &'static [&'static [&'static str]] {
        match self {
            LicenseKind::Cultivation => &[EVERY_LICENSE, GROWS],
            LicenseKind::Manufacturing => &[EVERY_LICENSE, MANUFACTURES],
            LicenseKind::Distribution => &[EVERY_LICENSE, DISTRIBUTES],
            LicenseKind::Retail => &[EVERY_LICENSE, SELLS, SELLS_MEDICAL],
            LicenseKind::TestingLab => &[EVERY_LICENSE, TESTS],
            LicenseKind::Microbusiness => &[EVERY_LICENSE, GROWS, MANUFACTURES, DISTRIBUTES, SELLS],
        }
    }

    /// Whether this kind's `FacilityType` has the named flag set.
    pub fn flag(self, name: &str) -> bool {
        self.flag_groups().iter().any(|g| g.contains(&name))
    }

    /// Whether this kind has a capability of the shared section table.
    pub fn has(self, capability: Capability) -> bool {
        self.flag(capability.flag_name())
    }

    /// Whether a section applies to this kind at all.
    pub fn section_applies(self, section: Section) -> bool {
        section.applies(|c| self.has(c))
    }

    pub fn grows_plants(self) -> bool {
        self.has(Capability::CanGrowPlants)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_flag_is_a_known_facility_flag() {
        for kind in LicenseKind::ALL {
            for group in kind.flag_groups() {
                for flag in *group {
                    assert!(FACILITY_FLAGS.contains(flag), "{kind:?}: {flag}");
                }
            }
        }
    }

    #[test]
    fn license_types_parse_and_sections_follow_capabilities() {
        for kind in LicenseKind::ALL {
            assert_eq!(
                LicenseKind::from_license_type(kind.default_license_type()),
                Some(kind)
            );
        }
        assert_eq!(LicenseKind::from_license_type("Bakery"), None);
        assert!(!LicenseKind::Distribution.section_applies(Section::Plants));
        assert!(LicenseKind::Cultivation.section_applies(Section::Plants));
        assert!(LicenseKind::Retail.section_applies(Section::Patients));
        assert!(LicenseKind::Manufacturing.section_applies(Section::ProcessingJobs));
        assert!(!LicenseKind::TestingLab.section_applies(Section::Sales));
    }
}
