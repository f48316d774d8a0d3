-- permissions: nothing for PUBLIC; a role with no grant can neither append
-- nor read (42501); grant_reader / grant_writer / grant_admin give their
-- levels; nobody but the owner UPDATEs events, only admins DELETE them.
-- Roles are cluster-wide: these have names of their own and are dropped at
-- the end.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
DROP ROLE IF EXISTS es_perm_nobody, es_perm_reader, es_perm_writer, es_perm_admin;
RESET client_min_messages;
\set SHOW_CONTEXT never

CREATE ROLE es_perm_nobody;
CREATE ROLE es_perm_reader;
CREATE ROLE es_perm_writer;
CREATE ROLE es_perm_admin;
SELECT event_store.grant_reader('es_perm_reader');
SELECT event_store.grant_writer('es_perm_writer');
SELECT event_store.grant_admin('es_perm_admin');
-- granting twice is harmless
SELECT event_store.grant_reader('es_perm_reader');
-- an unknown role is an error
SELECT event_store.grant_reader('es_perm_no_such_role');
\echo :SQLSTATE

SELECT event_store.append_to_stream('doc-1', 0, ARRAY[
    event_store.event('Created', '{}', NULL, '00000000-0000-4000-8000-000000000001')]);
SELECT subscription_name FROM event_store.create_subscription('doc-sub', '$ce-doc');

-- PUBLIC has nothing: no schema usage, no table, sequence or function
SELECT has_schema_privilege('public', 'event_store', 'USAGE') AS schema_usage,
       has_schema_privilege('public', 'event_store', 'CREATE') AS schema_create;
SELECT count(*) AS public_acl_entries
  FROM (SELECT relacl AS acl FROM pg_class WHERE relnamespace = 'event_store'::regnamespace
        UNION ALL
        SELECT proacl FROM pg_proc WHERE pronamespace = 'event_store'::regnamespace
        UNION ALL
        SELECT nspacl FROM pg_namespace WHERE nspname = 'event_store') o,
       aclexplode(coalesce(o.acl, acldefault('r', 10))) a
 WHERE a.grantee = 0;
SELECT count(*) AS functions_without_acl
  FROM pg_proc WHERE pronamespace = 'event_store'::regnamespace AND proacl IS NULL;

-- a role with no grant: every call and every table is refused with 42501
SET ROLE es_perm_nobody;
SELECT event_store.append_to_stream('doc-1', -1, ARRAY[event_store.event('X', '{}')]);
\echo :SQLSTATE
SELECT * FROM event_store.read_stream_forward('doc-1');
\echo :SQLSTATE
SELECT * FROM event_store.read_all_forward();
\echo :SQLSTATE
SELECT event_store.stream_version('doc-1');
\echo :SQLSTATE
SELECT count(*) FROM event_store.events;
\echo :SQLSTATE
SELECT * FROM event_store.read_subscription('doc-sub');
\echo :SQLSTATE
RESET ROLE;
-- ... even with USAGE on the schema
GRANT USAGE ON SCHEMA event_store TO es_perm_nobody;
SET ROLE es_perm_nobody;
SELECT event_store.append_to_stream('doc-1', -1, ARRAY[event_store.event('X', '{}')]);
\echo :SQLSTATE
SELECT event_store.append_to_stream('doc-1', -1, ARRAY[ROW(NULL, 'X', '{}', NULL, NULL, NULL)::event_store.new_event]);
\echo :SQLSTATE
SELECT * FROM event_store.read_stream_forward('doc-1');
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward('doc');
\echo :SQLSTATE
SELECT event_store.no_stream();
\echo :SQLSTATE
SELECT count(*) FROM event_store.events;
\echo :SQLSTATE
SELECT nextval('event_store.global_position_seq');
\echo :SQLSTATE
INSERT INTO event_store.events VALUES (100, 'doc-9', 'doc', 1, '00000000-0000-4000-8000-000000000009', 'X', NULL, NULL, NULL, NULL, now());
\echo :SQLSTATE
RESET ROLE;
REVOKE USAGE ON SCHEMA event_store FROM es_perm_nobody;

-- a reader reads everything, appends nothing, changes nothing
SET ROLE es_perm_reader;
SELECT stream_version, event_type FROM event_store.read_stream_forward('doc-1');
SELECT stream_version FROM event_store.read_stream_backward('doc-1');
SELECT global_position FROM event_store.read_all_forward();
SELECT global_position FROM event_store.read_category_forward('doc', 1, 10, 0, 1);
SELECT event_store.stream_version('doc-1'), event_store.stream_hash('doc-1') >= 0 AS hash_ok;
SELECT event_store.read_snapshot('doc-1') IS NULL AS no_snapshot;
SELECT count(*) FROM event_store.events;
SELECT event_store.append_to_stream('doc-1', -1, ARRAY[event_store.event('X', '{}')]);
\echo :SQLSTATE
SELECT event_store.record_snapshot('doc-1', 1, 'T', '{}');
\echo :SQLSTATE
SELECT * FROM event_store.read_subscription('doc-sub');
\echo :SQLSTATE
SELECT event_store.ack('doc-sub', 1);
\echo :SQLSTATE
INSERT INTO event_store.events VALUES (100, 'doc-9', 'doc', 1, '00000000-0000-4000-8000-000000000009', 'X', NULL, NULL, NULL, NULL, now());
\echo :SQLSTATE
UPDATE event_store.streams SET stream_version = 9;
\echo :SQLSTATE
DELETE FROM event_store.snapshots;
\echo :SQLSTATE
RESET ROLE;

-- a writer appends, and uses snapshots and subscriptions ...
SET ROLE es_perm_writer;
SELECT event_store.append_to_stream('doc-1', 1, ARRAY[
    event_store.event('Edited', '{}', NULL, '00000000-0000-4000-8000-000000000002')]);
SELECT event_store.append_to_stream('doc-2', event_store.no_stream(), ARRAY[
    event_store.event('Created', '{}', NULL, '00000000-0000-4000-8000-000000000003')]);
SELECT global_position, stream_name, stream_version FROM event_store.read_all_forward();
SELECT event_store.record_snapshot('doc-1', 2, 'Doc', '{"v": 2}');
SELECT source_version FROM event_store.read_snapshot('doc-1');
SELECT event_store.delete_snapshot('doc-1');
SELECT global_position FROM event_store.read_subscription('doc-sub');
SELECT event_store.ack('doc-sub', 2);
SELECT subscription_name FROM event_store.create_subscription('writer-sub', 'doc-2');
SELECT event_store.delete_subscription('writer-sub');
-- ... but cannot rewrite history: no UPDATE or DELETE of events, no
-- deleting streams or scavenging
UPDATE event_store.events SET data = '{"forged": true}' WHERE stream_name = 'doc-1';
\echo :SQLSTATE
DELETE FROM event_store.events WHERE stream_name = 'doc-1';
\echo :SQLSTATE
TRUNCATE event_store.events;
\echo :SQLSTATE
DELETE FROM event_store.streams;
\echo :SQLSTATE
SELECT event_store.delete_stream('doc-2', -1);
\echo :SQLSTATE
SELECT event_store.scavenge();
\echo :SQLSTATE
RESET ROLE;

-- an admin may also delete, but nobody but the owner UPDATEs events
SET ROLE es_perm_admin;
SELECT event_store.append_to_stream('doc-3', 0, ARRAY[
    event_store.event('Created', '{}', NULL, '00000000-0000-4000-8000-000000000004')]);
SELECT event_store.delete_stream('doc-3', 1);
SELECT event_store.stream_version('doc-3');
SELECT event_store.scavenge();
UPDATE event_store.events SET data = '{"forged": true}' WHERE stream_name = 'doc-1';
\echo :SQLSTATE
TRUNCATE event_store.events;
\echo :SQLSTATE
RESET ROLE;

-- what the others did is all there, untouched
SELECT global_position, stream_name, stream_version, event_id, data FROM event_store.events ORDER BY global_position;

-- the roles go; nothing of them stays in the catalog
DROP OWNED BY es_perm_nobody, es_perm_reader, es_perm_writer, es_perm_admin;
DROP ROLE es_perm_nobody, es_perm_reader, es_perm_writer, es_perm_admin;
