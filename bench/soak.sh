#!/usr/bin/env bash
# bench/soak.sh: the event_store soak test (`make soak`; not part of `make test`).
#
# Builds and installs the extension, starts a throwaway cluster of its own
# (unix socket only, wal_level = logical) and runs everything together for
# SOAK_SECONDS (default 600):
#
#   writers      pgbench: single events, batches, three-stream transactions,
#                expected versions that may lose races (ES001, counted as an
#                expected outcome), appends that roll back
#   contention   pgbench: several clients appending to the one stream hot-1
#                (any version, and the version just read)
#   readers      read_all_forward / read_category_forward tailing loops (also
#                a consumer group of two, and one of each read row by row by
#                the custom scan), recording what they are given
#   slot         client/es_tail following a logical slot of the event_store
#                plugin, JSON lines to a file
#   snapshots    record / read / delete loops
#   subscriptions create + read_subscription + ack loops, recording every
#                checkpoint ack() returns
#   deletes      doomed-N streams soft- and hard-deleted (events recorded
#                before they go), set_stream_metadata limits on trim-N
#                streams, scavenge(500) in a loop
#
# Then it stops everything, drains the readers and the slot, and checks
# (bench/soak_check.sql): readers saw every event of what they follow that
# was not removed, nothing else, in strictly increasing order; every stream's
# versions are 1..n; checkpoints never moved back; the slot delivered
# exactly the table's events plus those recorded removed; no unexpected
# error in the server log.  Exits 1 on any violation.
#
# Environment (defaults):
#   SOAK_SECONDS=600         how long the load runs
#   SOAK_WRITE_TPS=150       pgbench writer transactions per second (-R)
#   SOAK_HOT_TPS=100         hot-stream appends per second (-R)
#   SOAK_KEEP=1              keep the cluster's directory (it is stopped)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$($PG_CONFIG --bindir)
secs=${SOAK_SECONDS:-600}
write_tps=${SOAK_WRITE_TPS:-150}
hot_tps=${SOAK_HOT_TPS:-100}
drain_limit=300				# seconds allowed for stopping and draining

echo "== building and installing event_store" >&2
PG_CONFIG="$PG_CONFIG" bash docker/build.sh >/dev/null

. tools/pg_common.sh

work=$(mktemp -d /tmp/event_store_soak.XXXXXX)
chmod 755 "$work"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
pgdata=$work/data
sock=$work
port=5432
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    as_pg "$bindir/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1 || true
    if [ "${SOAK_KEEP:-0}" = 1 ]; then
        echo "cluster directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg_init_cluster "$bindir" "$pgdata"
cat >>"$pgdata/postgresql.conf" <<EOF

# event_store soak (bench/soak.sh)
wal_level = logical
max_connections = 60
max_wal_size = 4GB
shared_buffers = 256MB
listen_addresses = ''
unix_socket_directories = '$sock'
port = $port
log_line_prefix = '%m [%p] %e %a: '
log_min_messages = warning
EOF
as_pg "$bindir/pg_ctl" -D "$pgdata" -l "$work/server.log" -w start >/dev/null

export PGHOST=$sock PGPORT=$port PGUSER=postgres PGDATABASE=soak
unset PGOPTIONS
psql_q() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

psql_q -d postgres -c 'CREATE DATABASE soak'
psql_q -f bench/soak_setup.sql >/dev/null
psql_q -c "SELECT 1 FROM pg_create_logical_replication_slot('soak_slot', 'event_store')" >/dev/null

# Background components: name -> pid, output in $work/<name>.out/.err
declare -A pid_of
start() {						# start <name> <command...>
    local name=$1
    shift
    PGAPPNAME=$name "$@" >"$work/$name.out" 2>"$work/$name.err" &
    pid_of[$name]=$!
    pids+=($!)
}
call() { start "$1" psql_q -c "CALL $2"; }

violations=0
violation() { echo "VIOLATION: $*"; violations=$((violations + 1)); }

# wait_for <seconds> <name>...: wait for the components, each exit status
# checked; a component still running at the limit is killed (a violation).
wait_for() {
    local limit=$(($(date +%s) + $1)) name rc
    shift
    for name in "$@"; do
        while kill -0 "${pid_of[$name]}" 2>/dev/null && [ "$(date +%s)" -lt "$limit" ]; do
            sleep 1
        done
        if kill -0 "${pid_of[$name]}" 2>/dev/null; then
            violation "$name still running at its time limit: killed"
            kill "${pid_of[$name]}" 2>/dev/null || true
        fi
        rc=0
        wait "${pid_of[$name]}" || rc=$?
        if [ "$rc" -ne 0 ]; then
            violation "$name exited with status $rc: $(tail -c 600 "$work/$name.err" | tr '\n' ' ')"
        fi
    done
}

echo "== soak: ${secs}s, writers -R $write_tps, hot stream -R $hot_tps, work dir $work" >&2
echo "server: $(psql_q -c 'SELECT version()')"
echo "host:   $(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg) at start"

t0=$(date +%s.%N)
deadline=$(awk -v t="$t0" -v s="$secs" 'BEGIN {printf "%.3f", t + s}')
hard=$(awk -v d="$deadline" -v l="$drain_limit" 'BEGIN {printf "%.3f", d + l}')

# The slot consumer first, so that it streams while the load runs.
start slot client/es_tail -d "host=$sock port=$port dbname=soak user=postgres" \
    -S soak_slot -s 1

# Readers and subscriptions: until told to stop and caught up.
call r_all "soak.tail_reader('all', NULL, NULL, NULL, $hard)"
call r_acct "soak.tail_reader('acct', 'acct', NULL, NULL, $hard)"
call r_user "soak.tail_reader('user', 'user', NULL, NULL, $hard)"
call r_acct_g0 "soak.tail_reader('acct-g0', 'acct', 0, 2, $hard)"
call r_acct_g1 "soak.tail_reader('acct-g1', 'acct', 1, 2, $hard)"
call r_doomed "soak.tail_reader('doomed', 'doomed', NULL, NULL, $hard)"
call r_trim "soak.tail_reader('trim', 'trim', NULL, NULL, $hard)"
call r_hot "soak.tail_reader('hot', 'hot', NULL, NULL, $hard)"
call r_all_scan "soak.tail_reader('all-scan', NULL, NULL, NULL, $hard)"
call r_acct_scan "soak.tail_reader('acct-scan', 'acct', NULL, NULL, $hard)"
call s_all "soak.subscriber('sub-all', '\$all', $hard)"
call s_user "soak.subscriber('sub-user', '\$ce-user', $hard)"
call s_hot "soak.subscriber('sub-hot', 'hot-1', $hard)"
readers=(r_all r_acct r_user r_acct_g0 r_acct_g1 r_doomed r_trim r_hot s_all s_user s_hot)

# The load: until the deadline.
start writers "$bindir/pgbench" -n -c 4 -j 2 -T "$secs" -R "$write_tps" \
    -f bench/soak_one.sql@5 -f bench/soak_batch.sql@2 -f bench/soak_multi.sql@1 \
    -f bench/soak_expect.sql@3 -f bench/soak_rollback.sql@1
start hot "$bindir/pgbench" -n -c 4 -j 2 -T "$secs" -R "$hot_tps" \
    -f bench/soak_hot.sql@3 -f bench/soak_hot_expect.sql@1
call snap1 "soak.snapshotter(1, $deadline)"
call snap2 "soak.snapshotter(2, $deadline)"
call doom1 "soak.doomer(1, $deadline)"
call doom2 "soak.doomer(2, $deadline)"
call limiter "soak.limiter($deadline)"
PGOPTIONS="-c default_transaction_isolation=repeatable\\ read" call scavenger "soak.scavenger($deadline)"
load=(writers hot snap1 snap2 doom1 doom2 limiter scavenger)

# Progress while it runs.
while [ "$(date +%s)" -lt "${deadline%.*}" ]; do
    sleep $(( secs < 60 ? 10 : 60 ))
    echo "   $(($(date +%s) - ${t0%.*}))s: $(psql_q -c "SELECT count(*) || ' events, ' ||
        (SELECT count(*) FROM soak.seen) || ' reads recorded, slot file ' ||
        pg_size_pretty($(stat -c %s "$work/slot.out")::bigint) FROM event_store.events" 2>&1)" >&2
done

echo "== stopping: load, then readers, then the slot" >&2
wait_for "$drain_limit" "${load[@]}"
t_load=$(date +%s.%N)
# A last event: once the slot delivered it, it delivered everything
# committed before (commit order).
psql_q -c "SELECT event_store.append_to_stream('soakend-1', 0,
    ARRAY[event_store.event('SoakEnded', '{}')])" >/dev/null
end_id=$(psql_q -c "SELECT event_id FROM event_store.read_stream_forward('soakend-1')")
psql_q -c "UPDATE soak.control SET stop = true"
wait_for "$drain_limit" "${readers[@]}"
limit=$(($(date +%s) + drain_limit))
until grep -q -F "$end_id" "$work/slot.out" || [ "$(date +%s)" -ge "$limit" ]; do
    sleep 1
done
grep -q -F "$end_id" "$work/slot.out" || violation "the slot did not deliver the last event within ${drain_limit}s"
kill -TERM "${pid_of[slot]}" 2>/dev/null || true
wait_for 30 slot
t_end=$(date +%s.%N)

echo "== checking" >&2
psql_q -c "\\copy soak.slot_raw (line) FROM '$work/slot.out' WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')"
psql_q -f bench/soak_check.sql >"$work/check.out" 2>&1 || violation "soak_check.sql failed: $(tail -5 "$work/check.out")"

echo
echo "== soak results: ${secs}s of load ($(awk -v a="$t0" -v b="$t_load" 'BEGIN {printf "%.0f", b - a}')s until the load stopped, $(awk -v a="$t0" -v b="$t_end" 'BEGIN {printf "%.0f", b - a}')s with draining)"
while IFS= read -r row; do
    IFS='|' read -r name n detail <<<"$row"
    name=${name% } n=${n// /} detail=${detail# }
    if [[ $name == figure:* ]]; then
        printf '  %-84s %s\n' "${name#figure: }" "$detail"
    else
        printf '  %-84s %s %s\n' "$name" "$([ "$n" = 0 ] && echo ok || echo "VIOLATIONS: $n")" "$detail"
        [ "$n" = 0 ] || violations=$((violations + 1))
    fi
done <"$work/check.out"

for name in writers hot; do
    echo "  pgbench $name: $(sed -nE 's/^number of transactions actually processed: (.*)/\1 transactions/p; s/^number of failed transactions: (.*)/, \1 failed/p' "$work/$name.out" | tr -d '\n')"
done

# Every ERROR/FATAL/PANIC in the server log, by SQLSTATE and component.
echo "  server log errors by SQLSTATE (component):"
errs=$(sed -nE 's/^.* \[[0-9]+\] ([0-9A-Z]{5}) ([^:]*): (ERROR|FATAL|PANIC): .*/\1 \3 (\2)/p' "$work/server.log" \
    | sort | uniq -c || true)
if [ -n "$errs" ]; then
    echo "$errs" | sed 's/^/    /'
    violation "errors in the server log (first ones below)"
    grep -E ' (ERROR|FATAL|PANIC): ' "$work/server.log" | head -10 | sed 's/^/    /'
else
    echo "    none"
fi
warnings=$(grep -cE ' WARNING: ' "$work/server.log" || true)
echo "  server log warnings: $warnings"

if [ "$violations" -ne 0 ]; then
    echo "soak: FAILED, $violations violation(s); logs in $work" >&2
    SOAK_KEEP=1
    exit 1
fi
echo "soak: all invariants hold"
