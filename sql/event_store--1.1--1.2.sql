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
