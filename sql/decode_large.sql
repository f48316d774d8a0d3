-- Scale: one transaction of 100,000 events decodes completely, in position
-- order within the transaction, each event written as it comes (the plugin
-- resets its memory after every change); an event with a large, TOASTed
-- document comes out whole.
-- (quietly: whether there was one to drop depends on the test before)
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;

SELECT 'init' FROM pg_create_logical_replication_slot('decode_large', 'event_store');

-- one transaction: 1,000 appends of 100 events to 100 streams
BEGIN;
SET LOCAL event_store.notify = off;
SELECT sum(event_store.append_to_stream('big-' || (g % 100), -1,
           ARRAY(SELECT event_store.event('Tick', jsonb_build_object('g', g, 'i', i))
                   FROM generate_series(1, 100) AS i))) AS versions
  FROM generate_series(1, 1000) AS g;
COMMIT;

SELECT count(*) AS events,
       min(p) AS first,
       max(p) AS last,
       bool_and(p = n) AS in_position_order,
       count(DISTINCT s) AS streams
  FROM (SELECT (data::jsonb->>'position')::bigint AS p,
               data::jsonb->>'stream' AS s,
               row_number() OVER () AS n
          FROM pg_logical_slot_get_changes('decode_large', NULL, NULL)) AS c;

-- a 4 MB document, stored out of line, comes out whole
SELECT event_store.append_to_stream('toast-1', 0, ARRAY[event_store.event('Large',
           jsonb_build_object('blob', repeat(md5('x'), 131072), 'n', 1))]);
SELECT length(data::jsonb->'data'->>'blob') AS blob_length,
       data::jsonb->'data'->'n' AS n,
       data::jsonb->'data' = (SELECT e.data FROM event_store.events e WHERE e.stream_name = 'toast-1') AS same
  FROM pg_logical_slot_get_changes('decode_large', NULL, NULL);

-- a large transaction through a filter, with markers: one begin, one commit
SELECT 'init' FROM pg_create_logical_replication_slot('decode_large_filtered', 'event_store');
BEGIN;
SET LOCAL event_store.notify = off;
SELECT count(event_store.append_to_stream('more-' || (g % 10), -1,
           ARRAY(SELECT event_store.event(CASE WHEN i = 1 THEN 'First' ELSE 'Tick' END, '{}')
                   FROM generate_series(1, 100) AS i))) AS appends
  FROM generate_series(1, 200) AS g;
COMMIT;
SELECT count(*) FILTER (WHERE data::jsonb->>'type' = 'First') AS first_events,
       count(*) FILTER (WHERE data::jsonb ? 'action') AS markers,
       max((data::jsonb->'events')::int) AS events_in_commit
  FROM pg_logical_slot_get_changes('decode_large_filtered', NULL, NULL,
       'event-types', 'First', 'include-transactions', 'on');

SELECT pg_drop_replication_slot('decode_large');
SELECT pg_drop_replication_slot('decode_large_filtered');
