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

-- three names in one set of two hints (same low 12 bits of hashtext),
-- appended to in turn, each evicting another's hint
SELECT string_agg(n, ',' ORDER BY n) AS names
  FROM (SELECT n FROM (SELECT 'slot-' || i AS n, hashtext('slot-' || i) & 4095 AS h
                         FROM generate_series(1, 20000) i) s
         WHERE h = (SELECT hashtext('slot-1') & 4095)
         ORDER BY n LIMIT 3) t \gset
SELECT count(*) AS names FROM unnest(string_to_array(:'names', ',')) n;
SELECT event_store.append_to_stream(n, -1, pg_temp.one('E' || i))
  FROM generate_series(1, 5) i, unnest(string_to_array(:'names', ',')) n
 ORDER BY i, n \g /dev/null
SELECT array_agg(stream_version ORDER BY stream_version)
  FROM event_store.events WHERE stream_name = ANY (string_to_array(:'names', ','))
 GROUP BY stream_name;

-- a long stream: its entries span leaves, and another stream's follow
CREATE FUNCTION pg_temp.many(n int) RETURNS event_store.new_event[]
    LANGUAGE sql RETURN (SELECT array_agg(event_store.event('X', jsonb_build_object('i', i)))
                           FROM generate_series(1, n) i);
SELECT event_store.append_to_stream('hint-long', -1, pg_temp.many(2000));
SELECT event_store.append_to_stream('hint-long', 2000, pg_temp.one('Y'));
SELECT event_store.append_to_stream('hint-long', 2000, pg_temp.one('stale'));  -- ES001
SELECT event_store.append_to_stream('hint-lonh', -1, pg_temp.many(500));
SELECT event_store.append_to_stream('hint-long', -1, pg_temp.one('Z'));
SELECT event_store.stream_version('hint-long'), event_store.stream_version('hint-lonh');

-- a rolled-back page of entries past the stream's end, then the same
-- versions rolled back again and again (dead duplicates, which the index may
-- merge into posting lists): the hint is past the end each time
BEGIN;
SELECT event_store.append_to_stream('hint-long', 2002, pg_temp.many(400)) IS NOT NULL AS appended;
ROLLBACK;
BEGIN;
SELECT event_store.append_to_stream('hint-long', 2002, pg_temp.many(3)) IS NOT NULL AS appended;
SAVEPOINT a;
SELECT event_store.append_to_stream('hint-long', 2005, pg_temp.one('rolled back'));
ROLLBACK TO a;
SELECT event_store.append_to_stream('hint-long', 2005, pg_temp.one('kept'));
SAVEPOINT b;
SELECT event_store.append_to_stream('hint-long', 2006, pg_temp.one('rolled back'));
ROLLBACK TO b;
SELECT event_store.append_to_stream('hint-long', 2006, pg_temp.one('kept'));
COMMIT;
SELECT event_store.append_to_stream('hint-long', 2007, pg_temp.one('last'));
SELECT event_store.stream_version('hint-long');

-- the same under REPEATABLE READ and SERIALIZABLE
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT event_store.append_to_stream('hint-long', 2008, pg_temp.one('rr'));
COMMIT;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT event_store.append_to_stream('hint-long', 2009, pg_temp.one('serializable'));
SELECT event_store.append_to_stream('hint-long', 2009, pg_temp.one('stale'));  -- ES001
ROLLBACK;
SELECT event_store.append_to_stream('hint-long', 2009, pg_temp.one('after'));

-- every stream's versions are contiguous
SELECT count(*) AS streams,
       count(*) FILTER (WHERE n <> hi - lo + 1) AS with_gaps
  FROM (SELECT count(*) AS n, min(stream_version) AS lo, max(stream_version) AS hi
          FROM event_store.events GROUP BY stream_name) s;

DROP FUNCTION pg_temp.one(text), pg_temp.many(int);
DROP EXTENSION event_store;
