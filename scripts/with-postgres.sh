#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL server: installs PostgreSQL from
# Debian's packages if it is missing, creates a cluster in a temporary
# directory, starts it on a free port, runs the command with
# ORDERMGT_TEST_POSTGRES_URL set to it, then stops it and removes it.
# Usage: scripts/with-postgres.sh COMMAND [ARGS...]
# The cluster runs with fsync off (it is thrown away); ORDERMGT_TEST_PG_FSYNC=on for benchmarks.
set -euo pipefail

pg_bin() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/initdb" ]] && { echo "$dir"; return; }
    done
    return 1
}

if ! bin=$(pg_bin); then
    echo "== installing PostgreSQL (Debian packages)"
    sudo_if_needed() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
    sudo_if_needed apt-get update -qq
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq postgresql-common >/dev/null
    # A cluster of our own is all the tests need: not the packaged one that starts with the system.
    sudo_if_needed sed -i 's/^#\?create_main_cluster.*/create_main_cluster = false/' /etc/postgresql-common/createcluster.conf
    DEBIAN_FRONTEND=noninteractive sudo_if_needed apt-get install -y -qq postgresql >/dev/null
    bin=$(pg_bin)
fi

# PostgreSQL refuses to run as root: run it as the postgres user the package creates.
as_owner() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

dir=$(mktemp -d /tmp/ordermgt-pg.XXXXXX)
[[ $(id -u) -eq 0 ]] && chown postgres: "$dir"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop() {
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT
as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=${ORDERMGT_TEST_PG_FSYNC:-off} -c max_connections=400" start >/dev/null
export ORDERMGT_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
export ORDERMGT_TEST_POSTGRES_DATA="$dir/data"
echo "== PostgreSQL $("$bin/postgres" --version | awk '{print $3}') at $ORDERMGT_TEST_POSTGRES_URL"
"$@"
