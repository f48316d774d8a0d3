-- privileges: nothing for PUBLIC on the schema, tables, sequences and
-- functions; what grant_reader, grant_writer and grant_admin give, table by
-- table and function by function.  The roles exist only inside this
-- transaction.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;

CREATE ROLE es_tap_nobody;
CREATE ROLE es_tap_reader;
CREATE ROLE es_tap_writer;
CREATE ROLE es_tap_admin;
SELECT event_store.grant_reader('es_tap_reader');
SELECT event_store.grant_writer('es_tap_writer');
SELECT event_store.grant_admin('es_tap_admin');

-- the functions of each level (by signature)
CREATE TEMP TABLE reader_functions(f) AS VALUES
    ('event_store.no_stream()'), ('event_store.any_version()'), ('event_store.stream_exists()'),
    ('event_store.event(text,jsonb,jsonb,uuid,uuid,uuid)'), ('event_store.stream_hash(text)'),
    ('event_store.uuid_generate_v7()'),
    ('event_store.read_stream_forward(text,bigint,integer)'),
    ('event_store.read_stream_backward(text,bigint,integer)'),
    ('event_store.read_all_forward(bigint,integer,text[],text)'),
    ('event_store.read_category_forward(text,bigint,integer,integer,integer,text[],text)'),
    ('event_store.wait_for_events(bigint,interval)'),
    ('event_store.stream_version(text)'), ('event_store.read_snapshot(text)'),
    ('event_store.wait_durable()');
CREATE TEMP TABLE writer_functions(f) AS VALUES
    ('event_store.append_to_stream(text,bigint,event_store.new_event[])'),
    ('event_store.append_to_stream(text,bigint,jsonb)'),
    ('event_store.record_snapshot(text,bigint,text,jsonb,jsonb)'),
    ('event_store.delete_snapshot(text)'),
    ('event_store.create_subscription(text,text,bigint,text[],text)'),
    ('event_store.read_subscription(text,integer)'),
    ('event_store.ack(text,bigint)'),
    ('event_store.delete_subscription(text)');
CREATE TEMP TABLE admin_functions(f) AS VALUES
    ('event_store.grant_reader(regrole)'), ('event_store.grant_writer(regrole)'),
    ('event_store.grant_admin(regrole)'), ('event_store.grant_level(regrole,text)'),
    ('event_store.declare_access_level(text,text)'), ('event_store.refresh_access()');

SELECT plan(62);

-- PUBLIC: nothing at all
SELECT schema_privs_are('event_store', 'public', ARRAY[]::text[], 'PUBLIC has no privilege on schema event_store');
SELECT table_privs_are('event_store', 'events', 'public', ARRAY[]::text[], 'PUBLIC has no privilege on events');
SELECT table_privs_are('event_store', 'streams', 'public', ARRAY[]::text[], 'PUBLIC has no privilege on streams');
SELECT table_privs_are('event_store', 'snapshots', 'public', ARRAY[]::text[], 'PUBLIC has no privilege on snapshots');
SELECT table_privs_are('event_store', 'subscriptions', 'public', ARRAY[]::text[], 'PUBLIC has no privilege on subscriptions');
SELECT sequence_privs_are('event_store', 'global_position_seq', 'public', ARRAY[]::text[], 'PUBLIC has no privilege on global_position_seq');
SELECT sequence_privs_are('event_store', 'stream_id_seq', 'public', ARRAY[]::text[], 'PUBLIC has no privilege on stream_id_seq');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'event_store'::regnamespace
       AND has_function_privilege('public', p.oid, 'EXECUTE') $$,
    'PUBLIC may execute no function of event_store');
SELECT is_empty($$
    SELECT t.typname FROM pg_type t
     WHERE t.typnamespace = 'event_store'::regnamespace AND t.typtype = 'c'
       AND has_schema_privilege('public', 'event_store', 'USAGE') $$,
    'PUBLIC cannot reach the types either (no USAGE on the schema)');

-- a role without a grant: nothing either
SELECT schema_privs_are('event_store', 'es_tap_nobody', ARRAY[]::text[], 'a role without a grant has no USAGE');
SELECT table_privs_are('event_store', 'events', 'es_tap_nobody', ARRAY[]::text[], 'a role without a grant cannot touch events');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'event_store'::regnamespace
       AND has_function_privilege('es_tap_nobody', p.oid, 'EXECUTE') $$,
    'a role without a grant may execute no function');

-- reader
SELECT schema_privs_are('event_store', 'es_tap_reader', ARRAY['USAGE'], 'reader: USAGE on the schema');
SELECT table_privs_are('event_store', 'events', 'es_tap_reader', ARRAY['SELECT'], 'reader: SELECT on events');
SELECT table_privs_are('event_store', 'streams', 'es_tap_reader', ARRAY['SELECT'], 'reader: SELECT on streams');
SELECT table_privs_are('event_store', 'snapshots', 'es_tap_reader', ARRAY['SELECT'], 'reader: SELECT on snapshots');
SELECT table_privs_are('event_store', 'subscriptions', 'es_tap_reader', ARRAY['SELECT'], 'reader: SELECT on subscriptions');
SELECT sequence_privs_are('event_store', 'global_position_seq', 'es_tap_reader', ARRAY[]::text[], 'reader: nothing on global_position_seq');
SELECT is_empty($$ SELECT f FROM reader_functions WHERE NOT has_function_privilege('es_tap_reader', f, 'EXECUTE') $$,
    'reader may execute every read function');
SELECT is_empty($$ SELECT f FROM writer_functions WHERE has_function_privilege('es_tap_reader', f, 'EXECUTE') $$,
    'reader may execute no write function');
SELECT is_empty($$ SELECT f FROM admin_functions WHERE has_function_privilege('es_tap_reader', f, 'EXECUTE') $$,
    'reader may execute no admin function');
SELECT ok(NOT has_function_privilege('es_tap_reader', 'event_store.delete_stream(text,bigint,boolean)', 'EXECUTE')
          AND NOT has_function_privilege('es_tap_reader', 'event_store.scavenge(bigint)', 'EXECUTE')
          AND NOT has_function_privilege('es_tap_reader', 'event_store.set_stream_metadata(text,bigint,interval,bigint)', 'EXECUTE'),
          'reader may not delete streams, scavenge or set metadata');

-- writer
SELECT schema_privs_are('event_store', 'es_tap_writer', ARRAY['USAGE'], 'writer: USAGE on the schema');
SELECT table_privs_are('event_store', 'events', 'es_tap_writer', ARRAY['SELECT'],
                       'writer: SELECT on events; appends go through append_to_stream');
SELECT table_privs_are('event_store', 'streams', 'es_tap_writer', ARRAY['SELECT'],
                       'writer: SELECT on streams, nothing else');
SELECT table_privs_are('event_store', 'snapshots', 'es_tap_writer', ARRAY['SELECT'],
                       'writer: SELECT on snapshots; record_snapshot writes them');
SELECT table_privs_are('event_store', 'subscriptions', 'es_tap_writer', ARRAY['SELECT'],
                       'writer: SELECT on subscriptions; the subscription functions write them');
SELECT sequence_privs_are('event_store', 'global_position_seq', 'es_tap_writer', ARRAY[]::text[],
                          'writer: nothing on global_position_seq (no nextval, no setval)');
SELECT sequence_privs_are('event_store', 'stream_id_seq', 'es_tap_writer', ARRAY[]::text[],
                          'writer: nothing on stream_id_seq');
SELECT is_empty($$ SELECT f FROM reader_functions WHERE NOT has_function_privilege('es_tap_writer', f, 'EXECUTE') $$,
    'writer may execute every read function');
SELECT is_empty($$ SELECT f FROM writer_functions WHERE NOT has_function_privilege('es_tap_writer', f, 'EXECUTE') $$,
    'writer may execute every write function');
SELECT is_empty($$ SELECT f FROM admin_functions WHERE has_function_privilege('es_tap_writer', f, 'EXECUTE') $$,
    'writer may not hand out grants');
SELECT ok(NOT has_function_privilege('es_tap_writer', 'event_store.delete_stream(text,bigint,boolean)', 'EXECUTE'),
          'writer may not delete streams');
SELECT ok(NOT has_function_privilege('es_tap_writer', 'event_store.scavenge(bigint)', 'EXECUTE'),
          'writer may not scavenge');
SELECT ok(has_function_privilege('es_tap_writer', 'event_store.set_stream_metadata(text,bigint,interval,bigint)', 'EXECUTE'),
          'writer may set stream metadata');

-- admin
SELECT schema_privs_are('event_store', 'es_tap_admin', ARRAY['USAGE'], 'admin: USAGE on the schema (not CREATE)');
SELECT table_privs_are('event_store', 'events', 'es_tap_admin', ARRAY['SELECT'],
                       'admin: SELECT on events; delete_stream and scavenge remove rows');
SELECT table_privs_are('event_store', 'streams', 'es_tap_admin', ARRAY['SELECT'],
                       'admin: SELECT on streams');
SELECT table_privs_are('event_store', 'snapshots', 'es_tap_admin', ARRAY['SELECT'],
                       'admin: SELECT on snapshots');
SELECT table_privs_are('event_store', 'subscriptions', 'es_tap_admin', ARRAY['SELECT'],
                       'admin: SELECT on subscriptions');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'event_store'::regnamespace
       AND p.oid NOT IN (SELECT f::regprocedure FROM admin_functions)
       AND NOT has_function_privilege('es_tap_admin', p.oid, 'EXECUTE') $$,
    'admin may execute every function but grant_*');
SELECT is_empty($$ SELECT f FROM admin_functions WHERE has_function_privilege('es_tap_admin', f, 'EXECUTE') $$,
    'grant_* stay with the owner: not even an admin may execute them');

-- nobody but the owner can UPDATE or TRUNCATE events
SELECT is_empty($$
    SELECT r.rolname FROM pg_roles r
     WHERE NOT r.rolsuper AND r.rolname NOT LIKE 'pg\_%'
       AND (has_table_privilege(r.oid, 'event_store.events', 'UPDATE')
            OR has_table_privilege(r.oid, 'event_store.events', 'TRUNCATE')) $$,
    'no role but superusers and predefined roles may UPDATE or TRUNCATE events');

-- SECURITY DEFINER functions pin search_path; grant_* are not SECURITY
-- DEFINER, so only a role that may grant (the owner) can use them
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'event_store'::regnamespace AND p.prosecdef
       AND NOT coalesce(array_to_string(p.proconfig, ',') LIKE '%search_path=%', false) $$,
    'every SECURITY DEFINER function pins search_path');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'event_store'::regnamespace AND p.prosecdef
       AND p.proname LIKE 'grant_%' $$,
    'grant_* run with the caller''s rights');
SELECT throws_ok(
    $$ SET LOCAL ROLE es_tap_writer; SELECT event_store.grant_admin('es_tap_writer') $$,
    '42501', NULL, 'a writer cannot make itself admin');
RESET ROLE;

-- the levels are data: every function has one, and the grants follow it
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'event_store'::regnamespace
       AND p.proname NOT IN (SELECT function_name FROM event_store.access_levels) $$,
    'every function of the schema has a level in event_store.access_levels');
SELECT is_empty($$
    SELECT function_name FROM event_store.access_levels
     WHERE function_name NOT IN (SELECT proname FROM pg_proc WHERE pronamespace = 'event_store'::regnamespace) $$,
    'every row of access_levels names a function of the schema');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text, r.level, r.role
      FROM pg_proc p
      JOIN event_store.access_levels l ON l.function_name = p.proname
     CROSS JOIN (VALUES (1, 'es_tap_reader'), (2, 'es_tap_writer'), (3, 'es_tap_admin')) r(level, role)
     WHERE p.pronamespace = 'event_store'::regnamespace
       AND has_function_privilege(r.role, p.oid, 'EXECUTE')
           <> (array_position(ARRAY['reader', 'writer', 'admin', 'owner'], l.level) <= r.level) $$,
    'each level may execute exactly the functions access_levels puts at that level or below');
SELECT set_eq($$ SELECT f::regprocedure FROM reader_functions $$,
    $$ SELECT p.oid::regprocedure FROM pg_proc p JOIN event_store.access_levels l ON l.function_name = p.proname
        WHERE p.pronamespace = 'event_store'::regnamespace AND l.level = 'reader'
          AND p.oid IN (SELECT f::regprocedure FROM reader_functions UNION ALL SELECT f::regprocedure FROM writer_functions) $$,
    'the 1.1 read functions are at level reader');

-- writers change the store only through functions that run as the owner
SELECT is_empty($$
    SELECT c.oid::regclass::text, a.grantee::regrole::text, a.privilege_type
      FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
     WHERE c.relnamespace = 'event_store'::regnamespace
       AND a.grantee <> c.relowner
       AND (c.relkind = 'S' OR a.privilege_type <> 'SELECT') $$,
    'no role but the owner holds any privilege but SELECT on a table, or any on a sequence');
SELECT is_empty($$
    SELECT f FROM (VALUES ('event_store.append_to_stream(text,bigint,event_store.new_event[])'),
                          ('event_store.set_stream_metadata(text,bigint,interval,bigint)'),
                          ('event_store.delete_stream(text,bigint,boolean)'),
                          ('event_store.scavenge(bigint)'),
                          ('event_store.record_snapshot(text,bigint,text,jsonb,jsonb)'),
                          ('event_store.delete_snapshot(text)'),
                          ('event_store.create_subscription(text,text,bigint,text[],text)'),
                          ('event_store.ack(text,bigint)'),
                          ('event_store.delete_subscription(text)')) w(f)
     WHERE NOT (SELECT prosecdef FROM pg_proc WHERE oid = f::regprocedure) $$,
    'every writing function of 1.1 is SECURITY DEFINER');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
      JOIN event_store.access_levels l ON l.function_name = p.proname
     WHERE p.pronamespace = 'event_store'::regnamespace AND p.prosecdef AND l.level = 'reader' $$,
    'no reader-level function is SECURITY DEFINER (reads run as the caller, under its row-level security)');
SELECT ok(NOT (SELECT prosecdef FROM pg_proc WHERE oid = 'event_store.read_subscription(text,integer)'::regprocedure),
          'read_subscription reads with the caller''s rights');

-- declaring a new function's level grants it to the roles holding that level
CREATE FUNCTION event_store.tap_probe() RETURNS int LANGUAGE sql RETURN 1;
SELECT event_store.declare_access_level('tap_probe', 'writer');
SELECT results_eq($$ SELECT has_function_privilege('public', 'event_store.tap_probe()', 'EXECUTE'),
                            has_function_privilege('es_tap_reader', 'event_store.tap_probe()', 'EXECUTE'),
                            has_function_privilege('es_tap_writer', 'event_store.tap_probe()', 'EXECUTE'),
                            has_function_privilege('es_tap_admin', 'event_store.tap_probe()', 'EXECUTE') $$,
    $$ VALUES (false, false, true, true) $$,
    'a function declared writer: revoked from PUBLIC, granted to the writer and the admin, not the reader');
SELECT event_store.declare_access_level('tap_probe', 'admin');
SELECT results_eq($$ SELECT has_function_privilege('es_tap_writer', 'event_store.tap_probe()', 'EXECUTE'),
                            has_function_privilege('es_tap_admin', 'event_store.tap_probe()', 'EXECUTE') $$,
    $$ VALUES (false, true) $$,
    'raised to admin: the writer loses it');
SELECT throws_ok($$ SELECT event_store.declare_access_level('no_such_function', 'reader') $$, 'ES004', NULL,
                 'declaring the level of a function that does not exist is ES004');
GRANT EXECUTE ON FUNCTION event_store.grant_level(regrole, text) TO es_tap_reader;
SELECT throws_ok($$ SET LOCAL ROLE es_tap_reader; SELECT event_store.grant_level('es_tap_reader', 'admin') $$,
                 '42501', 'permission denied to grant access to event_store',
                 'only the owner can hand out levels, even with EXECUTE on grant_level');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION event_store.grant_level(regrole, text) FROM es_tap_reader;

-- grants are idempotent and per role
SELECT lives_ok($$ SELECT event_store.grant_writer('es_tap_writer') $$, 'granting again is harmless');
SELECT table_privs_are('event_store', 'events', 'es_tap_writer', ARRAY['SELECT'],
                       'and changes nothing');
SELECT throws_ok($$ SELECT event_store.grant_reader('es_tap_no_such_role') $$, '42704', NULL,
                 'granting to an unknown role is an error');
SELECT table_privs_are('event_store', 'events', 'es_tap_nobody', ARRAY[]::text[],
                       'granting to others gives nothing to a role without a grant');

SELECT * FROM finish();
ROLLBACK;
