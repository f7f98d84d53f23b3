#!/usr/bin/env bash
# Sets up what is missing and runs every check and test: formatting, lints (native and wasm),
# unit and integration tests, the page in headless Chromium and Firefox, the server's
# integration tests again over SQLite and over a throwaway PostgreSQL server, and a client we
# did not write (grpcio, from PyPI) streaming ids a frame each into the server as users run it.
# Usage: scripts/test.sh   (the command .ci/run calls)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true # trunk would look for a newer version online
# One build from scratch gains nothing from incremental state, which would double target/ on disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

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

# PostgreSQL: installed from Debian's packages if missing, a cluster of its own on a free port.
step "cargo test (unit, integration, and the page in real browsers; the in-memory store)"
scripts/with-postgres.sh env ORDERMGT_REQUIRE_POSTGRES=1 cargo test --workspace --locked

step "the server's integration tests over SQLite"
ORDERMGT_TEST_DATABASE=sqlite cargo test --locked -p backend --tests
rm -rf "${TMPDIR:-/tmp}"/ordermgt-test-* # the SQLite files of that run

step "the server's integration tests over PostgreSQL"
scripts/with-postgres.sh sh -c 'ORDERMGT_TEST_DATABASE="$ORDERMGT_TEST_POSTGRES_URL" ORDERMGT_REQUIRE_POSTGRES=1 exec cargo test --locked -p backend --tests'

step "grpcio (PyPI) against the server on its default SQLite store: a DATA frame per id"
scripts/interop.sh
