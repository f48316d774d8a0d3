-- Escaping: stream names, event types and JSON data with quotes,
-- backslashes, control characters and non-ASCII text come out as valid
-- JSON that reads back as the very values stored.  (The database is UTF8.)
-- (quietly: whether there was one to drop depends on the test before)
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;

SELECT 'init' FROM pg_create_logical_replication_slot('decode_escaping', 'event_store');

SELECT event_store.append_to_stream(s.name, 0, ARRAY[event_store.event(s.type, s.data, s.metadata,
           ('00000000-0000-7000-8000-00000000000' || s.n)::uuid)])
  FROM (VALUES
    (1, 'quote"d-1', 'Say "hi"', '{"text": "she said \"hi\""}'::jsonb, NULL::jsonb),
    (2, 'back\slash-2', 'C:\path\', '{"path": "C:\\dir\\file"}', '{"re": "\\d+"}'),
    (3, E'tab\tand\nnewline-3', E'Bell\x07Esc\x1bUnit\x1f', '{"ctl": "\u0001\u001f\t\r\n\b\f"}', NULL),
    (4, 'café-4', 'Übergabe', '{"名前": "日本語", "emoji": "🎉", "nbsp": "a\u00a0b"}', '{"€": 1}'),
    (5, 'slash/and''apos-5', '</script>', '{"html": "<b>&amp;</b>"}', NULL)
  ) AS s(n, name, type, data, metadata)
 ORDER BY s.n;

-- the text as sent
SELECT regexp_replace(data, ',"created_at":"[^"]*"', '') AS data
  FROM pg_logical_slot_peek_changes('decode_escaping', NULL, NULL);

-- and read back as JSON, every string and document equals the stored one
SELECT e.global_position,
       c.data::jsonb->>'stream' = e.stream_name AS stream,
       c.data::jsonb->>'type' = e.event_type AS type,
       c.data::jsonb->'data' = e.data AS data,
       (c.data::jsonb->'metadata' = e.metadata) IS NOT FALSE AS metadata
  FROM pg_logical_slot_peek_changes('decode_escaping', NULL, NULL) c
  JOIN event_store.events e ON e.global_position = (c.data::jsonb->>'position')::bigint
 ORDER BY 1;

-- the compact format escapes the same way
SELECT c.data::jsonb->>1 = e.stream_name AS stream,
       c.data::jsonb->>4 = e.event_type AS type,
       c.data::jsonb->5 = e.data AS data
  FROM pg_logical_slot_peek_changes('decode_escaping', NULL, NULL, 'format', 'compact') c
  JOIN event_store.events e ON e.global_position = (c.data::jsonb->>0)::bigint
 ORDER BY e.global_position;

-- filters compare the exact bytes
SELECT data::jsonb->>'stream' AS stream
  FROM pg_logical_slot_peek_changes('decode_escaping', NULL, NULL,
       'streams', 'café-4,back\\slash-2', 'event-types', 'Übergabe,C:\\path\\');

SELECT pg_drop_replication_slot('decode_escaping');
