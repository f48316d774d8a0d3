#!/usr/bin/env bash
# ALTER EXTENSION event_store UPDATE from 1.0 to the default version while
# appenders run: how long it takes, how long appends wait, whether any fails.
#
#   bash bench/upgrade_live.sh               # a 200,000-event store, 4 appenders
#   SEED=100000 CLIENTS=8 bash bench/upgrade_live.sh   # SEED appends of 10 events
#
# Its own cluster on port $PORT (default 5515) in a temporary directory, as
# bench/slots.sh makes it (EVENT_STORE_DESTDIR honoured the same way).  It
# installs 1.0, appends SEED batches of 10 events over 1,000 streams, starts
# pgbench appending one event per call (bench/append_one.sql) for 12 s,
# runs the update 4 s in, and reads pgbench's per-transaction log.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/pg_common.sh

SEED=${SEED:-20000}
CLIENTS=${CLIENTS:-4}
PORT=${PORT:-5515}
PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$($PG_CONFIG --bindir)

if [ -n "${EVENT_STORE_DESTDIR:-}" ]; then
    es_destdir_install "$EVENT_STORE_DESTDIR" || exit 1
fi

work=$(mktemp -d /tmp/event_store_bench_upgrade.XXXXXX)
chmod 777 "$work"
cleanup() {
    as_pg "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

es_bench_cluster "$work" "$PORT" "wal_level = logical" "shared_buffers = '256MB'"

conn="host=$work port=$PORT user=postgres dbname=postgres"
psql_q() { "$bindir/psql" -X -q -At -d "$conn" "$@"; }
psql_q -c "CREATE EXTENSION event_store VERSION '1.0'" \
       -c "ALTER DATABASE postgres SET event_store.notify = off"
psql_q -c "SELECT count(event_store.append_to_stream('s-' || (i % 1000), -1,
             ARRAY(SELECT event_store.event('Seed', jsonb_build_object('i', i, 'j', j))
                     FROM generate_series(1, 10) AS j)))
             FROM generate_series(1, $SEED) AS i" >/dev/null
events=$(psql_q -c 'SELECT count(*) FROM event_store.events')

(cd "$work" && "$bindir/pgbench" -n -c "$CLIENTS" -j 2 -T 12 -f "$OLDPWD/bench/append_one.sql" \
    -D data="'{\"a\": 1}'" -D meta="'{}'" -l --log-prefix="$work/txn" "$conn" \
    >"$work/pgbench.out" 2>&1) &
pgbench=$!
sleep 4
t1=$(date +%s.%N)
psql_q -c 'ALTER EXTENSION event_store UPDATE'
t2=$(date +%s.%N)
wait "$pgbench" || true

echo "store: $events events; $CLIENTS appenders; update to $(psql_q -c "SELECT extversion FROM pg_extension WHERE extname = 'event_store'")"
awk -v a="$t1" -v b="$t2" 'BEGIN { printf "ALTER EXTENSION UPDATE took %.2f s\n", b - a }'
grep -E "number of failed transactions" "$work/pgbench.out" || true
# the log: client, transaction, latency (us), script, end time (s, us)
cat "$work"/txn.* | awk -v a="$t1" -v b="$t2" '
    { n++; if ($3 > worst) worst = $3; end = $5 + $6 / 1e6
      if (end < a) before++; else if (end > b) after++ }
    END { printf "appends: %d (%d before the update, %d after it); slowest %.2f s\n",
                 n, before, after, worst / 1e6 }'
