/* event_store--1.1--1.2.sql: version 1.2 (see docs/api.md and CHANGELOG.md) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION event_store UPDATE TO '1.2'" to load this file. \quit

-- Sections, one per change, in the order they were added.  Append a new
-- section at the end rather than editing another's.

-- ==== issue 12 (h12b): streams listing, status views, persistent subscriptions ====

------------------------------------------------------------------------------
-- Persistent subscriptions: their tables (the functions are further down)
------------------------------------------------------------------------------

-- A persistent subscription is a row of event_store.subscriptions (so names
-- share one namespace with create_subscription, and the checkpoint lives in
-- the same column) plus a row here.
CREATE TABLE event_store.persistent_subscriptions (
    subscription_name text NOT NULL,
    strategy text NOT NULL,
    max_retry_count integer NOT NULL,
    message_timeout interval NOT NULL,
    event_types text[],
    stream_prefix text,
    read_position bigint NOT NULL,
    CONSTRAINT persistent_subscriptions_pkey PRIMARY KEY (subscription_name),
    CONSTRAINT persistent_subscriptions_strategy_check
        CHECK (strategy IN ('pinned', 'round_robin')),
    CONSTRAINT persistent_subscriptions_max_retry_count_check CHECK (max_retry_count >= 0),
    CONSTRAINT persistent_subscriptions_message_timeout_check CHECK (message_timeout > '0'),
    CONSTRAINT persistent_subscriptions_read_position_check CHECK (read_position >= 0)
);
COMMENT ON TABLE event_store.persistent_subscriptions IS
    'the settings of each persistent (competing-consumer) subscription; its name, source and checkpoint are in event_store.subscriptions';
COMMENT ON COLUMN event_store.persistent_subscriptions.read_position IS
    'every event of the source up to this position has been taken into persistent_events (or did not match the filter)';

-- One row per event taken from the log and not yet done: leased to a
-- consumer (consumer and leased_until set), waiting (consumer NULL), or
-- parked (parked_at set).  Acked and skipped events are deleted, so the
-- table stays as small as the work in progress.
CREATE TABLE event_store.persistent_events (
    subscription_name text NOT NULL,
    global_position bigint NOT NULL,
    stream_name text COLLATE "C" NOT NULL,
    consumer text,
    leased_until timestamptz,
    retry_count integer NOT NULL DEFAULT 0,
    parked_at timestamptz,
    reason text,
    CONSTRAINT persistent_events_pkey PRIMARY KEY (subscription_name, global_position)
);
COMMENT ON TABLE event_store.persistent_events IS
    'events of persistent subscriptions that are leased, waiting to be handed out again, or parked (acked ones are removed)';

-- What a receiver asks: which streams are held by a consumer (pinned), and
-- which leases have run out.
CREATE INDEX persistent_events_leased_idx
    ON event_store.persistent_events (subscription_name, stream_name)
    WHERE consumer IS NOT NULL;
-- The events waiting to be handed out (again), in position order.
CREATE INDEX persistent_events_waiting_idx
    ON event_store.persistent_events (subscription_name, global_position)
    WHERE consumer IS NULL AND parked_at IS NULL;

SELECT pg_catalog.pg_extension_config_dump('event_store.persistent_subscriptions', '');
SELECT pg_catalog.pg_extension_config_dump('event_store.persistent_events', '');

REVOKE ALL ON event_store.persistent_subscriptions, event_store.persistent_events FROM PUBLIC;

------------------------------------------------------------------------------
-- Streams: listing and inspection
------------------------------------------------------------------------------

CREATE FUNCTION event_store.list_streams(
    prefix text DEFAULT NULL,
    after text DEFAULT NULL,
    max_count integer DEFAULT 100)
RETURNS TABLE (
    stream_name text,
    category text,
    stream_version bigint,
    created_at timestamptz,
    last_appended_at timestamptz,
    deleted text)
    LANGUAGE plpgsql STABLE
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
BEGIN
    IF max_count IS NULL OR max_count <= 0 THEN
        RAISE EXCEPTION 'invalid max_count for list_streams'
            USING ERRCODE = 'ES004',
                  DETAIL = format('max_count must be at least 1, but is %s.', coalesce(max_count::text, 'NULL'));
    END IF;

    -- EXECUTE plans with the prefix as a value, so the planner turns ^@
    -- into a range of the (C-collated) name index; a cached generic plan
    -- would scan from the prefix to the end of the index.
    RETURN QUERY EXECUTE
        'SELECT s.stream_name::text, s.category::text,
                GREATEST(s.stream_version, coalesce(l.stream_version, 0)),
                s.created_at, l.created_at,
                CASE WHEN s.tombstoned_at IS NOT NULL THEN ''hard''
                     WHEN s.deleted_version IS NOT NULL
                      AND GREATEST(s.stream_version, coalesce(l.stream_version, 0)) <= s.deleted_version
                     THEN ''soft''
                     ELSE ''no'' END
           FROM event_store.streams s
           LEFT JOIN LATERAL (
                SELECT e.stream_version, e.created_at
                  FROM event_store.events e
                 WHERE e.stream_name = s.stream_name
                 ORDER BY e.stream_version DESC
                 LIMIT 1) l ON true
          WHERE ($1 IS NULL OR s.stream_name ^@ $1)
            AND ($2 IS NULL OR s.stream_name > $2)
          ORDER BY s.stream_name
          LIMIT $3'
        USING prefix COLLATE "C", after COLLATE "C", max_count;
END
$$;
COMMENT ON FUNCTION event_store.list_streams(text, text, integer) IS
    'streams in name order (COLLATE "C"), those starting with prefix (a plain prefix) after the name after (keyset paging), at most max_count';

-- stream_info returns a named row type rather than a TABLE: its argument and
-- its first column are both called stream_name, which PL/pgSQL refuses.
CREATE TYPE event_store.stream_details AS (
    stream_name text,
    category text,
    stream_version bigint,
    created_at timestamptz,
    last_appended_at timestamptz,
    deleted text,
    max_count bigint,
    max_age interval,
    truncate_before bigint
);
COMMENT ON TYPE event_store.stream_details IS
    'a stream as stream_info describes it';

CREATE FUNCTION event_store.stream_info(stream_name text)
RETURNS SETOF event_store.stream_details
    LANGUAGE plpgsql STABLE
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
BEGIN
    IF stream_info.stream_name IS NULL THEN
        RAISE EXCEPTION 'stream name must not be NULL'
            USING ERRCODE = 'ES004';
    ELSIF stream_info.stream_name = '' THEN
        RAISE EXCEPTION 'stream name must not be empty'
            USING ERRCODE = 'ES004';
    END IF;
    -- A name is the first one that has itself as a prefix.
    RETURN QUERY
        SELECT l.stream_name, l.category, l.stream_version, l.created_at,
               l.last_appended_at, l.deleted, s.max_count, s.max_age, s.truncate_before
          FROM event_store.list_streams(stream_info.stream_name, NULL, 1) l
          JOIN event_store.streams s ON s.stream_name = l.stream_name
         WHERE l.stream_name = stream_info.stream_name;
END
$$;
COMMENT ON FUNCTION event_store.stream_info(text) IS
    'one row describing a stream (deleted ones included), or no row for a name never used';

------------------------------------------------------------------------------
-- Views a DBA reads at a glance (security_invoker: the reader's own grants
-- and row-level security apply)
------------------------------------------------------------------------------

CREATE VIEW event_store.category_summary WITH (security_invoker = true) AS
SELECT c.category::text AS category,
       c.streams,
       e.events,
       e.last_position
  FROM (SELECT s.category, count(*) FILTER (WHERE s.tombstoned_at IS NULL) AS streams
          FROM event_store.streams s
         GROUP BY s.category) c
 CROSS JOIN LATERAL (
       SELECT count(*) AS events, max(ev.global_position) AS last_position
         FROM event_store.events ev
        WHERE ev.category = c.category) e;
COMMENT ON VIEW event_store.category_summary IS
    'per category: streams not hard-deleted, events stored (until scavenged), the last global position';

CREATE VIEW event_store.subscription_status WITH (security_invoker = true) AS
SELECT s.subscription_name AS name,
       CASE WHEN p.subscription_name IS NULL THEN 'checkpoint' ELSE 'persistent' END AS kind,
       s.source,
       s.checkpoint,
       lag.lag_events,
       coalesce(extract(epoch FROM pg_catalog.now() - lag.oldest), 0)::double precision AS lag_seconds,
       coalesce(w.in_flight, 0) AS in_flight,
       coalesce(w.parked, 0) AS parked
  FROM event_store.subscriptions s
  LEFT JOIN event_store.persistent_subscriptions p
         ON p.subscription_name = s.subscription_name
  -- The events after the checkpoint (matching the filter) and the oldest
  -- one's age: one branch per kind of source, each on its own index; the
  -- branches whose source test is false are not run at all.
 CROSS JOIN LATERAL (
       SELECT count(*) AS lag_events, min(x.created_at) AS oldest
         FROM (SELECT e.created_at
                 FROM event_store.events e
                WHERE s.source = '$all'
                  AND e.global_position > s.checkpoint
                  AND (p.event_types IS NULL OR e.event_type = ANY (p.event_types))
                  AND (p.stream_prefix IS NULL OR starts_with(e.stream_name, p.stream_prefix))
               UNION ALL
               SELECT e.created_at
                 FROM event_store.events e
                WHERE s.source LIKE '$ce-%'
                  AND e.category = substr(s.source, 5)
                  AND e.global_position > s.checkpoint
                  AND (p.event_types IS NULL OR e.event_type = ANY (p.event_types))
                  AND (p.stream_prefix IS NULL OR starts_with(e.stream_name, p.stream_prefix))
               UNION ALL
               SELECT e.created_at
                 FROM event_store.events e
                WHERE s.source NOT LIKE '$%'
                  AND e.stream_name = s.source
                  AND e.global_position > s.checkpoint
                  AND (p.event_types IS NULL OR e.event_type = ANY (p.event_types))) x) lag
  LEFT JOIN LATERAL (
       SELECT count(*) FILTER (WHERE pe.consumer IS NOT NULL AND pe.parked_at IS NULL) AS in_flight,
              count(*) FILTER (WHERE pe.parked_at IS NOT NULL) AS parked
         FROM event_store.persistent_events pe
        WHERE pe.subscription_name = p.subscription_name) w ON true;
COMMENT ON VIEW event_store.subscription_status IS
    'every subscription of both kinds: its checkpoint, the events after it and the age of the oldest, events leased (in flight) and parked';

CREATE VIEW event_store.slot_status WITH (security_invoker = true) AS
SELECT r.slot_name::text AS slot_name,
       r.active,
       pg_catalog.pg_wal_lsn_diff(
           CASE WHEN pg_catalog.pg_is_in_recovery() THEN pg_catalog.pg_last_wal_replay_lsn()
                ELSE pg_catalog.pg_current_wal_lsn() END,
           r.confirmed_flush_lsn)::bigint AS lag_bytes,
       extract(epoch FROM w.replay_lag)::double precision AS lag_seconds
  FROM pg_catalog.pg_replication_slots r
  LEFT JOIN pg_catalog.pg_stat_replication w ON w.pid = r.active_pid
 WHERE r.slot_type = 'logical'
   AND r.plugin = 'event_store'
   AND r.database = pg_catalog.current_database();
COMMENT ON VIEW event_store.slot_status IS
    'each logical slot of this database using the event_store plugin: whether a client is attached, WAL bytes behind, and the replication lag its client last reported';

REVOKE ALL ON FUNCTION event_store.list_streams(text, text, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION event_store.stream_info(text) FROM PUBLIC;
REVOKE ALL ON event_store.category_summary, event_store.subscription_status,
              event_store.slot_status FROM PUBLIC;

-- Readers may list and inspect streams and read the status views (the views
-- read persistent_subscriptions and persistent_events with the reader's own
-- grants).
CREATE OR REPLACE FUNCTION event_store.grant_reader(role regrole) RETURNS void
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'ES004';
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA event_store TO %s', role);
    EXECUTE format('GRANT SELECT ON event_store.events, event_store.streams, '
                   'event_store.snapshots, event_store.subscriptions, '
                   'event_store.persistent_subscriptions, event_store.persistent_events, '
                   'event_store.category_summary, event_store.subscription_status, '
                   'event_store.slot_status TO %s', role);
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
                   'event_store.list_streams(text, text, integer), '
                   'event_store.stream_info(text), '
                   'event_store.read_snapshot(text) TO %s', role);
END
$$;

-- ==== issue 11 (and issue 10, item 4): access levels as data; writers only through the functions ====
--
-- Which level may execute a function is a row of event_store.access_levels,
-- keyed by function name (every overload of a name has its level).  A new
-- function declares its level right after its CREATE FUNCTION:
--
--     SELECT event_store.declare_access_level('list_streams', 'reader');
--
-- which records it, revokes it from PUBLIC and grants it to every role that
-- already holds that level (or a higher one), so an upgrade needs no grant
-- lists.  grant_reader/grant_writer/grant_admin read the table.  A section
-- that adds only a table ends with SELECT event_store.refresh_access(), which
-- gives the roles holding a level SELECT on it.
--
-- The tables and sequences are written only by the extension's functions:
-- the writing ones are SECURITY DEFINER (they run as the extension's owner,
-- with search_path pinned and every name qualified); the caller's level is
-- its EXECUTE privilege, which PostgreSQL checks (42501) before the function
-- takes the owner's rights.  Roles get SELECT on the tables and nothing else,
-- so row-level security policies on events apply to them.

CREATE TABLE event_store.access_levels (
    function_name text COLLATE "C" NOT NULL,
    level text NOT NULL,
    CONSTRAINT access_levels_pkey PRIMARY KEY (function_name),
    CONSTRAINT access_levels_level_check
        CHECK (level IN ('reader', 'writer', 'admin', 'owner'))
);
COMMENT ON TABLE event_store.access_levels IS
    'the access level of every function of the extension, by name (all overloads): reader < writer < admin; owner-level functions are granted to nobody';

CREATE FUNCTION event_store.declare_access_level(function_name text, level text)
RETURNS void
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    levels CONSTANT text[] := ARRAY['reader', 'writer', 'admin', 'owner'];
    rank integer := pg_catalog.array_position(levels, level);
    functions text;
    grantees text;
BEGIN
    IF rank IS NULL THEN
        RAISE EXCEPTION 'invalid access level for function "%"', function_name
            USING ERRCODE = 'ES004',
                  DETAIL = pg_catalog.format('The level is %s.', coalesce(pg_catalog.quote_literal(level), 'NULL')),
                  HINT = 'Use ''reader'', ''writer'', ''admin'' or ''owner''.';
    END IF;
    SELECT pg_catalog.string_agg(p.oid::pg_catalog.regprocedure::text, ', ')
      INTO functions
      FROM pg_catalog.pg_proc p
     WHERE p.pronamespace = 'event_store'::pg_catalog.regnamespace
       AND p.proname = declare_access_level.function_name;
    IF functions IS NULL THEN
        RAISE EXCEPTION 'function "%" does not exist in schema event_store', function_name
            USING ERRCODE = 'ES004',
                  HINT = 'Declare the level after the CREATE FUNCTION.';
    END IF;

    -- Nobody keeps what an earlier level gave: revoke the functions from
    -- PUBLIC and from every role, then let refresh_access grant them again to
    -- the roles whose level (read from the other functions) covers the new one.
    SELECT pg_catalog.string_agg(DISTINCT a.grantee::pg_catalog.regrole::text, ', ')
      INTO grantees
      FROM pg_catalog.pg_proc p
     CROSS JOIN LATERAL pg_catalog.aclexplode(p.proacl) a
     WHERE p.pronamespace = 'event_store'::pg_catalog.regnamespace
       AND p.proname = declare_access_level.function_name
       AND a.grantee <> 0 AND a.grantee <> p.proowner;
    EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', functions);
    IF grantees IS NOT NULL THEN
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM %s', functions, grantees);
    END IF;

    INSERT INTO event_store.access_levels AS al (function_name, level)
    VALUES (declare_access_level.function_name, declare_access_level.level)
    ON CONFLICT ON CONSTRAINT access_levels_pkey DO UPDATE SET level = excluded.level;

    PERFORM event_store.refresh_access();
END
$$;
COMMENT ON FUNCTION event_store.declare_access_level(text, text) IS
    'sets the access level of a function of the extension (every overload of the name): records it, revokes it from PUBLIC, grants it to the roles holding that level or higher';

CREATE FUNCTION event_store.refresh_access() RETURNS void
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    levels CONSTANT text[] := ARRAY['reader', 'writer', 'admin'];
    holder record;
BEGIN
    -- A role's level is the highest level of any function it may execute by
    -- a direct grant; grant it again, so that it reaches the functions and
    -- tables added since.
    FOR holder IN
        SELECT a.grantee::pg_catalog.regrole AS role,
               pg_catalog.max(pg_catalog.array_position(levels, l.level)) AS rank
          FROM pg_catalog.pg_proc p
          JOIN event_store.access_levels l ON l.function_name = p.proname
         CROSS JOIN LATERAL pg_catalog.aclexplode(p.proacl) a
         WHERE p.pronamespace = 'event_store'::pg_catalog.regnamespace
           AND l.level <> 'owner'
           AND a.privilege_type = 'EXECUTE'
           AND a.grantee <> 0
           AND a.grantee <> p.proowner
         GROUP BY a.grantee
    LOOP
        PERFORM event_store.grant_level(holder.role, levels[holder.rank]);
    END LOOP;
END
$$;
COMMENT ON FUNCTION event_store.refresh_access() IS
    'grants every role that holds an access level what its level gives today: run after adding tables or functions to the extension';

CREATE FUNCTION event_store.grant_level(role regrole, level text) RETURNS void
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    levels CONSTANT text[] := ARRAY['reader', 'writer', 'admin'];
    functions text;
BEGIN
    IF role IS NULL THEN
        RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'ES004';
    END IF;
    IF pg_catalog.array_position(levels, level) IS NULL THEN
        RAISE EXCEPTION 'invalid access level %', coalesce(pg_catalog.quote_literal(level), 'NULL')
            USING ERRCODE = 'ES004',
                  HINT = 'Use ''reader'', ''writer'' or ''admin''.';
    END IF;
    -- GRANT by anyone but the owner would only warn and grant nothing.
    IF NOT pg_catalog.pg_has_role((SELECT e.extowner FROM pg_catalog.pg_extension e
                                    WHERE e.extname = 'event_store'), 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied to grant access to event_store'
            USING ERRCODE = '42501',
                  DETAIL = 'Only the owner of extension event_store or a superuser can hand out access levels.';
    END IF;

    EXECUTE pg_catalog.format('GRANT USAGE ON SCHEMA event_store TO %s', role);
    -- SELECT only: every change goes through the (SECURITY DEFINER) functions,
    -- and row-level security policies on the tables apply to the role.
    EXECUTE pg_catalog.format('GRANT SELECT ON ALL TABLES IN SCHEMA event_store TO %s', role);

    SELECT pg_catalog.string_agg(p.oid::pg_catalog.regprocedure::text, ', ')
      INTO functions
      FROM pg_catalog.pg_proc p
      JOIN event_store.access_levels l ON l.function_name = p.proname
     WHERE p.pronamespace = 'event_store'::pg_catalog.regnamespace
       AND pg_catalog.array_position(levels, l.level) <= pg_catalog.array_position(levels, grant_level.level);
    IF functions IS NOT NULL THEN
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', functions, role);
    END IF;
END
$$;
COMMENT ON FUNCTION event_store.grant_level(regrole, text) IS
    'gives a role an access level (reader, writer or admin): SELECT on the tables and EXECUTE on the functions event_store.access_levels puts at that level or below';

CREATE OR REPLACE FUNCTION event_store.grant_reader(role regrole) RETURNS void
    LANGUAGE sql
    SET search_path = event_store, pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT event_store.grant_level(role, 'reader');
END;

CREATE OR REPLACE FUNCTION event_store.grant_writer(role regrole) RETURNS void
    LANGUAGE sql
    SET search_path = event_store, pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT event_store.grant_level(role, 'writer');
END;

CREATE OR REPLACE FUNCTION event_store.grant_admin(role regrole) RETURNS void
    LANGUAGE sql
    SET search_path = event_store, pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT event_store.grant_level(role, 'admin');
END;

INSERT INTO event_store.access_levels (function_name, level) VALUES
    ('no_stream', 'reader'),
    ('any_version', 'reader'),
    ('stream_exists', 'reader'),
    ('event', 'reader'),
    ('stream_hash', 'reader'),
    ('uuid_generate_v7', 'reader'),
    ('read_stream_forward', 'reader'),
    ('read_stream_backward', 'reader'),
    ('read_all_forward', 'reader'),
    ('read_category_forward', 'reader'),
    ('stream_version', 'reader'),
    ('read_snapshot', 'reader'),
    ('list_streams', 'reader'),
    ('stream_info', 'reader'),
    ('append_to_stream', 'writer'),
    ('set_stream_metadata', 'writer'),
    ('record_snapshot', 'writer'),
    ('delete_snapshot', 'writer'),
    ('create_subscription', 'writer'),
    ('read_subscription', 'writer'),
    ('ack', 'writer'),
    ('delete_subscription', 'writer'),
    ('delete_stream', 'admin'),
    ('scavenge', 'admin'),
    ('grant_reader', 'owner'),
    ('grant_writer', 'owner'),
    ('grant_admin', 'owner'),
    ('grant_level', 'owner'),
    ('declare_access_level', 'owner'),
    ('refresh_access', 'owner');
REVOKE ALL ON FUNCTION event_store.declare_access_level(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION event_store.refresh_access() FROM PUBLIC;
REVOKE ALL ON FUNCTION event_store.grant_level(regrole, text) FROM PUBLIC;
REVOKE ALL ON TABLE event_store.access_levels FROM PUBLIC;

-- The writing functions run as the owner.  The C ones qualify every name in
-- their statements; the path is pinned all the same.
ALTER FUNCTION event_store.append_to_stream(text, bigint, event_store.new_event[])
    SECURITY DEFINER SET search_path = event_store, pg_catalog, pg_temp;
ALTER FUNCTION event_store.set_stream_metadata(text, bigint, interval, bigint)
    SECURITY DEFINER SET search_path = event_store, pg_catalog, pg_temp;
ALTER FUNCTION event_store.delete_stream(text, bigint, boolean)
    SECURITY DEFINER SET search_path = event_store, pg_catalog, pg_temp;
ALTER FUNCTION event_store.scavenge(bigint) SECURITY DEFINER;

-- The SQL ones, again with every function name qualified.
CREATE OR REPLACE FUNCTION event_store.record_snapshot(
    source_id text,
    source_version bigint,
    source_type text,
    data jsonb,
    metadata jsonb DEFAULT NULL)
RETURNS void
    LANGUAGE plpgsql
    SECURITY DEFINER
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
                  DETAIL = pg_catalog.format('The version must be 0 or more, but is %s.', coalesce(source_version::text, 'NULL'));
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

CREATE OR REPLACE FUNCTION event_store.delete_snapshot(source_id text) RETURNS boolean
    LANGUAGE sql
    SECURITY DEFINER
    SET search_path = event_store, pg_catalog, pg_temp
BEGIN ATOMIC
    WITH d AS (
        DELETE FROM event_store.snapshots s
         WHERE s.source_id = delete_snapshot.source_id
        RETURNING 1)
    SELECT pg_catalog.count(*) > 0 FROM d;
END;

CREATE OR REPLACE FUNCTION event_store.create_subscription(
    name text,
    source text DEFAULT '$all',
    start_from bigint DEFAULT 0)
RETURNS event_store.subscriptions
    LANGUAGE plpgsql
    SECURITY DEFINER
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
                  DETAIL = pg_catalog.format('The source is %s.', coalesce(pg_catalog.quote_literal(source), 'NULL')),
                  HINT = 'Use ''$all'', a stream name, or ''$ce-<category>''.';
    END IF;
    IF start_from IS NULL OR start_from < 0 THEN
        RAISE EXCEPTION 'invalid start position for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = pg_catalog.format('The start position must be 0 or more, but is %s.', coalesce(start_from::text, 'NULL'));
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
                      DETAIL = pg_catalog.format('It follows %s, not %s.', pg_catalog.quote_literal(result.source), pg_catalog.quote_literal(source));
        END IF;
    END IF;
    RETURN result;
END
$$;

CREATE OR REPLACE FUNCTION event_store.ack(name text, global_position bigint) RETURNS bigint
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    result bigint;
BEGIN
    IF global_position IS NULL OR global_position < 0 THEN
        RAISE EXCEPTION 'invalid position to acknowledge for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = pg_catalog.format('The position must be 0 or more, but is %s.', coalesce(global_position::text, 'NULL'));
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

CREATE OR REPLACE FUNCTION event_store.delete_subscription(name text) RETURNS void
    LANGUAGE plpgsql
    SECURITY DEFINER
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

-- What 1.0 and 1.1 granted beyond SELECT goes: INSERT/UPDATE/DELETE on the
-- tables, and anything on the sequences, from every role but the owner.
DO $$
DECLARE
    grantee regrole;
BEGIN
    FOR grantee IN
        SELECT DISTINCT a.grantee::regrole
          FROM pg_catalog.pg_class c
         CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) a
         WHERE c.relnamespace = 'event_store'::pg_catalog.regnamespace
           AND a.grantee <> 0 AND a.grantee <> c.relowner
    LOOP
        EXECUTE pg_catalog.format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'
                                  ' ON ALL TABLES IN SCHEMA event_store FROM %s', grantee);
        EXECUTE pg_catalog.format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA event_store FROM %s', grantee);
    END LOOP;
END
$$;

-- Roles granted before this update get what their level gives in 1.2 (the
-- tables and functions added above included).
SELECT event_store.refresh_access();

-- ==== issue 10: the stream-visibility rule in one place ====

-- scavenge() removes exactly what stream reads no longer show: it asks the
-- readers' own rule (es_stream_view in src/stream.c) for every stream with a
-- deletion mark or a limit, instead of restating it in SQL.  Same signature,
-- privileges, comment and SECURITY DEFINER (issue 11 above); the body moves
-- to C.
CREATE OR REPLACE FUNCTION event_store.scavenge(max_events bigint DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME', 'es_scavenge'
    LANGUAGE C VOLATILE
    SECURITY DEFINER
    SET search_path = event_store, pg_catalog, pg_temp;
