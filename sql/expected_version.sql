-- expected_version: the four modes of append_to_stream's expected version
-- (n > 0, 0 = no stream, -1 = any version, -2 = stream exists), 1-based
-- versions, and ES001 with the expected and actual versions in its detail.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- the named constants
SELECT event_store.no_stream() AS no_stream,
       event_store.any_version() AS any_version,
       event_store.stream_exists() AS stream_exists;

-- a new stream has version 0
SELECT event_store.stream_version('order-1');

-- 0 (no stream): creates the stream; versions start at 1
SELECT event_store.append_to_stream('order-1', event_store.no_stream(),
    ARRAY[event_store.event('Placed', '{"n": 1}', event_id => '00000000-0000-4000-8000-000000000001')]);
SELECT event_store.stream_version('order-1');
SELECT global_position, stream_name, stream_version, event_id, event_type, data
  FROM event_store.read_stream_forward('order-1');

-- 0 again: the stream exists now
SELECT event_store.append_to_stream('order-1', 0,
    ARRAY[event_store.event('Placed', '{"n": 2}', event_id => '00000000-0000-4000-8000-000000000002')]);
\echo :SQLSTATE

-- n: must be exactly the current version
SELECT event_store.append_to_stream('order-1', 1,
    ARRAY[event_store.event('Paid', '{"n": 2}', event_id => '00000000-0000-4000-8000-000000000002'),
          event_store.event('Shipped', '{"n": 3}', event_id => '00000000-0000-4000-8000-000000000003')]);
SELECT event_store.append_to_stream('order-1', 2,
    ARRAY[event_store.event('Shipped', '{"n": 4}', event_id => '00000000-0000-4000-8000-000000000004')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('order-1', 4,
    ARRAY[event_store.event('Shipped', '{"n": 4}', event_id => '00000000-0000-4000-8000-000000000004')]);
\echo :SQLSTATE
-- n on a stream that does not exist: its version is 0
SELECT event_store.append_to_stream('order-2', 1,
    ARRAY[event_store.event('Placed', '{}', event_id => '00000000-0000-4000-8000-000000000005')]);
\echo :SQLSTATE

-- -2 (stream exists): fails on a missing stream, appends to an existing one
SELECT event_store.append_to_stream('order-2', event_store.stream_exists(),
    ARRAY[event_store.event('Placed', '{}', event_id => '00000000-0000-4000-8000-000000000005')]);
\echo :SQLSTATE
SELECT event_store.stream_version('order-2');
SELECT event_store.append_to_stream('order-1', -2,
    ARRAY[event_store.event('Delivered', '{"n": 4}', event_id => '00000000-0000-4000-8000-000000000006')]);

-- -1 (any version): creates a stream, and appends whatever its version
SELECT event_store.append_to_stream('order-2', event_store.any_version(),
    ARRAY[event_store.event('Placed', '{}', event_id => '00000000-0000-4000-8000-000000000007')]);
SELECT event_store.append_to_stream('order-2', -1,
    ARRAY[event_store.event('Paid', '{}', event_id => '00000000-0000-4000-8000-000000000008'),
          event_store.event('Shipped', '{}', event_id => '00000000-0000-4000-8000-000000000009')]);
SELECT event_store.append_to_stream('order-1', -1,
    ARRAY[event_store.event('Closed', '{}', event_id => '00000000-0000-4000-8000-00000000000a')]);

-- below -2 is not a mode; NULL is not "any"
SELECT event_store.append_to_stream('order-1', -3,
    ARRAY[event_store.event('X', '{}')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('order-1', NULL,
    ARRAY[event_store.event('X', '{}')]);
\echo :SQLSTATE

-- a failed expected-version check writes nothing, and the transaction it
-- ran in is aborted
BEGIN;
SELECT event_store.append_to_stream('order-3', 0,
    ARRAY[event_store.event('Placed', '{}', event_id => '00000000-0000-4000-8000-00000000000b')]);
SELECT event_store.append_to_stream('order-3', 5,
    ARRAY[event_store.event('Paid', '{}', event_id => '00000000-0000-4000-8000-00000000000c')]);
\echo :SQLSTATE
COMMIT;
SELECT event_store.stream_version('order-3');

-- every stream's versions are 1..n, contiguous, in global-position order
SELECT stream_name, stream_version, event_id, event_type
  FROM event_store.events
 ORDER BY global_position;
SELECT stream_name, event_store.stream_version(stream_name), category
  FROM event_store.streams
 ORDER BY stream_name;
SELECT stream_name,
       array_agg(stream_version ORDER BY global_position) AS versions
  FROM event_store.events
 GROUP BY stream_name
 ORDER BY stream_name;
