//! Typed Metrc requests and responses, tolerant of Metrc's changes (see [`tolerant`]), and
//! Metrc's dates and times ([`time`]).

mod facility;
mod records;
mod reference;
mod rows;
pub mod time;
pub mod tolerant;

pub use facility::{Employee, EmployeeLicense, Facility, FacilityType, License};
pub use records::{
    Harvest, Item, Location, Package, PackageItem, Plant, PlantBatch, Strain, Transfer,
};
pub use reference::{AdjustReason, UnitOfMeasure, WasteMethod, WasteReason};
pub use rows::{PackageAdjustment, PackageFinish, PackageLocationChange, PlantWaste};
pub use time::{MetrcTime, STATE_TIME_ZONES, state_time_zone};
