#!/usr/bin/env bash
# bench/run.sh: the event_store benchmark (`make bench`).
#
# Builds and installs the extension, starts a throwaway cluster of its own
# (fsync=on, shared_buffers=1GB, unix socket only), and measures with pgbench
# each scenario against a plain-SQL baseline in the same run, alternating
# baseline and scenario runs.  Prints a table of medians and ratios; see
# docs/benchmarks.md for what each scenario and baseline does.
#
#   bash bench/run.sh [quick] [a] [b] [c] [d] [e] [f] [g] [m] [n] [all]
#
#   a  one event per append, random stream of 10,000  (vs plain INSERT),
#      with event_store.notify off, commit and async (the default)
#   b  every client appends to one stream, any version (vs plain INSERT)
#   c  100 events per append, random streams           (vs 100-row INSERT)
#   d  read_stream_forward, 100 of a 1,000-event stream (vs plain SELECT)
#   e  read_all_forward, 1,000 from a random position   (vs plain SELECT)
#   f  growth: append rate at each million events up to BENCH_GROWTH_EVENTS
#      (opt-in, long: ~10 minutes per 10 million here)
#   g  notify commit and async against off (measured together with a)
#   m  memory: RSS of one backend appending BENCH_MEMORY_EVENTS events
#   n  notify latency: commit to notification at a LISTENing client, idle
#      and under BENCH_LATENCY_LOAD clients of (a), async and commit
#   default: a b c d e g m n;  all: every scenario, f included
#
# Environment (defaults):
#   BENCH_SECONDS=10 BENCH_RUNS=3      length of one pgbench run, runs per figure
#                                      (quick: 3 and 3)
#   BENCH_CLIENTS="1 8 32"             clients for a and g
#   BENCH_HOT_CLIENTS="8 32"           clients for b
#   BENCH_BATCH_CLIENTS="1 8"          clients for c
#   BENCH_READ_CLIENTS="1 8"           clients for d and e
#   BENCH_SYNC="on off"                synchronous_commit values for a, b, c, g
#   BENCH_GROWTH_EVENTS=10000000       f: events to grow to (in steps of 1,000,000)
#   BENCH_MEMORY_EVENTS=1000000        m: events appended by the one backend
#   BENCH_KEEP=1                       keep the cluster's directory (it is stopped)
#   BENCH_LATENCY_PROBES=500           n: probes per figure, one every 10 ms
#   BENCH_LATENCY_LOAD=8               n: clients of load
#   BENCH_RESULTS=file                 also write the result rows there (TSV)
#   BENCH_CHARTS=dir                   draw one PNG per scenario there
#                                      (bench/plot.py, matplotlib)
#   BENCH_PORT=5432                    the cluster's port (its socket is in
#                                      its own directory; no TCP)
#   EVENT_STORE_DESTDIR=dir            install into this private DESTDIR and
#                                      load the extension from there (as
#                                      test/run_all.sh does), not system-wide
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$($PG_CONFIG --bindir)

scenarios=()
quick=0
for arg in "$@"; do
    case "$arg" in
        quick) quick=1 ;;
        all) scenarios+=(a b c d e f g m n) ;;
        a|b|c|d|e|f|g|m|n) scenarios+=("$arg") ;;
        *) echo "usage: $0 [quick] [a b c d e f g m n | all]" >&2; exit 2 ;;
    esac
done
[ ${#scenarios[@]} -eq 0 ] && scenarios=(a b c d e g m n)
want() { [[ " ${scenarios[*]} " == *" $1 "* ]]; }

if [ "$quick" = 1 ]; then
    : "${BENCH_SECONDS:=3}" "${BENCH_RUNS:=3}"
fi
secs=${BENCH_SECONDS:-10}
runs=${BENCH_RUNS:-3}
clients_a=${BENCH_CLIENTS:-"1 8 32"}
clients_b=${BENCH_HOT_CLIENTS:-"8 32"}
clients_c=${BENCH_BATCH_CLIENTS:-"1 8"}
clients_r=${BENCH_READ_CLIENTS:-"1 8"}
syncs=${BENCH_SYNC:-"on off"}
growth_events=${BENCH_GROWTH_EVENTS:-10000000}
memory_events=${BENCH_MEMORY_EVENTS:-1000000}
latency_probes=${BENCH_LATENCY_PROBES:-500}
latency_load=${BENCH_LATENCY_LOAD:-8}
python=${PYTHON:-/usr/bin/python3}
ncpu=$(nproc)

########################################################################
# Build, install, and a cluster of our own
########################################################################

. tools/pg_common.sh
. bench/stats.sh

echo "== building and installing event_store" >&2
if [ -n "${EVENT_STORE_DESTDIR:-}" ]; then
    # a private install, loaded through Debian's extension_destdir (see
    # test/run_all.sh): the system-wide one may be someone else's build
    es_destdir_install "$EVENT_STORE_DESTDIR" || exit 1
else
    PG_CONFIG="$PG_CONFIG" bash docker/build.sh >/dev/null
fi

work=$(mktemp -d /tmp/event_store_bench.XXXXXX)
chmod 755 "$work"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
pgdata=$work/data
port=${BENCH_PORT:-5432}
cleanup() {
    as_pg "$bindir/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1 || true
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        echo "cluster directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

es_bench_cluster "$work" "$port" "fsync = on" "synchronous_commit = on" "full_page_writes = on" \
    "shared_buffers = 1GB" "wal_level = logical" "max_connections = 120" "max_wal_size = 8GB" \
    "checkpoint_timeout = 30min"

export PGHOST=$work PGPORT=$port PGUSER=postgres
unset PGOPTIONS PGDATABASE
psql_q() { "$bindir/psql" -X -q -v ON_ERROR_STOP=1 -At "$@"; }

if [ "$(psql_q -d postgres -c 'SHOW fsync')" != on ]; then
    echo "fsync is not on: refusing to benchmark" >&2
    exit 1
fi
psql_q -d postgres -c 'CREATE DATABASE bench'
psql_q -d bench -f bench/setup.sql >/dev/null

data=$(psql_q -d bench -c 'SELECT bench.data()')
meta=$(psql_q -d bench -c 'SELECT bench.metadata()')
batch=$(psql_q -d bench -c 'SELECT bench.batch(100)')

########################################################################
# Machine and settings
########################################################################

echo "== machine and settings"
echo "host:      $(uname -srm), $ncpu CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))"
echo "memory:    $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "load:      $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, at start)"
echo "server:    $(psql_q -d bench -c 'SELECT version()')"
echo "settings:  $(psql_q -d bench -F ' ' -c "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'shared_buffers', 'wal_level', 'max_connections', 'max_wal_size', 'checkpoint_timeout', 'full_page_writes', 'synchronous_commit', 'wal_sync_method')")"
echo "runs:      $runs runs of ${secs}s per figure (median), baseline and scenario alternating"
echo "scenarios: ${scenarios[*]}"
echo

########################################################################
# Measuring
########################################################################

results=$work/results.tsv
: >"$results"
runseq=0
# pgbench_run <script> <clients> <sync> <notify> [-D ...]: prints "tps errors"
pgbench_run() {
    local script=$1 c=$2 sync=$3 notify=$4 out err tps errors rc=0
    shift 4
    [[ $script == /* ]] || script=bench/$script
    out=$work/pgbench.out err=$work/pgbench.err
    PGOPTIONS="-c synchronous_commit=$sync -c event_store.notify=$notify" \
        "$bindir/pgbench" -n -M prepared -d "${BENCH_DB:-bench}" -c "$c" -j "$((c < ncpu ? c : ncpu))" -T "$secs" \
        -f "$script" -D vbase="$((runseq * 1000000000000))" -D n=0 \
        -D data="$data" -D meta="$meta" "$@" >"$out" 2>"$err" || rc=$?
    tps=$(pgbench_tps <"$out")
    errors=$(grep -cE 'aborted|ERROR' "$err" || true)
    if [ "$rc" -ne 0 ] || [ -z "$tps" ]; then
        errors=$((errors + 1))
        echo "pgbench $script (-c $c) failed:" >&2
        grep -E 'ERROR|aborted|error' "$err" | head -3 >&2
    fi
    echo "${tps:-0} $errors"
}

# settle_notifier: a running notifier announces every committed append, the
# ones made with notify=commit too (docs/api.md#notifications); after such a
# run it works through them on its next tick.  Wait for that, so that the
# next run is not measured against its catch-up.
settle_notifier() {
    local idle=0
    sleep 1.2
    for _ in $(seq 1 100); do
        if [ "$(psql_q -d "${BENCH_DB:-bench}" -c "SELECT count(*) FROM pg_stat_activity
                WHERE backend_type = 'event_store notifier' AND state = 'active'")" = 0 ]; then
            idle=$((idle + 1))
            [ "$idle" -ge 3 ] && return 0
        else
            idle=0
        fi
        sleep 0.1
    done
}

# measure <scenario> <clients> <sync> <events per tx> <target> <note> <base spec> <spec>...
#   spec = label:script:notify.  Runs every spec once per round, baseline
#   first, for $runs rounds; records one row per non-baseline spec.
declare -A tps_of err_of single_rate
measure() {
    local scen=$1 c=$2 sync=$3 per=$4 target=$5 note=$6 r spec label script notify res base med base_label
    shift 6
    local specs=("$@")
    tps_of=() err_of=()
    for ((r = 1; r <= runs; r++)); do
        for spec in "${specs[@]}"; do
            IFS=: read -r label script notify <<<"$spec"
            runseq=$((runseq + 1))	# a fresh range of baseline versions
            res=$(pgbench_run "$script" "$c" "$sync" "$notify" "${extra_d[@]}")
            [ "$notify" = commit ] && settle_notifier
            tps_of[$label]="${tps_of[$label]:-} ${res% *}"
            err_of[$label]=$(( ${err_of[$label]:-0} + ${res#* } ))
        done
    done
    IFS=: read -r label _ <<<"${specs[0]}"
    base_label=$label
    base=$(awk -v t="$(median ${tps_of[$label]})" -v p="$per" 'BEGIN {printf "%.0f", t * p}')
    for spec in "${specs[@]:1}"; do
        IFS=: read -r label script notify <<<"$spec"
        med=$(awk -v t="$(median ${tps_of[$label]})" -v p="$per" 'BEGIN {printf "%.0f", t * p}')
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$scen" "$c" "$sync" "$notify" \
            "$med" "$base" "$(ratio "$med" "$base")" "$target" "${err_of[$label]}" "$note" \
            | tee -a "$results" | awk -F'\t' -v p="$(paired_ratio "${tps_of[$label]}" "${tps_of[$base_label]}")" \
                '{printf "   %s c=%s sync=%s notify=%s: %s ev/s vs %s (%s; paired %s)\n", $1, $2, $3, $4, $5, $6, $7, p}' >&2
        last_med=$med
    done
}
extra_d=()

if want a || want g; then
    for sync in $syncs; do
        for c in $clients_a; do
            echo "== (a)/(g) single-event appends, $c clients, synchronous_commit=$sync" >&2
            measure a "$c" "$sync" 1 "" "" base:insert_one.sql:off \
                es_off:append_one.sql:off es_commit:append_one.sql:commit \
                es_async:append_one.sql:async
            for mode in commit async; do
                awk -F'\t' -v c="$c" -v s="$sync" -v m="$mode" '
                    $1 == "a" && $2 == c && $3 == s && $4 == "off" {off = $5}
                    $1 == "a" && $2 == c && $3 == s && $4 == m {on = $5}
                    END {printf "g\t%s\t%s\t%s\t%s\t%s\t%.2f\t(cost)\t0\tbaseline = notify off\n",
                                c, s, m, on, off, (off > 0 ? on / off : 0)}' "$results" >>"$results.g"
            done
            cat "$results.g" >>"$results" && rm -f "$results.g"
            off=$(awk -F'\t' -v c="$c" -v s="$sync" '$1 == "a" && $2 == c && $3 == s && $4 == "off" {print $5}' "$results")
            if [ "$c" = 1 ]; then single_rate[$sync]=$off; fi
        done
    done
fi

if want b; then
    for sync in $syncs; do
        for c in $clients_b; do
            echo "== (b) one hot stream, $c clients, synchronous_commit=$sync" >&2
            measure b "$c" "$sync" 1 ">= 0.50" "" base:insert_hot.sql:off \
                es_off:append_hot.sql:off
        done
    done
fi

if want c; then
    extra_d=(-D batch="$batch")
    for sync in $syncs; do
        for c in $clients_c; do
            echo "== (c) 100-event batches, $c clients, synchronous_commit=$sync" >&2
            measure c "$c" "$sync" 100 ">= 0.80" "" base:insert_batch.sql:off \
                es_off:append_batch.sql:off
        done
    done
    extra_d=()
fi

if want d || want e; then
    echo "== generating the read data: 100 streams of 1,000 events, copied to the baseline" >&2
    psql_q -d bench -c "CALL bench.generate('read-', 100, 1000, 100)"
    psql_q -d bench -c "INSERT INTO bench.baseline_events (stream_name, category, stream_version,
            event_id, event_type, data, metadata, causation_id, correlation_id, created_at)
        SELECT stream_name, category, stream_version, event_id, event_type, data, metadata,
               causation_id, correlation_id, created_at
          FROM event_store.events WHERE category = 'read' ORDER BY global_position"
    psql_q -d bench -c "VACUUM ANALYZE event_store.events, event_store.streams, bench.baseline_events"
fi

if want d; then
    extra_d=(-D nstreams=100)
    for c in $clients_r; do
        echo "== (d) read_stream_forward 100 of 1,000, $c clients" >&2
        measure d "$c" on 100 ">= 0.80" "" base:select_stream.sql:off es:read_stream.sql:off
    done
    extra_d=()
fi

if want e; then
    for c in $clients_r; do
        echo "== (e) read_all_forward 1,000 from a random position, $c clients" >&2
        es_max=$(psql_q -d bench -c "SELECT max(global_position) - 1000 FROM event_store.events")
        base_max=$(psql_q -d bench -c "SELECT max(global_position) - 1000 FROM bench.baseline_events")
        # the two tables differ in length: each script gets its own range
        sed 's/:maxpos/'"$base_max"'/' bench/select_all.sql >"$work/select_all.sql"
        sed 's/:maxpos/'"$es_max"'/' bench/read_all.sql >"$work/read_all.sql"
        measure e "$c" on 1000 ">= 0.95" "" base:"$work/select_all.sql":off \
            es:"$work/read_all.sql":off
    done
fi

# notify_probe <notify> <load clients>: starts (a) with that many clients
# (notify as given) in the background, probes, prints the probe's line
notify_probe() {
    local notify=$1 load=$2 loadpid="" line
    if [ "$load" -gt 0 ]; then
        runseq=$((runseq + 1))
        PGOPTIONS="-c event_store.notify=$notify" "$bindir/pgbench" -n -M prepared -d bench \
            -c "$load" -j "$((load < ncpu ? load : ncpu))" -T $((latency_probes / 100 + 30)) \
            -f bench/append_one.sql -D data="$data" -D meta="$meta" -D vbase=0 -D n=0 \
            >"$work/load.out" 2>&1 &
        loadpid=$!
        sleep 2
    fi
    line=$(PGDATABASE=bench "$python" bench/notify_latency.py "$latency_probes" 10 "$notify")
    if [ -n "$loadpid" ]; then
        kill -TERM "$loadpid" 2>/dev/null || true
        wait "$loadpid" 2>/dev/null || true
    fi
    echo "$line"
}

if want n; then
    for load in 0 "$latency_load"; do
        for mode in async commit; do
            echo "== (n) notify latency, notify=$mode, $load clients of (a) as load" >&2
            read -r med p99 max got sent <<<"$(notify_probe "$mode" "$load")"
            printf 'n\t%s\ton\t%s\t%s\t%s\t%s\t<= 20 ms (p99)\t%s\tmedian ms, p99 ms, max ms\n' \
                "$load" "$mode" "$med" "$p99" "$max" "$((sent - got))" | tee -a "$results" |
                awk -F'\t' '{printf "   n load=%s notify=%s: median %s ms, p99 %s ms, max %s ms, %s missing\n", $2, $4, $5, $6, $7, $9}' >&2
        done
    done
fi

memory_report=""
if want m; then
    echo "== (m) memory: one backend appends $memory_events single events (COMMIT every 1,000)" >&2
    PGAPPNAME=es_memcheck PGOPTIONS="-c synchronous_commit=off" \
        psql_q -d bench -c "CALL bench.append_loop($memory_events, 1000)" &
    loop_pid=$!
    pid=""
    for _ in $(seq 1 100); do
        pid=$(psql_q -d bench -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'es_memcheck'")
        [ -n "$pid" ] && break
        sleep 0.1
    done
    samples=$work/memory.tsv
    : >"$samples"
    start_pos=$(psql_q -d bench -c "SELECT last_value FROM event_store.global_position_seq")
    while [ -n "$pid" ] && [ -r "/proc/$pid/status" ] && kill -0 "$loop_pid" 2>/dev/null; do
        rss=$(awk '/^VmRSS/ {r = $2} /^RssAnon/ {a = $2} /^RssShmem/ {m = $2} END {print r "\t" a "\t" m}' "/proc/$pid/status" 2>/dev/null || true)
        done_n=$(psql_q -d bench -c "SELECT last_value - $start_pos FROM event_store.global_position_seq")
        [ -n "$rss" ] && printf '%s\t%s\n' "$done_n" "$rss" >>"$samples"
        sleep 1
    done
    wait "$loop_pid"
    # the first sample after 50,000 events (caches warm) against the last one
    memory_report=$(awk -F'\t' '
        $1 >= 50000 && !f {f = 1; fe = $1; fr = $2; fa = $3; fm = $4}
        {le = $1; lr = $2; la = $3; lm = $4; if ($3 > ma) ma = $3; n++}
        END {
            printf "| events appended | VmRSS (kB) | RssAnon, private (kB) | RssShmem, shared buffers (kB) |\n|---|---|---|---|\n"
            printf "| %d | %d | %d | %d |\n| %d | %d | %d | %d |\n", fe, fr, fa, fm, le, lr, la, lm
            printf "\n%d samples; largest RssAnon %d kB; RssAnon change %+d kB over %d events", n, ma, la - fa, le - fe
        }' "$samples")
fi

growth_report=""
if want f; then
    echo "== (f) growth: append rate at each million events up to $growth_events (database growth)" >&2
    psql_q -d postgres -c 'CREATE DATABASE growth'
    psql_q -d growth -f bench/setup.sql >/dev/null
    growth_report="| events in the store | events/s (a, 8 clients, notify off) | baseline events/s | ratio |
|---|---|---|---|"
    first_rate=""
    gen_total=0
    while :; do
        stored=$(psql_q -d growth -c "SELECT last_value FROM event_store.global_position_seq")
        tps_list="" base_list=""
        for ((r = 1; r <= runs; r++)); do
            runseq=$((runseq + 1))
            res=$(BENCH_DB=growth pgbench_run insert_one.sql 8 on off)
            base_list="$base_list ${res% *}"
            runseq=$((runseq + 1))
            res=$(BENCH_DB=growth pgbench_run append_one.sql 8 on off)
            tps_list="$tps_list ${res% *}"
        done
        rate=$(median $tps_list) base=$(median $base_list)
        [ -z "$first_rate" ] && first_rate=$rate
        growth_report="$growth_report
| $stored | $(printf '%.0f' "$rate") | $(printf '%.0f' "$base") | $(ratio "$rate" "$base") |"
        echo "   $stored events: $rate ev/s (baseline $base)" >&2
        last_rate=$rate
        [ "$gen_total" -ge "$growth_events" ] && break
        # generation, not measurement: 1,000-event appends to 10,000 streams,
        # two sessions in parallel
        t0=$(date +%s)
        PGOPTIONS="-c synchronous_commit=off -c event_store.notify=off" \
            psql_q -d growth -c "CALL bench.generate('grow-a-', 5000, 500, 1000)" &
        PGOPTIONS="-c synchronous_commit=off -c event_store.notify=off" \
            psql_q -d growth -c "CALL bench.generate('grow-b-', 5000, 500, 1000)"
        wait
        gen_total=$((gen_total + 1000000))
        echo "   generated 1,000,000 events in $(( $(date +%s) - t0 ))s" >&2
    done
    psql_q -d growth -c "VACUUM event_store.events" >/dev/null
    growth_report="$growth_report

last million against the first: $(ratio "$last_rate" "$first_rate") (target >= 0.80)"
fi

echo
echo "== results (events/s: median of $runs runs of ${secs}s; ratio = event_store / baseline, same run)"
fmt='| %-8s | %7s | %-11s | %-6s | %9s | %17s | %5s | %-16s | %6s |\n'
printf "$fmt" scenario clients sync_commit notify events/s "baseline events/s" ratio target errors
printf "$fmt" --- --- --- --- --- --- --- --- ---
awk -F'\t' -v fmt="$fmt" '$1 != "n" {
    t = $8
    if ($1 == "a") t = ($2 == 1 || $4 == "commit") ? "-" : ($4 == "off" && $2 == 8) ? ">= 0.95" : ">= 0.90"
    if ($1 == "g") t = "(notify cost)"
    printf fmt, $1, $2, $3, $4, $5, $6, $7, t, $9
}' "$results"
if want n; then
    echo
    echo "(n) notify latency: from the append's reply to the notification at a listener ($latency_probes probes, one per 10 ms)"
    printf '| %-12s | %-6s | %9s | %9s | %9s | %-15s | %7s |\n' "load clients" notify "median ms" "p99 ms" "max ms" target missing
    printf '| %-12s | %-6s | %9s | %9s | %9s | %-15s | %7s |\n' --- --- --- --- --- --- ---
    awk -F'\t' '$1 == "n" {printf "| %-12s | %-6s | %9s | %9s | %9s | %-15s | %7s |\n", $2, $4, $5, $6, $7, $8, $9}' "$results"
fi
if want b && [ -n "${single_rate[on]:-}${single_rate[off]:-}" ]; then
    echo
    echo "(b) against (a)'s single-client rate (for comparison):"
    awk -F'\t' '$1 == "b"' "$results" | while IFS=$'\t' read -r _ c sync _ med _; do
        if [ -n "${single_rate[$sync]:-}" ]; then
            echo "  b, $c clients, sync_commit=$sync: $med / ${single_rate[$sync]} = $(ratio "$med" "${single_rate[$sync]}")"
        fi
    done
fi
if [ -n "$memory_report" ]; then
    echo
    echo "== (m) memory of one appending backend (/proc/<pid>/status)"
    echo "$memory_report"
fi
if [ -n "$growth_report" ]; then
    echo
    echo "== (f) growth (each rate: median of $runs runs of ${secs}s, 8 clients, sync on, notify off)"
    echo "$growth_report"
fi
if [ -n "${BENCH_RESULTS:-}" ]; then
    cp "$results" "$BENCH_RESULTS"
fi
if [ -n "${BENCH_CHARTS:-}" ]; then
    mkdir -p "$BENCH_CHARTS"
    "$python" bench/plot.py "$results" "$BENCH_CHARTS" >&2
fi
