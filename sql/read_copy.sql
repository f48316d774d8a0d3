-- read_copy: $all and category reads put each stored row into the result
-- by copying its bytes without the category column (events.c,
-- es_put_stored_event), into result sets kept in a memory context of their
-- own between calls (results.c).  The rows must be exactly what a SELECT of
-- the same columns returns, whatever is NULL, short, long, compressed or
-- stored out of line; a read that fails part-way must not disturb the next.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never
SET event_store.notify = off;

-- every combination of NULL metadata/causation/correlation and data sizes:
-- a short varlena (1-byte header), a 4-byte-header one, a compressed one and
-- one stored out of line in the TOAST table
SELECT count(*) FROM (
SELECT event_store.append_to_stream('copy-' || s, -1, ARRAY[
    event_store.event(
        CASE WHEN s % 2 = 0 THEN 'T' ELSE repeat('t', 200) END,
        CASE s % 4
            WHEN 0 THEN NULL
            WHEN 1 THEN '{"a": 1}'::jsonb
            WHEN 2 THEN jsonb_build_object('pad', repeat('x', 5000))
            ELSE (SELECT jsonb_object_agg(md5(i::text), md5((i * 7)::text)) FROM generate_series(1, 400) i)
        END,
        CASE WHEN s % 3 = 0 THEN NULL ELSE jsonb_build_object('m', s) END,
        NULL,
        CASE WHEN s % 5 = 0 THEN NULL ELSE '00000000-0000-4000-8000-000000000001'::uuid END,
        CASE WHEN s % 7 = 0 THEN NULL ELSE '00000000-0000-4000-8000-000000000002'::uuid END)])
  FROM generate_series(1, 84) s) appended;

-- the stored sizes cover what the copy must handle
SELECT count(*) FILTER (WHERE pg_column_compression(data) IS NOT NULL AND pg_column_size(data) < 2000) > 0 AS compressed,
       count(*) FILTER (WHERE pg_column_size(data) > 8000) > 0 AS out_of_line,
       count(*) FILTER (WHERE data IS NULL) > 0 AS null_data
  FROM event_store.events;

CREATE TEMP VIEW plain AS
SELECT global_position, stream_name, stream_version, event_id, event_type, data,
       metadata, causation_id, correlation_id, created_at
  FROM event_store.events;

-- $all, category, filtered: row for row what the SELECT gives
SELECT count(*) AS rows,
       count(*) FILTER (WHERE r::text IS DISTINCT FROM p::text) AS differing
  FROM event_store.read_all_forward(1, 1000) r
  FULL JOIN plain p ON p.global_position = r.global_position;
SELECT count(*) FILTER (WHERE r::text IS DISTINCT FROM p::text) AS differing
  FROM event_store.read_category_forward('copy', 1, 1000) r
  JOIN plain p ON p.global_position = r.global_position;
SELECT count(*) FILTER (WHERE r::text IS DISTINCT FROM p::text) AS differing, count(*) AS rows
  FROM event_store.read_all_forward(1, 1000, event_types => ARRAY['T']) r
  JOIN plain p ON p.global_position = r.global_position;

-- a read whose query fails part-way, then reads again and again
SELECT 1 / (r.stream_version - 1) FROM event_store.read_all_forward(1, 1000) r;
BEGIN;
SAVEPOINT s;
SELECT count(*) FROM event_store.read_all_forward(1, 1000) r WHERE 1 / (r.global_position - 40) > -1;
ROLLBACK TO s;
SELECT count(*) FROM event_store.read_all_forward(1, 1000);
COMMIT;
SELECT count(*), sum(length(r::text)) = (SELECT sum(length(p::text)) FROM plain p)
  FROM event_store.read_all_forward(1, 1000) r;
-- two result sets alive at once, one in a cursor
BEGIN;
DECLARE c CURSOR FOR SELECT global_position, stream_version FROM event_store.read_all_forward(1, 1000);
FETCH 2 FROM c;
SELECT count(*) FROM event_store.read_all_forward(1, 1000);
FETCH ALL FROM c \g /dev/null
SELECT count(*) FROM event_store.read_all_forward(1, 1000);
COMMIT;

DROP VIEW plain;
DROP EXTENSION event_store;
