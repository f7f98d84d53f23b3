#!/usr/bin/env bash
# Builds the page in release mode into dist/, installing the build tools first if they are missing.
# Usage: scripts/build-page.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# trunk finds wasm-opt on PATH: the binaryen scripts/setup.sh installed from npm, ahead of any other.
export PATH="$PWD/target/tools/binaryen/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true # trunk would look for a newer version online
trunk build --release
# Precompressed copies the server sends to browsers that take gzip (smaller than on-the-fly compression).
gzip -9 --keep --force dist/*.html dist/*.js dist/*.css dist/*.wasm
