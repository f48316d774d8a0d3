#!/usr/bin/env bash
# What row-level security costs a $all page: a tenant role whose policy lets
# it see 10 % of the log reads pages of 1,000 events with read_all_forward,
# against the same page through a plain SELECT under the same policy, and
# both again for a role no policy applies to (BYPASSRLS).
#
#   bash bench/rls_read.sh               # 200,000 events, 15 rounds
#   EVENTS=1000000 ROUNDS=21 bash bench/rls_read.sh
#
# Own cluster under a temporary directory on port $PORT (default 5511),
# fsync on, everything else default.  EVENT_STORE_DESTDIR=/some/dir builds
# and installs into that private DESTDIR and has the server load the
# extension from there (as test/run_all.sh does).  Each round reads one page
# at each of 8 offsets spread over the log with every variant, the variants
# in a rotating order; the figure is the median time per page, and the ratio
# to the plain SELECT of the same role.
set -euo pipefail
cd "$(dirname "$0")/.."

EVENTS=${EVENTS:-200000}
ROUNDS=${ROUNDS:-15}
PORT=${PORT:-5511}
PG_CONFIG=${PG_CONFIG:-pg_config}
bindir=$($PG_CONFIG --bindir)
. tools/pg_common.sh

if [ -n "${EVENT_STORE_DESTDIR:-}" ]; then
	es_destdir_install "$EVENT_STORE_DESTDIR" || exit 1
fi

work=$(mktemp -d /tmp/event_store_bench_rls.XXXXXX)
chmod 777 "$work"
cleanup() {
	as_pg "$bindir/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

es_bench_cluster "$work" "$PORT"

psql_q() { "$bindir/psql" -X -q -h "$work" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }

psql_q -v events="$EVENTS" -v rounds="$ROUNDS" <<'SQL'
SET client_min_messages = warning;
SET bench.rounds = :rounds;
CREATE EXTENSION event_store;
DROP ROLE IF EXISTS bench_tenant, bench_all;
CREATE ROLE bench_tenant;
CREATE ROLE bench_all BYPASSRLS;
SELECT event_store.grant_reader('bench_tenant') \g /dev/null
SELECT event_store.grant_reader('bench_all') \g /dev/null
ALTER TABLE event_store.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON event_store.events FOR SELECT
    USING (pg_catalog.starts_with(stream_name, current_user || ':'));

-- appends of 100 events; every tenth event is the tenant's
SET event_store.notify = off;
SELECT count(event_store.append_to_stream(
           CASE WHEN a % 10 = 0 THEN 'bench_tenant:order-' ELSE 'other:order-' END || (a % 500),
           -1, ARRAY(SELECT event_store.event('OrderLineAdded',
                         jsonb_build_object('line', i, 'sku', 'SKU-' || i, 'qty', 1))
                       FROM generate_series(1, 100) i)))
  FROM generate_series(1, :events / 100) a \g /dev/null
VACUUM ANALYZE event_store.events;

CREATE TABLE bench_times (variant text, ms float8);
CREATE FUNCTION bench_page(role text, sql text, f bigint) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    n bigint;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    t0 := clock_timestamp();
    EXECUTE sql INTO n USING f;
    RESET ROLE;
    IF n <> 1000 THEN
        RAISE EXCEPTION '% returned % rows from %', sql, n, f;
    END IF;
    RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;

DO $$
DECLARE
    variants text[][] := ARRAY[
        ['tenant read_all_forward', 'bench_tenant', 'SELECT count(q.*) FROM event_store.read_all_forward($1, 1000) q'],
        ['tenant plain SELECT', 'bench_tenant', 'SELECT count(q.*) FROM (SELECT global_position, stream_name, stream_version, event_id, event_type, data, metadata, causation_id, correlation_id, created_at FROM event_store.events WHERE global_position >= $1 ORDER BY global_position LIMIT 1000) q'],
        ['no-policy read_all_forward', 'bench_all', 'SELECT count(q.*) FROM event_store.read_all_forward($1, 1000) q'],
        ['no-policy plain SELECT', 'bench_all', 'SELECT count(q.*) FROM (SELECT global_position, stream_name, stream_version, event_id, event_type, data, metadata, causation_id, correlation_id, created_at FROM event_store.events WHERE global_position >= $1 ORDER BY global_position LIMIT 1000) q']];
    last bigint := (SELECT max(global_position) FROM event_store.events);
    v integer;
BEGIN
    FOR r IN 1 .. current_setting('bench.rounds')::int LOOP
        FOR o IN 0 .. 7 LOOP
            FOR k IN 0 .. 3 LOOP
                v := 1 + (r + o + k) % 4;
                INSERT INTO bench_times
                VALUES (variants[v][1],
                        bench_page(variants[v][2], variants[v][3], 1 + (last - 20000) * o / 8));
            END LOOP;
        END LOOP;
    END LOOP;
END $$;
SQL
psql_q -P footer=off <<SQL
\echo events: $EVENTS (tenant sees 10 %), pages of 1,000 rows, $ROUNDS rounds x 8 offsets
WITH m AS (SELECT variant, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS median_ms, count(*) AS pages
             FROM bench_times GROUP BY variant)
SELECT m.variant, round(m.median_ms::numeric, 2) AS median_ms_per_page, m.pages,
       round((m.median_ms / b.median_ms)::numeric, 2) AS vs_plain_select_same_role
  FROM m JOIN m b ON b.variant = split_part(m.variant, ' ', 1) || ' plain SELECT'
 ORDER BY m.variant;
SQL
