//! Metrc sandbox (work in progress).
