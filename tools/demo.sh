#!/usr/bin/env bash
# The main job: build and install event_store, start a local PostgreSQL whose
# data lives under the repository (.pgdata, loopback only, wal_level=logical,
# our output plugin allowed), create the extension, append and read events,
# and stream them to a logical-replication subscriber (pg_recvlogical).
#
#   make demo            # or: bash tools/demo.sh
#   bash tools/demo.sh stop
#
# PGPORT picks the port (default 5433). Run as root (the server then runs as
# user postgres) or as a user who can install into PostgreSQL's directories.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

export PGPORT=${PGPORT:-5433}
export PGHOST=127.0.0.1
export PGUSER=postgres
export PGDATABASE=postgres
data="$top/.pgdata"

. tools/pg_common.sh

bindir=/usr/lib/postgresql/15/bin
[ -x "$(command -v pg_config)" ] && bindir=$(pg_config --bindir)

if [ "${1:-}" = "stop" ]; then
    as_pg "$bindir/pg_ctl" -D "$data" -m fast stop
    exit 0
fi

echo "== dependencies (tools/deps.sh)"
bash tools/deps.sh

echo "== build and install"
make -s all
make -s install >/dev/null

if [ "$(id -u)" -eq 0 ] && ! su postgres -s /bin/bash -c "test -x '$top'" 2>/dev/null; then
    echo "The server runs as user postgres, who cannot enter $top." >&2
    echo "Clone the repository where postgres can read it (e.g. under /srv or /tmp)." >&2
    exit 1
fi

if [ ! -f "$data/PG_VERSION" ]; then
    echo "== initdb $data"
    mkdir -p "$data"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$data"
    chmod 700 "$data"
    pg_init_cluster "$bindir" "$data"
    {
        echo "# event_store demo settings"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $PGPORT"
        echo "unix_socket_directories = ''"
        echo "wal_level = logical"
        echo "max_replication_slots = 10"
        echo "max_wal_senders = 10"
    } >>"$data/postgresql.conf"
fi

if ! as_pg "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    echo "== start PostgreSQL on 127.0.0.1:$PGPORT"
    as_pg "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w start >/dev/null
fi

echo "== walkthrough (tools/demo.sql)"
psql -X -v ON_ERROR_STOP=1 -q -f tools/demo.sql

echo
echo "== the subscriber: pg_recvlogical on slot event_store_demo"
endpos=$(psql -X -At -c "SELECT pg_current_wal_lsn()")
pg_recvlogical -d postgres -S event_store_demo --start --endpos="$endpos" \
    --no-loop -o include-transactions=false -f -

echo
echo "The server keeps running on 127.0.0.1:$PGPORT (data in .pgdata):"
echo "  psql -h 127.0.0.1 -p $PGPORT -U postgres"
echo "  bash tools/demo.sh stop"
