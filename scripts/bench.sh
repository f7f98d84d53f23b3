#!/usr/bin/env bash
# The benchmark report: builds in release mode, starts our server on a free port, runs every
# scenario of ordermgt-bench against it (bidi, websocket, unary, search, idle-streams), and prints
# a markdown report (also written to target/bench/report.md, with the raw figures in
# target/bench/report.json). processOrders over WebSocket (`websocket`) is set beside the native
# streams (`bidi`) of the same count in a `websocket vs bidi` row.
# Usage: scripts/bench.sh [ordermgt-bench flags...] [scenario...]
#   e.g. scripts/bench.sh --seconds 10; scripts/bench.sh --streams 1 bidi websocket
set -euo pipefail
cd "$(dirname "$0")/.."
# websocket opens one socket per call (1,024 at --streams 1024), client and server each.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

cargo build --release --locked -p backend -p ordermgt-bench
mkdir -p target/bench
log=target/bench/server.log
# The transports are measured over the in-memory store unless ORDERMGT_DATABASE_URL names a
# database (e.g. sqlite://target/bench/orders.db?mode=rwc, or a postgres:// URL).
ORDERMGT_DATABASE_URL="${ORDERMGT_DATABASE_URL:-memory:}" RUST_LOG=info \
    target/release/ordermgt-server --listen 127.0.0.1:0 >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 1 100); do
    url=$(grep -o 'listening on http://[0-9.:]*' "$log" | head -n 1 | sed 's/listening on //' || true)
    [[ -n "$url" ]] && break
    sleep 0.1
done
[[ -n "${url:-}" ]] || { echo "the server did not start; see $log" >&2; exit 1; }

report=target/bench/report.md
{
    echo "# ordermgt benchmark, $(date -u +%Y-%m-%d)"
    echo
    echo "$(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB; client (ordermgt-bench) and server (ordermgt-server) side by side on this machine, over loopback."
    database=$(grep -o 'database=[^ ]*' "$log" | head -n 1 | sed 's/^database=//' || true)
    echo "The server's database: ${database:-see $log} (ORDERMGT_DATABASE_URL sets it)."
    echo
    target/release/ordermgt-bench --server "$url" --server-pid "$server" --json target/bench/report.json "$@"
    if compgen -G "dist/*_bg.wasm" >/dev/null; then
        echo "## The page's release bundle (dist/)"
        echo
        echo "| file | raw bytes | gzip -9 bytes |"
        echo "| --- | --- | --- |"
        for file in dist/*_bg.wasm dist/*.js dist/*.css; do
            echo "| $(basename "$file") | $(stat -c %s "$file") | $(gzip -9 -c "$file" | wc -c) |"
        done
    else
        echo "(The page is not built: scripts/build-page.sh builds it, and this report then lists its size.)"
    fi
} | tee "$report"
