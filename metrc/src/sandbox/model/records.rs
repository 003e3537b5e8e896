//! The per-license data of the sandbox, stored compactly; `wire.rs` turns it into Metrc's JSON.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use super::LicenseIdx;
use super::reference::{Category, Unit};
use super::table::Record;
use crate::sections::Resource;

#[derive(Debug, Clone)]
pub struct Package {
    pub id: u64,
    pub license: LicenseIdx,
    pub label: String,
    pub item_id: u64,
    pub location_id: u64,
    pub quantity: f64,
    pub unit: &'static Unit,
    pub packaged_date: NaiveDate,
    pub lab_testing_state: &'static str,
    pub source_harvest: Option<String>,
    pub is_on_hold: bool,
    pub finished_date: Option<NaiveDate>,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Item {
    pub id: u64,
    pub license: LicenseIdx,
    pub name: String,
    pub category: &'static Category,
    pub strain_id: Option<u64>,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Location {
    pub id: u64,
    pub license: LicenseIdx,
    pub name: String,
    pub location_type: &'static str,
    pub for_plants: bool,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Strain {
    pub id: u64,
    pub license: LicenseIdx,
    pub name: String,
    pub indica_percentage: f64,
    pub thc_level: f64,
    pub cbd_level: f64,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Plant {
    pub id: u64,
    pub license: LicenseIdx,
    pub label: String,
    pub flowering: bool,
    /// Destroyed plants are in the inactive list.
    pub destroyed_date: Option<NaiveDate>,
    pub batch_id: u64,
    pub strain_id: u64,
    pub location_id: u64,
    pub planted_date: NaiveDate,
    pub phase_date: NaiveDate,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct PlantBatch {
    pub id: u64,
    pub license: LicenseIdx,
    pub name: String,
    pub clone: bool,
    pub count: u32,
    pub strain_id: u64,
    pub location_id: u64,
    pub planted_date: NaiveDate,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Harvest {
    pub id: u64,
    pub license: LicenseIdx,
    pub name: String,
    pub strain_id: u64,
    pub location_id: u64,
    pub plant_count: u32,
    pub wet_weight: f64,
    pub current_weight: f64,
    pub start_date: NaiveDate,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Transfer {
    pub id: u64,
    pub license: LicenseIdx,
    pub incoming: bool,
    pub manifest_number: String,
    /// The other side: shipper of an incoming transfer, recipient of an outgoing one.
    pub other_license: String,
    pub other_name: String,
    pub package_count: u32,
    pub created_by: String,
    pub created: DateTime<Utc>,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct SaleLine {
    pub package_label: String,
    pub quantity: f64,
    pub unit: &'static Unit,
    pub amount: f64,
}

#[derive(Debug, Clone)]
pub struct SaleReceipt {
    pub id: u64,
    pub license: LicenseIdx,
    pub receipt_number: String,
    /// Local to the facility, without zone (docs/metrc.md §6).
    pub sold_at: NaiveDateTime,
    pub patient_license_number: Option<String>,
    pub lines: Vec<SaleLine>,
    pub recorded_by: String,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Patient {
    pub id: u64,
    pub license: LicenseIdx,
    pub license_number: String,
    pub registered: NaiveDate,
    pub recommended_plants: u32,
    pub recommended_smokable_ounces: f64,
    pub last_modified: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ProcessingJob {
    pub id: u64,
    pub license: LicenseIdx,
    pub name: String,
    pub last_modified: DateTime<Utc>,
}

/// A recorded package adjustment (what `POST /packages/v2/adjust` leaves behind).
#[derive(Debug, Clone, PartialEq)]
pub struct Adjustment {
    pub id: u64,
    pub package_id: u64,
    pub quantity: f64,
    pub unit: &'static str,
    pub reason: &'static str,
    pub note: Option<String>,
    pub date: NaiveDate,
    pub employee_id: u64,
}

/// A recorded plant waste entry (what `POST /plants/v2/waste` leaves behind).
#[derive(Debug, Clone, PartialEq)]
pub struct PlantWaste {
    pub id: u64,
    pub license: LicenseIdx,
    pub method: &'static str,
    pub reason: &'static str,
    pub weight: f64,
    pub unit: &'static str,
    pub mixed_material: Option<String>,
    pub note: Option<String>,
    pub date: NaiveDate,
    pub plant_ids: Vec<u64>,
    pub employee_id: u64,
}

macro_rules! record {
    ($t:ty, |$row:ident| $list:expr) => {
        impl Record for $t {
            fn id(&self) -> u64 {
                self.id
            }
            fn license(&self) -> LicenseIdx {
                self.license
            }
            fn list(&self) -> Resource {
                let $row = self;
                $list
            }
            fn last_modified(&self) -> DateTime<Utc> {
                self.last_modified
            }
        }
    };
}

record!(Package, |p| if p.finished_date.is_some() {
    Resource::PackagesInactive
} else {
    Resource::PackagesActive
});
record!(Item, |_i| Resource::ItemsActive);
record!(Location, |_l| Resource::LocationsActive);
record!(Strain, |_s| Resource::StrainsActive);
record!(Plant, |p| match (p.destroyed_date, p.flowering) {
    (Some(_), _) => Resource::PlantsInactive,
    (None, true) => Resource::PlantsFlowering,
    (None, false) => Resource::PlantsVegetative,
});
record!(PlantBatch, |_b| Resource::PlantBatchesActive);
record!(Harvest, |_h| Resource::HarvestsActive);
record!(Transfer, |t| if t.incoming {
    Resource::TransfersIncoming
} else {
    Resource::TransfersOutgoing
});
record!(SaleReceipt, |_s| Resource::SalesReceiptsActive);
record!(Patient, |_p| Resource::PatientsActive);
record!(ProcessingJob, |_p| Resource::ProcessingActive);
