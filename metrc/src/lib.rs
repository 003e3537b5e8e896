//! Metrc API client and Metrc sandbox.
//!
//! The client (`Client`) talks to real Metrc or to the sandbox unchanged: only the base URL and the
//! keys differ. The sandbox (feature `sandbox`) serves Metrc's v2 routes with Metrc's auth, status
//! codes, paging envelope, error bodies and rate limits. Facts about Metrc, with their sources:
//! `docs/metrc.md` at the workspace root. Metrc is one system per state: [`state_base_url`] gives a
//! state's host, [`state_name`] its name, and a sandbox is one state's Metrc
//! (`sandbox::SandboxConfig::state`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), metrc::Error> {
//! use metrc::{Client, ClientConfig, state_base_url};
//! use secrecy::SecretString;
//!
//! let base = state_base_url("ca", false).expect("two-letter state");
//! let client = Client::new(ClientConfig::new(base, SecretString::from("vendor key")))?;
//! let report = client.validate_key(&SecretString::from("user key")).await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod backoff;
mod client;
mod config;
mod error;
mod limits;
mod lookup;
mod paging;
mod reads;
mod retry;
pub mod sections;
pub mod states;
pub mod types;
mod validation;
pub mod window;
mod writes;

#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use client::Client;
pub use config::{ClientConfig, Limits, RetryPolicy, WIDEST_WINDOW, state_base_url};
pub use error::{
    BadRequest, EXCERPT_CHARS, Error, RowError, SERVER_FAULT_MARKERS, classify_bad_request,
};
pub use paging::{PAGE_SIZE, WindowPage};
pub use sections::{Capability, Resource, Section};
pub use states::{StateListError, parse_state_list, state_name};
pub use types::{
    AdjustReason, Employee, Facility, FacilityType, Harvest, Item, Location, MetrcTime, Package,
    PackageAdjustment, PackageFinish, PackageLocationChange, Plant, PlantBatch, PlantWaste, Strain,
    Transfer, UnitOfMeasure, WasteMethod, WasteReason, state_time_zone,
};
pub use validation::{CellStatus, FacilityReport, ValidationEvent, ValidationReport};
pub use writes::{MAX_WRITE_ROWS, WriteAccepted};
