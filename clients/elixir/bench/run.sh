#!/usr/bin/env bash
# clients/elixir/bench/run.sh: the Commanded adapter against pgbench running
# the same SQL with the same concurrency, on a throwaway cluster of its own.
#
#   bash clients/elixir/bench/run.sh
#
# Alternates pgbench and adapter runs (BENCH_RUNS of each, BENCH_SECONDS
# long) and prints medians and the adapter/pgbench ratio for
#   append  append_to_stream/4, one event, each writer its own stream
#   read    stream_forward/4 of 100 events from a 1,000-event stream
# at BENCH_CLIENTS concurrent clients, then the delivery latency of a
# subscribe_to/6 subscriber (append commit to {:events, _} in the
# subscriber) at BENCH_RATE events/s.
#
# Environment (defaults): BENCH_SECONDS=10 BENCH_RUNS=3 BENCH_CLIENTS="1 8"
# BENCH_WHAT="append read" BENCH_RATE=1000 BENCH_PORT=5514 BENCH_KEEP=1 (keep the
# cluster's directory); BENCH_LATENCY=0 skips the latency run;
# EVENT_STORE_DESTDIR=dir installs into a private DESTDIR and loads the
# extension from there (as test/run_all.sh does).
set -euo pipefail
cd "$(dirname "$0")/../../.."
top=$(pwd)
PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$($PG_CONFIG --bindir)
seconds=${BENCH_SECONDS:-10}
runs=${BENCH_RUNS:-3}
clients=${BENCH_CLIENTS:-1 8}
rate=${BENCH_RATE:-1000}
port=${BENCH_PORT:-5514}

. tools/pg_common.sh
echo "== building and installing event_store" >&2
destdir_conf=""
if [ -n "${EVENT_STORE_DESTDIR:-}" ]; then
    es_destdir_install "$EVENT_STORE_DESTDIR"
    destdir_conf=$(es_destdir_conf "$EVENT_STORE_DESTDIR")
else
    PG_CONFIG="$PG_CONFIG" bash docker/build.sh >/dev/null
fi

work=$(mktemp -d /tmp/es_elixir_bench.XXXXXX)
chmod 755 "$work"
[ "$(id -u)" -eq 0 ] && chown postgres: "$work"
pgdata=$work/data
cleanup() {
    as_pg "$bindir/pg_ctl" -D "$pgdata" -m immediate -w stop >/dev/null 2>&1 || true
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg_init_cluster "$bindir" "$pgdata"
cat >>"$pgdata/postgresql.conf" <<EOC

# clients/elixir/bench/run.sh
fsync = on
synchronous_commit = on
shared_buffers = 512MB
max_connections = 60
listen_addresses = ''
unix_socket_directories = '$work'
port = $port
$destdir_conf
EOC
as_pg "$bindir/pg_ctl" -D "$pgdata" -l "$work/server.log" -w start >/dev/null

export PGHOST=$work PGPORT=$port PGUSER=postgres PGDATABASE=bench
unset PGOPTIONS
"$bindir/createdb" bench
"$bindir/psql" -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION event_store" \
    -c "SELECT event_store.append_to_stream('read-bench', 0,
          ARRAY(SELECT event_store.event('MoneyDeposited', jsonb_build_object('account', 'A-1', 'amount', i),
                                         '{\"user\":\"bench\"}') FROM generate_series(1, 1000) i))" >/dev/null

export HOME=${HOME:-/root} MIX_HOME=${MIX_HOME:-$work/mix} MIX_ENV=dev
cd "$top/clients/elixir"
mix compile >/dev/null

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
pgb() {		# pgb <script> <clients>: transactions/s
    "$bindir/pgbench" -n -M prepared -f "bench/$1.sql" -c "$2" -j "$(( $2 < 2 ? $2 : 2 ))" \
        -T "$seconds" 2>&1 | sed -nE 's/^tps = ([0-9.]+).*/\1/p'
}
adapter() {	# adapter <mode> <clients>: calls/s
    mix run bench/bench.exs "$1" "$2" "$seconds" | awk -v m="$1" '$1 == m {print $3}'
}

printf '%-8s %7s %12s %12s %7s\n' what clients pgbench adapter ratio
for what in ${BENCH_WHAT:-append read}; do
    for c in $clients; do
        p=() a=()
        for _ in $(seq "$runs"); do
            p+=("$(pgb "$what" "$c")")
            a+=("$(adapter "$what" "$c")")
        done
        pm=$(printf '%s\n' "${p[@]}" | median)
        am=$(printf '%s\n' "${a[@]}" | median)
        printf '%-8s %7s %12.1f %12.1f %7.2f\n' "$what" "$c" "$pm" "$am" \
            "$(awk -v a="$am" -v p="$pm" 'BEGIN {print (p > 0) ? a / p : 0}')"
    done
done
echo "notify: $("$bindir/psql" -X -At -c 'SHOW event_store.notify' 2>/dev/null || echo default)"
[ "${BENCH_LATENCY:-1}" = 0 ] || mix run bench/bench.exs latency "$rate" "$seconds"
