//! Typed Metrc requests and responses, tolerant of Metrc's changes (see [`tolerant`]).

mod facility;
mod records;
mod reference;
mod rows;
pub mod tolerant;

pub use facility::{Employee, EmployeeLicense, Facility, FacilityType, License};
pub use records::{
    Harvest, Item, Location, Package, PackageItem, Plant, PlantBatch, Strain, Transfer,
};
pub use reference::{AdjustReason, UnitOfMeasure, WasteMethod, WasteReason};
pub use rows::{PackageAdjustment, PackageFinish, PackageLocationChange, PlantWaste};
