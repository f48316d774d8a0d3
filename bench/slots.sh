#!/usr/bin/env bash
# The cost of logical-decoding fan-out on the primary: append throughput
# with N consumers streaming from N event_store slots at once, against none.
#
#   bash bench/slots.sh                      # N = 0 1 4 16, 3 rounds of 10 s
#   NS="0 2 8" ROUNDS=5 SECS=20 CLIENTS=8 bash bench/slots.sh
#
# Its own cluster (initdb as postgres when run as root; fsync on,
# wal_level=logical, event_store.notify=off so that only decoding is
# measured) on port $PORT (default 5515), in a temporary directory; with
# EVENT_STORE_DESTDIR it builds and installs into that private DESTDIR and
# the server loads the extension from there, as test/run_all.sh does.  All
# slots exist before the first append.  Each round runs every N once, in a
# rotated order: N pg_recvlogical consumers start on N slots (plugin
# event_store, output to /dev/null), catch up, then pgbench appends one event
# per call (bench/append_one.sql) with $CLIENTS clients for $SECS seconds,
# while the walsenders' CPU time is read from /proc.  The figures are medians
# over the rounds: appends/s, the ratio to N = 0 of the same run, and the
# walsenders' CPU seconds per second.  The machine is shared and noisy: read
# the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/pg_common.sh

NS=${NS:-0 1 4 16}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-10}
CLIENTS=${CLIENTS:-4}
PORT=${PORT:-5515}
PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$($PG_CONFIG --bindir)
max_n=0
for n in $NS; do [ "$n" -gt "$max_n" ] && max_n=$n; done

if [ -n "${EVENT_STORE_DESTDIR:-}" ]; then
    es_destdir_install "$EVENT_STORE_DESTDIR" || exit 1
fi

work=$(mktemp -d /tmp/event_store_bench_slots.XXXXXX)
chmod 777 "$work"
consumers=()
stop_consumers() {
    local pid
    for pid in "${consumers[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${consumers[@]}"; do wait "$pid" 2>/dev/null || true; done
    consumers=()
}
cleanup() {
    stop_consumers
    as_pg "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
    [ -n "${KEEP:-}" ] || rm -rf "$work"
}
trap cleanup EXIT

es_bench_cluster "$work" "$PORT" "wal_level = logical" \
    "max_replication_slots = $((max_n + 4))" "max_wal_senders = $((max_n + 4))" \
    "shared_buffers = '256MB'" "event_store.notify = off"

conn="host=$work port=$PORT user=postgres dbname=postgres"
psql_q() { "$bindir/psql" -X -q -At -d "$conn" "$@"; }
psql_q -c 'CREATE EXTENSION event_store'
for i in $(seq 1 "$max_n"); do
    psql_q -c "SELECT 'x' FROM pg_create_logical_replication_slot('fan_$i', 'event_store')" >/dev/null
done
# pgbench pastes -D values into the SQL as they are: SQL literals
data=\''{"amount": 12.5, "currency": "EUR", "note": "a typical small event"}'\'
meta=\''{"user": "bench", "trace": "0123456789abcdef"}'\'

# the walsenders' CPU time so far, in clock ticks (utime + stime)
walsender_ticks() {
    local total=0 pid stat
    for pid in $(psql_q -c "SELECT pid FROM pg_stat_replication"); do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        stat=${stat##*) }
        total=$((total + $(echo "$stat" | awk '{ print $12 + $13 }')))
    done
    echo "$total"
}
hz=$(getconf CLK_TCK)

# one measurement: prints "appends/s walsender-cpu-s/s lag-bytes-at-end"
measure() {
    local n=$1 i t0 t1 tps lag
    for i in $(seq 1 "$n"); do
        "$bindir/pg_recvlogical" -d "$conn" -S "fan_$i" --start -f /dev/null -s 1 \
            2>>"$work/recvlogical.err" &
        consumers+=($!)
    done
    # attached and caught up with what earlier rounds left in the slots
    until [ "$(psql_q -c "SELECT count(*) FROM pg_replication_slots
                          WHERE slot_name LIKE 'fan\_%' AND active
                            AND confirmed_flush_lsn >= pg_current_wal_lsn() - 65536")" -ge "$n" ]; do
        sleep 0.2
    done
    t0=$(walsender_ticks)
    tps=$("$bindir/pgbench" -n -c "$CLIENTS" -j 2 -T "$SECS" -f bench/append_one.sql \
              -D data="$data" -D meta="$meta" "$conn" 2>"$work/pgbench.err" |
          tee "$work/pgbench.out" | sed -nE "s/^tps = ([0-9.]+).*/\1/p")
    t1=$(walsender_ticks)
    lag=$(psql_q -c "SELECT coalesce(max(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)), 0)::bigint
                       FROM pg_replication_slots WHERE active")
    stop_consumers
    echo "${tps:-0} $(awk "BEGIN { printf \"%.3f\", ($t1 - $t0) / $hz / $SECS }") $lag"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

read -r -a ns <<<"$NS"
declare -A tps cpu lag ratio
for round in $(seq 1 "$ROUNDS"); do
    order=("${ns[@]:$(( (round - 1) % ${#ns[@]} ))}" "${ns[@]:0:$(( (round - 1) % ${#ns[@]} ))}")
    declare -A this=()
    for n in "${order[@]}"; do
        read -r t c l <<<"$(measure "$n")"
        this[$n]=$t
        tps[$n]+="$t "
        cpu[$n]+="$c "
        lag[$n]+="$l "
        echo "round $round: N=$n  $t appends/s  walsenders $c CPU-s/s  lag at end $l bytes" >&2
    done
    for n in "${ns[@]}"; do
        ratio[$n]+="$(awk "BEGIN { printf \"%.3f\", ${this[$n]} / ${this[${ns[0]}]} }") "
    done
done

echo
echo "Decoding fan-out on the primary: $CLIENTS appending clients (one event per append),"
echo "$SECS s per run, medians of $ROUNDS rounds; ratio = appends/s against N = ${ns[0]} in the same round"
printf '%-6s %12s %10s %22s %16s\n' "slots" "appends/s" "ratio" "walsender CPU-s/s" "max lag (bytes)"
for n in "${ns[@]}"; do
    printf '%-6s %12s %10s %22s %16s\n' "$n" \
        "$(tr ' ' '\n' <<<"${tps[$n]}" | grep . | median)" \
        "$(tr ' ' '\n' <<<"${ratio[$n]}" | grep . | median)" \
        "$(tr ' ' '\n' <<<"${cpu[$n]}" | grep . | median)" \
        "$(tr ' ' '\n' <<<"${lag[$n]}" | grep . | sort -n | tail -1)"
done
