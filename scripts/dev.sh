#!/usr/bin/env bash
# Development loop: the backend on 127.0.0.1:50051 (allowing trunk's origin) and `trunk serve` on
# http://127.0.0.1:8080/ with live reload; trunk proxies the gRPC-Web calls to the backend (see
# Trunk.toml), and the page, built for development, opens its WebSockets (full duplex: processing
# and updates) on the backend's port itself, which trunk's proxy cannot carry.
# Usage: scripts/dev.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true # trunk would look for a newer version online

cargo build --locked -p backend
target/debug/ordermgt-server --cors-origin http://127.0.0.1:8080 --cors-origin http://localhost:8080 &
backend=$!
trap 'kill $backend 2>/dev/null' EXIT
ORDERMGT_DEV_WEBSOCKET_ORIGIN=ws://127.0.0.1:50051 trunk serve --address 127.0.0.1 --port 8080
