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
    ('event_store.read_all_forward(bigint,integer)'),
    ('event_store.read_category_forward(text,bigint,integer,integer,integer)'),
    ('event_store.stream_version(text)'), ('event_store.read_snapshot(text)');
CREATE TEMP TABLE writer_functions(f) AS VALUES
    ('event_store.append_to_stream(text,bigint,event_store.new_event[])'),
    ('event_store.record_snapshot(text,bigint,text,jsonb,jsonb)'),
    ('event_store.delete_snapshot(text)'),
    ('event_store.create_subscription(text,text,bigint)'),
    ('event_store.read_subscription(text,integer)'),
    ('event_store.ack(text,bigint)'),
    ('event_store.delete_subscription(text)');
CREATE TEMP TABLE admin_functions(f) AS VALUES
    ('event_store.grant_reader(regrole)'), ('event_store.grant_writer(regrole)'),
    ('event_store.grant_admin(regrole)');

SELECT plan(50);

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
SELECT table_privs_are('event_store', 'events', 'es_tap_writer', ARRAY['SELECT', 'INSERT'],
                       'writer: SELECT and INSERT on events, never UPDATE, DELETE or TRUNCATE');
SELECT table_privs_are('event_store', 'streams', 'es_tap_writer', ARRAY['SELECT', 'INSERT', 'UPDATE'],
                       'writer: SELECT, INSERT, UPDATE on streams, no DELETE');
SELECT table_privs_are('event_store', 'snapshots', 'es_tap_writer', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
                       'writer: SELECT, INSERT, UPDATE, DELETE on snapshots');
SELECT table_privs_are('event_store', 'subscriptions', 'es_tap_writer', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
                       'writer: SELECT, INSERT, UPDATE, DELETE on subscriptions');
SELECT sequence_privs_are('event_store', 'global_position_seq', 'es_tap_writer', ARRAY['USAGE', 'SELECT'],
                          'writer: USAGE, SELECT on global_position_seq (no setval)');
SELECT sequence_privs_are('event_store', 'stream_id_seq', 'es_tap_writer', ARRAY['USAGE', 'SELECT'],
                          'writer: USAGE, SELECT on stream_id_seq');
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
SELECT table_privs_are('event_store', 'events', 'es_tap_admin', ARRAY['SELECT', 'INSERT', 'DELETE'],
                       'admin: SELECT, INSERT, DELETE on events, never UPDATE or TRUNCATE');
SELECT table_privs_are('event_store', 'streams', 'es_tap_admin', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
                       'admin: SELECT, INSERT, UPDATE, DELETE on streams');
SELECT table_privs_are('event_store', 'snapshots', 'es_tap_admin', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
                       'admin: every row privilege on snapshots');
SELECT table_privs_are('event_store', 'subscriptions', 'es_tap_admin', ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
                       'admin: every row privilege on subscriptions');
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

-- grants are idempotent and per role
SELECT lives_ok($$ SELECT event_store.grant_writer('es_tap_writer') $$, 'granting again is harmless');
SELECT table_privs_are('event_store', 'events', 'es_tap_writer', ARRAY['SELECT', 'INSERT'],
                       'and changes nothing');
SELECT throws_ok($$ SELECT event_store.grant_reader('es_tap_no_such_role') $$, '42704', NULL,
                 'granting to an unknown role is an error');
SELECT table_privs_are('event_store', 'events', 'es_tap_nobody', ARRAY[]::text[],
                       'granting to others gives nothing to a role without a grant');

SELECT * FROM finish();
ROLLBACK;
