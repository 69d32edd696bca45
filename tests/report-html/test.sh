#!/usr/bin/env bash
# The HTML report's test in real headless Chromium: installs what is missing
# (idempotent: Debian's chromium, playwright-core from this folder's lock file, never a
# browser download), builds firmo, then runs report.test.mjs, which syncs against the
# in-process sandbox and checks the page a person would see.
#   tests/report-html/test.sh               run the test
#   tests/report-html/test.sh --screenshot  also write docs/report.png (the README's)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n==> [report-html] %s\n' "$*"; }

case "${1:-}" in
  "") ;;
  --screenshot) export REPORT_SCREENSHOT="$root/docs/report.png" ;;
  *) echo "usage: $0 [--screenshot]" >&2; exit 2 ;;
esac

step "install: Chromium"
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends chromium
fi
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"

step "install: playwright-core (npm ci, only when the lock file changed)"
# npm ci empties node_modules first: skip it when the installed tree matches the lock.
if ! cmp -s "$here/package-lock.json" "$here/node_modules/.package-lock.json.ci" 2>/dev/null; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$here/package-lock.json" "$here/node_modules/.package-lock.json.ci"
fi

step "build firmo"
cargo build -p firmo-cli --bin firmo --locked
export FIRMO_BIN="$CARGO_TARGET_DIR/debug/firmo"

step "the page in Chromium"
node --test "$here/report.test.mjs"
[ -z "${REPORT_SCREENSHOT:-}" ] || echo "wrote $REPORT_SCREENSHOT"
step "ok"
