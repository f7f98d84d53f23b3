#!/usr/bin/env bash
# Installs whatever the project needs and the machine lacks; skips what is there.
#   scripts/setup.sh          the build tools: make and cc (for jemalloc), the wasm target, trunk, the matching wasm-bindgen-cli,
#                             Node.js with npm, and binaryen's wasm-opt from npm (into target/tools/binaryen)
#   scripts/setup.sh --test   also the test tools: rustfmt, clippy, Chromium + ChromeDriver, Firefox ESR, geckodriver,
#                             WebKitGTK's MiniBrowser + WebKitWebDriver (WebKit, Safari's engine) and Xvfb for it,
#                             Python's venv (for the grpcio client of scripts/interop.sh)
# Everything comes from the package registries (crates.io, Debian, npm); nothing is downloaded from elsewhere.
set -euo pipefail
cd "$(dirname "$0")/.."

TRUNK_VERSION=0.21.14 # trunk 0.22 needs a newer rustc than this project's toolchain
# trunk only uses a wasm-bindgen CLI whose version equals the wasm-bindgen crate in Cargo.lock.
WASM_BINDGEN_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
# trunk runs the wasm-opt Trunk.toml pins (`wasm_opt = "version_N"`), found on PATH: binaryen N from npm,
# whose wasm-opt (binaryen compiled to wasm, run by Node.js) reads what rustc writes for wasm32 today;
# Debian's binaryen (108) cannot. scripts/build-page.sh puts it on PATH.
BINARYEN_VERSION=$(sed -n 's/^wasm_opt = "version_\([0-9]*\)"$/\1/p' Trunk.toml)
BINARYEN_DIR=target/tools/binaryen
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

say() { printf '==> setup: %s\n' "$*"; }

has_version() { # command, expected version: true if `command --version` mentions it
    command -v "$1" >/dev/null 2>&1 && "$1" --version 2>/dev/null | grep -qF "$2"
}

sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

# The server's allocator, jemalloc, is built from source: it needs make besides the C compiler Rust links with.
if ! command -v make >/dev/null 2>&1 || ! command -v cc >/dev/null 2>&1; then
    say "installing make and a C compiler (build-essential) from Debian"
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq build-essential >/dev/null
fi

# The toolchain rust-toolchain.toml pins, with its parts (a no-op when it is there).
if ! rustup toolchain list | grep -q "^$(sed -n 's/^channel = "\(.*\)"$/\1/p' rust-toolchain.toml)-"; then
    say "installing the Rust toolchain rust-toolchain.toml names"
    rustup toolchain install
fi
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi
if ! has_version trunk "$TRUNK_VERSION"; then
    say "installing trunk $TRUNK_VERSION (takes a few minutes, once)"
    cargo install trunk --version "$TRUNK_VERSION" --locked
fi
if ! has_version wasm-bindgen "$WASM_BINDGEN_VERSION"; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (takes a few minutes, once)"
    # Not --locked: the lock file it ships names crates the registry lacks.
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
# Node.js and npm: they run wasm-opt, and the grpc-js client of scripts/interop.sh.
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
    say "installing ${missing[*]} from Debian"
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if ! "$BINARYEN_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -qx "wasm-opt version $BINARYEN_VERSION (version_$BINARYEN_VERSION)"; then
    say "installing binaryen $BINARYEN_VERSION (wasm-opt) from npm into $BINARYEN_DIR"
    npm install --prefix "$BINARYEN_DIR" --save-exact --no-audit --no-fund --loglevel=error "binaryen@$BINARYEN_VERSION.0.0"
fi

if [[ "${1:-}" == "--test" ]]; then
    if ! rustup component list --installed | grep -q '^rustfmt' || ! rustup component list --installed | grep -q '^clippy'; then
        say "adding rustfmt and clippy"
        rustup component add rustfmt clippy
    fi
    missing=()
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
    command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
    command -v firefox-esr >/dev/null 2>&1 || missing+=(firefox-esr)
    # WebKit has no headless mode: its MiniBrowser runs on a virtual X display.
    command -v WebKitWebDriver >/dev/null 2>&1 || missing+=(webkit2gtk-driver)
    command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
    # The clients we did not write (scripts/interop.sh): grpcio in a virtualenv, grpc-js from npm (Node.js above).
    python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
    if ((${#missing[@]})); then
        say "installing ${missing[*]} from Debian"
        sudo_if_needed apt-get update -qq
        DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    if ! command -v geckodriver >/dev/null 2>&1; then
        say "installing geckodriver from crates.io"
        cargo install geckodriver --locked
    fi
fi
