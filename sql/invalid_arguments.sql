-- invalid_arguments: every refused argument of the core API, with its
-- SQLSTATE: ES004 for names, batches, events, counts and consumer groups;
-- 22P02 (PostgreSQL's own) for bad JSON.  Nothing is written by a refusal.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT event_store.append_to_stream('ok-1', 0,
    ARRAY[event_store.event('Placed', '{}', NULL, '00000000-0000-4000-8000-000000000001')]);

-- stream names: NULL, empty, 1025 bytes, reserved "$"
SELECT event_store.append_to_stream(NULL, -1, ARRAY[event_store.event('T', '{}')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('', -1, ARRAY[event_store.event('T', '{}')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream(repeat('a', 1025), -1, ARRAY[event_store.event('T', '{}')]);
\echo :SQLSTATE
-- 1025 bytes in 513 characters
SELECT event_store.append_to_stream(repeat('é', 512) || 'a', -1, ARRAY[event_store.event('T', '{}')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('$all', -1, ARRAY[event_store.event('T', '{}')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('$ce-order', -1, ARRAY[event_store.event('T', '{}')]);
\echo :SQLSTATE
-- the same rules for readers
SELECT * FROM event_store.read_stream_forward(NULL);
\echo :SQLSTATE
SELECT * FROM event_store.read_stream_forward('');
\echo :SQLSTATE
SELECT * FROM event_store.read_stream_backward(repeat('a', 1025));
\echo :SQLSTATE
SELECT * FROM event_store.read_stream_backward('$all');
\echo :SQLSTATE
SELECT event_store.stream_version(NULL);
\echo :SQLSTATE
SELECT event_store.stream_version('');
\echo :SQLSTATE
SELECT event_store.stream_version(repeat('a', 1025));
\echo :SQLSTATE
SELECT event_store.stream_version('$x');
\echo :SQLSTATE

-- 1024 bytes is allowed, in ASCII or multi-byte characters, and "$" after
-- the first byte is an ordinary character
SELECT event_store.append_to_stream(repeat('a', 1024), 0, ARRAY[event_store.event('T', '{}')]);
SELECT event_store.append_to_stream(repeat('é', 512), 0, ARRAY[event_store.event('T', '{}')]);
SELECT event_store.append_to_stream('a$b', 0, ARRAY[event_store.event('T', '{}')]);
SELECT event_store.stream_version(repeat('a', 1024)) AS ascii,
       event_store.stream_version(repeat('é', 512)) AS two_byte,
       event_store.stream_version('a$b') AS dollar_inside;
SELECT count(*) FROM event_store.read_stream_forward(repeat('a', 1024));
SELECT octet_length(stream_name) AS bytes, category = stream_name AS category_is_name
  FROM event_store.streams WHERE stream_name <> 'ok-1' ORDER BY stream_id;

-- batches: NULL array, empty array, NULL element, NULL or empty event type,
-- two-dimensional array
SELECT event_store.append_to_stream('ok-1', -1, NULL::event_store.new_event[]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('ok-1', -1, ARRAY[]::event_store.new_event[]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('ok-1', -1, '{}'::event_store.new_event[]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('ok-1', -1, ARRAY[event_store.event('T', '{}'), NULL]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('ok-1', -1, ARRAY[NULL::event_store.new_event]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('ok-1', -1, ARRAY[event_store.event(NULL, '{}')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('ok-1', -1, ARRAY[event_store.event('', '{}')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('ok-1', -1,
    ARRAY[[event_store.event('A', '{}')], [event_store.event('B', '{}')]]);
\echo :SQLSTATE

-- bad JSON is PostgreSQL's own 22P02, raised before anything is appended
SELECT event_store.append_to_stream('ok-1', -1, ARRAY[event_store.event('T', '{"a":')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('ok-1', -1, ARRAY[event_store.event('T', '{}', 'nope')]);
\echo :SQLSTATE
SELECT event_store.event('T', '{"a": 1,}');
\echo :SQLSTATE
SELECT event_store.record_snapshot('s-1', 1, 'T', '[1, 2');
\echo :SQLSTATE

-- max_count: 0, negative, NULL, for every reader
SELECT * FROM event_store.read_stream_forward('ok-1', 1, 0);
\echo :SQLSTATE
SELECT * FROM event_store.read_stream_forward('ok-1', 1, -1);
\echo :SQLSTATE
SELECT * FROM event_store.read_stream_forward('ok-1', 1, NULL);
\echo :SQLSTATE
SELECT * FROM event_store.read_stream_backward('ok-1', NULL, 0);
\echo :SQLSTATE
SELECT * FROM event_store.read_stream_backward('ok-1', NULL, NULL);
\echo :SQLSTATE
SELECT * FROM event_store.read_all_forward(1, 0);
\echo :SQLSTATE
SELECT * FROM event_store.read_all_forward(1, -5);
\echo :SQLSTATE
SELECT * FROM event_store.read_all_forward(1, NULL);
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward('ok', 1, 0);
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward('ok', 1, NULL);
\echo :SQLSTATE

-- NULL start positions and categories
SELECT * FROM event_store.read_stream_forward('ok-1', NULL);
\echo :SQLSTATE
SELECT * FROM event_store.read_all_forward(NULL);
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward(NULL);
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward('');
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward('ok', NULL);
\echo :SQLSTATE

-- consumer groups: both or neither, size >= 1, 0 <= member < size
SELECT * FROM event_store.read_category_forward('ok', 1, 10, 0, NULL);
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward('ok', 1, 10, NULL, 2);
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward('ok', 1, 10, 0, 0);
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward('ok', 1, 10, -1, 2);
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward('ok', 1, 10, 2, 2);
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward('ok', 1, 10, 0, -3);
\echo :SQLSTATE

-- subscriptions: unknown names, bad arguments
SELECT * FROM event_store.read_subscription('nope');
\echo :SQLSTATE
SELECT event_store.ack('nope', 1);
\echo :SQLSTATE
SELECT event_store.delete_subscription('nope');
\echo :SQLSTATE
SELECT * FROM event_store.read_subscription(NULL);
\echo :SQLSTATE
SELECT event_store.create_subscription(NULL);
\echo :SQLSTATE
SELECT event_store.create_subscription('');
\echo :SQLSTATE
SELECT event_store.create_subscription('sub', NULL);
\echo :SQLSTATE
SELECT event_store.create_subscription('sub', '$ce-');
\echo :SQLSTATE
SELECT event_store.create_subscription('sub', '$other');
\echo :SQLSTATE
SELECT event_store.create_subscription('sub', '$all', -1);
\echo :SQLSTATE
SELECT event_store.create_subscription('sub', '$all', NULL);
\echo :SQLSTATE
SELECT subscription_name FROM event_store.create_subscription('sub');
SELECT * FROM event_store.read_subscription('sub', 0);
\echo :SQLSTATE
SELECT * FROM event_store.read_subscription('sub', NULL);
\echo :SQLSTATE
SELECT event_store.ack('sub', NULL);
\echo :SQLSTATE
SELECT event_store.ack('sub', -1);
\echo :SQLSTATE

-- snapshots: empty or NULL id, bad version, missing type or data
SELECT event_store.record_snapshot(NULL, 1, 'T', '{}');
\echo :SQLSTATE
SELECT event_store.record_snapshot('', 1, 'T', '{}');
\echo :SQLSTATE
SELECT event_store.record_snapshot('s-1', -1, 'T', '{}');
\echo :SQLSTATE
SELECT event_store.record_snapshot('s-1', NULL, 'T', '{}');
\echo :SQLSTATE
SELECT event_store.record_snapshot('s-1', 1, NULL, '{}');
\echo :SQLSTATE
SELECT event_store.record_snapshot('s-1', 1, 'T', NULL);
\echo :SQLSTATE

-- none of it wrote anything
SELECT left(stream_name, 8) AS name, octet_length(stream_name) AS bytes, event_store.stream_version(stream_name)
  FROM event_store.streams ORDER BY stream_id;
SELECT count(*) AS events FROM event_store.events;
SELECT count(*) AS snapshots FROM event_store.snapshots;
SELECT subscription_name, source, checkpoint FROM event_store.subscriptions;
