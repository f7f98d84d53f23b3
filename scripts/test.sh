#!/usr/bin/env bash
# Sets up what is missing and runs every check and test: formatting, lints, unit and integration tests.
# Usage: scripts/test.sh   (the command .ci/run calls)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain components"
rustup component add rustfmt clippy >/dev/null

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked
