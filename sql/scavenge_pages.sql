-- scavenge_pages: scavenge() with no limit works through the streams in
-- pages (1,000 at a time) with one DELETE per page, naming no position, so
-- its memory does not grow with the store; it removes exactly what the
-- stream readers no longer show, across page boundaries.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;

-- 2,500 streams of 3 events; every other one keeps 1 (max_count), every
-- third is soft-deleted, and the rest keep all
SELECT count(event_store.append_to_stream('s-' || lpad(i::text, 5, '0'), 0, ARRAY[
           event_store.event('A', '{}'), event_store.event('B', '{}'), event_store.event('C', '{}')]))
  FROM generate_series(1, 2500) i;
SELECT count(event_store.set_stream_metadata('s-' || lpad(i::text, 5, '0'), max_count => 1))
  FROM generate_series(1, 2500, 2) i;
SELECT count(event_store.delete_stream('s-' || lpad(i::text, 5, '0'), 3))
  FROM generate_series(3, 2500, 6) i;

CREATE TEMP TABLE shown AS
SELECT e.global_position
  FROM generate_series(1, 2500) i
 CROSS JOIN LATERAL event_store.read_stream_forward('s-' || lpad(i::text, 5, '0')) e;
SELECT (SELECT count(*) FROM event_store.events) AS stored, (SELECT count(*) FROM shown) AS shown;

SELECT event_store.scavenge() AS removed;
-- what is left is exactly what the readers showed
SELECT count(*) AS left_not_shown FROM event_store.events e
 WHERE e.global_position NOT IN (SELECT global_position FROM shown);
SELECT count(*) AS shown_not_left FROM shown s
 WHERE s.global_position NOT IN (SELECT global_position FROM event_store.events);
-- versions stay: appends continue after them
SELECT event_store.stream_version('s-00001') AS kept_one, event_store.stream_version('s-00003') AS deleted;
SELECT event_store.append_to_stream('s-02497', 3, ARRAY[event_store.event('D', '{}')]) AS continued;
SELECT event_store.scavenge() AS again;
