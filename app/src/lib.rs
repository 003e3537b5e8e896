//! Tracekeeper's application: shared types, pages, components and server functions for both
//! targets, and behind the `ssr` feature the services they call.

// Leptos view types nest deeply (pages with tables inside Suspense).
#![recursion_limit = "256"]

pub mod api;
pub mod app;
pub mod components;
pub mod error;
pub mod pages;
// Shared with the browser and read by other crates: every public item says what it is.
#[warn(missing_docs)]
pub mod types;

#[cfg(feature = "ssr")]
pub mod ssr;

pub use app::App;
#[cfg(feature = "ssr")]
pub use app::shell;
