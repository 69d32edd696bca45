#!/usr/bin/env bash
# The WASM module's whole test: installs what is missing (idempotent), builds the
# package, then runs
#   1. the crate's native unit tests (fast path == core on fixtures and generated records),
#   2. parity in headless Chromium: wasm-bindgen-test runs the shared fixtures through the
#      wasm32 build (core compiled to wasm, and the exported API),
#   3. the Node tests on the built package: fixture parity, API, and the demo card driven
#      in real Chromium (playwright-core) against a real sandbox process,
#   4. a short run of the benchmark (its agreement check guards it from rotting).
# Exits non-zero on the first failure. From anywhere: `wasm/test.sh`.
set -euo pipefail
wasm_dir="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$wasm_dir")"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n==> [wasm] %s\n' "$*"; }

step "install: Chromium and ChromeDriver"
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends chromium chromium-driver
fi
export CHROMIUM=/usr/bin/chromium CHROMEDRIVER=/usr/bin/chromedriver

step "install: npm dev dependencies (ajv, ajv-formats, playwright-core; never a browser download)"
(cd "$wasm_dir" && npm ci --no-audit --no-fund --loglevel=error)

step "build the package (installs the wasm32 target and the matching wasm-bindgen-cli)"
"$wasm_dir/build.sh"

step "native unit tests of firmo-wasm"
cargo test -p firmo-wasm --lib --locked

step "parity in headless Chromium (wasm-bindgen-test)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
WASM_BINDGEN_TEST_TIMEOUT=120 \
  cargo test -p firmo-wasm --target wasm32-unknown-unknown --test parity --locked

step "the sandbox binary the card test starts"
cargo build -p firmo-sandbox --locked
export FIRMO_SANDBOX_BIN="$CARGO_TARGET_DIR/debug/firmo-sandbox"

step "Node: fixture parity, API, demo card in Chromium"
node --test "$wasm_dir"/js-tests/

step "benchmark smoke run"
node "$wasm_dir/bench/bench.mjs" --seconds 0.2

step "ok"
