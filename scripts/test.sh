#!/usr/bin/env bash
# The whole test suite: formatting, clippy (server and browser), one release build, unit and
# integration tests on SQLite and PostgreSQL, and Playwright end-to-end tests in Chromium.
# Installs what it needs first. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh

started=$SECONDS
ensure_toolchain
ensure_cargo_leptos
ensure_wasm_bindgen
ensure_wasm_opt
npm_ci_in end2end
ensure_chromium
ensure_postgres

say "Formatting"
cargo fmt --all --check

say "Clippy (server side)"
cargo clippy --workspace --exclude frontend --all-targets --features app/ssr,metrc/sandbox -- -D warnings

say "Clippy (browser side)"
cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

say "Release build (server and WASM)"
cargo leptos build --release

say "Unit and integration tests (SQLite and PostgreSQL)"
trap stop_postgres EXIT
start_postgres
cargo test --release --workspace --exclude frontend --features app/ssr,metrc/sandbox 2>&1 | tee target/cargo-test.log
stop_postgres

say "End-to-end tests (Playwright, Chromium)"
(cd end2end && TRACEKEEPER_BIN="$PWD/../target/release/tracekeeper" npm test --silent) 2>&1 | tee target/e2e.log

passed=$(awk '/^test result:/ { s += $4 } END { print s + 0 }' target/cargo-test.log)
failed=$(awk '/^test result:/ { s += $6 } END { print s + 0 }' target/cargo-test.log)
e2e_passed=$(awk '/^# pass/ { print $3 }' target/e2e.log)
e2e_failed=$(awk '/^# fail/ { print $3 }' target/e2e.log)
say "All checks passed in $(( (SECONDS - started) / 60 )) min"
echo "cargo: $passed passed, $failed failed; end-to-end: ${e2e_passed:-0} passed, ${e2e_failed:-0} failed"
echo "$((passed + ${e2e_passed:-0})) passed, $((failed + ${e2e_failed:-0})) failed"
