//! Metrc API client and Metrc sandbox.
//!
//! The client (`Client`) talks to real Metrc or to the sandbox unchanged: only the base URL and the
//! keys differ. The sandbox (feature `sandbox`) serves Metrc's v2 routes with Metrc's auth, status
//! codes, paging envelope, error bodies and rate limits. Facts about Metrc: `../shared/METRC.md`.

pub mod sections;

#[cfg(feature = "sandbox")]
pub mod sandbox;
