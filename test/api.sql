-- api: every function of SPEC exists with its argument types, names and
-- defaults, returns what SPEC says, has the right volatility, and carries a
-- COMMENT; no function exists that SPEC does not name.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;

SELECT plan(130);

SELECT functions_are('event_store', ARRAY[
    'no_stream', 'any_version', 'stream_exists', 'event', 'stream_hash', 'uuid_generate_v7',
    'append_to_stream',
    'read_stream_forward', 'read_stream_backward', 'read_all_forward', 'read_category_forward',
    'stream_version',
    'record_snapshot', 'read_snapshot', 'delete_snapshot',
    'create_subscription', 'read_subscription', 'ack', 'delete_subscription',
    'grant_reader', 'grant_writer', 'grant_admin', 'grant_level', 'declare_access_level', 'refresh_access',
    'delete_stream', 'set_stream_metadata', 'scavenge',
    'list_streams', 'stream_info',
    'create_persistent_subscription', 'receive_events', 'ack_events', 'nack_events',
    'parked_events', 'replay_parked',
    -- internal helpers of persistent subscriptions (not API; docs/api.md says so)
    'persistent_subscription', 'persistent_advance', 'persistent_lease_waiting', 'persistent_take',
    'wait_for_events',
    -- internal: readers flush commits that gave their stream locks back early (src/commit.c)
    'wait_durable']);

-- existence with argument types
SELECT has_function('event_store', 'no_stream', ARRAY[]::name[]);
SELECT has_function('event_store', 'any_version', ARRAY[]::name[]);
SELECT has_function('event_store', 'stream_exists', ARRAY[]::name[]);
SELECT has_function('event_store', 'event', ARRAY['text', 'jsonb', 'jsonb', 'uuid', 'uuid', 'uuid']);
SELECT has_function('event_store', 'stream_hash', ARRAY['text']);
SELECT has_function('event_store', 'append_to_stream', ARRAY['text', 'bigint', 'event_store.new_event[]']);
SELECT has_function('event_store', 'read_stream_forward', ARRAY['text', 'bigint', 'integer']);
SELECT has_function('event_store', 'read_stream_backward', ARRAY['text', 'bigint', 'integer']);
SELECT has_function('event_store', 'append_to_stream', ARRAY['text', 'bigint', 'jsonb']);
SELECT has_function('event_store', 'read_all_forward', ARRAY['bigint', 'integer', 'text[]', 'text']);
SELECT has_function('event_store', 'read_category_forward', ARRAY['text', 'bigint', 'integer', 'integer', 'integer', 'text[]', 'text']);
SELECT has_function('event_store', 'wait_for_events', ARRAY['bigint', 'interval']);
SELECT has_function('event_store', 'stream_version', ARRAY['text']);
SELECT has_function('event_store', 'record_snapshot', ARRAY['text', 'bigint', 'text', 'jsonb', 'jsonb']);
SELECT has_function('event_store', 'read_snapshot', ARRAY['text']);
SELECT has_function('event_store', 'delete_snapshot', ARRAY['text']);
SELECT has_function('event_store', 'create_subscription', ARRAY['text', 'text', 'bigint', 'text[]', 'text']);
SELECT has_function('event_store', 'read_subscription', ARRAY['text', 'integer']);
SELECT has_function('event_store', 'ack', ARRAY['text', 'bigint']);
SELECT has_function('event_store', 'delete_subscription', ARRAY['text']);
SELECT has_function('event_store', 'grant_reader', ARRAY['regrole']);
SELECT has_function('event_store', 'grant_writer', ARRAY['regrole']);
SELECT has_function('event_store', 'grant_admin', ARRAY['regrole']);
SELECT has_function('event_store', 'delete_stream', ARRAY['text', 'bigint', 'boolean']);
SELECT has_function('event_store', 'set_stream_metadata', ARRAY['text', 'bigint', 'interval', 'bigint']);
SELECT has_function('event_store', 'scavenge', ARRAY['bigint']);
SELECT has_function('event_store', 'list_streams', ARRAY['text', 'text', 'integer']);
SELECT has_function('event_store', 'stream_info', ARRAY['text']);
SELECT has_function('event_store', 'create_persistent_subscription', ARRAY['text', 'text', 'bigint', 'text', 'integer', 'interval', 'text[]', 'text']);
SELECT has_function('event_store', 'receive_events', ARRAY['text', 'text', 'integer']);
SELECT has_function('event_store', 'ack_events', ARRAY['text', 'bigint[]']);
SELECT has_function('event_store', 'nack_events', ARRAY['text', 'bigint[]', 'text', 'text']);
SELECT has_function('event_store', 'parked_events', ARRAY['text']);
SELECT has_function('event_store', 'replay_parked', ARRAY['text']);

-- return types
SELECT function_returns('event_store', 'no_stream', ARRAY[]::name[], 'bigint');
SELECT function_returns('event_store', 'any_version', ARRAY[]::name[], 'bigint');
SELECT function_returns('event_store', 'stream_exists', ARRAY[]::name[], 'bigint');
SELECT function_returns('event_store', 'event', ARRAY['text', 'jsonb', 'jsonb', 'uuid', 'uuid', 'uuid'], 'event_store.new_event');
SELECT function_returns('event_store', 'stream_hash', ARRAY['text'], 'bigint');
SELECT function_returns('event_store', 'append_to_stream', ARRAY['text', 'bigint', 'event_store.new_event[]'], 'bigint');
SELECT function_returns('event_store', 'read_stream_forward', ARRAY['text', 'bigint', 'integer'], 'setof event_store.recorded_event');
SELECT function_returns('event_store', 'read_stream_backward', ARRAY['text', 'bigint', 'integer'], 'setof event_store.recorded_event');
SELECT function_returns('event_store', 'append_to_stream', ARRAY['text', 'bigint', 'jsonb'], 'bigint');
SELECT function_returns('event_store', 'read_all_forward', ARRAY['bigint', 'integer', 'text[]', 'text'], 'setof event_store.recorded_event');
SELECT function_returns('event_store', 'read_category_forward', ARRAY['text', 'bigint', 'integer', 'integer', 'integer', 'text[]', 'text'], 'setof event_store.recorded_event');
SELECT function_returns('event_store', 'wait_for_events', ARRAY['bigint', 'interval'], 'bigint');
SELECT function_returns('event_store', 'stream_version', ARRAY['text'], 'bigint');
SELECT function_returns('event_store', 'record_snapshot', ARRAY['text', 'bigint', 'text', 'jsonb', 'jsonb'], 'void');
SELECT function_returns('event_store', 'read_snapshot', ARRAY['text'], 'event_store.snapshots');
SELECT function_returns('event_store', 'delete_snapshot', ARRAY['text'], 'boolean');
SELECT function_returns('event_store', 'create_subscription', ARRAY['text', 'text', 'bigint', 'text[]', 'text'], 'event_store.subscriptions');
SELECT function_returns('event_store', 'read_subscription', ARRAY['text', 'integer'], 'setof event_store.recorded_event');
SELECT function_returns('event_store', 'ack', ARRAY['text', 'bigint'], 'bigint');
SELECT function_returns('event_store', 'delete_subscription', ARRAY['text'], 'void');
SELECT function_returns('event_store', 'grant_reader', ARRAY['regrole'], 'void');
SELECT function_returns('event_store', 'grant_writer', ARRAY['regrole'], 'void');
SELECT function_returns('event_store', 'grant_admin', ARRAY['regrole'], 'void');
SELECT function_returns('event_store', 'delete_stream', ARRAY['text', 'bigint', 'boolean'], 'void');
SELECT function_returns('event_store', 'set_stream_metadata', ARRAY['text', 'bigint', 'interval', 'bigint'], 'void');
SELECT function_returns('event_store', 'scavenge', ARRAY['bigint'], 'bigint');
SELECT function_returns('event_store', 'list_streams', ARRAY['text', 'text', 'integer'], 'setof record');
SELECT function_returns('event_store', 'stream_info', ARRAY['text'], 'setof event_store.stream_details');
SELECT function_returns('event_store', 'create_persistent_subscription', ARRAY['text', 'text', 'bigint', 'text', 'integer', 'interval', 'text[]', 'text'], 'event_store.subscriptions');
SELECT function_returns('event_store', 'receive_events', ARRAY['text', 'text', 'integer'], 'setof record');
SELECT function_returns('event_store', 'ack_events', ARRAY['text', 'bigint[]'], 'integer');
SELECT function_returns('event_store', 'nack_events', ARRAY['text', 'bigint[]', 'text', 'text'], 'integer');
SELECT function_returns('event_store', 'parked_events', ARRAY['text'], 'setof record');
SELECT function_returns('event_store', 'replay_parked', ARRAY['text'], 'integer');

-- argument names and defaults, as callers use them (named arguments)
CREATE TEMP TABLE signatures(f, args) AS VALUES
    ('event_store.event(text,jsonb,jsonb,uuid,uuid,uuid)',
     'event_type text, data jsonb, metadata jsonb DEFAULT NULL::jsonb, event_id uuid DEFAULT NULL::uuid, causation_id uuid DEFAULT NULL::uuid, correlation_id uuid DEFAULT NULL::uuid'),
    ('event_store.stream_hash(text)', 'stream_name text'),
    ('event_store.append_to_stream(text,bigint,event_store.new_event[])',
     'stream_name text, expected_version bigint, events event_store.new_event[]'),
    ('event_store.read_stream_forward(text,bigint,integer)',
     'stream_name text, from_version bigint DEFAULT 1, max_count integer DEFAULT 1000'),
    ('event_store.read_stream_backward(text,bigint,integer)',
     'stream_name text, from_version bigint DEFAULT NULL::bigint, max_count integer DEFAULT 1000'),
    ('event_store.append_to_stream(text,bigint,jsonb)',
     'stream_name text, expected_version bigint, events jsonb'),
    ('event_store.read_all_forward(bigint,integer,text[],text)',
     'from_position bigint DEFAULT 1, max_count integer DEFAULT 1000, event_types text[] DEFAULT NULL::text[], stream_prefix text DEFAULT NULL::text'),
    ('event_store.read_category_forward(text,bigint,integer,integer,integer,text[],text)',
     'category text, from_position bigint DEFAULT 1, max_count integer DEFAULT 1000, group_member integer DEFAULT NULL::integer, group_size integer DEFAULT NULL::integer, event_types text[] DEFAULT NULL::text[], stream_prefix text DEFAULT NULL::text'),
    ('event_store.wait_for_events(bigint,interval)',
     'after_position bigint, timeout interval DEFAULT ''00:00:30''::interval'),
    ('event_store.stream_version(text)', 'stream_name text'),
    ('event_store.record_snapshot(text,bigint,text,jsonb,jsonb)',
     'source_id text, source_version bigint, source_type text, data jsonb, metadata jsonb DEFAULT NULL::jsonb'),
    ('event_store.read_snapshot(text)', 'source_id text'),
    ('event_store.delete_snapshot(text)', 'source_id text'),
    ('event_store.create_subscription(text,text,bigint,text[],text)',
     'name text, source text DEFAULT ''$all''::text, start_from bigint DEFAULT 0, event_types text[] DEFAULT NULL::text[], stream_prefix text DEFAULT NULL::text'),
    ('event_store.read_subscription(text,integer)', 'name text, max_count integer DEFAULT 100'),
    ('event_store.ack(text,bigint)', 'name text, global_position bigint'),
    ('event_store.delete_subscription(text)', 'name text'),
    ('event_store.grant_reader(regrole)', 'role regrole'),
    ('event_store.grant_writer(regrole)', 'role regrole'),
    ('event_store.grant_admin(regrole)', 'role regrole'),
    ('event_store.delete_stream(text,bigint,boolean)',
     'stream_name text, expected_version bigint, hard boolean DEFAULT false'),
    ('event_store.set_stream_metadata(text,bigint,interval,bigint)',
     'stream_name text, max_count bigint DEFAULT NULL::bigint, max_age interval DEFAULT NULL::interval, truncate_before bigint DEFAULT NULL::bigint'),
    ('event_store.scavenge(bigint)', 'max_events bigint DEFAULT NULL::bigint'),
    ('event_store.list_streams(text,text,integer)',
     'prefix text DEFAULT NULL::text, after text DEFAULT NULL::text, max_count integer DEFAULT 100'),
    ('event_store.stream_info(text)', 'stream_name text'),
    ('event_store.create_persistent_subscription(text,text,bigint,text,integer,interval,text[],text)',
     'name text, source text DEFAULT ''$all''::text, start_from bigint DEFAULT 0, strategy text DEFAULT ''pinned''::text, max_retry_count integer DEFAULT 10, message_timeout interval DEFAULT ''00:00:30''::interval, event_types text[] DEFAULT NULL::text[], stream_prefix text DEFAULT NULL::text'),
    ('event_store.receive_events(text,text,integer)', 'name text, consumer text, max_count integer DEFAULT 100'),
    ('event_store.ack_events(text,bigint[])', 'name text, positions bigint[]'),
    ('event_store.nack_events(text,bigint[],text,text)',
     'name text, positions bigint[], action text DEFAULT ''retry''::text, reason text DEFAULT NULL::text'),
    ('event_store.parked_events(text)', 'name text'),
    ('event_store.replay_parked(text)', 'name text');
SELECT is(pg_get_function_arguments(f::regprocedure), args, 'arguments of ' || f)
  FROM signatures ORDER BY f;

-- volatility: the constants and builders are immutable; stream_hash must be
-- (clients and indexes rely on it); everything that reads or writes is not
SELECT volatility_is('event_store', 'no_stream', ARRAY[]::name[], 'immutable');
SELECT volatility_is('event_store', 'any_version', ARRAY[]::name[], 'immutable');
SELECT volatility_is('event_store', 'stream_exists', ARRAY[]::name[], 'immutable');
SELECT volatility_is('event_store', 'event', ARRAY['text', 'jsonb', 'jsonb', 'uuid', 'uuid', 'uuid'], 'immutable');
SELECT volatility_is('event_store', 'stream_hash', ARRAY['text'], 'immutable');
SELECT is_strict('event_store', 'stream_hash', ARRAY['text'], 'stream_hash is STRICT');
SELECT volatility_is('event_store', 'uuid_generate_v7', ARRAY[]::name[], 'volatile');
SELECT volatility_is('event_store', 'append_to_stream', ARRAY['text', 'bigint', 'event_store.new_event[]'], 'volatile');
SELECT volatility_is('event_store', 'read_all_forward', ARRAY['bigint', 'integer', 'text[]', 'text'], 'volatile');
SELECT volatility_is('event_store', 'wait_for_events', ARRAY['bigint', 'interval'], 'volatile');
SELECT isnt_strict('event_store', 'append_to_stream', ARRAY['text', 'bigint', 'jsonb'],
                   'append_to_stream(jsonb) is not STRICT (NULL arguments are ES004)');
SELECT isnt_strict('event_store', 'wait_for_events', ARRAY['bigint', 'interval'],
                   'wait_for_events is not STRICT (NULL arguments are ES004)');
SELECT isnt_strict('event_store', 'append_to_stream', ARRAY['text', 'bigint', 'event_store.new_event[]'],
                   'append_to_stream is not STRICT (NULL arguments are ES004, not a silent NULL)');
SELECT isnt_strict('event_store', 'read_all_forward', ARRAY['bigint', 'integer', 'text[]', 'text'],
                   'read_all_forward is not STRICT (NULL arguments are ES004)');
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'event_store'::regnamespace
       AND p.proname LIKE 'read\_%' AND p.proname <> 'read_snapshot' AND NOT p.proretset $$,
    'every read_* function but read_snapshot returns a set');

-- what the constants are
SELECT is(event_store.no_stream(), 0::bigint, 'no_stream() is 0');
SELECT is(event_store.any_version(), -1::bigint, 'any_version() is -1');
SELECT is(event_store.stream_exists(), -2::bigint, 'stream_exists() is -2');

-- C functions live in the extension's library
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'event_store'::regnamespace
       AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
       AND p.probin <> '$libdir/event_store' $$,
    'every C function is in $libdir/event_store');

-- no function can be hijacked: SQL and PL/pgSQL bodies pin search_path or
-- are SQL-standard bodies (parsed at creation)
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'event_store'::regnamespace
       AND p.prolang IN (SELECT oid FROM pg_language WHERE lanname IN ('sql', 'plpgsql'))
       AND p.prosqlbody IS NULL
       AND NOT coalesce(array_to_string(p.proconfig, ',') LIKE '%search_path=%', false) $$,
    'every SQL or PL/pgSQL function pins search_path or has a parsed body');

-- every function has a COMMENT
SELECT is_empty($$
    SELECT p.oid::regprocedure::text FROM pg_proc p
     WHERE p.pronamespace = 'event_store'::regnamespace
       AND coalesce(obj_description(p.oid, 'pg_proc'), '') = '' $$,
    'every function has a COMMENT');
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c
     WHERE c.relnamespace = 'event_store'::regnamespace AND c.relkind = 'r'
       AND coalesce(obj_description(c.oid, 'pg_class'), '') = '' $$,
    'every table has a COMMENT');
SELECT is(obj_description('event_store.stream_hash(text)'::regprocedure, 'pg_proc') LIKE '%md5%', true,
          'stream_hash documents its algorithm in its COMMENT');

-- streams listing and the status views: the columns SPEC lists, in order
SELECT is(pg_get_function_result('event_store.list_streams(text,text,integer)'::regprocedure),
          'TABLE(stream_name text, category text, stream_version bigint, created_at timestamp with time zone, last_appended_at timestamp with time zone, deleted text)',
          'list_streams returns the columns SPEC lists');
SELECT is((SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
             FROM pg_attribute WHERE attrelid = 'event_store.stream_details'::regclass),
          'stream_name text, category text, stream_version bigint, created_at timestamp with time zone, last_appended_at timestamp with time zone, deleted text, max_count bigint, max_age interval, truncate_before bigint',
          'stream_info returns those and max_count, max_age, truncate_before');
SELECT is(pg_get_function_result('event_store.receive_events(text,text,integer)'::regprocedure),
          'TABLE(global_position bigint, stream_name text, stream_version bigint, event_id uuid, event_type text, data jsonb, metadata jsonb, causation_id uuid, correlation_id uuid, created_at timestamp with time zone, retry_count integer)',
          'receive_events returns the recorded_event columns and retry_count');
SELECT views_are('event_store', ARRAY['category_summary', 'subscription_status', 'slot_status']);
SELECT columns_are('event_store', 'category_summary', ARRAY['category', 'streams', 'events', 'last_position']);
SELECT columns_are('event_store', 'subscription_status', ARRAY['name', 'kind', 'source', 'checkpoint',
                   'lag_events', 'lag_seconds', 'in_flight', 'parked']);
SELECT columns_are('event_store', 'slot_status', ARRAY['slot_name', 'active', 'lag_bytes', 'lag_seconds']);

SELECT * FROM finish();
ROLLBACK;
