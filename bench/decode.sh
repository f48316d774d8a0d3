#!/usr/bin/env bash
# Decoding throughput of the event_store output plugin against wal2json
# (format-version 2) and test_decoding, on the same WAL, in the same run.
#
#   bash bench/decode.sh              # 5 runs of 100,000 events (10,000 appends of 10)
#   RUNS=7 APPENDS=1 PER_APPEND=100000 bash bench/decode.sh   # one big transaction
#
# It makes its own cluster (initdb as user postgres when run as root; fsync
# on, wal_level=logical, everything else default) under a temporary
# directory on port $PORT (default 5690), installs nothing (run `make
# install` first; or set EVENT_STORE_DESTDIR=/some/dir to build and install
# into that private DESTDIR and have the server load the extension from
# there, as test/run_all.sh does), creates one slot per plugin BEFORE the
# workload, appends
# the events, then times pg_logical_slot_peek_changes() over the whole
# workload for each plugin, RUNS times, rotating which plugin goes first.
# Peeking does not consume, so every run decodes the very same WAL.  The
# figure is events / seconds of the median run.
#
# Plugin settings (each emits every event once, nothing about other tables
# where it can help it):
#   event_store    format=json (the default) and format=compact
#   wal2json       format-version=2, add-tables=event_store.events,
#                  include-transaction=false
#   test_decoding  include-xids=0, skip-empty-xacts=1 (it has no table
#                  filter: it also prints the streams rows, 1 per append)
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-5}
APPENDS=${APPENDS:-10000}
PER_APPEND=${PER_APPEND:-10}
PORT=${PORT:-5690}
PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$($PG_CONFIG --bindir)
events=$((APPENDS * PER_APPEND))

if [ "$RUNS" -lt 3 ]; then
	echo "RUNS must be at least 3 (the figure is a median)" >&2
	exit 1
fi

. tools/pg_common.sh
if [ -n "${EVENT_STORE_DESTDIR:-}" ]; then
	es_destdir_install "$EVENT_STORE_DESTDIR" || exit 1
fi

work=$(mktemp -d /tmp/event_store_bench_decode.XXXXXX)
chmod 777 "$work"
cleanup() {
	as_pg "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

plugins=()
if pg_has_output_plugin_libraries "$bindir"; then
	plugins=("output_plugin_libraries = 'pgoutput, test_decoding, wal2json, event_store'")
fi
es_bench_cluster "$work" "$PORT" "wal_level = logical" "max_replication_slots = 10" "fsync = on" \
	"${plugins[@]}"

psql_q() { "$bindir/psql" -X -q -h "$work" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

psql_q <<'SQL'
CREATE EXTENSION event_store;
SELECT 'init' FROM pg_create_logical_replication_slot('bench_event_store', 'event_store') \g /dev/null
SELECT 'init' FROM pg_create_logical_replication_slot('bench_wal2json', 'wal2json') \g /dev/null
SELECT 'init' FROM pg_create_logical_replication_slot('bench_test_decoding', 'test_decoding') \g /dev/null

-- n appends of k events each, one transaction per append, to 1,000 streams;
-- every event has data (~200 bytes), metadata and correlation/causation ids
CREATE PROCEDURE bench_workload(n int, k int) LANGUAGE plpgsql AS $$
BEGIN
	SET event_store.notify = off;
	FOR a IN 1 .. n LOOP
		PERFORM event_store.append_to_stream('order-' || (a % 1000), -1,
			ARRAY(SELECT event_store.event('OrderLineAdded',
			          jsonb_build_object('order_id', a % 1000, 'line', i,
			                             'sku', 'SKU-' || (a * 7 + i) % 5000,
			                             'qty', 1 + i % 5, 'price', 9.95 + i,
			                             'currency', 'EUR',
			                             'note', 'gift wrap "blue" \ please'),
			          jsonb_build_object('user', 'user-' || a % 97, 'source', 'web'),
			          NULL, gen_random_uuid(), gen_random_uuid())
			        FROM generate_series(1, k) AS i));
		COMMIT;
	END LOOP;
END $$;

CREATE FUNCTION bench_decode(slot name, VARIADIC opts text[])
RETURNS TABLE (lines bigint, seconds float8) LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	SELECT count(*) INTO lines
	  FROM pg_logical_slot_peek_changes(slot, NULL, NULL, VARIADIC opts);
	seconds := extract(epoch FROM clock_timestamp() - t0);
	RETURN NEXT;
END $$;
SQL

echo "appending $events events ($APPENDS appends of $PER_APPEND) ..." >&2
psql_q -c "CALL bench_workload($APPENDS, $PER_APPEND)"
stored=$(psql_q -At -c "SELECT count(*) FROM event_store.events")
[ "$stored" -eq "$events" ] || { echo "expected $events events, found $stored" >&2; exit 1; }
wal=$(psql_q -At -c "SELECT pg_size_pretty(pg_current_wal_lsn() - restart_lsn) FROM pg_replication_slots WHERE slot_name = 'bench_event_store'")

# name | slot | options
plugins=(
	"event_store|bench_event_store|'format', 'json'"
	"event_store compact|bench_event_store|'format', 'compact'"
	"wal2json v2|bench_wal2json|'format-version', '2', 'add-tables', 'event_store.events', 'include-transaction', 'false'"
	"test_decoding|bench_test_decoding|'include-xids', '0', 'skip-empty-xacts', '1'"
)
n=${#plugins[@]}

# one warm-up pass each (WAL in the page cache), and the output volume
declare -A lines_of bytes_of
for p in "${plugins[@]}"; do
	IFS='|' read -r name slot opts <<<"$p"
	IFS='|' read -r l b <<<"$(psql_q -At -c "SELECT count(*), sum(length(data)) FROM pg_logical_slot_peek_changes('$slot', NULL, NULL, $opts)")"
	lines_of[$name]=$l
	bytes_of[$name]=$b
done

declare -A times_of
for ((r = 0; r < RUNS; r++)); do
	for ((i = 0; i < n; i++)); do
		IFS='|' read -r name slot opts <<<"${plugins[$(((i + r) % n))]}"
		secs=$(psql_q -At -c "SELECT seconds FROM bench_decode('$slot', $opts)")
		times_of[$name]="${times_of[$name]:-} $secs"
	done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

echo
echo "PostgreSQL $("$bindir/postgres" --version | awk '{print $3}'), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), fsync on"
echo "workload: $events events in $APPENDS transactions ($PER_APPEND per append), $wal of WAL; median of $RUNS runs"
echo
printf '%-22s %10s %12s %10s %12s\n' plugin lines 'output MB' 'median s' 'events/s'
declare -A rate_of
for p in "${plugins[@]}"; do
	IFS='|' read -r name slot opts <<<"$p"
	med=$(echo "${times_of[$name]}" | median)
	rate=$(awk -v e="$events" -v s="$med" 'BEGIN {printf "%d", e / s}')
	rate_of[$name]=$rate
	printf '%-22s %10s %12.1f %10.3f %12s\n' "$name" "${lines_of[$name]}" \
		"$(awk -v b="${bytes_of[$name]}" 'BEGIN {print b / 1048576}')" "$med" "$rate"
done
echo
for name in "event_store" "event_store compact"; do
	for other in "wal2json v2" "test_decoding"; do
		printf '%-20s vs %-14s %5.2fx\n' "$name" "$other" \
			"$(awk -v a="${rate_of[$name]}" -v b="${rate_of[$other]}" 'BEGIN {print a / b}')"
	done
done
echo
echo "all runs (s):"
for p in "${plugins[@]}"; do
	IFS='|' read -r name slot opts <<<"$p"
	printf '  %-22s%s\n' "$name" "${times_of[$name]}"
done
