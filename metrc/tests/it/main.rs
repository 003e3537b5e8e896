//! The Metrc client's and the sandbox's integration tests, one module per area, linked into one
//! test binary.

mod client_common;
mod sandbox_support;

mod client_sandbox;
mod client_stub;
mod sandbox_http;
mod sandbox_openapi;
