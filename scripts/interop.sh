#!/usr/bin/env bash
# Clients we did not write against the server as users run it (its default SQLite store, in a
# temporary --data-dir):
# - grpcio (PyPI), which sends each message in a DATA frame of its own, streams ids into
#   processOrders while reading, and again reading only once the server's windows are full;
#   every id must come back shipped (interop/grpcio/frame_per_message.py);
# - grpcio's reflection and health clients (interop/grpcio/reflection_health.py);
# - grpcio again: every RPC, the error codes, a deadline, a cancellation, and gzip both ways
#   (interop/grpcio/conformance.py);
# - @grpc/grpc-js (npm): every RPC, the error codes, a deadline, a cancellation, health,
#   reflection, and gzip both ways, the answers from a second server run with
#   --compress-responses (interop/grpc-js/conformance.js).
# Sets up what is missing: a virtualenv under target/interop with interop/grpcio/requirements.txt
# and the stubs generated from proto/, and target/interop/grpc-js from its package-lock.json.
# The server must log no warning or error, and end no connection itself.
# Usage: scripts/interop.sh [IDS] (default 300000; the server binary: $ORDERMGT_SERVER_BIN,
#        else target/debug/ordermgt-server, built if missing)
set -euo pipefail
cd "$(dirname "$0")/.."
ids="${1:-300000}"
work=target/interop
venv=$work/venv
# Installed again whenever the virtualenv lacks a pin of requirements.txt.
missing=$(grep '==' interop/grpcio/requirements.txt | grep -vxFf <("$venv/bin/pip" freeze 2>/dev/null || true) || true)
if [[ ! -x $venv/bin/python || -n $missing ]]; then
    echo "==> interop: installing grpcio from PyPI into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r interop/grpcio/requirements.txt
fi
mkdir -p "$work/generated"
"$venv/bin/python" -m grpc_tools.protoc -I proto --python_out="$work/generated" --grpc_python_out="$work/generated" \
    proto/order_management.proto

# grpc-js from npm, as interop/grpc-js/package-lock.json pins it.
js=$work/grpc-js
if [[ ! -d $js/node_modules/@grpc/grpc-js ]] || ! cmp -s interop/grpc-js/package-lock.json "$js/package-lock.json"; then
    echo "==> interop: installing @grpc/grpc-js from npm into $js"
    mkdir -p "$js"
    cp interop/grpc-js/package.json interop/grpc-js/package-lock.json "$js/"
    (cd "$js" && npm ci --no-audit --no-fund --loglevel=error)
fi

server_bin="${ORDERMGT_SERVER_BIN:-target/debug/ordermgt-server}"
[[ -x $server_bin ]] || cargo build --locked -p backend --bin ordermgt-server
data=$(mktemp -d)
log="$data/server.log"
"$server_bin" --listen 127.0.0.1:0 --data-dir "$data" >"$log" 2>&1 &
server=$!
# A second server, gzipping its answers, for the clients' compression checks.
"$server_bin" --listen 127.0.0.1:0 --database-url memory: --compress-responses >"$data/compressing.log" 2>&1 &
compressing=$!
trap 'kill $server $compressing 2>/dev/null; wait $server $compressing 2>/dev/null; rm -rf "$data"' EXIT
listening_on() { # log file: the address the server there says it listens on, once it does
    local address=""
    for _ in $(seq 1 200); do
        address=$(grep -o 'listening on http://[0-9.:]*' "$1" | head -n 1 | sed 's|listening on http://||' || true)
        [[ -n "$address" ]] && break
        sleep 0.05
    done
    [[ -n "$address" ]] || { echo "the server did not start:" >&2; cat "$1" >&2; return 1; }
    echo "$address"
}
address=$(listening_on "$log")
compressing_address=$(listening_on "$data/compressing.log")

status=0
GENERATED_DIR="$work/generated" "$venv/bin/python" interop/grpcio/frame_per_message.py "$address" "$ids" || status=$?
"$venv/bin/python" interop/grpcio/reflection_health.py "$address" || status=$?
GENERATED_DIR="$work/generated" "$venv/bin/python" interop/grpcio/conformance.py "$address" "$compressing_address" ||
    status=$?
NODE_PATH="$js/node_modules" node interop/grpc-js/conformance.js "$address" "$compressing_address" || status=$?
if grep -E 'WARN|ERROR' "$log" | grep -v 'listening beyond loopback' >&2; then
    echo "interop: the server logged warnings or errors (above)" >&2
    status=1
fi
metrics=$("$venv/bin/python" -c 'import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1]).read().decode())' \
    "http://$address/metrics")
# The server must have closed no connection (a client's own reset at exit is the client's).
errors=$(grep '^ordermgt_connection_errors_total{.*initiator="server"' <<<"$metrics" || true)
if [[ -n "$errors" ]]; then
    echo "interop: the server ended connections: $errors" >&2
    status=1
fi
exit $status
