-- schema: the tables, their columns and types, keys, the indexes the reads
-- need, the sequences (CACHE 1 for positions), pg_dump registration, and a
-- COMMENT on every table.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;

SELECT plan(91);

-- the extension and its schema
SELECT has_extension('event_store');
SELECT has_schema('event_store');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'event_store'), false,
          'event_store is not relocatable');
SELECT is((SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'event_store'),
          'event_store', 'the extension lives in schema event_store');
SELECT tables_are('event_store', ARRAY['streams', 'events', 'snapshots', 'subscriptions',
                                       'persistent_subscriptions', 'persistent_events', 'access_levels']);
SELECT sequences_are('event_store', ARRAY['global_position_seq', 'stream_id_seq']);

-- events
SELECT columns_are('event_store', 'events', ARRAY[
    'global_position', 'stream_name', 'category', 'stream_version', 'event_id', 'event_type',
    'data', 'metadata', 'causation_id', 'correlation_id', 'created_at']);
SELECT col_type_is('event_store', 'events', 'global_position', 'bigint', 'events.global_position is bigint');
SELECT col_type_is('event_store', 'events', 'stream_name', 'text', 'events.stream_name is text');
SELECT col_type_is('event_store', 'events', 'category', 'text', 'events.category is text');
SELECT col_type_is('event_store', 'events', 'stream_version', 'bigint', 'events.stream_version is bigint');
SELECT col_type_is('event_store', 'events', 'event_id', 'uuid', 'events.event_id is uuid');
SELECT col_type_is('event_store', 'events', 'event_type', 'text', 'events.event_type is text');
SELECT col_type_is('event_store', 'events', 'data', 'jsonb', 'events.data is jsonb');
SELECT col_type_is('event_store', 'events', 'metadata', 'jsonb', 'events.metadata is jsonb');
SELECT col_type_is('event_store', 'events', 'causation_id', 'uuid', 'events.causation_id is uuid');
SELECT col_type_is('event_store', 'events', 'correlation_id', 'uuid', 'events.correlation_id is uuid');
SELECT col_type_is('event_store', 'events', 'created_at', 'timestamp with time zone', 'events.created_at is timestamptz');
SELECT col_not_null('event_store', 'events', 'global_position', 'events.global_position is NOT NULL');
SELECT col_not_null('event_store', 'events', 'stream_name', 'events.stream_name is NOT NULL');
SELECT col_not_null('event_store', 'events', 'category', 'events.category is NOT NULL');
SELECT col_not_null('event_store', 'events', 'stream_version', 'events.stream_version is NOT NULL');
SELECT col_not_null('event_store', 'events', 'event_id', 'events.event_id is NOT NULL');
SELECT col_not_null('event_store', 'events', 'event_type', 'events.event_type is NOT NULL');
SELECT col_not_null('event_store', 'events', 'created_at', 'events.created_at is NOT NULL');
SELECT col_is_null('event_store', 'events', 'data', 'events.data may be NULL');
SELECT col_is_null('event_store', 'events', 'metadata', 'events.metadata may be NULL');
SELECT col_is_pk('event_store', 'events', ARRAY['global_position'], 'events has PRIMARY KEY (global_position)');

-- the indexes the reads need
SELECT has_index('event_store', 'events', 'events_pkey', ARRAY['global_position'],
                 'events is indexed by global_position ($all)');
SELECT index_is_unique('event_store', 'events', 'events_pkey');
SELECT has_index('event_store', 'events', 'events_stream_version_key', ARRAY['stream_name', 'stream_version'],
                 'events is indexed by (stream_name, stream_version) (stream reads)');
SELECT index_is_unique('event_store', 'events', 'events_stream_version_key');
SELECT has_index('event_store', 'events', 'events_category_position_idx', ARRAY['category', 'global_position'],
                 'events is indexed by (category, global_position) (category reads)');
SELECT has_index('event_store', 'events', 'events_type_position_idx', ARRAY['event_type', 'global_position'],
                 'events is indexed by (event_type, global_position) (type filters)');
SELECT has_index('event_store', 'events', 'events_event_id_key', ARRAY['event_id'],
                 'events is indexed by event_id (retries, duplicates)');
SELECT index_is_unique('event_store', 'events', 'events_event_id_key');
SELECT is((SELECT count(*)::int FROM pg_index i
            WHERE i.indrelid = 'event_store.events'::regclass AND i.indisvalid AND i.indisunique),
          3, 'events has three unique indexes: position, (stream, version), event id');

-- streams
SELECT columns_are('event_store', 'streams', ARRAY[
    'stream_id', 'stream_name', 'category', 'stream_version', 'created_at',
    'deleted_version', 'tombstoned_at', 'max_count', 'max_age', 'truncate_before']);
SELECT col_type_is('event_store', 'streams', 'stream_id', 'bigint', 'streams.stream_id is bigint');
SELECT col_type_is('event_store', 'streams', 'stream_name', 'text', 'streams.stream_name is text');
SELECT col_type_is('event_store', 'streams', 'category', 'text', 'streams.category is text');
SELECT col_type_is('event_store', 'streams', 'stream_version', 'bigint', 'streams.stream_version is bigint');
SELECT col_type_is('event_store', 'streams', 'created_at', 'timestamp with time zone', 'streams.created_at is timestamptz');
SELECT col_type_is('event_store', 'streams', 'max_count', 'bigint', 'streams.max_count is bigint');
SELECT col_type_is('event_store', 'streams', 'max_age', 'interval', 'streams.max_age is interval');
SELECT col_type_is('event_store', 'streams', 'truncate_before', 'bigint', 'streams.truncate_before is bigint');
SELECT col_not_null('event_store', 'streams', 'stream_name', 'streams.stream_name is NOT NULL');
SELECT col_not_null('event_store', 'streams', 'stream_version', 'streams.stream_version is NOT NULL');
SELECT col_default_is('event_store', 'streams', 'stream_version', '0', 'a new stream is at version 0');
SELECT col_is_pk('event_store', 'streams', ARRAY['stream_id'], 'streams has PRIMARY KEY (stream_id)');
SELECT col_is_unique('event_store', 'streams', ARRAY['stream_name'], 'streams.stream_name is unique');
SELECT is((SELECT collation_name::text FROM information_schema.columns
            WHERE table_schema = 'event_store' AND table_name = 'streams' AND column_name = 'stream_name'),
          'C', 'stream names compare byte-wise (COLLATE "C")');
SELECT is((SELECT collation_name::text FROM information_schema.columns
            WHERE table_schema = 'event_store' AND table_name = 'events' AND column_name = 'stream_name'),
          'C', 'events.stream_name compares byte-wise (COLLATE "C")');
SELECT is((SELECT count(*)::int FROM pg_constraint
            WHERE conrelid = 'event_store.streams'::regclass AND contype = 'c'
              AND pg_get_constraintdef(oid) LIKE '%octet_length(stream_name)%1024%'),
          1, 'stream names are 1 to 1024 bytes (CHECK)');

-- snapshots
SELECT columns_are('event_store', 'snapshots', ARRAY[
    'source_id', 'source_version', 'source_type', 'data', 'metadata', 'created_at']);
SELECT col_type_is('event_store', 'snapshots', 'source_id', 'text', 'snapshots.source_id is text');
SELECT col_type_is('event_store', 'snapshots', 'source_version', 'bigint', 'snapshots.source_version is bigint');
SELECT col_type_is('event_store', 'snapshots', 'source_type', 'text', 'snapshots.source_type is text');
SELECT col_type_is('event_store', 'snapshots', 'data', 'jsonb', 'snapshots.data is jsonb');
SELECT col_type_is('event_store', 'snapshots', 'metadata', 'jsonb', 'snapshots.metadata is jsonb');
SELECT col_type_is('event_store', 'snapshots', 'created_at', 'timestamp with time zone', 'snapshots.created_at is timestamptz');
SELECT col_is_pk('event_store', 'snapshots', ARRAY['source_id'], 'snapshots has PRIMARY KEY (source_id): one per source');

-- subscriptions
SELECT columns_are('event_store', 'subscriptions', ARRAY[
    'subscription_name', 'source', 'checkpoint', 'created_at', 'updated_at',
    'event_types', 'stream_prefix']);
SELECT col_type_is('event_store', 'subscriptions', 'event_types', 'text[]', 'subscriptions.event_types is text[]');
SELECT col_type_is('event_store', 'subscriptions', 'stream_prefix', 'text', 'subscriptions.stream_prefix is text');
SELECT col_type_is('event_store', 'subscriptions', 'subscription_name', 'text', 'subscriptions.subscription_name is text');
SELECT col_type_is('event_store', 'subscriptions', 'source', 'text', 'subscriptions.source is text');
SELECT col_type_is('event_store', 'subscriptions', 'checkpoint', 'bigint', 'subscriptions.checkpoint is bigint');
SELECT col_type_is('event_store', 'subscriptions', 'created_at', 'timestamp with time zone', 'subscriptions.created_at is timestamptz');
SELECT col_type_is('event_store', 'subscriptions', 'updated_at', 'timestamp with time zone', 'subscriptions.updated_at is timestamptz');
SELECT col_not_null('event_store', 'subscriptions', 'checkpoint', 'subscriptions.checkpoint is NOT NULL');
SELECT col_default_is('event_store', 'subscriptions', 'checkpoint', '0', 'a checkpoint starts at 0');
SELECT col_is_pk('event_store', 'subscriptions', ARRAY['subscription_name'], 'subscriptions has PRIMARY KEY (subscription_name)');

-- every table has a primary key (logical replication needs one)
SELECT is_empty($$
    SELECT c.relname FROM pg_class c
     WHERE c.relnamespace = 'event_store'::regnamespace AND c.relkind = 'r'
       AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype = 'p') $$,
    'every table has a primary key');

-- sequences: positions are handed out one at a time, in order (CACHE 1)
SELECT has_sequence('event_store', 'global_position_seq', 'sequence global_position_seq exists');
SELECT has_sequence('event_store', 'stream_id_seq', 'sequence stream_id_seq exists');
SELECT is((SELECT seqcache FROM pg_sequence WHERE seqrelid = 'event_store.global_position_seq'::regclass),
          1::bigint, 'global_position_seq has CACHE 1');
SELECT is((SELECT seqcache FROM pg_sequence WHERE seqrelid = 'event_store.stream_id_seq'::regclass),
          1::bigint, 'stream_id_seq has CACHE 1');
SELECT is((SELECT seqstart FROM pg_sequence WHERE seqrelid = 'event_store.global_position_seq'::regclass),
          1::bigint, 'positions start at 1');
SELECT is((SELECT seqincrement FROM pg_sequence WHERE seqrelid = 'event_store.global_position_seq'::regclass),
          1::bigint, 'positions go up by 1');
SELECT is((SELECT seqcycle FROM pg_sequence WHERE seqrelid = 'event_store.global_position_seq'::regclass),
          false, 'positions never cycle');
SELECT is((SELECT seqtypid::regtype::text FROM pg_sequence WHERE seqrelid = 'event_store.global_position_seq'::regclass),
          'bigint', 'positions are bigint');

-- pg_dump: every table and sequence is registered with pg_extension_config_dump
SELECT set_eq(
    $$ SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'event_store' $$,
    $$ SELECT c.oid::regclass::text FROM pg_class c
        WHERE c.relnamespace = 'event_store'::regnamespace AND c.relkind IN ('r', 'S')
          AND c.relname <> 'access_levels' $$,
    'every table and sequence is in pg_extension.extconfig (access_levels: its rows come from the scripts)');
SELECT is((SELECT array_length(extconfig, 1) FROM pg_extension WHERE extname = 'event_store'),
          8, 'extconfig lists 6 tables and 2 sequences');
SELECT is((SELECT count(*)::int FROM pg_extension, unnest(extcondition) c
            WHERE extname = 'event_store' AND c <> ''),
          0, 'every registered table is dumped whole (no WHERE condition)');

-- the composite types
SELECT has_composite('event_store', 'new_event', 'type new_event exists');
SELECT has_composite('event_store', 'recorded_event', 'type recorded_event exists');
SELECT is(
    (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
       FROM pg_attribute WHERE attrelid = 'event_store.new_event'::regclass AND attnum > 0),
    'event_id uuid, event_type text, data jsonb, metadata jsonb, causation_id uuid, correlation_id uuid',
    'new_event has the columns of SPEC, in order');
SELECT is(
    (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
       FROM pg_attribute WHERE attrelid = 'event_store.recorded_event'::regclass AND attnum > 0),
    'global_position bigint, stream_name text, stream_version bigint, event_id uuid, event_type text, '
    'data jsonb, metadata jsonb, causation_id uuid, correlation_id uuid, created_at timestamp with time zone',
    'recorded_event has the columns of SPEC, in order');

-- comments: every table, sequence and type says what it is
SELECT is_empty($$
    SELECT c.oid::regclass::text FROM pg_class c
     WHERE c.relnamespace = 'event_store'::regnamespace AND c.relkind IN ('r', 'S')
       AND coalesce(obj_description(c.oid, 'pg_class'), '') = '' $$,
    'every table and sequence has a COMMENT');
SELECT is_empty($$
    SELECT t.typname FROM pg_type t
     WHERE t.typnamespace = 'event_store'::regnamespace AND t.typtype = 'c'
       AND t.typrelid IN (SELECT oid FROM pg_class WHERE relkind = 'c')
       AND coalesce(obj_description(t.oid, 'pg_type'), '') = '' $$,
    'every composite type has a COMMENT');

SELECT * FROM finish();
ROLLBACK;
