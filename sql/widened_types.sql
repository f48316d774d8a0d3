-- widened_types: ALTER TYPE on event_store.new_event and recorded_event
-- (extra, dropped, moved and retyped attributes) gives a clear error or
-- works; it never makes a backend write past an array or misread a value.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT event_store.append_to_stream('order-1', 0, ARRAY[event_store.event('Placed', '{"n": 1}', NULL, '00000000-0000-4000-8000-000000000001')]);

-- three attributes more (each ALTER once crashed the next append)
ALTER TYPE event_store.new_event ADD ATTRIBUTE extra1 bigint;
ALTER TYPE event_store.new_event ADD ATTRIBUTE extra2 text;
ALTER TYPE event_store.new_event ADD ATTRIBUTE extra3 jsonb;
SELECT event_store.append_to_stream('order-1', 1, ARRAY[
    ROW(NULL, 'Paid', '{"n": 2}', NULL, NULL, NULL, 1, 'x', '{}')::event_store.new_event]);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.append_to_stream('order-1', 1, ARRAY[
    ROW(NULL, 'Paid', '{"n": 2}', NULL, NULL, NULL, NULL, NULL, NULL)::event_store.new_event]);
\echo :LAST_ERROR_SQLSTATE
-- the backend is still here, and nothing was written
SELECT count(*) FROM event_store.events;

-- dropped again: appends work (the dropped attributes stay in the type as holes)
ALTER TYPE event_store.new_event DROP ATTRIBUTE extra1, DROP ATTRIBUTE extra2, DROP ATTRIBUTE extra3;
SELECT event_store.append_to_stream('order-1', 1, ARRAY[event_store.event('Paid', '{"n": 2}', NULL, '00000000-0000-4000-8000-000000000002')]);

-- an attribute of ours dropped: read as NULL; moved to the end: found by name
ALTER TYPE event_store.new_event DROP ATTRIBUTE metadata;
SELECT event_store.append_to_stream('order-1', 2, ARRAY[
    ROW('00000000-0000-4000-8000-000000000003', 'Shipped', '{"n": 3}', NULL, NULL)::event_store.new_event]);
ALTER TYPE event_store.new_event ADD ATTRIBUTE metadata jsonb;
SELECT event_store.append_to_stream('order-1', 3, ARRAY[
    ROW('00000000-0000-4000-8000-000000000004', 'Delivered', '{"n": 4}', NULL, NULL, '{"by": "x"}')::event_store.new_event]);
SELECT stream_version, event_id, event_type, data, metadata FROM event_store.read_stream_forward('order-1');

-- an attribute of another type: PostgreSQL refuses the ALTER (event() uses
-- the type); dropped and added back with another type: refused, clearly
ALTER TYPE event_store.new_event ALTER ATTRIBUTE data TYPE text;
ALTER TYPE event_store.new_event DROP ATTRIBUTE causation_id;
ALTER TYPE event_store.new_event ADD ATTRIBUTE causation_id text;
SELECT event_store.append_to_stream('order-1', 4, ARRAY[
    ROW(NULL, 'X', '{}', NULL, NULL, NULL)::event_store.new_event]);
\echo :LAST_ERROR_SQLSTATE
ALTER TYPE event_store.new_event DROP ATTRIBUTE causation_id;
ALTER TYPE event_store.new_event ADD ATTRIBUTE causation_id uuid;
-- event_type gone: refused, clearly
ALTER TYPE event_store.new_event DROP ATTRIBUTE event_type;
SELECT event_store.append_to_stream('order-1', 4, ARRAY[
    ROW(NULL, '{}', NULL, NULL, NULL)::event_store.new_event]);
\echo :LAST_ERROR_SQLSTATE

-- recorded_event: the readers refuse a changed type instead of forming
-- rows of other types
ALTER TYPE event_store.recorded_event ADD ATTRIBUTE extra1 bigint;
ALTER TYPE event_store.recorded_event ADD ATTRIBUTE extra2 text;
SELECT count(*) FROM event_store.read_all_forward();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM event_store.read_category_forward('order');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM event_store.read_stream_forward('order-1');
\echo :LAST_ERROR_SQLSTATE
-- dropped again, they stay in the type as holes: still refused
ALTER TYPE event_store.recorded_event DROP ATTRIBUTE extra1, DROP ATTRIBUTE extra2;
SELECT * FROM event_store.read_all_forward();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM event_store.read_stream_forward('order-1');
\echo :LAST_ERROR_SQLSTATE
-- an attribute retyped (dropped and added back as text)
SET client_min_messages = warning;
DROP EXTENSION event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
SELECT event_store.append_to_stream('order-1', 0, ARRAY[event_store.event('Placed', '{"n": 1}', NULL, '00000000-0000-4000-8000-000000000001')]);
ALTER TYPE event_store.recorded_event DROP ATTRIBUTE created_at;
ALTER TYPE event_store.recorded_event ADD ATTRIBUTE created_at text;
SELECT * FROM event_store.read_all_forward();
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM event_store.read_stream_forward('order-1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM event_store.read_stream_backward('order-1');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM event_store.read_category_forward('order');
\echo :LAST_ERROR_SQLSTATE

-- a fresh extension for the tests that follow
SET client_min_messages = warning;
DROP EXTENSION event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
