#!/usr/bin/env bash
# Sets up what is missing, builds the page and the server in release mode, and runs the server
# with the page on http://127.0.0.1:50051/ (or as its flags say).
# Usage: scripts/run.sh [ordermgt-server flags...]   e.g. scripts/run.sh --batch-size 5
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/build-page.sh
cargo build --release --locked -p backend -p ordermgt-cli
exec target/release/ordermgt-server --web-dir dist "$@"
