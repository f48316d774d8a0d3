-- append_batch: one append is one atomic batch with contiguous versions;
-- exact retries of a stored batch are idempotent (even with the original
-- expected version), partial ones are ES003; missing ids become UUIDv7; the
-- event() builder.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- the builder: positional and named arguments, NULL defaults
SELECT event_store.event('Placed', '{"total": 10}');
SELECT (event_store.event('Placed', '{"total": 10}', '{"user": "ann"}',
                          '00000000-0000-4000-8000-0000000000a1',
                          '00000000-0000-4000-8000-0000000000c1',
                          '00000000-0000-4000-8000-0000000000c2')).*;
SELECT (event_store.event(event_type => 'Paid', data => NULL,
                          correlation_id => '00000000-0000-4000-8000-0000000000c3')).*;

-- a batch of three lands with contiguous versions and positions, and every
-- field as given
SELECT event_store.append_to_stream('cart-1', 0, ARRAY[
    event_store.event('Opened', '{"n": 1}', '{"m": 1}', '00000000-0000-4000-8000-000000000001',
                      '00000000-0000-4000-8000-0000000000c1', '00000000-0000-4000-8000-0000000000c2'),
    event_store.event('ItemAdded', '{"n": 2}', NULL, '00000000-0000-4000-8000-000000000002'),
    event_store.event('ItemAdded', NULL, NULL, '00000000-0000-4000-8000-000000000003')]);
SELECT global_position, stream_name, stream_version, event_id, event_type, data, metadata,
       causation_id, correlation_id,
       created_at BETWEEN now() - interval '1 minute' AND now() AS created_recently
  FROM event_store.read_stream_forward('cart-1');
-- a row built without the helper works too
SELECT event_store.append_to_stream('cart-1', 3, ARRAY[
    ROW('00000000-0000-4000-8000-000000000004', 'Checked', '[1, "two"]', NULL, NULL, NULL)::event_store.new_event]);

-- exact retry of the first batch: the original answer, nothing written,
-- whether with the original expected version, any version or the current one
SELECT event_store.append_to_stream('cart-1', 0, ARRAY[
    event_store.event('Opened', '{"n": 1}', NULL, '00000000-0000-4000-8000-000000000001'),
    event_store.event('ItemAdded', '{"n": 2}', NULL, '00000000-0000-4000-8000-000000000002'),
    event_store.event('ItemAdded', NULL, NULL, '00000000-0000-4000-8000-000000000003')]);
SELECT event_store.append_to_stream('cart-1', -1, ARRAY[
    event_store.event('Opened', '{"n": 1}', NULL, '00000000-0000-4000-8000-000000000001'),
    event_store.event('ItemAdded', '{"n": 2}', NULL, '00000000-0000-4000-8000-000000000002'),
    event_store.event('ItemAdded', NULL, NULL, '00000000-0000-4000-8000-000000000003')]);
SELECT event_store.append_to_stream('cart-1', 4, ARRAY[
    event_store.event('Checked', '[1, "two"]', NULL, '00000000-0000-4000-8000-000000000004')]);
SELECT event_store.append_to_stream('cart-1', -2, ARRAY[
    event_store.event('Checked', '[1, "two"]', NULL, '00000000-0000-4000-8000-000000000004')]);
SELECT count(*) AS events, max(global_position) AS last_position FROM event_store.events;
SELECT event_store.stream_version('cart-1');

-- partial retries are ES003: a stored id with a new one, a different order,
-- a gap, stored ids in another stream, a stored id next to a generated one
SELECT event_store.append_to_stream('cart-1', -1, ARRAY[
    event_store.event('Opened', '{}', NULL, '00000000-0000-4000-8000-000000000001'),
    event_store.event('New', '{}', NULL, '00000000-0000-4000-8000-000000000009')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-1', 0, ARRAY[
    event_store.event('ItemAdded', '{}', NULL, '00000000-0000-4000-8000-000000000002'),
    event_store.event('Opened', '{}', NULL, '00000000-0000-4000-8000-000000000001')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-1', 0, ARRAY[
    event_store.event('Opened', '{}', NULL, '00000000-0000-4000-8000-000000000001'),
    event_store.event('ItemAdded', '{}', NULL, '00000000-0000-4000-8000-000000000003')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-2', 0, ARRAY[
    event_store.event('Opened', '{}', NULL, '00000000-0000-4000-8000-000000000001'),
    event_store.event('ItemAdded', '{}', NULL, '00000000-0000-4000-8000-000000000002'),
    event_store.event('ItemAdded', '{}', NULL, '00000000-0000-4000-8000-000000000003')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-1', -1, ARRAY[
    event_store.event('Checked', '{}', NULL, '00000000-0000-4000-8000-000000000004'),
    event_store.event('New', '{}')]);
\echo :SQLSTATE
-- the same new id twice in one batch
SELECT event_store.append_to_stream('cart-2', 0, ARRAY[
    event_store.event('A', '{}', NULL, '00000000-0000-4000-8000-000000000010'),
    event_store.event('B', '{}', NULL, '00000000-0000-4000-8000-000000000010')]);
\echo :SQLSTATE

-- a failing batch writes nothing: an invalid third event, or a stored id as
-- the second event, leaves the stream, the log and the streams table as
-- they were
SELECT event_store.append_to_stream('cart-2', 0, ARRAY[
    event_store.event('A', '{}', NULL, '00000000-0000-4000-8000-000000000011'),
    event_store.event('B', '{}', NULL, '00000000-0000-4000-8000-000000000012'),
    event_store.event(NULL, '{}', NULL, '00000000-0000-4000-8000-000000000013')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-2', 0, ARRAY[
    event_store.event('A', '{}', NULL, '00000000-0000-4000-8000-000000000011'),
    event_store.event('B', '{}', NULL, '00000000-0000-4000-8000-000000000004'),
    event_store.event('C', '{}', NULL, '00000000-0000-4000-8000-000000000013')]);
\echo :SQLSTATE
SELECT event_store.stream_version('cart-2');
SELECT count(*) AS events FROM event_store.events;
SELECT stream_name, event_store.stream_version(stream_name) FROM event_store.streams ORDER BY stream_name;
-- ... and the ids it did not write are free for the next append
SELECT event_store.append_to_stream('cart-2', 0, ARRAY[
    event_store.event('A', '{}', NULL, '00000000-0000-4000-8000-000000000011'),
    event_store.event('B', '{}', NULL, '00000000-0000-4000-8000-000000000012')]);

-- generated ids: UUID version 7, variant 10, time-ordered, in version order
SELECT event_store.append_to_stream('gen-1', 0, ARRAY[
    event_store.event('A', '{}'), event_store.event('B', '{}'), event_store.event('C', '{}'),
    event_store.event('D', '{}'), event_store.event('E', '{}')]);
SELECT event_store.append_to_stream('gen-1', 5, ARRAY[
    event_store.event('F', '{}'), event_store.event('G', '{}')]);
SELECT stream_version,
       substr(event_id::text, 15, 1) AS version_nibble,
       substr(event_id::text, 20, 1) IN ('8', '9', 'a', 'b') AS variant_10,
       abs(('x' || lpad(replace(substr(event_id::text, 1, 13), '-', ''), 16, '0'))::bit(64)::bigint
           - (extract(epoch FROM clock_timestamp()) * 1000)::bigint) < 60000 AS unix_ms_now,
       row_number() OVER (ORDER BY event_id) AS id_rank
  FROM event_store.read_stream_forward('gen-1')
 ORDER BY stream_version;
SELECT count(DISTINCT event_id) AS distinct_ids FROM event_store.events;
-- uuid_generate_v7() makes the same kind of id, increasing
SELECT bool_and(substr(u::text, 15, 1) = '7') AS all_v7,
       bool_and(u > prev) AS increasing
  FROM (SELECT u, lag(u) OVER (ORDER BY i) AS prev
          FROM (SELECT i, event_store.uuid_generate_v7() AS u
                  FROM generate_series(1, 1000) i) s) t
 WHERE prev IS NOT NULL;

-- positions: 1, 2, 3 ... across streams; each stream's versions 1..n
SELECT global_position, stream_name, stream_version, event_type
  FROM event_store.read_all_forward()
 WHERE stream_name <> 'gen-1';
