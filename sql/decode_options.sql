-- The options of the event_store output plugin: the three filters,
-- include-transactions, format, wal2json's spellings of them, and an ERROR
-- naming every bad one.
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
-- position stream version type, enough to see what a filter let through
CREATE FUNCTION pg_temp.brief(t text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN CASE WHEN t::jsonb ? 'action' THEN pg_temp.stable(t)
       ELSE concat_ws(' ', t::jsonb->>'position', t::jsonb->>'stream',
                      t::jsonb->>'version', t::jsonb->>'type') END;

SELECT 'init' FROM pg_create_logical_replication_slot('decode_options', 'event_store');

SELECT event_store.append_to_stream('order-1', 0, ARRAY[
    event_store.event('OrderPlaced', '{}'), event_store.event('OrderShipped', '{}')]);
SELECT event_store.append_to_stream('invoice-1', 0, ARRAY[
    event_store.event('InvoiceIssued', '{}', NULL, '00000000-0000-7000-8000-000000000003')]);
SELECT event_store.append_to_stream('order-2', 0, ARRAY[
    event_store.event('OrderPlaced', '{}')]);
SELECT event_store.append_to_stream('user', 0, ARRAY[	-- category "user"
    event_store.event('Registered', '{}')]);
SELECT event_store.append_to_stream('odd,name', 0, ARRAY[
    event_store.event('Odd', '{}')]);
SELECT event_store.append_to_stream(' padded', 0, ARRAY[
    event_store.event('Padded', '{}')]);

-- defaults: every event, no markers, json
SELECT pg_temp.brief(data) FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL);

-- streams: exact names, blanks around names dropped
SELECT pg_temp.brief(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'streams', 'order-2, invoice-1 ,nope');
-- a backslash escapes a comma or a blank
SELECT pg_temp.brief(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'streams', 'odd\,name,\ padded');
-- names are case-sensitive
SELECT pg_temp.brief(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'streams', 'ORDER-1');

-- categories
SELECT pg_temp.brief(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'categories', 'order');
SELECT pg_temp.brief(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'categories', 'user,invoice');

-- event-types
SELECT pg_temp.brief(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'event-types', 'OrderPlaced');

-- filters combine with AND; a repeated option replaces the earlier one
SELECT pg_temp.brief(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL,
       'categories', 'order', 'event-types', 'OrderPlaced,InvoiceIssued');
SELECT pg_temp.brief(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL,
       'streams', 'order-1', 'streams', 'user');

-- include-transactions: begin and commit markers, only around transactions
-- that emit an event (the filtered-out ones have none)
SELECT pg_temp.brief(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL,
       'include-transactions', 'on', 'categories', 'order,user');
-- the markers carry the transaction's xid, commit LSN and commit time: the
-- same in both, the LSN of the commit record (after the transaction's
-- changes, before the end of the commit that the commit marker is sent at)
SELECT data::jsonb->>'action' AS action,
       (data::jsonb->>'xid')::xid = (first_value(data::jsonb->>'xid') OVER w)::xid AS same_xid,
       (data::jsonb->>'commit_lsn') = first_value(data::jsonb->>'commit_lsn') OVER w AS same_lsn,
       CASE data::jsonb->>'action'
           WHEN 'begin' THEN (data::jsonb->>'commit_lsn')::pg_lsn > lsn
           ELSE (data::jsonb->>'commit_lsn')::pg_lsn < lsn END AS lsn_in_place,
       (data::jsonb->>'commit_time')::timestamptz
           BETWEEN now() - interval '1 hour' AND clock_timestamp() AS commit_time,
       data::jsonb->'events' AS events
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL,
       'include-transactions', 'true', 'streams', 'order-1') c
 WHERE data::jsonb ? 'action'
WINDOW w AS (ORDER BY lsn);
SELECT count(*) FILTER (WHERE data::jsonb ? 'action') AS markers
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'include-transactions', 'off');

-- format
SELECT pg_temp.stable(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL,
       'format', 'compact', 'include-transactions', '1', 'streams', 'invoice-1');
SELECT count(*) FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'format', 'json');

-- wal2json's spellings: include-transaction; format-version 2, which every
-- format here is (one document per event), so it changes nothing
SELECT pg_temp.brief(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL,
       'include-transaction', 'true', 'streams', 'invoice-1');
SELECT pg_temp.stable(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL,
       'format', 'compact', 'format-version', '2', 'streams', 'invoice-1');
SELECT pg_temp.brief(data)
  FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL,
       'format-version', '2', 'streams', 'invoice-1');

-- Errors: each names the option and the value, SQLSTATE 22023.
SELECT data FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'stream', 'order-1');
\echo :LAST_ERROR_SQLSTATE
SELECT data FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'include-xids', '0');
\echo :LAST_ERROR_SQLSTATE
SELECT data FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'include-transactions', 'maybe');
\echo :LAST_ERROR_SQLSTATE
SELECT data FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'format', 'xml');
\echo :LAST_ERROR_SQLSTATE
SELECT data FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'include-transaction', 'maybe');
\echo :LAST_ERROR_SQLSTATE
SELECT data FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'format-version', '1');
\echo :LAST_ERROR_SQLSTATE
-- wal2json options without a counterpart here are unknown, named
SELECT data FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'add-tables', 'event_store.events');
\echo :LAST_ERROR_SQLSTATE
SELECT data FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'streams', '');
\echo :LAST_ERROR_SQLSTATE
SELECT data FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'categories', 'order,,user');
\echo :LAST_ERROR_SQLSTATE
SELECT data FROM pg_logical_slot_peek_changes('decode_options', NULL, NULL, 'event-types', ' , ');
\echo :LAST_ERROR_SQLSTATE
-- a bad option is refused when the slot is created, too
SELECT 'init' FROM pg_create_logical_replication_slot('decode_options_bad', 'event_store');
SELECT data FROM pg_logical_slot_get_changes('decode_options_bad', NULL, NULL, 'format', 'JSON');
\echo :LAST_ERROR_SQLSTATE
SELECT pg_drop_replication_slot('decode_options_bad');

-- peeking consumed nothing
SELECT count(*) FROM pg_logical_slot_get_changes('decode_options', NULL, NULL);
SELECT pg_drop_replication_slot('decode_options');
