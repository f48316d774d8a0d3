-- stream_hints: an append remembers where a stream's row was and a version
-- the stream reached (stream.c); each hint is checked before use, so a wrong
-- one only costs the probe it would have saved.  Every case below must give
-- the versions the plain rule gives.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never
SET event_store.notify = off;

CREATE FUNCTION pg_temp.one(t text) RETURNS event_store.new_event[]
    LANGUAGE sql RETURN ARRAY[event_store.event(t, '{}')];

-- a rolled-back append leaves a version hint past the last event
SELECT event_store.append_to_stream('hint-1', -1, pg_temp.one('A'));
SELECT event_store.append_to_stream('hint-1', -1, pg_temp.one('B'));
BEGIN;
SELECT event_store.append_to_stream('hint-1', -1, pg_temp.one('rolled back'));
SELECT event_store.append_to_stream('hint-1', -1, pg_temp.one('rolled back'));
ROLLBACK;
SELECT event_store.append_to_stream('hint-1', -1, pg_temp.one('C'));
SELECT event_store.append_to_stream('hint-1', 3, pg_temp.one('D'));
SELECT stream_version, event_type FROM event_store.read_stream_forward('hint-1', 1, 10);

-- a rolled-back stream creation leaves a TID hint to a dead row
BEGIN;
SELECT event_store.append_to_stream('hint-2', -1, pg_temp.one('rolled back'));
ROLLBACK;
SELECT event_store.append_to_stream('hint-2', 0, pg_temp.one('A'));
SELECT event_store.append_to_stream('hint-2', -2, pg_temp.one('B'));
SELECT stream_version, event_type FROM event_store.read_stream_forward('hint-2', 1, 10);

-- the row moves (metadata updates it; VACUUM FULL rewrites the table)
SELECT event_store.set_stream_metadata('hint-1', max_count => 10);
SELECT event_store.append_to_stream('hint-1', 4, pg_temp.one('E'));
VACUUM FULL event_store.streams;
SELECT event_store.append_to_stream('hint-1', 5, pg_temp.one('F'));
SELECT event_store.append_to_stream('hint-1', 4, pg_temp.one('stale'));  -- ES001
SELECT event_store.stream_version('hint-1');

-- soft delete: versions go on after the mark
SELECT event_store.delete_stream('hint-2', 2, false);
SELECT event_store.append_to_stream('hint-2', 0, pg_temp.one('C'));  -- it looks new
SELECT event_store.append_to_stream('hint-2', -1, pg_temp.one('D'));
SELECT stream_version, event_type FROM event_store.read_stream_forward('hint-2', 1, 10);

-- hard delete: the remembered row and version do not resurrect the stream
SELECT event_store.delete_stream('hint-2', -1, true);
SELECT event_store.append_to_stream('hint-2', -1, pg_temp.one('E'));  -- ES002

-- two names that share a hint slot (same low 13 bits of hashtext), appended
-- to in turn, each evicting the other's hint
SELECT a.n AS a, b.n AS b
  FROM (SELECT 'slot-' || i AS n, hashtext('slot-' || i) & 8191 AS h FROM generate_series(1, 20000) i) a
  JOIN (SELECT 'slot-' || i AS n, hashtext('slot-' || i) & 8191 AS h FROM generate_series(1, 20000) i) b
    ON a.h = b.h AND a.n < b.n
 ORDER BY a.n, b.n LIMIT 1 \gset
SELECT event_store.append_to_stream(:'a', -1, pg_temp.one('A' || i)),
       event_store.append_to_stream(:'b', -1, pg_temp.one('B' || i))
  FROM generate_series(1, 5) i;
SELECT stream_name = :'a' AS first, array_agg(stream_version ORDER BY stream_version)
  FROM event_store.events WHERE stream_name IN (:'a', :'b') GROUP BY 1 ORDER BY 1;

-- a long stream: the bounded probe and the unbounded one agree
SELECT event_store.append_to_stream('hint-long', -1,
       (SELECT array_agg(event_store.event('X', jsonb_build_object('i', i))) FROM generate_series(1, 2000) i));
SELECT event_store.append_to_stream('hint-long', 2000, pg_temp.one('Y'));
SELECT event_store.append_to_stream('hint-long', 2000, pg_temp.one('stale'));  -- ES001

-- every stream's versions are contiguous
SELECT count(*) AS streams,
       count(*) FILTER (WHERE n <> hi - lo + 1) AS with_gaps
  FROM (SELECT count(*) AS n, min(stream_version) AS lo, max(stream_version) AS hi
          FROM event_store.events GROUP BY stream_name) s;

DROP FUNCTION pg_temp.one(text);
DROP EXTENSION event_store;
