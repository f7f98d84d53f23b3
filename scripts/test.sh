#!/usr/bin/env bash
# Sets up what is missing and runs every check and test: formatting, lints (native and wasm),
# unit and integration tests, then the page in headless Chromium and Firefox.
# Usage: scripts/test.sh   (the command .ci/run calls)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true # trunk would look for a newer version online

step() { printf '\n==> %s\n' "$*"; }

step "setup"
scripts/setup.sh --test

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (native, then the page for wasm32)"
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings

step "build the page (release)"
scripts/build-page.sh

step "cargo test (unit, integration, and the page in real browsers)"
cargo test --workspace --locked
