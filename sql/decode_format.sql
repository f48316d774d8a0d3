-- The event_store output plugin: what it emits and what it leaves out.
-- Every event is one single-line JSON object; data and metadata are embedded
-- as JSON values.  Times are masked here (they change every run) and checked
-- against the table instead.
-- (quietly: whether there was one to drop depends on the test before)
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;

-- Masks what changes from run to run: times, xids, LSNs.
CREATE FUNCTION pg_temp.stable(t text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN regexp_replace(regexp_replace(regexp_replace(t,
    '"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00"', '"<time>"', 'g'),
    '("xid":|\["(begin|commit)",)\d+', '\1<xid>', 'g'),
    '"[0-9A-F]+/[0-9A-F]+"', '"<lsn>"', 'g');

SELECT 'init' FROM pg_create_logical_replication_slot('decode_format', 'event_store');

-- nothing appended yet
SELECT data FROM pg_logical_slot_peek_changes('decode_format', NULL, NULL);

-- one batch, every column set; one with NULL data, metadata and links
SELECT event_store.append_to_stream('order-1', 0, ARRAY[
    event_store.event('OrderPlaced', '{"total": 12.50, "lines": [1, 2], "gift": false}',
                      '{"user": "ann"}',
                      '00000000-0000-7000-8000-000000000001',
                      '00000000-0000-7000-8000-0000000000c1',
                      '00000000-0000-7000-8000-0000000000c2'),
    event_store.event('OrderNoted', NULL, NULL,
                      '00000000-0000-7000-8000-000000000002')]);
-- JSON scalars are embedded as they are
SELECT event_store.append_to_stream('invoice-7', 0, ARRAY[
    event_store.event('Scalar', '"just a string"', '42',
                      '00000000-0000-7000-8000-000000000003'),
    event_store.event('Empty', '{}', '[]',
                      '00000000-0000-7000-8000-000000000004')]);

SELECT pg_temp.stable(data) FROM pg_logical_slot_peek_changes('decode_format', NULL, NULL);

-- every line is one JSON object, with the keys in this order
SELECT count(*) AS events,
       bool_and(data !~ '\n') AS single_line,
       bool_and(jsonb_typeof(data::jsonb) = 'object') AS objects
  FROM pg_logical_slot_peek_changes('decode_format', NULL, NULL);

-- created_at is ISO 8601 in UTC (whatever TimeZone says) and is the row's
SET TimeZone = 'America/New_York';
SELECT (c.data::jsonb->>'position')::bigint AS position,
       c.data::jsonb->>'created_at' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00$' AS utc_iso,
       (c.data::jsonb->>'created_at')::timestamptz = e.created_at AS same_instant
  FROM pg_logical_slot_peek_changes('decode_format', NULL, NULL) c
  JOIN event_store.events e ON e.global_position = (c.data::jsonb->>'position')::bigint
 ORDER BY 1;
RESET TimeZone;

-- the compact format: the same values in the same order, without keys
SELECT pg_temp.stable(data)
  FROM pg_logical_slot_peek_changes('decode_format', NULL, NULL, 'format', 'compact');

-- consume what was seen so far
SELECT count(*) FROM pg_logical_slot_get_changes('decode_format', NULL, NULL);

-- Nothing but appended events: not the bookkeeping of snapshots and
-- subscriptions, not other tables, not scavenge's deletes, not appends that
-- rolled back (whole or to a savepoint).
SELECT event_store.record_snapshot('order-1', 2, 'Order', '{"state": "placed"}') IS NOT NULL AS snapshot;
SELECT subscription_name = 'billing' AS subscribed FROM event_store.create_subscription('billing', '$ce-order');
SELECT event_store.ack('billing', 1) AS checkpoint;
CREATE TABLE public.not_events (id int PRIMARY KEY, note text);
INSERT INTO public.not_events VALUES (1, 'not an event');
CREATE TABLE public.events (global_position bigint);	-- same name, other schema
INSERT INTO public.events VALUES (99);

BEGIN;
SELECT event_store.append_to_stream('order-2', 0, ARRAY[
    event_store.event('RolledBack', '{}', NULL, '00000000-0000-7000-8000-0000000000e1')]);
ROLLBACK;

BEGIN;
SAVEPOINT before_append;
SELECT event_store.append_to_stream('order-3', 0, ARRAY[
    event_store.event('RolledBackToSavepoint', '{}', NULL, '00000000-0000-7000-8000-0000000000e2')]);
ROLLBACK TO SAVEPOINT before_append;
SELECT event_store.append_to_stream('order-3', 0, ARRAY[
    event_store.event('Kept', '{}', NULL, '00000000-0000-7000-8000-000000000005')]);
COMMIT;

SELECT event_store.delete_stream('invoice-7', 2, true) IS NOT NULL AS hard_deleted;
SELECT event_store.delete_stream('order-1', 2) IS NOT NULL AS soft_deleted;
SELECT event_store.scavenge() AS scavenged;

-- only "Kept"; its position shows the rolled-back appends' positions stay unused
SELECT pg_temp.stable(data) FROM pg_logical_slot_get_changes('decode_format', NULL, NULL);

-- The plugin remembers per relation OID whether it is event_store.events;
-- DROP and CREATE EXTENSION give the table a new OID and the slot keeps
-- decoding, before and after, in the same backend.
SELECT event_store.append_to_stream('order-3', 1, ARRAY[
    event_store.event('BeforeRecreate', '{}', NULL, '00000000-0000-7000-8000-000000000007')]);
SET client_min_messages = warning;
DROP EXTENSION event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
SELECT event_store.append_to_stream('order-1', 0, ARRAY[
    event_store.event('AfterRecreate', '{}', NULL, '00000000-0000-7000-8000-000000000006')]);
INSERT INTO public.events VALUES (100);
SELECT data::jsonb->>'position' AS position, data::jsonb->>'type' AS type
  FROM pg_logical_slot_get_changes('decode_format', NULL, NULL);

DROP TABLE public.not_events, public.events;
SELECT pg_drop_replication_slot('decode_format');
