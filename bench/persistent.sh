#!/usr/bin/env bash
# bench/persistent.sh: competing consumers against a SKIP LOCKED queue.
#
# Builds and installs the extension, starts a throwaway cluster of its own
# (fsync=on, unix socket only), appends a backlog of BENCH_EVENTS events
# (1,000 streams, 10-event appends, the streams interleaved), then measures
# with pgbench BENCH_CLIENTS consumers, each receiving and acknowledging
# batches of BENCH_BATCH events, for BENCH_SECONDS:
#
#   queue        the baseline: a plain table of the same positions, consumed
#                with  BEGIN; SELECT e.* FROM queue JOIN events ... ORDER BY
#                position LIMIT n FOR UPDATE OF queue SKIP LOCKED; DELETE
#                those rows; COMMIT
#   pinned       a persistent subscription (strategy pinned, the default):
#                receive_events(sub, consumer, n), then ack_events(sub, ...)
#   round_robin  the same with strategy round_robin
#
# Each round starts from a full backlog (a new subscription, a refilled
# queue); the scenarios alternate within a round, BENCH_RUNS rounds.  Prints
# events per second (median of the rounds) and the ratio to the queue.
#
# Environment (defaults): BENCH_EVENTS=1000000 BENCH_CLIENTS=8 BENCH_BATCH=100
#   BENCH_SECONDS=10 BENCH_RUNS=3 BENCH_PORT=5592
#   EVENT_STORE_DESTDIR=dir   install into this private DESTDIR and load the
#                             extension from there (as test/run_all.sh does)
set -euo pipefail
cd "$(dirname "$0")/.."

PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$($PG_CONFIG --bindir)
events=${BENCH_EVENTS:-1000000}
clients=${BENCH_CLIENTS:-8}
batch=${BENCH_BATCH:-100}
secs=${BENCH_SECONDS:-10}
runs=${BENCH_RUNS:-3}
port=${BENCH_PORT:-5592}

. tools/pg_common.sh

echo "== building and installing event_store" >&2
if [ -n "${EVENT_STORE_DESTDIR:-}" ]; then
    es_destdir_install "$EVENT_STORE_DESTDIR" || exit 1
else
    PG_CONFIG="$PG_CONFIG" bash docker/build.sh >/dev/null
fi

work=$(mktemp -d /tmp/event_store_bench_persistent.XXXXXX)
chmod 755 "$work"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
pgdata=$work/data
cleanup() {
    as_pg "$bindir/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

es_bench_cluster "$work" "$port" "fsync = on" "synchronous_commit = on" \
    "shared_buffers = 512MB" "max_wal_size = 8GB" "checkpoint_timeout = 30min"

export PGHOST=$work PGPORT=$port PGUSER=postgres PGDATABASE=postgres
unset PGOPTIONS
psql_q() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

echo "== appending a backlog of $events events" >&2
psql_q -c "CREATE EXTENSION event_store" \
       -c "CREATE TABLE bench_queue (global_position bigint PRIMARY KEY)"
psql_q -c "
DO \$\$
DECLARE
    batch event_store.new_event[];
BEGIN
    SELECT array_agg(event_store.event('Type' || (i % 10), '{\"amount\": 1}')) INTO batch
      FROM generate_series(1, 10) i;
    FOR r IN 1..$events / 10000 LOOP
        FOR s IN 1..1000 LOOP
            PERFORM event_store.append_to_stream('account-' || s, -1, batch);
        END LOOP;
        COMMIT;
    END LOOP;
END
\$\$"
psql_q -c "VACUUM ANALYZE"

printf '%s\n' "BEGIN;" \
    "SELECT coalesce(array_agg(x.global_position), '{}') AS p, count(x.data) AS n FROM (SELECT e.* FROM bench_queue q JOIN event_store.events e ON e.global_position = q.global_position ORDER BY q.global_position LIMIT $batch FOR UPDATE OF q SKIP LOCKED) x \gset" \
    "DELETE FROM bench_queue WHERE global_position = ANY (':p');" \
    "COMMIT;" >"$work/queue.sql"
printf '%s\n' \
    "SELECT coalesce(array_agg(r.global_position), '{}') AS p, count(r.data) AS n FROM event_store.receive_events(':sub', 'consumer-' || :client_id, $batch) r \gset" \
    "SELECT event_store.ack_events(':sub', ':p');" >"$work/persistent.sql"
chmod a+r "$work"/*.sql

# run_pgbench <script> [pgbench args]: reports failed transactions, if any
run_pgbench() {
    local script=$1
    shift
    local out
    out=$("$bindir/pgbench" -n -c "$clients" -j "$clients" -T "$secs" "$@" -f "$script" 2>&1) ||
        { echo "$out" >&2; exit 1; }
    grep -E "number of failed transactions: [1-9]" <<<"$out" >&2 || true
}

declare -A rates
for round in $(seq 1 "$runs"); do
    for scenario in queue pinned round_robin; do
        case $scenario in
        queue)
            psql_q -c "TRUNCATE bench_queue" \
                   -c "INSERT INTO bench_queue SELECT global_position FROM event_store.events" \
                   -c "VACUUM ANALYZE bench_queue"
            run_pgbench "$work/queue.sql"
            done_events=$(psql_q -c "SELECT $events - count(*) FROM bench_queue")
            ;;
        *)
            sub="bench_${scenario}_$round"
            psql_q -c "SELECT count(*) FROM event_store.create_persistent_subscription('$sub', strategy => '$scenario')" >/dev/null
            run_pgbench "$work/persistent.sql" -D sub="$sub"
            # acked = taken from the log minus what is still leased or waiting
            done_events=$(psql_q -c "SELECT (SELECT count(*) FROM event_store.events e
                                               WHERE e.global_position <= p.read_position)
                                          - (SELECT count(*) FROM event_store.persistent_events w
                                              WHERE w.subscription_name = p.subscription_name)
                                       FROM event_store.persistent_subscriptions p
                                      WHERE p.subscription_name = '$sub'")
            psql_q -c "SELECT event_store.delete_subscription('$sub')" >/dev/null
            psql_q -c "VACUUM event_store.persistent_events, event_store.persistent_subscriptions, event_store.subscriptions"
            ;;
        esac
        rate=$((done_events / secs))
        rates[$scenario]+="$rate "
        printf '   round %d  %-12s %8d events/s\n' "$round" "$scenario" "$rate" >&2
    done
done

median() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
q=$(median "${rates[queue]}")
printf '\n%d consumers, batches of %d, backlog of %d events, %d s per run, median of %d rounds\n' \
    "$clients" "$batch" "$events" "$secs" "$runs"
printf '%-14s %10s %7s\n' scenario events/s ratio
for scenario in queue pinned round_robin; do
    m=$(median "${rates[$scenario]}")
    printf '%-14s %10d %7s\n' "$scenario" "$m" "$(awk -v a="$m" -v b="$q" 'BEGIN {printf "%.2f", a / b}')"
done
