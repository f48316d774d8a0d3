-- scavenge_visibility: scavenge() removes exactly the events that stream
-- reads no longer show, for every combination of stream metadata (deletion
-- mark, truncate_before, max_count, max_age), and stream reads show the same
-- before and after it.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;

-- 3 deletion states x 3 truncate_before x 3 max_count x 2 max_age = 54 streams
CREATE TEMP TABLE combos AS
SELECT 'vis-' || row_number() OVER (ORDER BY d.deleted, t.truncate_before, c.max_count, a.max_age) AS stream,
       d.deleted, t.truncate_before, c.max_count, a.max_age
  FROM (VALUES ('none'), ('soft'), ('soft, appended again')) d(deleted),
       (VALUES (NULL::bigint), (3), (9)) t(truncate_before),
       (VALUES (NULL::bigint), (2), (20)) c(max_count),
       (VALUES (NULL::interval), ('1 day')) a(max_age);

-- Each stream: six events, the first three two days old; then its deletion
-- state (a soft delete, maybe two appends after it), then its limits.
DO $$
DECLARE
    s record;
BEGIN
    FOR s IN SELECT * FROM combos LOOP
        PERFORM event_store.append_to_stream(s.stream, -1,
            ARRAY(SELECT event_store.event('E' || i, jsonb_build_object('i', i))
                    FROM generate_series(1, 6) i));
        UPDATE event_store.events SET created_at = created_at - interval '2 days'
         WHERE stream_name = s.stream AND stream_version <= 3;
        IF s.deleted <> 'none' THEN
            PERFORM event_store.delete_stream(s.stream, -1);
        END IF;
        IF s.deleted = 'soft, appended again' THEN
            PERFORM event_store.append_to_stream(s.stream, -1,
                ARRAY[event_store.event('E7', '{}'), event_store.event('E8', '{}')]);
        END IF;
        PERFORM event_store.set_stream_metadata(s.stream, s.max_count, s.max_age,
                                                s.truncate_before);
    END LOOP;
END
$$;

CREATE TEMP VIEW shown AS
SELECT c.stream, r.event_id, r.stream_version
  FROM combos c
 CROSS JOIN LATERAL event_store.read_stream_forward(c.stream, 1, 1000) r;

CREATE TEMP TABLE shown_before AS SELECT * FROM shown;
CREATE TEMP TABLE versions_before AS
SELECT stream, event_store.stream_version(stream) AS version FROM combos;

-- what the readers show, per combination (versions)
SELECT c.deleted, c.truncate_before, c.max_count, c.max_age,
       string_agg(b.stream_version::text, ',' ORDER BY b.stream_version) AS shown
  FROM combos c
  LEFT JOIN shown_before b ON b.stream = c.stream
 GROUP BY c.stream, c.deleted, c.truncate_before, c.max_count, c.max_age
 ORDER BY c.deleted, c.truncate_before NULLS FIRST, c.max_count NULLS FIRST, c.max_age NULLS FIRST;

-- in small steps, as operators loop
CREATE TEMP TABLE removed (n bigint);
DO $$
DECLARE
    n bigint;
BEGIN
    LOOP
        n := event_store.scavenge(7);
        EXIT WHEN n = 0;
        INSERT INTO removed VALUES (n);
    END LOOP;
END
$$;
SELECT sum(n) AS removed, max(n) AS largest_step,
       (SELECT count(*) FROM shown_before) AS shown,
       (SELECT count(*) FROM event_store.events WHERE stream_name LIKE 'vis-%') AS left
  FROM removed;

-- every event left is one the readers showed, and every one they showed is left
SELECT count(*) AS hidden_but_kept
  FROM event_store.events e
 WHERE e.stream_name LIKE 'vis-%'
   AND NOT EXISTS (SELECT 1 FROM shown_before b WHERE b.event_id = e.event_id);
SELECT count(*) AS shown_but_removed
  FROM shown_before b
 WHERE NOT EXISTS (SELECT 1 FROM event_store.events e WHERE e.event_id = b.event_id);

-- the readers show the same as before, at the same versions
SELECT count(*) AS reads_changed
  FROM ((SELECT * FROM shown EXCEPT SELECT * FROM shown_before)
        UNION ALL
        (SELECT * FROM shown_before EXCEPT SELECT * FROM shown)) d;
SELECT count(*) AS versions_changed
  FROM versions_before v
 WHERE event_store.stream_version(v.stream) <> v.version;

-- nothing more to do
SELECT event_store.scavenge();

SET client_min_messages = warning;
DROP EXTENSION event_store CASCADE;
