#!/usr/bin/env bash
# Failover with pg_auto_failover, end to end, on loopback: a monitor and two
# Postgres nodes (pg_autoctl), event_store on the primary, two appenders
# retrying every call unchanged on a multi-host connection string, es_tail
# with a state file on the same string.  Mid-load the primary's pg_autoctl
# is killed and its Postgres stopped (immediate); the monitor notices, the secondary
# is promoted; appends continue there and es_tail, reconnecting by itself,
# creates its slot there and catches up from the table.  Then it checks what
# test/t/070_failover.pl checks and prints TAP (test/t/075_pg_auto_failover.pl
# runs it in the suite) and the figures.
#
#   bash tools/auto_failover_demo.sh [WORKDIR]     (make first; root or postgres)
#
# Environment: AUTO_FAILOVER_PORTS="monitor node1 node2" (default 5615 5616
# 5617), EVENT_STORE_DESTDIR or TEMP_CONFIG (server settings for a private
# install, as test/run_all.sh sets them).  Needs Debian's
# postgresql-15-auto-failover (tools/deps.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/tmp/es_auto_failover}
bindir=$(pg_config --bindir)
. "$top/tools/pg_common.sh"

if [ "$(id -u)" -eq 0 ]; then
    mkdir -p "$work" && chown postgres "$work"
    exec su postgres -s /bin/bash -c "$(printf '%q ' env \
        AUTO_FAILOVER_PORTS="${AUTO_FAILOVER_PORTS:-}" \
        EVENT_STORE_DESTDIR="${EVENT_STORE_DESTDIR:-}" TEMP_CONFIG="${TEMP_CONFIG:-}" \
        bash "$0" "$work")"
fi

read -r mon_port port1 port2 <<<"${AUTO_FAILOVER_PORTS:-5615 5616 5617}"
export PATH="$bindir:$PATH"
# pg_autoctl talks to its local servers through PGHOST when it is set (the
# TAP harness sets it): let it use the servers' default socket directory
unset PGHOST PGPORT PGDATABASE PGUSER PGDATA
export XDG_CONFIG_HOME="$work/config" XDG_DATA_HOME="$work/share" XDG_RUNTIME_DIR="$work/run"
mkdir -p "$work" "$XDG_RUNTIME_DIR"
cd "$work"
rm -f "$work"/*.log "$work"/stop "$work"/tail.*

tests=0
failed=0
check() {                       # check <description> <command...>
    tests=$((tests + 1))
    if "${@:2}"; then
        echo "ok $tests - $1"
    else
        echo "not ok $tests - $1"
        failed=$((failed + 1))
    fi
}
say() { echo "# $*"; }
now() { date +%s.%N; }

# Each pg_autoctl runs in a process group of its own (setsid), so that
# stopping a node can take its supervisor and everything it started at once.
declare -A group=()
run_autoctl() {                 # run_autoctl <name>
    setsid pg_autoctl run --pgdata "$work/$1" >"$work/$1.log" 2>&1 &
    group[$1]=$!
    echo "$!" >"$work/$1.group"
}
kill_node() {                   # kill_node <name>: its pg_autoctl, then its server
    if [ -n "${group[$1]:-}" ]; then kill -KILL -- "-${group[$1]}" 2>/dev/null || true; fi
    if [ -f "$work/$1/postmaster.pid" ]; then pg_ctl -D "$work/$1" stop -m immediate >/dev/null 2>&1 || true; fi
}

cleanup() {
    set +e
    touch "$work/stop"
    [ -z "${tail_pid:-}" ] || kill "$tail_pid" 2>/dev/null || true
    for d in node1 node2 monitor; do kill_node "$d"; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

# Small servers (pg_auto_failover sizes shared_buffers for the whole machine),
# loopback only, logical decoding with our plugin; postgresql.auto.conf is
# read last, so it wins over pg_auto_failover's own file.
server_settings() {
    cat <<EOF
shared_buffers = '64MB'
work_mem = '4MB'
maintenance_work_mem = '64MB'
effective_cache_size = '512MB'
wal_keep_size = '256MB'
listen_addresses = '127.0.0.1'
logging_collector = off
wal_level = 'logical'
max_replication_slots = 12
EOF
    if pg_has_output_plugin_libraries "$bindir"; then
        echo "output_plugin_libraries = 'pgoutput, test_decoding, event_store'"
    fi
    if [ -n "${TEMP_CONFIG:-}" ] && [ -r "$TEMP_CONFIG" ]; then
        cat "$TEMP_CONFIG"
    elif [ -n "${EVENT_STORE_DESTDIR:-}" ]; then
        es_destdir_conf "$EVENT_STORE_DESTDIR"
    fi
}

# pg_autoctl adopts an existing data directory; initdb without fsync is quicker
initdb -D "$work/monitor" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
initdb -D "$work/node1" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null

# the monitor, with failure detection in seconds rather than tens of seconds
pg_autoctl create monitor --pgdata "$work/monitor" --pgport "$mon_port" --hostname 127.0.0.1 \
    --auth trust --no-ssl >"$work/create_monitor.log" 2>&1
{
    server_settings | grep -Ev '^(wal_level|output_plugin|extension_destdir|dynamic_library)'
    cat <<EOF
pgautofailover.health_check_period = 1000
pgautofailover.health_check_timeout = 1000
pgautofailover.health_check_max_retries = 1
pgautofailover.health_check_retry_delay = 500
pgautofailover.node_considered_unhealthy_timeout = 2000
pgautofailover.primary_demote_timeout = 3000
EOF
} >>"$work/monitor/postgresql.auto.conf"
run_autoctl monitor
monitor_uri="postgres://autoctl_node@127.0.0.1:$mon_port/pg_auto_failover?sslmode=disable"

wait_for() {                    # wait_for <seconds> <command...>
    local deadline=$((SECONDS + $1))
    until "${@:2}" >/dev/null 2>&1; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.2
    done
}
is_primary() { [ "$(psql -X -At -h 127.0.0.1 -p "$1" -d postgres -c 'SELECT NOT pg_is_in_recovery()' 2>/dev/null)" = t ]; }
wait_for 30 psql -X -h 127.0.0.1 -p "$mon_port" -d pg_auto_failover -c 'SELECT 1'

create_node() {                 # create_node <name> <port>
    pg_autoctl create postgres --pgdata "$work/$1" --pgport "$2" --hostname 127.0.0.1 \
        --listen 127.0.0.1 --name "$1" --monitor "$monitor_uri" --auth trust --no-ssl \
        >"$work/create_$1.log" 2>&1
    server_settings >>"$work/$1/postgresql.auto.conf"
    # do not wait 5 s for the WAL receiver of a standby being promoted
    pg_autoctl config set --pgdata "$work/$1" timeout.prepare_promotion_walreceiver 1 >/dev/null
    run_autoctl "$1"
}

t0=$(now)
create_node node1 "$port1"
wait_for 60 is_primary "$port1" || { echo "Bail out! node1 did not start (see $work/node1.log)"; exit 1; }
psql -X -q -h 127.0.0.1 -p "$port1" -d postgres -c 'CREATE EXTENSION event_store'
# pg_autoctl's pg_basebackup asks for a spread checkpoint; hurry it along
create_node node2 "$port2" &
creating=$!
while kill -0 "$creating" 2>/dev/null; do
    psql -X -q -h 127.0.0.1 -p "$port1" -d postgres -c CHECKPOINT 2>/dev/null || true
    sleep 1
done
wait "$creating"
group[node2]=$(cat "$work/node2.group")
node_state() { pg_autoctl show state --pgdata "$work/monitor" 2>/dev/null; }
both_up() { node_state | grep -q 'primary *| *primary' && node_state | grep -q 'secondary *| *secondary'; }
wait_for 120 both_up || { node_state; echo "Bail out! node2 did not become a secondary (see $work/node2.log)"; exit 1; }
say "monitor + 2 nodes up in $(awk "BEGIN { printf \"%.1f\", $(now) - $t0 }") s"
node_state | sed 's/^/# /'

conninfo="host=127.0.0.1,127.0.0.1 port=$port1,$port2 dbname=postgres target_session_attrs=read-write connect_timeout=2"

"$top/client/es_tail" -d "$conninfo" -S tail --create-slot --state-file "$work/tail.state" \
    --max-backoff 0.5 -s 1 -v >"$work/tail.out" 2>"$work/tail.err" &
tail_pid=$!

# an appender: batches of 3 events with its own ids, each call retried unchanged
appender() {
    local a=$1 k=0 expected=0 out ids sql deadline
    while [ ! -e "$work/stop" ]; do
        k=$((k + 1))
        ids=()
        for i in 1 2 3; do ids+=("$(printf '%08x-0000-4000-8000-%012x' "$a" $((k * 10 + i)))"); done
        sql="SELECT event_store.append_to_stream('acct-$a', $expected, ARRAY[$(printf "event_store.event('Posted', '{}', NULL, '%s')," "${ids[@]}" | sed 's/,$//')])"
        deadline=$((SECONDS + 60))
        until out=$(psql -X -At -q -d "$conninfo" -c "$sql" 2>>"$work/appender$a.err") &&
              [[ $out =~ ^[0-9]+$ ]]; do
            [ $SECONDS -ge $deadline ] && { echo "appender $a gave up" >>"$work/appender$a.err"; return 1; }
            sleep 0.1
        done
        for i in 0 1 2; do
            echo "$(now) ${ids[$i]} acct-$a $((out - 2 + i))" >>"$work/acks$a.log"
        done
        expected=$out
    done
}
appender 1 & app1=$!
appender 2 & app2=$!

sleep 3
t_stop=$(now)
kill_node node1                 # the primary's machine dies, as it were
wait_for 120 is_primary "$port2"
t_promoted=$(now)
sleep 4
touch "$work/stop"
apps_ok=true
wait "$app1" || apps_ok=false
wait "$app2" || apps_ok=false
node_state | sed 's/^/# /'

# what the appenders were told, against the new primary
cat "$work"/acks*.log | sort -n >"$work/acks.log"
p2() { psql -X -At -q -h 127.0.0.1 -p "$port2" -d postgres "$@"; }
p2 -c "CREATE TABLE acks (t numeric, event_id uuid, stream text, version bigint)" \
   -c "\\copy acks FROM '$work/acks.log' WITH (DELIMITER ' ')"
before=$(p2 -c "SELECT count(*) / 3 FROM acks WHERE t < $t_stop")
after=$(p2 -c "SELECT count(*) / 3 FROM acks WHERE t >= $t_promoted")
gap=$(p2 -c "SELECT round(max(d), 2) FROM (SELECT t - lag(t) OVER (ORDER BY t) AS d FROM acks) s")
check 'every append was acknowledged' $apps_ok
check 'every acknowledged event is on the new primary, at its stream and version' \
    test "$(p2 -c "SELECT count(*) FROM acks a LEFT JOIN event_store.events e USING (event_id)
                    WHERE e.stream_name IS DISTINCT FROM a.stream OR e.stream_version IS DISTINCT FROM a.version")" = 0
check 'every stream is contiguous, each version once' \
    test "$(p2 -c "SELECT count(*) FROM (SELECT stream_name FROM event_store.events GROUP BY stream_name
                    HAVING count(*) <> max(stream_version) OR count(DISTINCT stream_version) <> count(*)) s")" = 0
check 'appends continued on the new primary' test "$after" -gt 0

# es_tail delivered every event of the new primary's table
p2 -c "CREATE TABLE delivered (position bigint, event_id uuid)"
all_delivered() {
    grep -o '"position":[0-9]*,"stream":"[^"]*","version":[0-9]*,"id":"[^"]*"' "$work/tail.out" |
        sed -E 's/"position":([0-9]+),.*"id":"([^"]*)"/\1 \2/' >"$work/delivered.txt"
    p2 -c "TRUNCATE delivered" -c "\\copy delivered FROM '$work/delivered.txt' WITH (DELIMITER ' ')"
    [ "$(p2 -c "SELECT count(*) FROM event_store.events e
                 WHERE NOT EXISTS (SELECT FROM delivered d WHERE d.position = e.global_position
                                                              AND d.event_id = e.event_id)")" = 0 ]
}
check 'es_tail delivered every event of the new primary' wait_for 60 all_delivered
kill "$tail_pid" 2>/dev/null || true
wait "$tail_pid" && tail_ok=true || tail_ok=false
tail_pid=
check 'es_tail stops cleanly' $tail_ok
check 'es_tail created its slot on the new primary and caught up from the table' \
    test "$(grep -c 'caught up from the table' "$work/tail.err")" -ge 2

events=$(p2 -c "SELECT count(*) FROM event_store.events")
lines=$(wc -l <"$work/tail.out")
caught_up=$(grep -o 'caught up from the table: [0-9]*' "$work/tail.err" | tail -1 | grep -o '[0-9]*$')
say "pg_auto_failover figures: $before appends (of 3 events) acknowledged before the stop, $after after the promotion"
say "pg_auto_failover figures: the standby left recovery $(awk "BEGIN { printf \"%.1f\", $t_promoted - $t_stop }") s after the stop; longest time without an acknowledged append $gap s"
say "pg_auto_failover figures: new primary holds $events events; es_tail wrote $lines lines, caught up $caught_up from the table"
echo "1..$tests"
[ "$failed" -eq 0 ]
