# Installs what Tracekeeper needs, each piece only when missing or at the wrong version, so a
# second run takes seconds. Sourced by scripts/run.sh and scripts/test.sh; not run on its own.
# Everything comes from the package registries this machine reaches: rustup's toolchains,
# crates, npm packages and Debian packages. No tool downloads binaries of its own.

CARGO_LEPTOS_VERSION="0.3.11"
LEPTOSFMT_VERSION="0.1.33"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@";
  elif command -v sudo >/dev/null; then sudo "$@";
  else die "need root to run: $*"; fi
}

APT_UPDATED=""
apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found: install $* by hand"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The Rust toolchain pinned in rust-toolchain.toml, with the WASM target, clippy and rustfmt.
# (RUSTUP_AUTO_INSTALL=0 here: rustup will not install it on first use, so we do.)
ensure_toolchain() {
  export PATH="$HOME/.cargo/bin:$PATH"
  command -v rustup >/dev/null || die "rustup not found: install it first (https://rustup.rs)"
  local channel
  channel=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
  if rustup run "$channel" rustc --version >/dev/null 2>&1 \
    && rustup target list --toolchain "$channel" --installed | grep -qx wasm32-unknown-unknown \
    && rustup component list --toolchain "$channel" --installed | grep -q '^clippy' \
    && rustup component list --toolchain "$channel" --installed | grep -q '^rustfmt'; then
    return
  fi
  say "Installing Rust $channel with wasm32-unknown-unknown"
  rustup toolchain install "$channel" --profile minimal \
    --component clippy --component rustfmt --target wasm32-unknown-unknown
}

# cargo-leptos, pinned. Building it takes ~12 minutes on 2 cores, so only when missing.
ensure_cargo_leptos() {
  if cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then return; fi
  say "Installing cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes, once)"
  cargo install --locked cargo-leptos --version "$CARGO_LEPTOS_VERSION"
}

# leptosfmt, which formats the `view!` macros (rustfmt leaves macros alone); the test command
# checks with it.
ensure_leptosfmt() {
  if leptosfmt --version 2>/dev/null | grep -q " $LEPTOSFMT_VERSION\$"; then return; fi
  say "Installing leptosfmt $LEPTOSFMT_VERSION (about 4 minutes, once)"
  cargo install --locked leptosfmt --version "$LEPTOSFMT_VERSION"
}

# wasm-bindgen-cli at exactly the wasm-bindgen version in Cargo.lock (cargo-leptos would
# otherwise try to download one). Not --locked: one of its locked dependencies is not served.
ensure_wasm_bindgen() {
  local want
  want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
  [ -n "$want" ] || die "wasm-bindgen not found in Cargo.lock"
  if wasm-bindgen --version 2>/dev/null | grep -q " $want\$"; then return; fi
  say "Installing wasm-bindgen-cli $want (about 3 minutes, once)"
  cargo install wasm-bindgen-cli --version "$want"
}

# npm packages: wasm-opt (binaryen) for release WASM at the root, and playwright-core for
# end-to-end tests. `npm ci` only when node_modules is missing or older than the lock file.
npm_ci_in() {
  local dir=$1
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    command -v npm >/dev/null || apt_install nodejs npm
    say "Installing npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

ensure_wasm_opt() {
  npm_ci_in .
  export PATH="$PWD/node_modules/.bin:$PATH"
  local found
  found=$(command -v wasm-opt || true)
  [ "$found" = "$PWD/node_modules/.bin/wasm-opt" ] || die "wasm-opt from npm's binaryen is not first on PATH (found: ${found:-none})"
  if [ -x /usr/bin/wasm-opt ] && /usr/bin/wasm-opt --version 2>/dev/null | grep -q 'version 108'; then
    echo "note: Debian's binaryen 108 is installed at /usr/bin/wasm-opt; its output breaks hydration."
    echo "      Tracekeeper's scripts use node_modules/.bin/wasm-opt (132) instead. Do not build releases"
    echo "      with /usr/bin/wasm-opt first on PATH (or: apt-get remove binaryen)."
  fi
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] && return
  say "Installing Chromium from Debian"
  apt_install chromium
}

# The newest PostgreSQL server installed from Debian (installed if there is none).
postgres_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

ensure_postgres() {
  if [ -z "$(postgres_bin)" ] || [ ! -x "$(postgres_bin)/initdb" ]; then
    say "Installing PostgreSQL from Debian"
    apt_install postgresql
  fi
}

# HAProxy from Debian: the load balancer in front of the several-servers test (issue 16).
ensure_haproxy() {
  if ! command -v haproxy >/dev/null && [ ! -x /usr/sbin/haproxy ]; then
    say "Installing HAProxy from Debian"
    apt_install haproxy
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a throw-away PostgreSQL on a loopback port in a temporary directory; exports
# TRACEKEEPER_TEST_POSTGRES_URL. stop_postgres removes it again.
PG_TMP=""
start_postgres() {
  local bin port run=()
  bin=$(postgres_bin)
  PG_TMP=$(mktemp -d /tmp/tracekeeper-pg.XXXXXX)
  port=$(free_port)
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || die "PostgreSQL refuses to run as root and there is no 'postgres' user"
    chown postgres: "$PG_TMP"
    run=(runuser -u postgres --)
  fi
  "${run[@]}" "$bin/initdb" -D "$PG_TMP/data" -U postgres --auth=trust -E UTF8 >"$PG_TMP/initdb.log" 2>&1 \
    || { cat "$PG_TMP/initdb.log"; die "initdb failed"; }
  "${run[@]}" "$bin/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$PG_TMP/server.log"; die "PostgreSQL did not start"; }
  export TRACEKEEPER_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port"
}

stop_postgres() {
  [ -n "$PG_TMP" ] || return 0
  local run=()
  [ "$(id -u)" = 0 ] && run=(runuser -u postgres --)
  "${run[@]}" "$(postgres_bin)/pg_ctl" -D "$PG_TMP/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PG_TMP"
  PG_TMP=""
}

# Runs one named step of a script, timing it into target/test-steps.txt.
step() {
  local name=$1 t0=$SECONDS
  shift
  say "$name"
  "$@"
  printf '%-55s %4d s\n' "$name" $((SECONDS - t0)) >>target/test-steps.txt
}
