#!/usr/bin/env bash
# Builds the server in release mode and runs it on 127.0.0.1:50051 (or as its flags say).
# Usage: scripts/run.sh [ordermgt-server flags...]   e.g. scripts/run.sh --batch-size 5
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -p backend -p ordermgt-cli
exec target/release/ordermgt-server "$@"
