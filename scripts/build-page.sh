#!/usr/bin/env bash
# Builds the page in release mode into dist/, installing the build tools first if they are missing.
# Usage: scripts/build-page.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export TRUNK_SKIP_VERSION_CHECK=true # trunk would look for a newer version online
trunk build --release
# Precompressed copies the server sends to browsers that take gzip (smaller than on-the-fly compression).
gzip -9 --keep --force dist/*.html dist/*.js dist/*.css dist/*.wasm
