-- append_jsonb: append_to_stream(stream_name, expected_version, events jsonb),
-- the same append as the new_event[] form (versions, ids, retries, expected
-- versions) and ES004 naming the 1-based element for each bad input.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never
\set VERBOSITY default

SELECT event_store.append_to_stream('cart-1', 0, '[
  {"event_type": "Opened", "data": {"user": "ada"}, "metadata": {"ip": "10.0.0.1"},
   "event_id": "0190a1b2-0000-7000-8000-0000000000a1",
   "causation_id": "{0190a1b2-0000-7000-8000-0000000000c1}",
   "correlation_id": "0190A1B20000700080000000000000C2"},
  {"event_type": "ItemAdded", "data": [1, "two", null]},
  {"event_type": "Noted", "data": "just a string", "metadata": null},
  {"event_type": "Empty"}
]'::jsonb);
SELECT stream_version, event_id IS NOT NULL AS has_id, event_type, data, metadata,
       causation_id, correlation_id
  FROM event_store.read_stream_forward('cart-1');
SELECT event_id FROM event_store.read_stream_forward('cart-1', 1, 1);

-- an exact retry (every id given) gets the original answer.  (A string
-- literal or an untyped parameter fits both forms: say ::jsonb.)
SELECT event_store.append_to_stream('cart-2', 0,
  '[{"event_type": "A", "event_id": "0190a1b2-0000-7000-8000-0000000000b1"},
    {"event_type": "B", "event_id": "0190a1b2-0000-7000-8000-0000000000b2"}]'::jsonb);
SELECT event_store.append_to_stream('cart-2', 0,
  '[{"event_type": "A", "event_id": "0190a1b2-0000-7000-8000-0000000000b1"},
    {"event_type": "B", "event_id": "0190a1b2-0000-7000-8000-0000000000b2"}]'::jsonb);
-- the expected version and duplicate ids as in the array form
SELECT event_store.append_to_stream('cart-2', 5, '[{"event_type": "C"}]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-3', -1, '[{"event_type": "A", "event_id": "0190a1b2-0000-7000-8000-0000000000b1"}]'::jsonb);
\echo :SQLSTATE

-- bad batches: ES004, naming the stream and the element
SELECT event_store.append_to_stream('cart-9', -1, NULL::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '{"event_type": "A"}'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '"A"'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '[]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '[{"event_type": "A"}, 7]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '[{"event_type": "A"}, [{"event_type": "B"}]]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '[{"event_type": "A"}, {"event_type": "B", "dat": {}}]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '[{"data": {}}]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '[{"event_type": ""}]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '[{"event_type": null}]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '[{"event_type": 5}]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '[{"event_type": "A"}, {"event_type": "B"}, {"event_type": "C", "event_id": "not-a-uuid"}]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '[{"event_type": "A", "causation_id": 12}]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '[{"event_type": "A", "correlation_id": "0190a1b2-0000-7000-8000-0000000000b"}]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', -1, '[{"event_type": "A", "correlation_id": "0190a1b2-0000-7000-8000-0000000000b11"}]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream(NULL, -1, '[{"event_type": "A"}]'::jsonb);
\echo :SQLSTATE
SELECT event_store.append_to_stream('cart-9', NULL, '[{"event_type": "A"}]'::jsonb);
\echo :SQLSTATE
-- nothing of it was written
SELECT event_store.stream_version('cart-9');

-- a malformed JSON text stays PostgreSQL's 22P02
SELECT event_store.append_to_stream('cart-9', -1, '[{"event_type": "A"'::jsonb);
\echo :SQLSTATE
