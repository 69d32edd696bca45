#!/usr/bin/env bash
# Builds the npm-style package into wasm/pkg/: ES module + .d.ts + .wasm, for browsers and
# Node >= 20 (Node loads it with `initSync`, see README). One command, from anywhere:
#
#     wasm/build.sh
#
# Installs what is missing first (idempotent): the wasm32 target and the wasm-bindgen CLI
# of exactly the version Cargo.lock pins (the CLI and the library must match).
# No wasm-opt (Debian's breaks the glue and it made the gzipped file larger) and no
# `strip` (wasm-bindgen needs the target-features section; it drops names itself).
set -euo pipefail
wasm_dir="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$wasm_dir")"
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
say() { printf '[wasm/build] %s\n' "$*" >&2; }

rustup target add wasm32-unknown-unknown >/dev/null 2>&1 || rustup target add wasm32-unknown-unknown

# The wasm-bindgen version Cargo.lock resolved (the `name = "wasm-bindgen"` package).
wb_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ -z "$wb_version" ]; then
  say "cannot find wasm-bindgen in Cargo.lock"; exit 1
fi
export PATH="$HOME/.cargo/bin:$PATH"
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wb_version" ]; then
  say "installing wasm-bindgen-cli $wb_version (about 2 minutes)"
  # Not --locked: the registry mirror here lacks a version the CLI's lockfile pins.
  cargo install wasm-bindgen-cli --version "$wb_version"
fi

say "cargo build (wasm32, profile wasm-release)"
# Size first (opt-level "z" for everything), except the two crates the validation hot
# path runs in: at "z" rustc neither inlines nor devirtualizes the rule calls, and the
# JSON-text path ran at 0.45x ajv's speed; at 3 it is on par or ahead, for ~38 KB more
# gzipped (see wasm/README.md).
hot=()
for crate in firmo-core firmo-wasm; do
  hot+=(--config "profile.wasm-release.package.$crate.opt-level=3")
done
cargo build -p firmo-wasm --target wasm32-unknown-unknown --profile wasm-release --locked "${hot[@]}"
wasm_in="$CARGO_TARGET_DIR/wasm32-unknown-unknown/wasm-release/firmo_wasm.wasm"

pkg="$wasm_dir/pkg"
rm -rf "$pkg"
wasm-bindgen --target web --remove-name-section --remove-producers-section \
  --out-dir "$pkg" "$wasm_in"

version="$(awk -F'"' '/^version = /{ print $2; exit }' "$root/Cargo.toml")"
cat >"$pkg/package.json" <<JSON
{
  "name": "firmo-wasm",
  "version": "$version",
  "description": "firmo's firmographic merge and quality rules, compiled to WebAssembly",
  "license": "Apache-2.0",
  "type": "module",
  "main": "./firmo_wasm.js",
  "module": "./firmo_wasm.js",
  "types": "./firmo_wasm.d.ts",
  "exports": {
    ".": { "types": "./firmo_wasm.d.ts", "default": "./firmo_wasm.js" },
    "./firmo_wasm_bg.wasm": "./firmo_wasm_bg.wasm"
  },
  "files": ["firmo_wasm.js", "firmo_wasm.d.ts", "firmo_wasm_bg.wasm", "firmo_wasm_bg.wasm.d.ts", "snippets/"],
  "sideEffects": ["./snippets/*"],
  "engines": { "node": ">=20" }
}
JSON

raw=$(wc -c <"$pkg/firmo_wasm_bg.wasm")
gz=$(gzip -9 -c "$pkg/firmo_wasm_bg.wasm" | wc -c)
say "wrote $pkg: firmo_wasm_bg.wasm $raw bytes, $gz gzipped"
