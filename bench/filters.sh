#!/usr/bin/env bash
# bench/filters.sh: the figures of version 1.2's reading and waiting work,
# each against a baseline measured in the same run (docs/benchmarks.md,
# "Filters, waiting and the JSON batch").
#
#   bash bench/filters.sh [f] [g] [j] [w]
#
#   f  a filtered page: read_all_forward(p, 100, ARRAY['Rare']) of a type that
#      is 1 % of a 1,000,000-event log, against the indexed SELECT of the
#      same rows (pgbench, 1 client, alternating rounds, median tps)
#   g  a consumer group: 4 members each reading a 1,000,000-event category to
#      its end in pages of 1,000 (seconds per member; the whole category
#      without a group as the baseline).  Run it once with a pre-1.2 build
#      (EVENT_STORE_DESTDIR of one) for the "before" figures.
#   j  100-event appends: the jsonb form against the new_event[] form, the
#      same events (pgbench, 1 client, synchronous_commit off, alternating)
#   w  wait_for_events wake latency over 1,000 wakes while pgbench appends
#      with 4 clients in another database (bench/wait_latency.py)
#   default: f g j w
#
# Environment: EVENT_STORE_DESTDIR (install there and load from there, as
# test/run_all.sh does; default: the installed extension), BENCH_PORT (5512),
# BENCH_SECONDS (5), BENCH_RUNS (5), BENCH_WAKES (1000), BENCH_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$($PG_CONFIG --bindir)
secs=${BENCH_SECONDS:-5}
runs=${BENCH_RUNS:-5}
wakes=${BENCH_WAKES:-1000}
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(f g j w)
want() { [[ " ${parts[*]} " == *" $1 "* ]]; }

. tools/pg_common.sh

if [ -n "${EVENT_STORE_DESTDIR:-}" ]; then
    if [ -f "$EVENT_STORE_DESTDIR/.prebuilt" ]; then
        # a build made elsewhere (a pre-1.2 one for "before")
        chmod -R a+rX "$EVENT_STORE_DESTDIR"
    else
        es_destdir_install "$EVENT_STORE_DESTDIR" || exit 1
    fi
fi

work=$(mktemp -d /tmp/event_store_filters.XXXXXX)
chmod 755 "$work"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
port=${BENCH_PORT:-5512}
cleanup() {
    as_pg "$bindir/pg_ctl" -D "$work/data" -m immediate -w stop >/dev/null 2>&1 || true
    [ -n "${load_pid:-}" ] && kill "$load_pid" 2>/dev/null || true
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

es_bench_cluster "$work" "$port" "fsync = on" "shared_buffers = 1GB" "max_connections = 40" \
    "max_wal_size = 8GB" "checkpoint_timeout = 30min" "track_commit_timestamp = on"
export PGHOST=$work PGPORT=$port PGUSER=postgres
unset PGOPTIONS PGDATABASE
psql_q() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }
psql_q -d postgres -c 'CREATE DATABASE bench'
psql_q -d bench -c 'CREATE EXTENSION event_store'
echo "== $(psql_q -d bench -c "SELECT 'event_store ' || extversion FROM pg_extension WHERE extname = 'event_store'"), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"

# median of the numbers on stdin
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# tps of one pgbench run of script $1 (extra pgbench arguments follow)
tps() {
    local script=$1; shift
    "$bindir/pgbench" -n -M prepared -c 1 -j 1 -T "$secs" "$@" -f "$script" bench 2>/dev/null |
        sed -nE 's/^tps = ([0-9.]+).*/\1/p'
}

########################################################################
# The log: 1,000,000 events, one category ("cat"), 10,000 streams of 100
# events (10,000 appends of 100), 1 % of type Rare, the rest Common0..9.
########################################################################
if want f || want g; then
    echo "== generating 1,000,000 events" >&2
    t0=$(date +%s)
    psql_q -d bench <<'EOF'
SET event_store.notify = off;
SET synchronous_commit = off;
CREATE PROCEDURE pg_temp.generate() LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 10000 LOOP
        PERFORM event_store.append_to_stream('cat-' || i, -1,
            ARRAY(SELECT event_store.event(
                        CASE WHEN random() < 0.01 THEN 'Rare' ELSE 'Common' || (g % 10) END,
                        jsonb_build_object('n', g, 'note', 'some payload of a typical size'))
                    FROM generate_series(1, 100) g));
        COMMIT;
    END LOOP;
END
$$;
CALL pg_temp.generate();
VACUUM ANALYZE event_store.events;
EOF
    echo "   $(( $(date +%s) - t0 )) s; $(psql_q -d bench -c "SELECT count(*) || ' events, ' || count(*) FILTER (WHERE event_type = 'Rare') || ' Rare' FROM event_store.events")"
fi

########################################################################
# f: a filtered page against the indexed SELECT
########################################################################
if want f; then
    cols="global_position, stream_name, stream_version, event_id, event_type, data, metadata, causation_id, correlation_id, created_at"
    # both return the rows to the client, as a reader does
    cat >"$work/filtered.sql" <<EOF
\set p random(1, 950000)
SELECT * FROM event_store.read_all_forward(:p, 100, ARRAY['Rare']);
EOF
    cat >"$work/select.sql" <<EOF
\set p random(1, 950000)
SELECT $cols FROM event_store.events
 WHERE event_type = 'Rare' AND global_position >= :p
 ORDER BY global_position LIMIT 100;
EOF
    psql_q -d bench -c "EXPLAIN (COSTS OFF) SELECT * FROM event_store.events WHERE event_type = 'Rare' AND global_position >= 5 ORDER BY global_position LIMIT 100" | sed 's/^/   plan: /'
    fs=() ; ss=()
    for r in $(seq "$runs"); do
        ss+=("$(tps "$work/select.sql")")
        fs+=("$(tps "$work/filtered.sql")")
    done
    f=$(printf '%s\n' "${fs[@]}" | median); s=$(printf '%s\n' "${ss[@]}" | median)
    echo "f  filtered page (100 Rare of 1M, 1 %): read_all_forward ${f} pages/s, indexed SELECT ${s} pages/s, ratio $(awk -v a="$f" -v b="$s" 'BEGIN {printf "%.2f", a/b}') (runs: ${fs[*]} | ${ss[*]})"
fi

########################################################################
# g: consumer-group members reading the whole category
########################################################################
if want g; then
    psql_q -d bench <<'EOF'
-- the category from the start to its end in pages of 1,000: of member k of
-- n, or all of it when n is NULL; returns how many events
CREATE FUNCTION public.read_to_end(k int, n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    pos bigint := 1;
    total bigint := 0;
    got bigint;
    last bigint;
BEGIN
    LOOP
        SELECT count(*), max(global_position) INTO got, last
          FROM event_store.read_category_forward('cat', pos, 1000, k, n);
        EXIT WHEN got = 0;
        total := total + got;
        pos := last + 1;
    END LOOP;
    RETURN total;
END
$$;
EOF
    psql_q -d bench <<'EOF'
CREATE FUNCTION public.seconds_of(statement text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE statement;
    RETURN round(extract(epoch FROM clock_timestamp() - t0)::numeric, 3);
END
$$;
EOF
    timed() {       # seconds of one statement, from the server's clock
        psql_q -d bench -c "SELECT public.seconds_of('SELECT $1')"
    }
    timed 'public.read_to_end(NULL, NULL)' >/dev/null        # warm the cache
    for round in 1 2 3; do
        base=$(timed 'public.read_to_end(NULL, NULL)')
        members=()
        for k in 0 1 2 3; do members+=("$(timed "public.read_to_end($k, 4)")"); done
        echo "g  round $round: whole category (no group) ${base} s; members 0-3 of 4: ${members[*]} s; sum $(printf '%s\n' "${members[@]}" | awk '{s+=$1} END {print s}') s"
    done
fi

########################################################################
# j: the jsonb batch against the new_event[] batch
########################################################################
if want j; then
    batch=$(psql_q -d bench -c "SELECT array_agg(event_store.event('BenchEvent', jsonb_build_object('order', g, 'sku', 'tea-' || g, 'qty', 2, 'price', 4.5, 'note', repeat('x', 150)), '{\"user\": \"ada\", \"ip\": \"10.0.0.1\", \"trace\": \"0123456789abcdef\"}'::jsonb)) FROM generate_series(1, 100) g")
    jbatch=$(psql_q -d bench -c "SELECT jsonb_agg(jsonb_build_object('event_type', 'BenchEvent', 'data', jsonb_build_object('order', g, 'sku', 'tea-' || g, 'qty', 2, 'price', 4.5, 'note', repeat('x', 150)), 'metadata', '{\"user\": \"ada\", \"ip\": \"10.0.0.1\", \"trace\": \"0123456789abcdef\"}'::jsonb)) FROM generate_series(1, 100) g")
    cat >"$work/array.sql" <<'EOF'
\set sid random(1, 10000)
SELECT event_store.append_to_stream('arr-' || :sid, -1, CAST(:batch AS event_store.new_event[]));
EOF
    cat >"$work/jsonb.sql" <<'EOF'
\set sid random(1, 10000)
SELECT event_store.append_to_stream('json-' || :sid, -1, CAST(:jbatch AS jsonb));
EOF
    as=() ; js=()
    for r in $(seq "$runs"); do
        as+=("$(PGOPTIONS='-c synchronous_commit=off -c event_store.notify=off' tps "$work/array.sql" -D batch="$batch")")
        js+=("$(PGOPTIONS='-c synchronous_commit=off -c event_store.notify=off' tps "$work/jsonb.sql" -D jbatch="$jbatch")")
    done
    a=$(printf '%s\n' "${as[@]}" | median); j=$(printf '%s\n' "${js[@]}" | median)
    echo "j  100-event appends: jsonb $(awk -v t="$j" 'BEGIN {printf "%.0f", t*100}') events/s, new_event[] $(awk -v t="$a" 'BEGIN {printf "%.0f", t*100}') events/s, ratio $(awk -v a="$j" -v b="$a" 'BEGIN {printf "%.2f", a/b}') (tps runs: ${js[*]} | ${as[*]})"
fi

########################################################################
# w: wait_for_events wake latency under load
########################################################################
if want w; then
    psql_q -d postgres -c 'CREATE DATABASE load'
    psql_q -d load -c 'CREATE EXTENSION event_store'
    cat >"$work/load.sql" <<'EOF'
\set sid random(1, 10000)
SELECT event_store.append_to_stream('load-' || :sid, -1, ARRAY[event_store.event('Load', '{"x": 1}')]);
EOF
    PGOPTIONS='-c event_store.notify=off' "$bindir/pgbench" -n -M prepared -c 4 -j 2 -T 600 \
        -f "$work/load.sql" load >"$work/load.log" 2>&1 &
    load_pid=$!
    sleep 2
    echo "w  wait_for_events, $wakes wakes, 4 clients appending in another database: $(/usr/bin/python3 bench/wait_latency.py "host=$work port=$port user=postgres dbname=bench" "$wakes")"
    kill "$load_pid" 2>/dev/null || true
    wait "$load_pid" 2>/dev/null || true
    load_pid=
fi
