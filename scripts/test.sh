#!/usr/bin/env bash
# The whole test suite, installing what it needs first (idempotent). README's test
# command and CI's entry point (.ci/run) both run exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: rustfmt, clippy, wasm32 target"
rustup component add rustfmt clippy >/dev/null 2>&1 || true
rustup target add wasm32-unknown-unknown >/dev/null

step "format"
cargo fmt --all -- --check

step "lint (native, all targets)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "firmo-core builds and lints for wasm32-unknown-unknown"
cargo clippy -p firmo-core --target wasm32-unknown-unknown --locked -- -D warnings
cargo build -p firmo-core --target wasm32-unknown-unknown --locked

step "native tests (with a throwaway PostgreSQL for the store's conformance suite)"
# pg.sh installs PostgreSQL if needed, sets FIRMO_TEST_POSTGRES for the tests and
# removes the server afterwards; under CI=true the PostgreSQL tests fail without it.
scripts/pg.sh cargo test --workspace --locked

if [ -x wasm/test.sh ]; then
  step "WASM package: build, parity (Chromium + Node), demo card in Chromium"
  wasm/test.sh
fi

step "HTML report: a real sandbox sync's page in headless Chromium"
tests/report-html/test.sh
