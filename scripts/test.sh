#!/usr/bin/env bash
# The whole test suite: formatting, no import cycles, the builds of the client and the server
# linted by clippy, unit and integration tests on SQLite and PostgreSQL (cargo-nextest), and
# Playwright end-to-end tests in Chromium. Installs what it needs first. Stops at the first failing step; its last line is
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
ensure_leptosfmt
ensure_wasm_opt
npm_ci_in end2end
ensure_chromium
ensure_postgres
ensure_haproxy
mkdir -p target
: >target/test-steps.txt

step "Formatting" cargo fmt --all --check
# The `view!` macros, which rustfmt leaves alone (`leptosfmt app/src` formats them).
step "Formatting the view! macros" leptosfmt --check --quiet app/src
step "No import cycles between modules" \
    python3 scripts/lib/module_cycles.py app/src server/src metrc/src migrations/src
step "Every component prop documented" python3 scripts/lib/component_props.py app/src

# Clippy runs inside the builds below instead of in check builds of its own: cargo compiles the
# workspace's crates through clippy-driver (what `cargo clippy` does for a check build), which lints
# them and then compiles them as rustc would. The client's build lints the WASM client and its
# libraries; the server's build lints the server, its libraries and the benchmarks; the test build
# lints the tests. Every cargo command below runs with the same two variables, or the workspace's
# crates would be compiled again. `CLIPPY_ARGS` is how `cargo clippy -- -D warnings` hands its
# arguments to clippy-driver (arguments separated by `__CLIPPY_HACKERY__`).
RUSTC_WORKSPACE_WRAPPER="$(rustup which clippy-driver)"
export RUSTC_WORKSPACE_WRAPPER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
# Incremental compilation of the workspace's own crates (dependencies are never incremental): a
# re-run after a small change recompiles only what the change touched.
export CARGO_INCREMENTAL=1

# The client as users get it: the release build, hashed and precompressed. The end-to-end tests
# measure what a first visit to each page downloads from it.
step "Client build and clippy (WASM, release)" \
  cargo leptos build --release --precompress --frontend-only
# The server, its tests and its benchmarks in the `ci` profile (Cargo.toml): the release profile's
# behaviour without its optimisation, which compiles in a third of the time. One package
# selection and one set of features for every cargo command below, so that each reuses the
# artefacts of the one before: `-p metrc` alone would build its dependencies again.
cargo_args=(--profile ci --workspace --exclude frontend --features app/ssr,metrc/sandbox)
step "Server and benchmarks build and clippy" cargo build "${cargo_args[@]}" --bins --examples
# The server finds the client's hashed file names in the hash file beside its binary.
cp target/release/hash.txt target/ci/hash.txt

trap stop_postgres EXIT
start_postgres
# nextest has a `--profile` of its own (.config/nextest.toml): cargo's is `--cargo-profile`.
tests=(--profile ci --cargo-profile ci --workspace --exclude frontend
  --features app/ssr,metrc/sandbox --lib --tests --no-tests fail)
step "Unit and integration tests: build" cargo nextest run "${tests[@]}" --no-run
step "Documentation examples" \
  bash -o pipefail -c "cargo test ${cargo_args[*]} --doc 2>&1 | tee target/doctest.log"
step "Rust tests beside Playwright tests" \
  scripts/lib/side_by_side.sh \
  target/nextest.log "cargo nextest run ${tests[*]}" \
  target/e2e.log 'cd end2end && TRACEKEEPER_BIN="$PWD/../target/ci/tracekeeper" npm test --silent'
stop_postgres

say "All checks passed in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
cat target/test-steps.txt
python3 scripts/lib/tally.py \
  --nextest target/nextest/ci/junit.xml --nextest-log target/nextest.log --doctest target/doctest.log \
  --e2e target/e2e.log --e2e-files end2end/tests
