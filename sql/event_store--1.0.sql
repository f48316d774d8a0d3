/* event_store--1.0.sql: the schema and API of event_store 1.0 */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION event_store" to load this file. \quit

-- Every object below lives in the schema named by event_store.control.  Function
-- bodies schema-qualify what they touch and pin search_path, so nothing a caller
-- puts on its own search_path can change what they do.

------------------------------------------------------------------------------
-- Sequences
------------------------------------------------------------------------------

-- CACHE 1 is part of the no-gap protocol (docs/concepts.md): positions must be
-- handed out in the order they are drawn, cluster-wide, and never pre-allocated
-- to a backend in blocks.
CREATE SEQUENCE event_store.global_position_seq
    AS bigint
    START WITH 1
    MINVALUE 1
    CACHE 1
    NO CYCLE;
COMMENT ON SEQUENCE event_store.global_position_seq IS
    'source of events.global_position: the $all order (CACHE 1: see docs/concepts.md)';

CREATE SEQUENCE event_store.stream_id_seq
    AS bigint
    START WITH 1
    MINVALUE 1
    NO CYCLE;
COMMENT ON SEQUENCE event_store.stream_id_seq IS
    'source of streams.stream_id';

------------------------------------------------------------------------------
-- Tables
------------------------------------------------------------------------------

CREATE TABLE event_store.streams (
    stream_id bigint NOT NULL DEFAULT nextval('event_store.stream_id_seq'),
    stream_name text COLLATE "C" NOT NULL,
    category text COLLATE "C" NOT NULL,
    stream_version bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_version bigint,
    tombstoned_at timestamptz,
    max_count bigint,
    max_age interval,
    truncate_before bigint,
    CONSTRAINT streams_pkey PRIMARY KEY (stream_id),
    CONSTRAINT streams_stream_name_key UNIQUE (stream_name),
    CONSTRAINT streams_stream_name_check CHECK (octet_length(stream_name) BETWEEN 1 AND 1024),
    CONSTRAINT streams_stream_version_check CHECK (stream_version >= 0),
    CONSTRAINT streams_max_count_check CHECK (max_count > 0),
    CONSTRAINT streams_truncate_before_check CHECK (truncate_before > 0)
);
COMMENT ON TABLE event_store.streams IS
    'one row per stream: its current version, deletion state and retention limits';
COMMENT ON COLUMN event_store.streams.category IS
    'the part of the name before the first "-", or the whole name';
COMMENT ON COLUMN event_store.streams.stream_version IS
    'the stream''s version when this row was last written (creation, deletion, scavenging); appends do not update it: the current version is event_store.stream_version(name)';
COMMENT ON COLUMN event_store.streams.deleted_version IS
    'soft delete mark: events up to this version are hidden from stream reads';
COMMENT ON COLUMN event_store.streams.tombstoned_at IS
    'set by a hard delete: the name can never be used again';

CREATE TABLE event_store.events (
    global_position bigint NOT NULL,
    stream_name text COLLATE "C" NOT NULL,
    category text COLLATE "C" NOT NULL,
    stream_version bigint NOT NULL,
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    data jsonb,
    metadata jsonb,
    causation_id uuid,
    correlation_id uuid,
    created_at timestamptz NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (global_position),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_name, stream_version)
);
-- No CHECK constraints on events: append_to_stream guarantees versions from 1,
-- and the executor would re-parse a CHECK expression on every append.
COMMENT ON TABLE event_store.events IS
    'the log: every appended event, in $all order by global_position (append-only)';
COMMENT ON COLUMN event_store.events.category IS
    'copied from the stream so that publication row filters and the decoding plugin need no lookup';

-- read_category_forward walks one category in $all order.
CREATE INDEX events_category_position_idx
    ON event_store.events (category, global_position);

CREATE TABLE event_store.snapshots (
    source_id text NOT NULL,
    source_version bigint NOT NULL,
    source_type text NOT NULL,
    data jsonb NOT NULL,
    metadata jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT snapshots_pkey PRIMARY KEY (source_id)
);
COMMENT ON TABLE event_store.snapshots IS
    'the latest snapshot of each source (an aggregate, a projection)';

CREATE TABLE event_store.subscriptions (
    subscription_name text NOT NULL,
    source text NOT NULL,
    checkpoint bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_pkey PRIMARY KEY (subscription_name),
    CONSTRAINT subscriptions_checkpoint_check CHECK (checkpoint >= 0)
);
COMMENT ON TABLE event_store.subscriptions IS
    'durable subscriptions: what each follows ($all, a stream, $ce-<category>) and its checkpoint';
COMMENT ON COLUMN event_store.subscriptions.checkpoint IS
    'the last acknowledged global position; never moves backwards';

-- pg_dump does not dump the contents of extension tables unless told to.
SELECT pg_catalog.pg_extension_config_dump('event_store.streams', '');
SELECT pg_catalog.pg_extension_config_dump('event_store.events', '');
SELECT pg_catalog.pg_extension_config_dump('event_store.snapshots', '');
SELECT pg_catalog.pg_extension_config_dump('event_store.subscriptions', '');
SELECT pg_catalog.pg_extension_config_dump('event_store.global_position_seq', '');
SELECT pg_catalog.pg_extension_config_dump('event_store.stream_id_seq', '');

------------------------------------------------------------------------------
-- Types
------------------------------------------------------------------------------

CREATE TYPE event_store.new_event AS (
    event_id uuid,
    event_type text,
    data jsonb,
    metadata jsonb,
    causation_id uuid,
    correlation_id uuid
);
COMMENT ON TYPE event_store.new_event IS
    'an event to append; a NULL event_id gets a UUID version 7';

CREATE TYPE event_store.recorded_event AS (
    global_position bigint,
    stream_name text,
    stream_version bigint,
    event_id uuid,
    event_type text,
    data jsonb,
    metadata jsonb,
    causation_id uuid,
    correlation_id uuid,
    created_at timestamptz
);
COMMENT ON TYPE event_store.recorded_event IS
    'an event as the read functions return it';

------------------------------------------------------------------------------
-- Constants and helpers
------------------------------------------------------------------------------

CREATE FUNCTION event_store.no_stream() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN 0;
COMMENT ON FUNCTION event_store.no_stream() IS
    'expected version: the stream must not exist yet (0)';

CREATE FUNCTION event_store.any_version() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN -1;
COMMENT ON FUNCTION event_store.any_version() IS
    'expected version: no check (-1)';

CREATE FUNCTION event_store.stream_exists() RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN -2;
COMMENT ON FUNCTION event_store.stream_exists() IS
    'expected version: the stream must already exist (-2)';

CREATE FUNCTION event_store.event(
    event_type text,
    data jsonb,
    metadata jsonb DEFAULT NULL,
    event_id uuid DEFAULT NULL,
    causation_id uuid DEFAULT NULL,
    correlation_id uuid DEFAULT NULL)
RETURNS event_store.new_event
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN ROW(event_id, event_type, data, metadata, causation_id, correlation_id)::event_store.new_event;
COMMENT ON FUNCTION event_store.event(text, jsonb, jsonb, uuid, uuid, uuid) IS
    'builds an event_store.new_event';

CREATE FUNCTION event_store.stream_hash(stream_name text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'es_stream_hash'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION event_store.stream_hash(text) IS
    'consumer-group hash of a stream name: the first 8 bytes of md5(name) as a big-endian integer, shifted right by one bit (never changes)';

CREATE FUNCTION event_store.uuid_generate_v7() RETURNS uuid
    AS 'MODULE_PATHNAME', 'es_uuid_generate_v7'
    LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION event_store.uuid_generate_v7() IS
    'a time-ordered UUID (RFC 9562 version 7), as given to events appended without an id';

------------------------------------------------------------------------------
-- Writing
------------------------------------------------------------------------------

CREATE FUNCTION event_store.append_to_stream(
    stream_name text,
    expected_version bigint,
    events event_store.new_event[])
RETURNS bigint
    AS 'MODULE_PATHNAME', 'es_append_to_stream'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION event_store.append_to_stream(text, bigint, event_store.new_event[]) IS
    'appends a batch of events atomically and returns the stream''s new version';

------------------------------------------------------------------------------
-- Reading
------------------------------------------------------------------------------

CREATE FUNCTION event_store.read_stream_forward(
    stream_name text,
    from_version bigint DEFAULT 1,
    max_count integer DEFAULT 1000)
RETURNS SETOF event_store.recorded_event
    AS 'MODULE_PATHNAME', 'es_read_stream_forward'
    LANGUAGE C VOLATILE ROWS 1000;
COMMENT ON FUNCTION event_store.read_stream_forward(text, bigint, integer) IS
    'events of one stream in version order, from from_version on';

CREATE FUNCTION event_store.read_stream_backward(
    stream_name text,
    from_version bigint DEFAULT NULL,
    max_count integer DEFAULT 1000)
RETURNS SETOF event_store.recorded_event
    AS 'MODULE_PATHNAME', 'es_read_stream_backward'
    LANGUAGE C VOLATILE ROWS 1000;
COMMENT ON FUNCTION event_store.read_stream_backward(text, bigint, integer) IS
    'events of one stream in reverse version order, from from_version (NULL: the end) down';

CREATE FUNCTION event_store.read_all_forward(
    from_position bigint DEFAULT 1,
    max_count integer DEFAULT 1000)
RETURNS SETOF event_store.recorded_event
    AS 'MODULE_PATHNAME', 'es_read_all_forward'
    LANGUAGE C VOLATILE ROWS 1000;
COMMENT ON FUNCTION event_store.read_all_forward(bigint, integer) IS
    'the $all log from from_position on, never past a position that a lower one can still precede';

CREATE FUNCTION event_store.read_category_forward(
    category text,
    from_position bigint DEFAULT 1,
    max_count integer DEFAULT 1000,
    group_member integer DEFAULT NULL,
    group_size integer DEFAULT NULL)
RETURNS SETOF event_store.recorded_event
    AS 'MODULE_PATHNAME', 'es_read_category_forward'
    LANGUAGE C VOLATILE ROWS 1000;
COMMENT ON FUNCTION event_store.read_category_forward(text, bigint, integer, integer, integer) IS
    'the events of one category in $all order, gap-free; with a consumer group, member k of n gets the streams whose stream_hash mod n = k';

CREATE FUNCTION event_store.stream_version(stream_name text) RETURNS bigint
    AS 'MODULE_PATHNAME', 'es_stream_version'
    LANGUAGE C STABLE;
COMMENT ON FUNCTION event_store.stream_version(text) IS
    'the current version of a stream; 0 when it does not exist';

------------------------------------------------------------------------------
-- Snapshots
------------------------------------------------------------------------------

CREATE FUNCTION event_store.record_snapshot(
    source_id text,
    source_version bigint,
    source_type text,
    data jsonb,
    metadata jsonb DEFAULT NULL)
RETURNS void
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
BEGIN
    IF source_id IS NULL OR source_id = '' THEN
        RAISE EXCEPTION 'snapshot source_id must not be empty'
            USING ERRCODE = 'ES004';
    END IF;
    IF source_version IS NULL OR source_version < 0 THEN
        RAISE EXCEPTION 'invalid source_version for snapshot "%"', source_id
            USING ERRCODE = 'ES004',
                  DETAIL = format('The version must be 0 or more, but is %s.', coalesce(source_version::text, 'NULL'));
    END IF;
    IF source_type IS NULL OR data IS NULL THEN
        RAISE EXCEPTION 'snapshot "%" needs a source_type and data', source_id
            USING ERRCODE = 'ES004';
    END IF;

    INSERT INTO event_store.snapshots AS s
           (source_id, source_version, source_type, data, metadata, created_at)
    VALUES (record_snapshot.source_id, record_snapshot.source_version,
            record_snapshot.source_type, record_snapshot.data,
            record_snapshot.metadata, pg_catalog.now())
    ON CONFLICT ON CONSTRAINT snapshots_pkey DO UPDATE
       SET source_version = excluded.source_version,
           source_type = excluded.source_type,
           data = excluded.data,
           metadata = excluded.metadata,
           created_at = excluded.created_at;
END
$$;
COMMENT ON FUNCTION event_store.record_snapshot(text, bigint, text, jsonb, jsonb) IS
    'records the snapshot of a source, replacing the previous one';

CREATE FUNCTION event_store.read_snapshot(source_id text)
RETURNS event_store.snapshots
    LANGUAGE sql STABLE
    SET search_path = event_store, pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT s.* FROM event_store.snapshots s WHERE s.source_id = read_snapshot.source_id;
END;
COMMENT ON FUNCTION event_store.read_snapshot(text) IS
    'the latest snapshot of a source, or NULL when there is none';

CREATE FUNCTION event_store.delete_snapshot(source_id text) RETURNS boolean
    LANGUAGE sql
    SET search_path = event_store, pg_catalog, pg_temp
BEGIN ATOMIC
    WITH d AS (
        DELETE FROM event_store.snapshots s
         WHERE s.source_id = delete_snapshot.source_id
        RETURNING 1)
    SELECT count(*) > 0 FROM d;
END;
COMMENT ON FUNCTION event_store.delete_snapshot(text) IS
    'deletes the snapshot of a source; true if there was one';

------------------------------------------------------------------------------
-- Subscriptions
------------------------------------------------------------------------------

CREATE FUNCTION event_store.create_subscription(
    name text,
    source text DEFAULT '$all',
    start_from bigint DEFAULT 0)
RETURNS event_store.subscriptions
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    result event_store.subscriptions;
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'subscription name must not be empty'
            USING ERRCODE = 'ES004';
    END IF;
    IF source IS NULL OR source = '' OR source = '$ce-'
       OR (source LIKE '$%' AND source <> '$all' AND source NOT LIKE '$ce-%') THEN
        RAISE EXCEPTION 'invalid source for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = format('The source is %s.', coalesce(quote_literal(source), 'NULL')),
                  HINT = 'Use ''$all'', a stream name, or ''$ce-<category>''.';
    END IF;
    IF start_from IS NULL OR start_from < 0 THEN
        RAISE EXCEPTION 'invalid start position for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = format('The start position must be 0 or more, but is %s.', coalesce(start_from::text, 'NULL'));
    END IF;

    INSERT INTO event_store.subscriptions AS s (subscription_name, source, checkpoint)
    VALUES (name, source, start_from)
    ON CONFLICT ON CONSTRAINT subscriptions_pkey DO NOTHING
    RETURNING s.* INTO result;

    IF NOT FOUND THEN
        -- Creating an existing subscription again is how adapters resume it,
        -- as long as it follows the same source.
        SELECT s.* INTO result
          FROM event_store.subscriptions s
         WHERE s.subscription_name = name;
        IF result.source <> source THEN
            RAISE EXCEPTION 'subscription "%" already exists with another source', name
                USING ERRCODE = 'ES004',
                      DETAIL = format('It follows %s, not %s.', quote_literal(result.source), quote_literal(source));
        END IF;
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION event_store.create_subscription(text, text, bigint) IS
    'creates a durable subscription to $all, a stream or $ce-<category>; returns the existing one if it is already there';

CREATE FUNCTION event_store.read_subscription(name text, max_count integer DEFAULT 100)
RETURNS SETOF event_store.recorded_event
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    sub event_store.subscriptions;
BEGIN
    SELECT s.* INTO sub
      FROM event_store.subscriptions s
     WHERE s.subscription_name = name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'subscription "%" does not exist', name
            USING ERRCODE = 'ES004';
    END IF;
    IF max_count IS NULL OR max_count <= 0 THEN
        RAISE EXCEPTION 'invalid max_count for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = format('max_count must be at least 1, but is %s.', coalesce(max_count::text, 'NULL'));
    END IF;

    IF sub.checkpoint = 9223372036854775807 THEN
        RETURN;                 -- nothing can come after the last position
    END IF;

    IF sub.source = '$all' THEN
        RETURN QUERY
            SELECT * FROM event_store.read_all_forward(sub.checkpoint + 1, max_count);
    ELSIF sub.source LIKE '$ce-%' THEN
        RETURN QUERY
            SELECT * FROM event_store.read_category_forward(substr(sub.source, 5), sub.checkpoint + 1, max_count);
    ELSE
        -- A stream's events commit in version order (appends to it hold its
        -- lock until commit), so what a snapshot sees of it has no holes.
        RETURN QUERY
            SELECT e.global_position, e.stream_name, e.stream_version, e.event_id,
                   e.event_type, e.data, e.metadata, e.causation_id,
                   e.correlation_id, e.created_at
              FROM event_store.events e
             WHERE e.stream_name = sub.source
               AND e.global_position > sub.checkpoint
             ORDER BY e.stream_version
             LIMIT max_count;
    END IF;
END
$$;
COMMENT ON FUNCTION event_store.read_subscription(text, integer) IS
    'the next events after the subscription''s checkpoint, gap-free';

CREATE FUNCTION event_store.ack(name text, global_position bigint) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    result bigint;
BEGIN
    IF global_position IS NULL OR global_position < 0 THEN
        RAISE EXCEPTION 'invalid position to acknowledge for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = format('The position must be 0 or more, but is %s.', coalesce(global_position::text, 'NULL'));
    END IF;

    -- GREATEST (syntax, not a function: nothing to hijack) keeps the
    -- checkpoint monotonic even when acks race or arrive late.
    UPDATE event_store.subscriptions s
       SET checkpoint = GREATEST(s.checkpoint, ack.global_position),
           updated_at = pg_catalog.now()
     WHERE s.subscription_name = name
    RETURNING s.checkpoint INTO result;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'subscription "%" does not exist', name
            USING ERRCODE = 'ES004';
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION event_store.ack(text, bigint) IS
    'moves a subscription''s checkpoint forward (an older position is ignored); returns the checkpoint in force';

CREATE FUNCTION event_store.delete_subscription(name text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
BEGIN
    DELETE FROM event_store.subscriptions s WHERE s.subscription_name = name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'subscription "%" does not exist', name
            USING ERRCODE = 'ES004';
    END IF;
END
$$;
COMMENT ON FUNCTION event_store.delete_subscription(text) IS
    'deletes a subscription and its checkpoint';

------------------------------------------------------------------------------
-- Access
------------------------------------------------------------------------------

-- The three levels.  They are SECURITY INVOKER: only a role that may grant on
-- the extension's objects (its owner, a superuser) can hand them out.

CREATE FUNCTION event_store.grant_reader(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'ES004';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA event_store TO %s', role);
    EXECUTE format('GRANT SELECT ON event_store.events, event_store.streams, '
                   'event_store.snapshots, event_store.subscriptions TO %s', role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION '
                   'event_store.no_stream(), event_store.any_version(), '
                   'event_store.stream_exists(), '
                   'event_store.event(text, jsonb, jsonb, uuid, uuid, uuid), '
                   'event_store.stream_hash(text), event_store.uuid_generate_v7(), '
                   'event_store.read_stream_forward(text, bigint, integer), '
                   'event_store.read_stream_backward(text, bigint, integer), '
                   'event_store.read_all_forward(bigint, integer), '
                   'event_store.read_category_forward(text, bigint, integer, integer, integer), '
                   'event_store.stream_version(text), '
                   'event_store.read_snapshot(text) TO %s', role);
END
$$;
COMMENT ON FUNCTION event_store.grant_reader(regrole) IS
    'lets a role read streams, $all, categories and snapshots';

CREATE FUNCTION event_store.grant_writer(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'ES004';
    END IF;
    PERFORM event_store.grant_reader(role);
    -- INSERT only: events stay append-only for writers.
    EXECUTE format('GRANT INSERT ON event_store.events TO %s', role);
    EXECUTE format('GRANT INSERT, UPDATE ON event_store.streams TO %s', role);
    EXECUTE format('GRANT INSERT, UPDATE, DELETE ON event_store.snapshots, '
                   'event_store.subscriptions TO %s', role);
    EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE event_store.global_position_seq, '
                   'event_store.stream_id_seq TO %s', role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION '
                   'event_store.append_to_stream(text, bigint, event_store.new_event[]), '
                   'event_store.record_snapshot(text, bigint, text, jsonb, jsonb), '
                   'event_store.delete_snapshot(text), '
                   'event_store.create_subscription(text, text, bigint), '
                   'event_store.read_subscription(text, integer), '
                   'event_store.ack(text, bigint), '
                   'event_store.delete_subscription(text) TO %s', role);
END
$$;
COMMENT ON FUNCTION event_store.grant_writer(regrole) IS
    'lets a role read, append, and use snapshots and subscriptions';

CREATE FUNCTION event_store.grant_admin(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'ES004';
    END IF;
    PERFORM event_store.grant_writer(role);
    -- DELETE is for deleting streams and scavenging; nobody UPDATEs events.
    EXECUTE format('GRANT DELETE ON event_store.events, event_store.streams TO %s', role);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA event_store TO %s', role);
    -- Handing out levels stays with the owner: for anyone else GRANT would
    -- only warn and grant nothing.
    EXECUTE format('REVOKE EXECUTE ON FUNCTION event_store.grant_reader(regrole), '
                   'event_store.grant_writer(regrole), event_store.grant_admin(regrole) '
                   'FROM %s', role);
END
$$;
COMMENT ON FUNCTION event_store.grant_admin(regrole) IS
    'gives a role every level of access, deleting streams and scavenging included';

-- Extension functions are executable by PUBLIC unless revoked; nothing here is.
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA event_store FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA event_store FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA event_store FROM PUBLIC;
REVOKE ALL ON SCHEMA event_store FROM PUBLIC;
