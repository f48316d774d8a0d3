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
    IF role = 0 THEN
        RAISE EXCEPTION 'role must not be 0'
            USING ERRCODE = 'ES004',
                  DETAIL = 'OID 0 (shown as "-") names no role.';
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

-- create_subscription takes the readers' filters too (SPEC: "Subscriptions
-- (both kinds) take the same filter at creation"); read_subscription passes
-- them to the gap-free readers.  The filter is part of what a subscription
-- follows: creating it again with another filter is refused, as with
-- another source.  (A persistent subscription keeps its filter in
-- persistent_subscriptions; its row here has none.)  A new signature, so
-- the function is created anew: nothing is granted to PUBLIC, and
-- refresh_access below gives it back to the writers.
ALTER TABLE event_store.subscriptions
    ADD COLUMN event_types text[],
    ADD COLUMN stream_prefix text;
COMMENT ON COLUMN event_store.subscriptions.event_types IS
    'checkpoint subscriptions: only events of these exact types (NULL: every type)';
COMMENT ON COLUMN event_store.subscriptions.stream_prefix IS
    'checkpoint subscriptions: only events of streams whose name starts with this (NULL: every stream)';

DROP FUNCTION event_store.create_subscription(text, text, bigint);
CREATE FUNCTION event_store.create_subscription(
    name text,
    source text DEFAULT '$all',
    start_from bigint DEFAULT 0,
    event_types text[] DEFAULT NULL,
    stream_prefix text DEFAULT NULL)
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
    IF event_types IS NOT NULL AND (pg_catalog.cardinality(event_types) = 0
                                    OR pg_catalog.array_position(event_types, NULL) IS NOT NULL
                                    OR '' = ANY (event_types)) THEN
        RAISE EXCEPTION 'invalid event_types for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = 'event_types must be NULL (every type) or a non-empty list of non-empty type names.';
    END IF;
    IF stream_prefix = '' THEN
        RAISE EXCEPTION 'invalid stream_prefix for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = 'stream_prefix must be NULL (every stream) or a non-empty prefix.';
    END IF;

    INSERT INTO event_store.subscriptions AS s
           (subscription_name, source, checkpoint, event_types, stream_prefix)
    VALUES (name, source, start_from, event_types, stream_prefix)
    ON CONFLICT ON CONSTRAINT subscriptions_pkey DO NOTHING
    RETURNING s.* INTO result;

    IF NOT FOUND THEN
        -- Creating an existing subscription again is how adapters resume it,
        -- as long as it follows the same source with the same filter.
        SELECT s.* INTO result
          FROM event_store.subscriptions s
         WHERE s.subscription_name = name;
        IF result.source <> source THEN
            RAISE EXCEPTION 'subscription "%" already exists with another source', name
                USING ERRCODE = 'ES004',
                      DETAIL = pg_catalog.format('It follows %s, not %s.', pg_catalog.quote_literal(result.source), pg_catalog.quote_literal(source));
        END IF;
        IF result.event_types IS DISTINCT FROM event_types
           OR result.stream_prefix IS DISTINCT FROM stream_prefix THEN
            RAISE EXCEPTION 'subscription "%" already exists with another filter', name
                USING ERRCODE = 'ES004',
                      DETAIL = pg_catalog.format('It has event_types %s and stream_prefix %s.',
                                                 coalesce(result.event_types::text, 'NULL'),
                                                 coalesce(pg_catalog.quote_literal(result.stream_prefix), 'NULL'));
        END IF;
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION event_store.create_subscription(text, text, bigint, text[], text) IS
    'creates a durable subscription to $all, a stream or $ce-<category>, optionally only some event types and/or stream-name prefix; returns the existing one if it is already there';
REVOKE ALL ON FUNCTION event_store.create_subscription(text, text, bigint, text[], text) FROM PUBLIC;

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
    IF EXISTS (SELECT FROM event_store.persistent_subscriptions p WHERE p.subscription_name = name) THEN
        RAISE EXCEPTION 'subscription "%" is a persistent subscription', name
            USING ERRCODE = 'ES004',
                  HINT = 'Use ack_events or nack_events.';
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
    DELETE FROM event_store.persistent_events e WHERE e.subscription_name = name;
    DELETE FROM event_store.persistent_subscriptions p WHERE p.subscription_name = name;
END
$$;
COMMENT ON FUNCTION event_store.delete_subscription(text) IS
    'deletes a subscription of either kind: its checkpoint, and for a persistent one its settings, leases and parked events';

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

-- ==== issue 12 (h12b): persistent subscriptions (competing consumers) ====
--
-- The tables (persistent_subscriptions, persistent_events) are created in
-- the first issue-12 (h12b) section above.  receive_events is the only
-- function that takes events from the log: it locks the subscription's row
-- in persistent_subscriptions, so the receivers of one subscription take
-- turns (each for the few statements of one call) and two of them can never
-- lease the same event, nor split a pinned stream.  Events come from the
-- gap-free readers (read_all_forward, read_category_forward), read as the
-- caller, so nothing is handed out above the no-gap horizon and row-level
-- security applies.  The bookkeeping is written by small SECURITY DEFINER
-- helpers (roles may only SELECT the tables).  Acks and nacks do not take
-- the receivers' lock: they change only the rows of their own events, and
-- move the checkpoint forward only.
--
-- Statements that pick events by an array of positions also give the
-- array's range: persistent_events is usually small when its statistics are
-- taken, and the planner then filters the whole subscription's index range
-- by the array instead of probing it; the range keeps that scan short.

-- The subscription's row, or ES004 naming it: unknown, or of the other kind.
-- With lock, the row is locked for the transaction: receivers take turns.
CREATE FUNCTION event_store.persistent_subscription(name text, lock boolean DEFAULT false)
RETURNS event_store.persistent_subscriptions
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    result event_store.persistent_subscriptions;
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'subscription name must not be empty'
            USING ERRCODE = 'ES004';
    END IF;
    IF lock THEN
        SELECT p.* INTO result FROM event_store.persistent_subscriptions p
         WHERE p.subscription_name = name FOR NO KEY UPDATE;
    ELSE
        SELECT p.* INTO result FROM event_store.persistent_subscriptions p
         WHERE p.subscription_name = name;
    END IF;
    IF NOT FOUND THEN
        IF EXISTS (SELECT FROM event_store.subscriptions s WHERE s.subscription_name = name) THEN
            RAISE EXCEPTION 'subscription "%" is not a persistent subscription', name
                USING ERRCODE = 'ES004',
                      HINT = 'It was made by create_subscription: read it with read_subscription and ack.';
        END IF;
        RAISE EXCEPTION 'subscription "%" does not exist', name
            USING ERRCODE = 'ES004';
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION event_store.persistent_subscription(text, boolean) IS
    'internal: the settings row of a persistent subscription (locked for the transaction when lock), or ES004 naming it when there is none';
SELECT event_store.declare_access_level('persistent_subscription', 'writer');

-- Sets the checkpoint to what the events taken allow: just below the first
-- one not done (parked counts as done), or the read position when all are
-- done.  Only forward, unless 'rewind' (replay_parked un-parks events).
CREATE FUNCTION event_store.persistent_advance(name text, rewind boolean DEFAULT false)
RETURNS bigint
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    old bigint;
    new bigint;
BEGIN
    SELECT s.checkpoint INTO old FROM event_store.subscriptions s WHERE s.subscription_name = name;
    -- Every event not yet done is above the checkpoint (unless rewinding):
    -- start the index scan there, past the entries of acked events that
    -- vacuum has not removed yet.
    SELECT coalesce((SELECT e.global_position - 1
                       FROM event_store.persistent_events e
                      WHERE e.subscription_name = name
                        AND e.global_position > CASE WHEN rewind THEN 0 ELSE old END
                        AND e.parked_at IS NULL
                      ORDER BY e.global_position
                      LIMIT 1),
                    p.read_position)
      INTO new
      FROM event_store.persistent_subscriptions p
     WHERE p.subscription_name = name;
    IF new > old OR (rewind AND new <> old) THEN
        UPDATE event_store.subscriptions s
           SET checkpoint = new, updated_at = pg_catalog.now()
         WHERE s.subscription_name = name
           AND (s.checkpoint < new OR rewind);
        RETURN new;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION event_store.persistent_advance(text, boolean) IS
    'internal: moves a persistent subscription''s checkpoint to just below the first event not yet done (backwards only when rewind); NULL when it does not move';
SELECT event_store.declare_access_level('persistent_advance', 'writer');

-- receive_events, first step (with the receivers' lock): leases that ran out
-- are retries (or parked past max_retry_count); then events waiting to be
-- handed out (again) are leased to the consumer, in position order, up to
-- max_count (when pinned, not those of a stream another consumer holds).
CREATE FUNCTION event_store.persistent_lease_waiting(name text, consumer text, max_count integer)
RETURNS bigint[]
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    ps event_store.persistent_subscriptions;
    leased bigint[];
BEGIN
    SELECT p.* INTO ps FROM event_store.persistent_subscriptions p
     WHERE p.subscription_name = name FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM event_store.persistent_subscription(name);     -- ES004, naming it
    END IF;
    IF consumer IS NULL OR consumer = '' THEN
        RAISE EXCEPTION 'consumer must not be empty for subscription "%"', name
            USING ERRCODE = 'ES004';
    END IF;
    IF max_count IS NULL OR max_count <= 0 THEN
        RAISE EXCEPTION 'invalid max_count for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = pg_catalog.format('max_count must be at least 1, but is %s.', coalesce(max_count::text, 'NULL'));
    END IF;

    UPDATE event_store.persistent_events e
       SET consumer = NULL,
           leased_until = NULL,
           retry_count = e.retry_count + 1,
           parked_at = CASE WHEN e.retry_count >= ps.max_retry_count THEN pg_catalog.now() END,
           reason = CASE WHEN e.retry_count >= ps.max_retry_count
                         THEN pg_catalog.format('message timeout after %s retries', e.retry_count) END
     WHERE e.subscription_name = name
       AND e.consumer IS NOT NULL
       AND e.leased_until < pg_catalog.now();

    WITH picked AS (
        SELECT w.global_position
          FROM event_store.persistent_events w
         WHERE w.subscription_name = name
           AND w.consumer IS NULL AND w.parked_at IS NULL
           AND (ps.strategy <> 'pinned' OR NOT EXISTS (
                SELECT FROM event_store.persistent_events h
                 WHERE h.subscription_name = name
                   AND h.stream_name = w.stream_name
                   AND h.consumer IS NOT NULL
                   AND h.consumer <> persistent_lease_waiting.consumer))
         ORDER BY w.global_position
         LIMIT max_count),
    upd AS (
        UPDATE event_store.persistent_events e
           SET consumer = persistent_lease_waiting.consumer,
               leased_until = pg_catalog.now() + ps.message_timeout
          FROM picked
         WHERE e.subscription_name = name AND e.global_position = picked.global_position
        RETURNING e.global_position)
    SELECT coalesce(pg_catalog.array_agg(upd.global_position), '{}') INTO leased FROM upd;
    RETURN leased;
END
$$;
COMMENT ON FUNCTION event_store.persistent_lease_waiting(text, text, integer) IS
    'internal, for receive_events: retries (or parks) timed-out leases and leases waiting events to the consumer; returns their positions';
SELECT event_store.declare_access_level('persistent_lease_waiting', 'writer');

-- receive_events, second step: a page of the log that the caller read
-- (positions after read_position, up to and including page_last, with their
-- streams and types) is taken into the subscription: events matching the
-- filter are leased to the consumer, up to 'want' (when pinned, not those of
-- a stream another consumer holds), the others matching wait; read_position
-- moves to page_last.
-- SECURITY DEFINER and executable by writers (it is how receive_events,
-- which reads as the caller, records a page): it refuses a page that is not
-- made of events of the log, since rows of no event would stall the
-- checkpoint until parked.  (A writer may still move a subscription on, as
-- ack_events, nack_events 'skip' and delete_subscription let it.)
CREATE FUNCTION event_store.persistent_take(
    name text,
    consumer text,
    want integer,
    positions bigint[],
    streams text[],
    types text[],
    page_last bigint)
RETURNS bigint[]
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    ps event_store.persistent_subscriptions;
    fresh bigint[];
BEGIN
    SELECT p.* INTO ps FROM event_store.persistent_subscriptions p
     WHERE p.subscription_name = name FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        PERFORM event_store.persistent_subscription(name);     -- ES004, naming it
    END IF;
    IF consumer IS NULL OR want IS NULL OR page_last IS NULL
       OR page_last <= ps.read_position
       OR (SELECT pg_catalog.min(x) FROM pg_catalog.unnest(positions) x) <= ps.read_position
       OR (SELECT pg_catalog.max(x) FROM pg_catalog.unnest(positions) x) > page_last
       OR pg_catalog.cardinality(positions) <> pg_catalog.cardinality(streams)
       OR pg_catalog.cardinality(positions) <> pg_catalog.cardinality(types) THEN
        RAISE EXCEPTION 'invalid page for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = pg_catalog.format('The page must lie after the read position %s.', ps.read_position);
    END IF;
    IF pg_catalog.cardinality(positions) > 0
       AND (SELECT pg_catalog.count(*)
              FROM unnest(positions, streams, types) pg(global_position, stream_name, event_type)
              JOIN event_store.events ev
                ON ev.global_position = pg.global_position
               AND ev.stream_name = pg.stream_name
               AND ev.event_type = pg.event_type) <> pg_catalog.cardinality(positions) THEN
        RAISE EXCEPTION 'invalid page for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = 'Every position must be an event of the log, with its stream and type.';
    END IF;

    WITH matching AS (
        SELECT pg.global_position, pg.stream_name,
               (ps.strategy <> 'pinned' OR NOT EXISTS (
                    SELECT FROM event_store.persistent_events h
                     WHERE h.subscription_name = name
                       AND h.stream_name = pg.stream_name
                       AND h.consumer IS NOT NULL
                       AND h.consumer <> persistent_take.consumer)) AS mine
          -- several arrays in unnest() is FROM-clause syntax, not a function
          FROM unnest(positions, streams, types) pg(global_position, stream_name, event_type)
         WHERE (ps.event_types IS NULL OR pg.event_type = ANY (ps.event_types))
           AND (ps.stream_prefix IS NULL OR pg_catalog.starts_with(pg.stream_name, ps.stream_prefix))),
    numbered AS (
        SELECT m.*, CASE WHEN m.mine
                         THEN pg_catalog.count(*) FILTER (WHERE m.mine) OVER (ORDER BY m.global_position) END AS n
          FROM matching m),
    ins AS (
        INSERT INTO event_store.persistent_events AS e
               (subscription_name, global_position, stream_name, consumer, leased_until)
        SELECT name, nb.global_position, nb.stream_name,
               CASE WHEN nb.n <= want THEN persistent_take.consumer END,
               CASE WHEN nb.n <= want THEN pg_catalog.now() + ps.message_timeout END
          FROM numbered nb
        RETURNING e.global_position, e.consumer)
    SELECT coalesce(pg_catalog.array_agg(ins.global_position) FILTER (WHERE ins.consumer IS NOT NULL), '{}')
      INTO fresh FROM ins;

    UPDATE event_store.persistent_subscriptions p
       SET read_position = page_last
     WHERE p.subscription_name = name;
    RETURN fresh;
END
$$;
COMMENT ON FUNCTION event_store.persistent_take(text, text, integer, bigint[], text[], text[], bigint) IS
    'internal, for receive_events: takes a page of the log into a persistent subscription, leasing up to want matching events to the consumer; returns their positions';
SELECT event_store.declare_access_level('persistent_take', 'writer');

CREATE FUNCTION event_store.create_persistent_subscription(
    name text,
    source text DEFAULT '$all',
    start_from bigint DEFAULT 0,
    strategy text DEFAULT 'pinned',
    max_retry_count integer DEFAULT 10,
    message_timeout interval DEFAULT '30 seconds',
    event_types text[] DEFAULT NULL,
    stream_prefix text DEFAULT NULL)
RETURNS event_store.subscriptions
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    result event_store.subscriptions;
    existing event_store.persistent_subscriptions;
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'subscription name must not be empty'
            USING ERRCODE = 'ES004';
    END IF;
    IF strategy IS NULL OR strategy NOT IN ('pinned', 'round_robin') THEN
        RAISE EXCEPTION 'invalid strategy for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = pg_catalog.format('The strategy is %s.', coalesce(pg_catalog.quote_literal(strategy), 'NULL')),
                  HINT = 'Use ''pinned'' or ''round_robin''.';
    END IF;
    IF max_retry_count IS NULL OR max_retry_count < 0 THEN
        RAISE EXCEPTION 'invalid max_retry_count for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = pg_catalog.format('max_retry_count must be 0 or more, but is %s.', coalesce(max_retry_count::text, 'NULL'));
    END IF;
    IF message_timeout IS NULL OR message_timeout <= '0' THEN
        RAISE EXCEPTION 'invalid message_timeout for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = pg_catalog.format('message_timeout must be positive, but is %s.', coalesce(message_timeout::text, 'NULL'));
    END IF;
    IF event_types IS NOT NULL AND (pg_catalog.cardinality(event_types) = 0
                                    OR pg_catalog.array_position(event_types, NULL) IS NOT NULL
                                    OR '' = ANY (event_types)) THEN
        RAISE EXCEPTION 'invalid event_types for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = 'event_types must be NULL (every type) or a non-empty list of non-empty type names.';
    END IF;
    IF stream_prefix = '' THEN
        RAISE EXCEPTION 'invalid stream_prefix for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = 'stream_prefix must be NULL (every stream) or a non-empty prefix.';
    END IF;

    -- A checkpoint subscription of that name is the other kind, not one to
    -- resume.
    IF EXISTS (SELECT FROM event_store.subscriptions s WHERE s.subscription_name = name)
       AND NOT EXISTS (SELECT FROM event_store.persistent_subscriptions p WHERE p.subscription_name = name) THEN
        RAISE EXCEPTION 'subscription "%" already exists and is not persistent', name
            USING ERRCODE = 'ES004',
                  HINT = 'Names are shared with create_subscription; delete it first or choose another name.';
    END IF;

    -- Checks the name, source and start, and resumes an existing one of the
    -- same source (or fails naming the other source).
    result := event_store.create_subscription(name, source, start_from);

    INSERT INTO event_store.persistent_subscriptions AS p
           (subscription_name, strategy, max_retry_count, message_timeout,
            event_types, stream_prefix, read_position)
    VALUES (name, strategy, max_retry_count, message_timeout,
            event_types, stream_prefix, result.checkpoint)
    ON CONFLICT ON CONSTRAINT persistent_subscriptions_pkey DO NOTHING;
    IF NOT FOUND THEN
        -- Creating again resumes it: the filter must be the same; strategy,
        -- retries and timeout take the new values.
        SELECT p.* INTO existing FROM event_store.persistent_subscriptions p
         WHERE p.subscription_name = name FOR NO KEY UPDATE;
        IF existing.event_types IS DISTINCT FROM event_types
           OR existing.stream_prefix IS DISTINCT FROM stream_prefix THEN
            RAISE EXCEPTION 'subscription "%" already exists with another filter', name
                USING ERRCODE = 'ES004',
                      DETAIL = pg_catalog.format('It has event_types %s and stream_prefix %s.',
                                                 coalesce(existing.event_types::text, 'NULL'),
                                                 coalesce(pg_catalog.quote_literal(existing.stream_prefix), 'NULL'));
        END IF;
        UPDATE event_store.persistent_subscriptions p
           SET strategy = create_persistent_subscription.strategy,
               max_retry_count = create_persistent_subscription.max_retry_count,
               message_timeout = create_persistent_subscription.message_timeout
         WHERE p.subscription_name = name;
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION event_store.create_persistent_subscription(text, text, bigint, text, integer, interval, text[], text) IS
    'creates a persistent (competing-consumer) subscription, or resumes it with new strategy, retry and timeout settings';
SELECT event_store.declare_access_level('create_persistent_subscription', 'writer');

-- Not SECURITY DEFINER: it returns events, read as the caller.
CREATE FUNCTION event_store.receive_events(
    name text,
    consumer text,
    max_count integer DEFAULT 100)
RETURNS TABLE (
    global_position bigint,
    stream_name text,
    stream_version bigint,
    event_id uuid,
    event_type text,
    data jsonb,
    metadata jsonb,
    causation_id uuid,
    correlation_id uuid,
    created_at timestamptz,
    retry_count integer)
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    ps event_store.persistent_subscriptions;
    src text;
    leased bigint[];
    want integer;
    filtered boolean;
    horizon bigint;
    page_last bigint;
    page_pos bigint[];
    page_stream text[];
    page_type text[];
    rounds integer := 0;
BEGIN
    -- takes the receivers' lock and checks the arguments
    leased := event_store.persistent_lease_waiting(name, consumer, max_count);
    SELECT p.* INTO ps FROM event_store.persistent_subscriptions p WHERE p.subscription_name = name;
    SELECT s.source INTO src FROM event_store.subscriptions s WHERE s.subscription_name = name;

    -- New events from the log, gap-free, until the batch is full.  Those a
    -- pinned consumer may not have (their stream is held by another) and
    -- those past the batch wait in persistent_events.  A filter is applied
    -- by the readers (the event-type index serves a rare type); a short
    -- filtered page then proves nothing about the positions after its last
    -- event, so the horizon taken before the read (everything up to it is
    -- visible to the read's later snapshot) says how far the page reached.
    -- Only at READ COMMITTED: an older snapshot may not see up to it.
    filtered := ps.event_types IS NOT NULL OR ps.stream_prefix IS NOT NULL;
    want := max_count - pg_catalog.cardinality(leased);
    -- A pinned subscription whose busy streams are held keeps their later
    -- events waiting; past ten batches of them it reads no further until the
    -- holders catch up (the waiting events are scanned at every receive).
    IF want > 0 AND ps.strategy = 'pinned'
       AND (SELECT pg_catalog.count(*)
              FROM (SELECT FROM event_store.persistent_events w
                     WHERE w.subscription_name = name
                       AND w.consumer IS NULL AND w.parked_at IS NULL
                     LIMIT 10::bigint * max_count) buffered) >= 10::bigint * max_count THEN
        want := 0;
    END IF;
    WHILE want > 0 AND rounds < 10 AND ps.read_position < 9223372036854775807 LOOP
        rounds := rounds + 1;
        horizon := CASE WHEN filtered AND pg_catalog.current_setting('transaction_isolation') = 'read committed'
                        THEN event_store.wait_for_events(ps.read_position, '0') ELSE 0 END;
        IF src = '$all' THEN
            SELECT pg_catalog.array_agg(r.global_position), pg_catalog.array_agg(r.stream_name),
                   pg_catalog.array_agg(r.event_type)
              INTO page_pos, page_stream, page_type
              FROM event_store.read_all_forward(ps.read_position + 1, want,
                                                ps.event_types, ps.stream_prefix) r;
        ELSIF src LIKE '$ce-%' THEN
            SELECT pg_catalog.array_agg(r.global_position), pg_catalog.array_agg(r.stream_name),
                   pg_catalog.array_agg(r.event_type)
              INTO page_pos, page_stream, page_type
              FROM event_store.read_category_forward(pg_catalog.substr(src, 5), ps.read_position + 1, want,
                                                     NULL, NULL, ps.event_types, ps.stream_prefix) r;
        ELSE
            -- a stream's events commit in version order (see read_subscription)
            SELECT pg_catalog.array_agg(r.global_position), pg_catalog.array_agg(r.stream_name),
                   pg_catalog.array_agg(r.event_type)
              INTO page_pos, page_stream, page_type
              FROM (SELECT ev.global_position, ev.stream_name, ev.event_type
                      FROM event_store.events ev
                     WHERE ev.stream_name = src AND ev.global_position > ps.read_position
                       AND (ps.event_types IS NULL OR ev.event_type = ANY (ps.event_types))
                       AND (ps.stream_prefix IS NULL OR pg_catalog.starts_with(ev.stream_name, ps.stream_prefix))
                     ORDER BY ev.stream_version
                     LIMIT want) r;
            PERFORM event_store.wait_durable();
            horizon := 0;       -- not an $all position bound for a stream
        END IF;
        page_last := GREATEST((SELECT pg_catalog.max(x) FROM pg_catalog.unnest(page_pos) x),
                              CASE WHEN coalesce(pg_catalog.cardinality(page_pos), 0) < want THEN horizon END);
        EXIT WHEN page_last IS NULL OR page_last <= ps.read_position;

        leased := leased || event_store.persistent_take(name, consumer, want,
                                                        coalesce(page_pos, '{}'), coalesce(page_stream, '{}'),
                                                        coalesce(page_type, '{}'), page_last);
        ps.read_position := page_last;
        -- a short page means the reader stopped at the end or at the horizon
        EXIT WHEN coalesce(pg_catalog.cardinality(page_pos), 0) < want;
        want := max_count - pg_catalog.cardinality(leased);
    END LOOP;
    PERFORM event_store.persistent_advance(name);

    RETURN QUERY
        SELECT ev.global_position, ev.stream_name::text, ev.stream_version, ev.event_id,
               ev.event_type, ev.data, ev.metadata, ev.causation_id, ev.correlation_id,
               ev.created_at, e.retry_count
          FROM event_store.persistent_events e
          JOIN event_store.events ev ON ev.global_position = e.global_position
         WHERE e.subscription_name = name
           AND e.global_position BETWEEN (SELECT pg_catalog.min(x) FROM pg_catalog.unnest(leased) x)
                                     AND (SELECT pg_catalog.max(x) FROM pg_catalog.unnest(leased) x)
           AND e.global_position = ANY (leased)
         ORDER BY e.global_position;
END
$$;
COMMENT ON FUNCTION event_store.receive_events(text, text, integer) IS
    'leases the next events of a persistent subscription to a consumer until its message_timeout; pinned: a stream''s events go to one consumer at a time, in order';
SELECT event_store.declare_access_level('receive_events', 'writer');

CREATE FUNCTION event_store.ack_events(name text, positions bigint[])
RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    done integer;
    lo bigint;
    hi bigint;
BEGIN
    IF NOT EXISTS (SELECT FROM event_store.persistent_subscriptions p WHERE p.subscription_name = name) THEN
        PERFORM event_store.persistent_subscription(name);     -- ES004, naming it
    END IF;
    IF positions IS NULL THEN
        RAISE EXCEPTION 'positions to acknowledge for subscription "%" must not be NULL', name
            USING ERRCODE = 'ES004';
    END IF;
    -- Done is done: an event acked after its lease ran out, or twice, or
    -- while parked, is simply gone.  The range bounds the index scan
    -- whatever the planner thinks of the array (see the top of this section).
    SELECT pg_catalog.min(x), pg_catalog.max(x) INTO lo, hi FROM pg_catalog.unnest(positions) x;
    DELETE FROM event_store.persistent_events e
     WHERE e.subscription_name = name
       AND e.global_position BETWEEN lo AND hi
       AND e.global_position = ANY (positions);
    GET DIAGNOSTICS done = ROW_COUNT;
    IF done > 0 THEN
        PERFORM event_store.persistent_advance(name);
    END IF;
    RETURN done;
END
$$;
COMMENT ON FUNCTION event_store.ack_events(text, bigint[]) IS
    'marks events of a persistent subscription as done; returns how many were still pending';
SELECT event_store.declare_access_level('ack_events', 'writer');

CREATE FUNCTION event_store.nack_events(
    name text,
    positions bigint[],
    action text DEFAULT 'retry',
    reason text DEFAULT NULL)
RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    ps event_store.persistent_subscriptions;
    done integer;
    lo bigint;
    hi bigint;
BEGIN
    SELECT p.* INTO ps FROM event_store.persistent_subscriptions p WHERE p.subscription_name = name;
    IF NOT FOUND THEN
        PERFORM event_store.persistent_subscription(name);     -- ES004, naming it
    END IF;
    IF action IS NULL OR action NOT IN ('retry', 'park', 'skip') THEN
        RAISE EXCEPTION 'invalid nack action for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = pg_catalog.format('The action is %s.', coalesce(pg_catalog.quote_literal(action), 'NULL')),
                  HINT = 'Use ''retry'', ''park'' or ''skip''.';
    END IF;
    IF positions IS NULL THEN
        RAISE EXCEPTION 'positions to nack for subscription "%" must not be NULL', name
            USING ERRCODE = 'ES004';
    END IF;
    SELECT pg_catalog.min(x), pg_catalog.max(x) INTO lo, hi FROM pg_catalog.unnest(positions) x;

    IF action = 'skip' THEN
        DELETE FROM event_store.persistent_events e
         WHERE e.subscription_name = name
           AND e.global_position BETWEEN lo AND hi
           AND e.global_position = ANY (positions);
        GET DIAGNOSTICS done = ROW_COUNT;
    ELSIF action = 'park' THEN
        UPDATE event_store.persistent_events e
           SET consumer = NULL, leased_until = NULL,
               parked_at = pg_catalog.now(), reason = nack_events.reason
         WHERE e.subscription_name = name
           AND e.global_position BETWEEN lo AND hi
           AND e.global_position = ANY (positions)
           AND e.parked_at IS NULL;
        GET DIAGNOSTICS done = ROW_COUNT;
    ELSE
        -- Only a lease still held is retried.  The self-join compares
        -- retry_count with the value this statement first saw: if a
        -- receiver meanwhile counted the lease's timeout as the retry and
        -- leased the event again, the re-checked row has another
        -- retry_count and is left alone (specs/persistent_nack_timeout).
        UPDATE event_store.persistent_events e
           SET consumer = NULL, leased_until = NULL,
               retry_count = e.retry_count + 1,
               parked_at = CASE WHEN e.retry_count >= ps.max_retry_count THEN pg_catalog.now() END,
               reason = CASE WHEN e.retry_count >= ps.max_retry_count
                             THEN coalesce(nack_events.reason,
                                           pg_catalog.format('retried %s times', e.retry_count)) END
          FROM event_store.persistent_events seen
         WHERE seen.subscription_name = name
           AND seen.global_position BETWEEN lo AND hi
           AND seen.global_position = ANY (positions)
           AND seen.consumer IS NOT NULL
           AND e.subscription_name = seen.subscription_name
           AND e.global_position = seen.global_position
           AND e.consumer IS NOT NULL
           AND e.retry_count = seen.retry_count;
        GET DIAGNOSTICS done = ROW_COUNT;
    END IF;
    IF done > 0 AND action <> 'retry' THEN
        PERFORM event_store.persistent_advance(name);
    END IF;
    RETURN done;
END
$$;
COMMENT ON FUNCTION event_store.nack_events(text, bigint[], text, text) IS
    'gives events of a persistent subscription back: retry (lease again later, retry_count + 1, parked past max_retry_count), park (with the reason) or skip (done); returns how many it changed';
SELECT event_store.declare_access_level('nack_events', 'writer');

-- Not SECURITY DEFINER: it returns events, read as the caller.
CREATE FUNCTION event_store.parked_events(name text)
RETURNS TABLE (
    global_position bigint,
    stream_name text,
    stream_version bigint,
    event_id uuid,
    event_type text,
    data jsonb,
    metadata jsonb,
    causation_id uuid,
    correlation_id uuid,
    created_at timestamptz,
    retry_count integer,
    reason text,
    parked_at timestamptz)
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
    PERFORM event_store.persistent_subscription(name);
    RETURN QUERY
        SELECT ev.global_position, ev.stream_name::text, ev.stream_version, ev.event_id,
               ev.event_type, ev.data, ev.metadata, ev.causation_id, ev.correlation_id,
               ev.created_at, e.retry_count, e.reason, e.parked_at
          FROM event_store.persistent_events e
          JOIN event_store.events ev ON ev.global_position = e.global_position
         WHERE e.subscription_name = parked_events.name
           AND e.parked_at IS NOT NULL
         ORDER BY e.global_position;
END
$$;
COMMENT ON FUNCTION event_store.parked_events(text) IS
    'the parked events of a persistent subscription, with the reason and time they were parked';
SELECT event_store.declare_access_level('parked_events', 'writer');

CREATE FUNCTION event_store.replay_parked(name text)
RETURNS integer
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    done integer;
BEGIN
    -- With the receivers' lock: the checkpoint moves back below them.
    PERFORM event_store.persistent_subscription(name, true);
    UPDATE event_store.persistent_events e
       SET parked_at = NULL, reason = NULL, retry_count = 0
     WHERE e.subscription_name = name
       AND e.parked_at IS NOT NULL;
    GET DIAGNOSTICS done = ROW_COUNT;
    IF done > 0 THEN
        PERFORM event_store.persistent_advance(name, true);
    END IF;
    RETURN done;
END
$$;
COMMENT ON FUNCTION event_store.replay_parked(text) IS
    'hands the parked events of a persistent subscription out again (retry_count from 0); the checkpoint moves back below them; returns how many';
SELECT event_store.declare_access_level('replay_parked', 'writer');

-- A commit that gave its stream locks back before its WAL flush (another
-- append waited for them) is visible for the length of that flush; readers
-- that answer from a snapshot call this first (src/commit.c).
CREATE FUNCTION event_store.wait_durable() RETURNS void
    AS 'MODULE_PATHNAME', 'es_wait_durable_sql'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION event_store.wait_durable() IS
    'internal: flushes the WAL when a commit that gave its stream locks back before its flush may be visible, so that what a reader returns is durable';
SELECT event_store.declare_access_level('wait_durable', 'reader');

-- The checkpoint kind's functions refuse a persistent subscription, and
-- delete_subscription removes either kind.
CREATE OR REPLACE FUNCTION event_store.read_subscription(name text, max_count integer DEFAULT 100)
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
    IF EXISTS (SELECT FROM event_store.persistent_subscriptions p WHERE p.subscription_name = name) THEN
        RAISE EXCEPTION 'subscription "%" is a persistent subscription', name
            USING ERRCODE = 'ES004',
                  HINT = 'Use receive_events, ack_events and nack_events.';
    END IF;
    IF max_count IS NULL OR max_count <= 0 THEN
        RAISE EXCEPTION 'invalid max_count for subscription "%"', name
            USING ERRCODE = 'ES004',
                  DETAIL = pg_catalog.format('max_count must be at least 1, but is %s.', coalesce(max_count::text, 'NULL'));
    END IF;

    IF sub.checkpoint = 9223372036854775807 THEN
        RETURN;                 -- nothing can come after the last position
    END IF;

    IF sub.source = '$all' THEN
        RETURN QUERY
            SELECT * FROM event_store.read_all_forward(sub.checkpoint + 1, max_count,
                                                       sub.event_types, sub.stream_prefix);
    ELSIF sub.source LIKE '$ce-%' THEN
        RETURN QUERY
            SELECT * FROM event_store.read_category_forward(pg_catalog.substr(sub.source, 5),
                                                            sub.checkpoint + 1, max_count, NULL, NULL,
                                                            sub.event_types, sub.stream_prefix);
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
               AND (sub.event_types IS NULL OR e.event_type = ANY (sub.event_types))
               AND (sub.stream_prefix IS NULL
                    OR pg_catalog.left(e.stream_name, pg_catalog.length(sub.stream_prefix)) = sub.stream_prefix)
             ORDER BY e.stream_version
             LIMIT max_count;
        PERFORM event_store.wait_durable();
    END IF;
END
$$;

-- ==== issue 12 (h12): filters, wait_for_events, the jsonb batch ====

-- Server-side filters: read_all_forward and read_category_forward take
-- event_types and stream_prefix (NULL: no filter).  The functions are
-- replaced (a new signature), so calls without the new arguments keep
-- working; declare_access_level gives the new ones to the roles that had
-- the old ones.  They return events: not SECURITY DEFINER.
DROP FUNCTION event_store.read_all_forward(bigint, integer);
CREATE FUNCTION event_store.read_all_forward(
    from_position bigint DEFAULT 1,
    max_count integer DEFAULT 1000,
    event_types text[] DEFAULT NULL,
    stream_prefix text DEFAULT NULL)
RETURNS SETOF event_store.recorded_event
    AS 'MODULE_PATHNAME', 'es_read_all_forward'
    LANGUAGE C VOLATILE ROWS 1000;
COMMENT ON FUNCTION event_store.read_all_forward(bigint, integer, text[], text) IS
    'the $all log from from_position on, never past a position that a lower one can still precede; optionally only the given event types and/or streams whose name starts with stream_prefix';
SELECT event_store.declare_access_level('read_all_forward', 'reader');

DROP FUNCTION event_store.read_category_forward(text, bigint, integer, integer, integer);
CREATE FUNCTION event_store.read_category_forward(
    category text,
    from_position bigint DEFAULT 1,
    max_count integer DEFAULT 1000,
    group_member integer DEFAULT NULL,
    group_size integer DEFAULT NULL,
    event_types text[] DEFAULT NULL,
    stream_prefix text DEFAULT NULL)
RETURNS SETOF event_store.recorded_event
    AS 'MODULE_PATHNAME', 'es_read_category_forward'
    LANGUAGE C VOLATILE ROWS 1000;
COMMENT ON FUNCTION event_store.read_category_forward(text, bigint, integer, integer, integer, text[], text) IS
    'the events of one category in $all order, gap-free; with a consumer group, member k of n gets the streams whose stream_hash mod n = k; optionally only the given event types and/or streams whose name starts with stream_prefix';
SELECT event_store.declare_access_level('read_category_forward', 'reader');

-- A type filter walks this index: a page of a rare type costs what its rows do.
CREATE INDEX events_type_position_idx
    ON event_store.events (event_type, global_position);

-- Waiting for new events without LISTEN (works through transaction poolers).
CREATE FUNCTION event_store.wait_for_events(
    after_position bigint,
    timeout interval DEFAULT '30 seconds')
RETURNS bigint
    AS 'MODULE_PATHNAME', 'es_wait_for_events'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION event_store.wait_for_events(bigint, interval) IS
    'waits until the gap-free $all horizon is past after_position and returns it (or after_position at the timeout)';
SELECT event_store.declare_access_level('wait_for_events', 'reader');

-- The batch as one JSON array of objects, the form every driver can bind.
-- It writes, as the array form does: SECURITY DEFINER, same level.
CREATE FUNCTION event_store.append_to_stream(
    stream_name text,
    expected_version bigint,
    events jsonb)
RETURNS bigint
    AS 'MODULE_PATHNAME', 'es_append_to_stream_jsonb'
    LANGUAGE C VOLATILE
    SECURITY DEFINER SET search_path = event_store, pg_catalog, pg_temp;
COMMENT ON FUNCTION event_store.append_to_stream(text, bigint, jsonb) IS
    'appends a batch given as a JSON array of {event_type, data, metadata, event_id, causation_id, correlation_id}; returns the new version';
SELECT event_store.declare_access_level('append_to_stream', 'writer');

-- streams.stream_id stays (dropping a primary key would rebuild the table's
-- keys and leave publications of streams without a replica identity); say
-- what it is for.
COMMENT ON COLUMN event_store.streams.stream_id IS
    'the stream''s number, in creation order: the primary key, and so the replica identity a publication of streams uses';
