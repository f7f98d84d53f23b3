#!/usr/bin/env bash
# A client we did not write against the server as users run it: grpcio (PyPI), which sends each
# message in a DATA frame of its own, streams ids into processOrders while reading, and again
# reading only once the server's windows are full; every id must come back shipped. Then
# grpcio's reflection and health clients (interop/grpcio/reflection_health.py).
# Sets up what is missing (a virtualenv under target/interop with interop/grpcio/requirements.txt,
# the stubs generated from proto/), starts ordermgt-server on its default SQLite store in a
# temporary --data-dir, and runs the scripts of interop/grpcio/ against it.
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

server_bin="${ORDERMGT_SERVER_BIN:-target/debug/ordermgt-server}"
[[ -x $server_bin ]] || cargo build --locked -p backend --bin ordermgt-server
data=$(mktemp -d)
log="$data/server.log"
"$server_bin" --listen 127.0.0.1:0 --data-dir "$data" >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 200); do
    address=$(grep -o 'listening on http://[0-9.:]*' "$log" | head -n 1 | sed 's|listening on http://||' || true)
    [[ -n "$address" ]] && break
    sleep 0.05
done
[[ -n "${address:-}" ]] || { echo "the server did not start:" >&2; cat "$log" >&2; exit 1; }

status=0
GENERATED_DIR="$work/generated" "$venv/bin/python" interop/grpcio/frame_per_message.py "$address" "$ids" || status=$?
"$venv/bin/python" interop/grpcio/reflection_health.py "$address" || status=$?
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
