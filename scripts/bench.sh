#!/usr/bin/env bash
# The benchmark report, our server as users run it beside the book's Go server.
#
# Builds in release mode and starts, each on a free port:
#   ours-sqlite  ordermgt-server as it runs by default: SQLite in a fresh --data-dir, a log line per call
#   ours-memory  the same on the in-memory store (--database-url memory:)
#   go           the book's ch. 3 Go server, logging as shipped (built by ../shared/peers/seed-go/build.sh
#                from Debian's Go and gRPC packages; ORDERMGT_SEED_GO names another copy; skipped if absent)
# then runs ordermgt-bench against all three, case after case, round after round (3 rounds and 500,000 ids
# a processOrders case unless ORDERMGT_BENCH_ROUNDS / ORDERMGT_BENCH_TOTAL_IDS say otherwise):
#   unary getOrder (c=32) from ordermgt-bench's client and from nghttp2's h2load (installed if missing),
#   processOrders at 1, 64 and 1,024 streams from three clients: tonic's (bidi), one DATA frame per id
#   (bidi-frames), and one that sends all the windows take before it reads (bidi-send-first);
# then the unary cases again with each server started on a CPU of its own and the client on another
# (taskset; needs two CPUs), where the client's CPU no longer comes out of the server's;
# and then what only ours serves or what fills a store on ours alone: processOrders over grpc-ws.v2 and v1
# beside native (websocket, websocket-v1, bidi: the ratios at 1, 64 and 1,024 calls), add, search,
# idle-streams, and 10,000 idle WebSocket calls on a server of their own (idle-websockets),
# the page's bundle sizes, and the page against 100,005 orders in each browser (e2e/tests/scale.rs).
# The report (medians, ratios to the Go server, ✓/✗ against 1.5×) is printed and written to
# target/bench/report.md, the raw figures to target/bench/report.json, own-core.json, ours.json and idle.json.
# Usage: scripts/bench.sh [ordermgt-bench flags...]   e.g. scripts/bench.sh --streams 1,64 --seconds 10
set -euo pipefail
cd "$(dirname "$0")/.."
# websocket and 1,024 streams open many sockets, client and server each.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

cargo build --release --locked -p backend -p ordermgt-bench
if ! command -v h2load >/dev/null 2>&1; then
    echo "==> bench: installing h2load (nghttp2-client) from Debian"
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq nghttp2-client >/dev/null
fi
out=target/bench
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# What a server is started under: nothing, or `taskset -c CPU` for the pass on a core of its own.
on_cpu=()

# Starts our server with "$@", logging to $out/$name.log; sets url and pid.
start_ours() {
    local name=$1
    shift
    local log=$out/$name.log
    RUST_LOG=info "${on_cpu[@]}" target/release/ordermgt-server --listen 127.0.0.1:0 "$@" >"$log" 2>&1 &
    pid=$!
    pids+=("$pid")
    url=
    for _ in $(seq 1 200); do
        url=$(grep -o 'listening on http://[0-9.:]*' "$log" | head -n 1 | sed 's/listening on //' || true)
        [[ -n "$url" ]] && return
        sleep 0.05
    done
    echo "$name did not start; see $log" >&2
    exit 1
}

# Starts the book's Go server (built to listen on $go_addr, so one at a time), logging to
# $out/$1.log; sets go_pid.
go_addr=127.0.0.1:50061
go_listening() { (exec 3<>"/dev/tcp/${go_addr%:*}/${go_addr#*:}") 2>/dev/null; }
start_go() {
    if go_listening; then
        echo "$go_addr is taken: the Go server (built to listen there) cannot start" >&2
        exit 1
    fi
    "${on_cpu[@]}" "$out/seed/seed-server" >"$out/$1.log" 2>&1 &
    go_pid=$!
    pids+=("$go_pid")
    for _ in $(seq 1 100); do
        go_listening && return
        sleep 0.05
    done
}

start_ours ours-sqlite --data-dir "$work/data"
sqlite_url=$url sqlite_pid=$pid
start_ours ours-memory --database-url memory:
memory_url=$url memory_pid=$pid

servers=(--server "ours-sqlite=$sqlite_url" --server "ours-memory=$memory_url"
    --server-pid "ours-sqlite=$sqlite_pid" --server-pid "ours-memory=$memory_pid")
seed=${ORDERMGT_SEED_GO:-../shared/peers/seed-go}
if [[ -x $seed/build.sh ]]; then
    if [[ ! -x $out/seed/seed-server ]]; then
        echo "==> bench: building the book's Go server ($seed/build.sh)"
        SEED_ADDR=$go_addr "$seed/build.sh" "$out/seed" >/dev/null
    fi
    start_go go
    servers+=(--server "go=http://$go_addr" --server-pid "go=$go_pid" --baseline go)
else
    echo "==> bench: no Go server to compare with ($seed/build.sh not found; ORDERMGT_SEED_GO names it)" >&2
fi

# The CPUs this script may run on, one a line ("0-2,4" -> 0 1 2 4).
allowed_cpus() {
    local list range
    list=$(awk '/^Cpus_allowed_list:/ {print $2}' /proc/self/status)
    for range in ${list//,/ }; do
        seq "${range%-*}" "${range#*-}"
    done
}

# The unary cases again, each server started on one CPU of its own and the client on another.
# Side by side on two shared cores, the client's CPU comes out of the server's, so a server
# that needs less CPU a call shows less of it in calls/s (see the README's benchmarks).
own_core() {
    local cpus
    mapfile -t cpus < <(allowed_cpus)
    echo "## Unary, each server on a core of its own"
    echo
    if ((${#cpus[@]} < 2)) || ! command -v taskset >/dev/null 2>&1; then
        echo "(Needs two CPUs, one for the server and one for the client, and taskset (util-linux);"
        echo "this script may use ${#cpus[@]} CPUs.)"
        echo
        return
    fi
    echo "Each server started under \`taskset -c ${cpus[0]}\` (so one lane of ours, GOMAXPROCS=1 for Go's),"
    echo "one at a time beside the others' idle ones; ordermgt-bench and h2load under \`taskset -c ${cpus[1]}\`."
    echo
    local own=() go_was=${go_pid:-}
    on_cpu=(taskset -c "${cpus[0]}")
    start_ours ours-sqlite-own-core --data-dir "$work/own-core"
    own+=(--server "ours-sqlite=$url" --server-pid "ours-sqlite=$pid")
    local own_pids=("$pid")
    start_ours ours-memory-own-core --database-url memory:
    own+=(--server "ours-memory=$url" --server-pid "ours-memory=$pid")
    own_pids+=("$pid")
    if [[ -n $go_was ]]; then
        # The Go server listens where it was built to: the one started first makes way.
        kill "$go_was" 2>/dev/null || true
        for _ in $(seq 1 100); do
            go_listening || break
            sleep 0.05
        done
        start_go go-own-core
        own+=(--server "go=http://$go_addr" --server-pid "go=$go_pid" --baseline go)
        own_pids+=("$go_pid")
    fi
    on_cpu=()
    ORDERMGT_BENCH_ROUNDS=$rounds taskset -c "${cpus[1]}" \
        target/release/ordermgt-bench "${own[@]}" --json "$out/own-core.json" "$@" unary h2load
    kill "${own_pids[@]}" 2>/dev/null || true
}

# Rounds of each case against the Go server, on shared cores and on a core each.
rounds=${ORDERMGT_BENCH_ROUNDS:-3}
report=$out/report.md
{
    # The servers started in here (a subshell, being piped) are known to its own cleanup only.
    trap cleanup EXIT
    echo "# ordermgt benchmark, $(date -u +%Y-%m-%d)"
    echo
    echo "$(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB; clients and servers side by side on this machine, over loopback."
    echo "ours-sqlite is the server as it runs by default (SQLite under a fresh --data-dir, a log line per call at info);"
    echo "ours-memory the same on --database-url memory:; go the book's ch. 3 Go server, logging as shipped."
    echo "Command: scripts/bench.sh $*"
    echo
    echo "## Against the book's Go server"
    echo
    ORDERMGT_BENCH_ROUNDS=$rounds ORDERMGT_BENCH_TOTAL_IDS=${ORDERMGT_BENCH_TOTAL_IDS:-500000} \
        target/release/ordermgt-bench "${servers[@]}" --json "$out/report.json" "$@" \
        unary h2load bidi bidi-frames bidi-send-first
    own_core "$@"
    echo "## What only ours serves, or what fills the store"
    echo
    target/release/ordermgt-bench --server "ours-sqlite=$sqlite_url" --server "ours-memory=$memory_url" \
        --server-pid "ours-sqlite=$sqlite_pid" --server-pid "ours-memory=$memory_pid" --json "$out/ours.json" "$@" \
        bidi websocket websocket-v1 add search idle-streams
    # 10,000 idle WebSocket calls need the caps raised (1,024 calls and 4,096 connections by default):
    # a server of their own, so the others keep the defaults.
    echo "## Idle WebSocket calls (a server on its default store with --max-websocket-calls and --max-connections 12000)"
    echo
    start_ours ours-idle --data-dir "$work/idle" --max-websocket-calls 12000 --max-connections 12000
    target/release/ordermgt-bench --server "ours-idle=$url" --server-pid "ours-idle=$pid" \
        --idle-websockets "${ORDERMGT_BENCH_IDLE_WEBSOCKETS:-10000}" --json "$out/idle.json" idle-websockets
    kill "$pid" 2>/dev/null || true
    if compgen -G "dist/*_bg.wasm" >/dev/null; then
        echo "## The page's release bundle (dist/)"
        echo
        echo "Targets: the wasm ≤ 160 KB gzipped, the whole page (HTML, JS, wasm, CSS) ≤ 185 KB gzipped;"
        echo "gzip -9, as the server sends them; 1 KB = 1,000 bytes."
        echo
        echo "| file | raw bytes | gzip -9 bytes |"
        echo "| --- | --- | --- |"
        page_gzip=0
        for file in dist/index.html dist/*_bg.wasm dist/*.js dist/*.css; do
            gzipped=$(gzip -9 -c "$file" | wc -c)
            page_gzip=$((page_gzip + gzipped))
            [[ $file == *_bg.wasm ]] && wasm_gzip=$gzipped
            echo "| $(basename "$file") | $(stat -c %s "$file") | $gzipped |"
        done
        echo
        against() { # bytes, target in KB: "123.4 KB ✓ (≤ 160 KB)"
            awk -v bytes="$1" -v target="$2" \
                'BEGIN { printf "%.1f KB %s (≤ %d KB)\n", bytes / 1000, bytes <= target * 1000 ? "✓" : "✗", target }'
        }
        echo "- the wasm gzipped: $(against "$wasm_gzip" 160)"
        echo "- the whole page gzipped: $(against "$page_gzip" 185)"
    else
        echo "(The page is not built: scripts/build-page.sh builds it, and this report then lists its size.)"
    fi
    echo
    if compgen -G "dist/*_bg.wasm" >/dev/null && command -v chromedriver >/dev/null \
        && command -v geckodriver >/dev/null && command -v WebKitWebDriver >/dev/null; then
        echo "## The page against 100,005 orders (e2e/tests/scale.rs, one browser at a time)"
        echo
        echo "Targets: first row ≤ 150 ms, the whole list ≤ 2 s, no long task over 100 ms."
        echo
        cargo test --locked -p e2e --test scale -- --nocapture --test-threads 1 2>/dev/null \
            | grep -E '^[a-z]+: [0-9]+ orders: ' | sed 's/^/- /'
    else
        echo "(The page's figures at 100,000 orders need the page built and the browsers: scripts/setup.sh --test.)"
    fi
} | tee "$report"
