//! The `tracekeeper` server: configuration, start-up, the axum router and background jobs.
//! A library as well as a binary, so integration tests start the real server in-process.

/// Every binary built on the server (the server itself, its tests and benchmarks) allocates with
/// mimalloc (docs/benchmarks.md, "Pages under load").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub mod cli;
pub mod commands;
pub mod embedded_metrc;
pub mod error;
pub mod error_status;
pub mod jobs;
pub mod metrc_plan;
pub mod router;
pub mod security_headers;
pub mod shutdown;
pub mod startup;
pub mod static_files;
pub mod telemetry;
