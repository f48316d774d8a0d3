-- The server-side half of tools/import-message-db: a staging copy of Message
-- DB's messages and the procedure that appends them to event_store, in the
-- target database, in the schema message_db_import.  Safe to run again: it
-- creates what is missing and replaces the functions.
--
-- Mapping (docs/migrating.md):
--   messages.global_position  order of the appends: event_store positions
--                             follow the same order (their values are
--                             event_store's own)
--   messages.stream_name      stream_name (category: the part before the
--                             first '-', as in Message DB)
--   messages.position (0-based)  stream_version = position + 1; appended
--                             with expected version = position, so a stream
--                             that does not continue exactly is refused (ES001)
--   messages.id               event_id
--   messages.type             event_type
--   messages.data, metadata   data, metadata (unchanged)
--   messages.time             kept in the staging table only: created_at is
--                             the import's transaction time

CREATE SCHEMA IF NOT EXISTS message_db_import;

-- Message DB's rows, copied as they are (COPY from the source database).
CREATE TABLE IF NOT EXISTS message_db_import.messages (
    global_position bigint PRIMARY KEY,
    position bigint NOT NULL,
    time timestamp NOT NULL,
    stream_name text COLLATE "C" NOT NULL,
    type text NOT NULL,
    data jsonb,
    metadata jsonb,
    id uuid NOT NULL
);

-- How far the import got: every staged message at or below it is appended.
-- Moved in the same transaction as the appends it covers.
CREATE TABLE IF NOT EXISTS message_db_import.progress (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    imported_through bigint NOT NULL
);
INSERT INTO message_db_import.progress VALUES (true, 0) ON CONFLICT DO NOTHING;

-- Append the staged messages after the progress mark, in global order, one
-- append per run of consecutive messages of one stream, committing every
-- batch_size messages.  CALL it outside a transaction block.
-- (No SET search_path clause: a procedure with one cannot COMMIT.  Every
-- name is qualified instead.)
CREATE OR REPLACE PROCEDURE message_db_import.import(batch_size integer DEFAULT 5000)
LANGUAGE plpgsql
AS $$
DECLARE
    m record;
    run_stream text;
    run_first bigint;
    run_last_position bigint;
    run_events event_store.new_event[] := '{}';
    done bigint;
    in_batch integer := 0;
    total bigint := 0;
BEGIN
    LOOP
        SELECT imported_through INTO done FROM message_db_import.progress;
        in_batch := 0;
        run_stream := NULL;
        FOR m IN SELECT * FROM message_db_import.messages
                  WHERE global_position > done
                  ORDER BY global_position
                  LIMIT batch_size
        LOOP
            IF run_stream IS DISTINCT FROM m.stream_name
               OR m.position <> run_last_position + 1 THEN
                IF run_stream IS NOT NULL THEN
                    PERFORM event_store.append_to_stream(run_stream, run_first, run_events);
                END IF;
                run_stream := m.stream_name;
                run_first := m.position;
                run_events := '{}';
            END IF;
            run_events := run_events || ROW(m.id, m.type, m.data, m.metadata, NULL, NULL)::event_store.new_event;
            run_last_position := m.position;
            done := m.global_position;
            in_batch := in_batch + 1;
        END LOOP;
        IF run_stream IS NOT NULL THEN
            PERFORM event_store.append_to_stream(run_stream, run_first, run_events);
        END IF;
        EXIT WHEN in_batch = 0;
        UPDATE message_db_import.progress SET imported_through = done;
        total := total + in_batch;
        COMMIT;
    END LOOP;
    RAISE NOTICE 'imported % messages', total;
END
$$;

-- The checks of the staged messages against event_store: one row per problem
-- (none when everything matches).
CREATE OR REPLACE FUNCTION message_db_import.problems()
RETURNS TABLE (problem text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH imported AS (
        SELECT m.global_position AS source_position, m.position, m.stream_name, m.id,
               e.global_position, e.stream_name AS target_stream, e.stream_version,
               e.event_type = m.type AND e.data IS NOT DISTINCT FROM m.data
                 AND e.metadata IS NOT DISTINCT FROM m.metadata AS same_content
          FROM message_db_import.messages m
          LEFT JOIN event_store.events e ON e.event_id = m.id
         WHERE m.global_position <= (SELECT imported_through FROM message_db_import.progress)
    ), ranked AS (
        SELECT *, row_number() OVER (ORDER BY source_position) AS source_rank,
                  row_number() OVER (ORDER BY global_position) AS target_rank
          FROM imported WHERE global_position IS NOT NULL
    )
    SELECT format('message %s (%s position %s) is missing', id, stream_name, position)
      FROM imported WHERE global_position IS NULL
    UNION ALL
    SELECT format('message %s is in stream %s at version %s, not %s at %s',
                  id, target_stream, stream_version, stream_name, position + 1)
      FROM imported
     WHERE global_position IS NOT NULL
       AND (target_stream <> stream_name OR stream_version <> position + 1)
    UNION ALL
    SELECT format('message %s has another type, data or metadata', id)
      FROM imported WHERE global_position IS NOT NULL AND NOT same_content
    UNION ALL
    SELECT format('message %s is out of global order (source rank %s, target rank %s)',
                  id, source_rank, target_rank)
      FROM ranked WHERE source_rank <> target_rank
$$;

-- Per stream: messages, last position + 1 and a checksum of the content in
-- stream order.  The same query over message_store.messages in the source
-- gives the same lines for a faithful copy (tools/import-message-db compares them).
CREATE OR REPLACE FUNCTION message_db_import.target_summary()
RETURNS TABLE (stream_name text, messages bigint, version bigint, checksum text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT e.stream_name, count(*), max(e.stream_version),
           md5(string_agg(e.event_id::text || ' ' || e.event_type || ' ' ||
                          coalesce(e.data::text, 'null') || ' ' || coalesce(e.metadata::text, 'null'),
                          E'\n' ORDER BY e.stream_version))
      FROM event_store.events e
     WHERE e.stream_name IN (SELECT DISTINCT m.stream_name FROM message_db_import.messages m)
     GROUP BY e.stream_name
     ORDER BY e.stream_name COLLATE "C"
$$;
