/* event_store--1.0--1.1.sql: stream lifecycle — deletion, retention, scavenging */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION event_store UPDATE TO '1.1'" to load this file. \quit

-- 1.0 already has the columns (streams.deleted_version, tombstoned_at,
-- max_count, max_age, truncate_before); 1.1 adds the functions that use them.

CREATE FUNCTION event_store.delete_stream(
    stream_name text,
    expected_version bigint,
    hard boolean DEFAULT false)
RETURNS void
    AS 'MODULE_PATHNAME', 'es_delete_stream'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION event_store.delete_stream(text, bigint, boolean) IS
    'soft delete (the stream looks absent, may be re-created, versions continue) or hard delete (events removed at once, name tombstoned: ES002 ever after)';

CREATE FUNCTION event_store.set_stream_metadata(
    stream_name text,
    max_count bigint DEFAULT NULL,
    max_age interval DEFAULT NULL,
    truncate_before bigint DEFAULT NULL)
RETURNS void
    AS 'MODULE_PATHNAME', 'es_set_stream_metadata'
    LANGUAGE C VOLATILE;
COMMENT ON FUNCTION event_store.set_stream_metadata(text, bigint, interval, bigint) IS
    'replaces a stream''s retention limits (NULL: no limit); stream reads apply them at once, scavenge() removes what they exclude';

CREATE FUNCTION event_store.scavenge(max_events bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql
    SET search_path = event_store, pg_catalog, pg_temp
AS $$
DECLARE
    doomed bigint[];
    touched text[];
    removed bigint;
BEGIN
    IF max_events IS NOT NULL AND max_events < 1 THEN
        RAISE EXCEPTION 'invalid max_events for scavenge'
            USING ERRCODE = 'ES004',
                  DETAIL = format('max_events must be at least 1, or NULL for all, but is %s.', max_events);
    END IF;

    -- Only streams with a deletion mark or a limit can have anything to
    -- remove; each is walked through its (stream_name, stream_version) index.
    SELECT array_agg(d.global_position), array_agg(DISTINCT d.stream_name)
      INTO doomed, touched
      FROM (SELECT e.global_position, e.stream_name
              FROM event_store.streams s
             CROSS JOIN LATERAL (
                   SELECT GREATEST(s.stream_version, max(l.stream_version)) AS version
                     FROM event_store.events l
                    WHERE l.stream_name = s.stream_name) cur
              JOIN event_store.events e ON e.stream_name = s.stream_name
             WHERE (s.deleted_version IS NOT NULL OR s.truncate_before IS NOT NULL
                    OR s.max_count IS NOT NULL OR s.max_age IS NOT NULL)
               AND (e.stream_version <= coalesce(s.deleted_version, 0)
                    OR e.stream_version < coalesce(s.truncate_before, 0)
                    OR e.stream_version <= cur.version - s.max_count
                    OR e.created_at < pg_catalog.now() - s.max_age)
             ORDER BY e.global_position
             LIMIT max_events) d;
    IF doomed IS NULL THEN
        RETURN 0;
    END IF;

    -- A stream's version is read from its last event unless its row says
    -- more: record it on the row before the last events may go.
    UPDATE event_store.streams s
       SET stream_version = top.version
      FROM (SELECT e.stream_name, max(e.stream_version) AS version
              FROM event_store.events e
             WHERE e.stream_name = ANY (touched)
             GROUP BY e.stream_name) top
     WHERE s.stream_name = top.stream_name
       AND s.stream_version < top.version;

    -- A plain DELETE takes no lock that appends or reads wait for.
    DELETE FROM event_store.events e WHERE e.global_position = ANY (doomed);
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed;
END
$$;
COMMENT ON FUNCTION event_store.scavenge(bigint) IS
    'physically removes events of soft-deleted streams and beyond streams'' limits (at most max_events; all when NULL); returns how many';

REVOKE ALL ON FUNCTION event_store.delete_stream(text, bigint, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION event_store.set_stream_metadata(text, bigint, interval, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION event_store.scavenge(bigint) FROM PUBLIC;

-- Writers may set stream metadata; deleting and scavenging stay admin-only
-- (grant_admin grants every function).
CREATE OR REPLACE FUNCTION event_store.grant_writer(role regrole) RETURNS void
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
                   'event_store.set_stream_metadata(text, bigint, interval, bigint), '
                   'event_store.record_snapshot(text, bigint, text, jsonb, jsonb), '
                   'event_store.delete_snapshot(text), '
                   'event_store.create_subscription(text, text, bigint), '
                   'event_store.read_subscription(text, integer), '
                   'event_store.ack(text, bigint), '
                   'event_store.delete_subscription(text) TO %s', role);
END
$$;
