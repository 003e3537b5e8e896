#!/usr/bin/env bash
# The whole test suite: formatting, clippy (server and browser), one release build, unit and
# integration tests on SQLite and PostgreSQL (cargo-nextest), and Playwright end-to-end tests in
# Chromium. Installs what it needs first. Stops at the first failing step; its last line is
# `N passed, N failed` over every test it ran (cargo and Playwright).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/setup.sh

# PostgreSQL is part of the suite, always: with CI=true a test that cannot reach it fails instead
# of passing on SQLite alone.
export CI=true

started=$SECONDS
ensure_toolchain
ensure_cargo_leptos
ensure_wasm_bindgen
ensure_wasm_opt
npm_ci_in end2end
ensure_chromium
ensure_postgres
mkdir -p target
: >target/test-steps.txt

step "Formatting" cargo fmt --all --check

# Clippy in the profiles and target directories of the release build below (what
# `cargo leptos build --release` passes cargo), so that the build scripts and procedural macros it
# compiles are the ones the build reuses.
step "Clippy (server side)" \
  cargo clippy --release --workspace --exclude frontend --all-targets --features app/ssr,metrc/sandbox -- -D warnings

step "Clippy (browser side)" \
  cargo clippy -p frontend --lib --target wasm32-unknown-unknown --target-dir target/front \
  --no-default-features --profile wasm-release -- -D warnings

step "Release build (server and WASM)" cargo leptos build --release

trap stop_postgres EXIT
start_postgres
# The same release profile and features as the build above, so its artefacts are reused. Examples
# (the benchmarks) are left out here: clippy has already compiled them. The binaries hold no tests
# of their own (their code is in the libraries), so they get no test harness either.
step "Unit and integration tests (SQLite and PostgreSQL)" \
  bash -o pipefail -c 'cargo nextest run --release --profile ci --workspace --exclude frontend \
  --features app/ssr,metrc/sandbox --lib --tests --no-tests fail 2>&1 | tee target/nextest.log'
# The same package selection and features as above: `-p metrc` alone would build its dependencies
# again with other features.
step "Documentation examples" \
  bash -o pipefail -c 'cargo test --release --doc --workspace --exclude frontend --features app/ssr,metrc/sandbox 2>&1 | tee target/doctest.log'
stop_postgres

step "End-to-end tests (Playwright, Chromium)" \
  bash -o pipefail -c 'cd end2end && TRACEKEEPER_BIN="$PWD/../target/release/tracekeeper" npm test --silent 2>&1 | tee ../target/e2e.log'

say "All checks passed in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
cat target/test-steps.txt
python3 scripts/lib/tally.py \
  --nextest target/nextest/ci/junit.xml --nextest-log target/nextest.log --doctest target/doctest.log \
  --e2e target/e2e.log --e2e-files end2end/tests
