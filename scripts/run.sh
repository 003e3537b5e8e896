#!/usr/bin/env bash
# Runs Tracekeeper on its embedded defaults: SQLite in ./data, http://127.0.0.1:3000.
# Installs what it needs first (toolchain, cargo-leptos, wasm-bindgen, wasm-opt).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh

ensure_toolchain
ensure_cargo_leptos
ensure_wasm_bindgen
ensure_wasm_opt

say "Building (release)"
cargo leptos build --release --precompress

say "Starting Tracekeeper on http://${TRACEKEEPER_ADDR:-127.0.0.1:3000}"
exec target/release/tracekeeper "$@"
