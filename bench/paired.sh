#!/usr/bin/env bash
# bench/paired.sh: paired A/B rounds on a running cluster, for changes too
# small for bench/run.sh's ratio of medians to resolve on a noisy machine.
#
#   bench/paired.sh ROUNDS SECONDS CLIENTS label:build:script:notify:path ...
#
# Every round runs each spec once, in the order given; the first spec is the
# baseline (a plain INSERT script).  For each spec it prints each round's
# ratio to the baseline of the same round, their median, the median tps and
# the whole machine's CPU microseconds per transaction (/proc/stat), so a
# slow spell of the machine moves a round's baseline and its variants
# together (docs/benchmarks.md, issue 13, round 6).
#
#   build   a private install (make install DESTDIR=...) under
#           ${PAIRED_BUILDS:-/tmp/es-}<build>; the cluster's
#           extension_destdir-style settings must point at the symlink
#           ${PAIRED_LINK:-/tmp/es-cur}, which is switched (and the server
#           restarted, then warmed for 3 s) when the build changes.
#           "-" keeps whatever the server runs.
#   script  a pgbench script of bench/ (or a path); -D data/meta/n/vbase as
#           bench/run.sh passes them.
#   notify  event_store.notify for the run.
#   path    keep | reset: append_to_stream's SET search_path kept, or
#           removed for the run (an experiment only: SPEC requires it).
#
# Needs PGHOST/PGPORT/PGUSER (a superuser) and a database bench made by
# bench/setup.sql; PGDATA (and PAIRED_LOG, the server log) for restarts.
set -euo pipefail
. "$(dirname "$0")/stats.sh"
R=$1 S=$2 C=$3
shift 3
bindir=$(pg_config --bindir)
db=${BENCH_DB:-bench}
data=$(psql -XAt -d "$db" -c 'SELECT bench.data()')
meta=$(psql -XAt -d "$db" -c 'SELECT bench.metadata()')
fn="event_store.append_to_stream(text,bigint,event_store.new_event[])"
cpu() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
run() {
    PGOPTIONS="-c event_store.notify=$2" "$bindir/pgbench" -n -M prepared -d "$db" -c "$C" \
        -j "$((C < 2 ? C : 2))" -T "$3" -f "$1" -D vbase=$((RANDOM * 1000000000000)) -D n=0 \
        -D data="$data" -D meta="$meta" 2>&1
}
set_path() {
    if [ "$1" = reset ]; then
        psql -XAtq -d "$db" -c "ALTER FUNCTION $fn RESET search_path"
    else
        psql -XAtq -d "$db" -c "ALTER FUNCTION $fn SET search_path = event_store, pg_catalog, pg_temp"
    fi
}
cur=""
declare -A tps_of cpu_of
labels=()
for ((r = 1; r <= R; r++)); do
    for spec in "$@"; do
        IFS=: read -r label build script notify path <<<"$spec"
        [[ $script == /* ]] || script=bench/$script
        if [ "$build" != - ] && [ "$build" != "$cur" ]; then
            ln -sfn "${PAIRED_BUILDS:-/tmp/es-}$build" "${PAIRED_LINK:-/tmp/es-cur}"
            su postgres -c "$bindir/pg_ctl -D '$PGDATA' -l '${PAIRED_LOG:-/dev/null}' -w restart" >/dev/null
            cur=$build
            run "$script" "$notify" 3 >/dev/null || true
        fi
        set_path "$path"
        before=$(cpu)
        out=$(run "$script" "$notify" "$S") || true
        after=$(cpu)
        tx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
        tps=$(pgbench_tps <<<"$out")
        if [ -z "$tps" ] || [ -z "$tx" ] || [ "$tx" = 0 ]; then
            echo "paired.sh: $label failed: $(grep -m1 -E 'ERROR|error' <<<"$out")" >&2
            exit 1
        fi
        [ -n "${tps_of[$label]:-}" ] || labels+=("$label")
        tps_of[$label]="${tps_of[$label]:-} $tps"
        cpu_of[$label]="${cpu_of[$label]:-} $(awk -v c=$((after - before)) -v t="$tx" 'BEGIN {print c * 10000 / t}')"
    done
done
base=${tps_of[${labels[0]}]}
for label in "${labels[@]}"; do
    read -ra each <<<"$(round_ratios "${tps_of[$label]}" "$base")"
    read -ra tps <<<"${tps_of[$label]}"
    read -ra us <<<"${cpu_of[$label]}"
    printf '%-28s paired [%s] median %s | tps %.0f | CPU us/tx %.0f\n' "$label" \
        "$(printf '%.2f, ' "${each[@]}" | sed 's/, $//')" "$(paired_ratio "${tps_of[$label]}" "$base")" \
        "$(median "${tps[@]}")" "$(median "${us[@]}")"
done
set_path keep
