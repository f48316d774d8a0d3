-- decode_grants: decoding respects grants.  A role with REPLICATION but no
-- right to SELECT event_store.events decodes nothing (42501 before the first
-- event); one with a level decodes; one that row-level security policies on
-- events apply to is refused too, since the plugin cannot apply them.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
DROP ROLE IF EXISTS es_dg_repl, es_dg_reader, es_dg_tenant;
RESET client_min_messages;
\set SHOW_CONTEXT never

CREATE ROLE es_dg_repl REPLICATION;
CREATE ROLE es_dg_reader REPLICATION;
CREATE ROLE es_dg_tenant REPLICATION;
SELECT event_store.grant_reader('es_dg_reader');
SELECT event_store.grant_reader('es_dg_tenant');

SELECT 'init' FROM pg_create_logical_replication_slot('decode_grants', 'event_store');
SELECT event_store.append_to_stream('order-1', 0, ARRAY[
    event_store.event('Placed', '{"secret": 1}', NULL, '00000000-0000-4000-8000-000000000001')]);
SELECT event_store.append_to_stream('invoice-1', 0, ARRAY[
    event_store.event('Issued', '{"secret": 2}', NULL, '00000000-0000-4000-8000-000000000002')]);

-- REPLICATION alone: refused, nothing consumed
SET ROLE es_dg_repl;
SELECT data::jsonb->>'position' FROM pg_logical_slot_peek_changes('decode_grants', NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT data::jsonb->>'position' FROM pg_logical_slot_get_changes('decode_grants', NULL, NULL, 'include-transactions', 'on');
\echo :LAST_ERROR_SQLSTATE
-- with an option that would show markers only, still refused
SELECT data FROM pg_logical_slot_get_changes('decode_grants', NULL, NULL, 'streams', 'nothing-here');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- a reader (SELECT on events) decodes, and gets what was not consumed
SET ROLE es_dg_reader;
SELECT data::jsonb->>'position' AS position, data::jsonb->>'stream' AS stream
  FROM pg_logical_slot_get_changes('decode_grants', NULL, NULL);
RESET ROLE;

-- a role under a row-level security policy on events: refused, not shown
-- every row
ALTER TABLE event_store.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_orders ON event_store.events FOR SELECT TO es_dg_tenant
    USING (category = 'order');
SELECT event_store.append_to_stream('order-1', 1, ARRAY[
    event_store.event('Paid', '{"secret": 3}', NULL, '00000000-0000-4000-8000-000000000003')]);
SET ROLE es_dg_tenant;
SELECT count(*) AS rows_select_shows FROM event_store.events;
SELECT data FROM pg_logical_slot_peek_changes('decode_grants', NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- the reader, whom no policy names, sees nothing through SELECT, and may
-- not decode either
SET ROLE es_dg_reader;
SELECT count(*) AS rows_select_shows FROM event_store.events;
SELECT data FROM pg_logical_slot_peek_changes('decode_grants', NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- the superuser (the table's owner) is not subject to the policies
SELECT data::jsonb->>'position' AS position, data::jsonb->>'stream' AS stream
  FROM pg_logical_slot_get_changes('decode_grants', NULL, NULL);

SELECT pg_drop_replication_slot('decode_grants');
DROP POLICY tenant_orders ON event_store.events;
ALTER TABLE event_store.events DISABLE ROW LEVEL SECURITY;
DROP OWNED BY es_dg_repl, es_dg_reader, es_dg_tenant;
DROP ROLE es_dg_repl, es_dg_reader, es_dg_tenant;
