-- bench/soak_check.sql: the invariants checked after the soak (bench/soak.sh).
-- Prints one row per check: name | violations | detail.  The soak fails if
-- any violations column is not 0.
--
-- Ground truth is the logical slot's output (soak.slot): it holds every
-- event ever committed, including those a hard delete or scavenge() removed
-- later.  soak.removed holds what the deleters recorded removing.

\set ON_ERROR_STOP 1
\pset format unaligned
\pset tuples_only on
\pset fieldsep ' | '

-- The slot's JSON lines, parsed; a repeated line (at-least-once delivery)
-- counts once.
CREATE TABLE soak.slot_all AS
SELECT (j->>'position')::bigint AS global_position, (j->>'id')::uuid AS event_id,
       j->>'stream' AS stream_name, split_part(j->>'stream', '-', 1) AS category,
       (j->>'version')::bigint AS stream_version
  FROM (SELECT line::jsonb AS j FROM soak.slot_raw) x;
CREATE TABLE soak.slot AS SELECT DISTINCT * FROM soak.slot_all;
CREATE INDEX ON soak.slot (global_position);
CREATE INDEX ON soak.slot (stream_name, stream_version);
CREATE INDEX ON soak.seen (reader, global_position);
ANALYZE soak.slot, soak.seen, soak.removed;

CREATE TABLE soak.readers (reader text, cat text, member int, size int, stream text);
INSERT INTO soak.readers VALUES
    ('all', NULL, NULL, NULL, NULL),
    ('acct', 'acct', NULL, NULL, NULL),
    ('user', 'user', NULL, NULL, NULL),
    ('acct-g0', 'acct', 0, 2, NULL),
    ('acct-g1', 'acct', 1, 2, NULL),
    ('doomed', 'doomed', NULL, NULL, NULL),
    ('trim', 'trim', NULL, NULL, NULL),
    ('hot', 'hot', NULL, NULL, NULL),
    ('all-scan', NULL, NULL, NULL, NULL),
    ('acct-scan', 'acct', NULL, NULL, NULL),
    ('sub-all', NULL, NULL, NULL, NULL),
    ('sub-user', 'user', NULL, NULL, NULL),
    ('sub-hot', NULL, NULL, NULL, 'hot-1');

-- What each reader had to see: the slot's events it follows.
CREATE VIEW soak.expected AS
SELECT r.reader, s.*
  FROM soak.readers r
  JOIN soak.slot s
    ON (r.cat IS NULL OR s.category = r.cat)
   AND (r.size IS NULL OR event_store.stream_hash(s.stream_name) % r.size = r.member)
   AND (r.stream IS NULL OR s.stream_name = r.stream);

-- 1. The slot: each position once with one id; equal to the table plus what
--    was recorded removed.
SELECT 'slot: a position delivered with two ids', count(*), ''
  FROM (SELECT global_position FROM soak.slot GROUP BY 1 HAVING count(*) > 1) d;
SELECT 'slot: table events the slot never delivered', count(*), ''
  FROM event_store.events e
 WHERE NOT EXISTS (SELECT 1 FROM soak.slot s
                    WHERE s.global_position = e.global_position AND s.event_id = e.event_id);
SELECT 'slot: delivered events neither in the table nor recorded removed', count(*),
       coalesce(min(s.global_position)::text, '')
  FROM soak.slot s
 WHERE NOT EXISTS (SELECT 1 FROM event_store.events e
                    WHERE e.global_position = s.global_position AND e.event_id = s.event_id)
   AND NOT EXISTS (SELECT 1 FROM soak.removed r
                    WHERE r.global_position = s.global_position AND r.event_id = s.event_id);
SELECT 'removed: recorded removed but still in the table', count(*), ''
  FROM soak.removed r JOIN event_store.events e USING (global_position);
SELECT 'removed: recorded removed but never delivered by the slot', count(*), ''
  FROM soak.removed r
 WHERE NOT EXISTS (SELECT 1 FROM soak.slot s
                    WHERE s.global_position = r.global_position AND s.event_id = r.event_id);
SELECT 'removed: events of streams that were neither deleted nor limited', count(*), ''
  FROM soak.removed r JOIN soak.slot s USING (global_position)
 WHERE s.category NOT IN ('doomed', 'trim');

-- 2. Versions: every stream's events, as the slot delivered them (all ever
--    committed), are versions 1..n once each.
SELECT 'versions: streams whose committed versions are not 1..n', count(*),
       coalesce(min(stream_name), '')
  FROM (SELECT stream_name FROM soak.slot GROUP BY 1
        HAVING min(stream_version) <> 1 OR max(stream_version) <> count(*)
            OR count(DISTINCT stream_version) <> count(*)) x;
-- Never-deleted streams without limits: the table holds 1..n and
-- stream_version() is n, the slot's last version.
SELECT 'versions: never-deleted streams not 1..n in the table or stream_version() wrong', count(*),
       coalesce(min(stream_name), '')
  FROM (SELECT e.stream_name FROM event_store.events e
         WHERE e.category NOT IN ('doomed', 'trim')
         GROUP BY 1
        HAVING min(e.stream_version) <> 1 OR max(e.stream_version) <> count(*)
            OR event_store.stream_version(e.stream_name) <> count(*)
            OR (SELECT max(s.stream_version) FROM soak.slot s
                 WHERE s.stream_name = e.stream_name) <> count(*)) x;
-- Trimmed and soft-deleted streams: what is left is a contiguous run of
-- versions; stream_version() is the last version ever written (0 for a
-- soft-deleted stream not re-created).
SELECT 'versions: trimmed/soft-deleted streams with holes or a wrong stream_version()', count(*),
       coalesce(min(st.stream_name), '')
  FROM (SELECT DISTINCT stream_name FROM soak.slot WHERE category IN ('trim', 'doomed')) st
  LEFT JOIN soak.deleted d USING (stream_name)
  LEFT JOIN LATERAL (SELECT min(e.stream_version) lo, max(e.stream_version) hi, count(*) n
                       FROM event_store.events e WHERE e.stream_name = st.stream_name) t ON true
  LEFT JOIN LATERAL (SELECT max(s.stream_version) top
                       FROM soak.slot s WHERE s.stream_name = st.stream_name) s ON true
 WHERE d.hard IS NOT TRUE
   AND (t.n > 0 AND t.hi - t.lo + 1 <> t.n
        OR event_store.stream_version(st.stream_name) <>
           CASE WHEN d.stream_name IS NOT NULL AND d.recreated_at IS NULL THEN 0 ELSE s.top END
        OR (d.stream_name IS NOT NULL AND d.recreated_at IS NULL AND t.hi > d.version));
SELECT 'versions: hard-deleted streams with events left or not all recorded removed', count(*),
       coalesce(min(d.stream_name), '')
  FROM soak.deleted d
 WHERE d.hard
   AND (EXISTS (SELECT 1 FROM event_store.events e WHERE e.stream_name = d.stream_name)
        OR EXISTS (SELECT 1 FROM soak.slot s WHERE s.stream_name = d.stream_name
                    AND NOT EXISTS (SELECT 1 FROM soak.removed r
                                     WHERE r.global_position = s.global_position)));
SELECT 'versions: hard-deleted streams without a tombstone', count(*), ''
  FROM soak.deleted d LEFT JOIN event_store.streams s USING (stream_name)
 WHERE d.hard AND s.tombstoned_at IS NULL;

-- 3. Readers and subscriptions: only events the slot delivered, of what they
--    follow, in strictly increasing positions, and every one of them except
--    those recorded removed.
SELECT 'reader ' || r.reader || ': phantom or mismatched events', count(s.global_position), ''
  FROM soak.readers r
  LEFT JOIN soak.seen s ON s.reader = r.reader
   AND NOT EXISTS (SELECT 1 FROM soak.expected x
                    WHERE x.reader = r.reader AND x.global_position = s.global_position
                      AND x.event_id = s.event_id)
 GROUP BY r.reader ORDER BY r.reader;
SELECT 'reader ' || r.reader || ': not in strictly increasing order', count(b.reader), ''
  FROM soak.readers r
  LEFT JOIN (SELECT reader, global_position,
                    lag(global_position) OVER (PARTITION BY reader ORDER BY iter, o) AS prev
               FROM soak.seen) b ON b.reader = r.reader AND b.global_position <= b.prev
 GROUP BY r.reader ORDER BY r.reader;
SELECT 'reader ' || r.reader || ': skipped events (gaps)', count(x.global_position),
       coalesce('first at ' || min(x.global_position), '')
  FROM soak.readers r
  LEFT JOIN soak.expected x ON x.reader = r.reader
   AND NOT EXISTS (SELECT 1 FROM soak.seen s
                    WHERE s.reader = r.reader AND s.global_position = x.global_position)
   AND NOT EXISTS (SELECT 1 FROM soak.removed m WHERE m.global_position = x.global_position)
 GROUP BY r.reader ORDER BY r.reader;

-- A missed event that was removed only after the read call that passed it
-- had finished was skipped: that call's snapshots still showed it.
CREATE INDEX ON soak.calls (reader, iter);
SELECT 'reader ' || r.reader || ': skipped events removed only after the call that passed them',
       count(x.global_position), coalesce('first at ' || min(x.global_position), '')
  FROM soak.readers r
  LEFT JOIN (soak.expected x JOIN soak.removed m USING (global_position)) ON x.reader = r.reader
   AND NOT EXISTS (SELECT 1 FROM soak.seen s
                    WHERE s.reader = r.reader AND s.global_position = x.global_position)
   AND m.at > (SELECT c.done FROM soak.calls c
                WHERE c.reader = r.reader
                  AND c.iter = (SELECT s.iter FROM soak.seen s
                                 WHERE s.reader = r.reader AND s.global_position > x.global_position
                                 ORDER BY s.global_position LIMIT 1))
 GROUP BY r.reader ORDER BY r.reader;

-- 4. Subscriptions: every checkpoint ack() returned never moved back, and
--    the stored one is the last.
SELECT 'checkpoints: ' || sub || ' moved backwards', count(*) FILTER (WHERE checkpoint < prev), ''
  FROM (SELECT sub, checkpoint,
               lag(checkpoint) OVER (PARTITION BY sub ORDER BY iter, acked <> checkpoint) prev
          FROM soak.checkpoints) c
 GROUP BY sub ORDER BY sub;
SELECT 'checkpoints: stored checkpoint is not the last acked', count(*), ''
  FROM event_store.subscriptions s
 WHERE s.checkpoint <> (SELECT max(checkpoint) FROM soak.checkpoints c
                         WHERE c.sub = s.subscription_name);

-- Figures (violations 0 by construction)
SELECT 'figure: events committed (slot, distinct)', 0, count(*)::text FROM soak.slot;
SELECT 'figure: slot lines (repeats included)', 0, count(*)::text FROM soak.slot_all;
SELECT 'figure: events in the table at the end', 0, count(*)::text FROM event_store.events;
SELECT 'figure: highest position', 0, max(global_position)::text FROM soak.slot;
SELECT 'figure: streams written', 0, count(DISTINCT stream_name)::text FROM soak.slot;
SELECT 'figure: hot-1 events', 0, count(*)::text FROM soak.slot WHERE stream_name = 'hot-1';
SELECT 'figure: events removed (hard delete / scavenge)', 0,
       coalesce(sum(n) FILTER (WHERE how = 'hard delete'), 0) || ' / ' ||
       coalesce(sum(n) FILTER (WHERE how = 'scavenge'), 0)
  FROM (SELECT how, count(*) n FROM soak.removed GROUP BY how) r;
SELECT 'figure: scavenge() total returned', 0, coalesce(sum(removed), 0)::text FROM soak.scavenges;
SELECT 'figure: reader ' || reader || ' events seen', 0, count(*)::text
  FROM soak.seen GROUP BY reader ORDER BY reader;
SELECT 'figure: read calls (readers and read_subscription, all together)', 0, sum(n)::text
  FROM soak.counts WHERE what LIKE 'reads %';
SELECT 'figure: reader ' || r.reader || ' removed before it got there', 0, count(*)::text
  FROM soak.readers r JOIN soak.expected x ON x.reader = r.reader
 WHERE NOT EXISTS (SELECT 1 FROM soak.seen s
                    WHERE s.reader = r.reader AND s.global_position = x.global_position)
 GROUP BY r.reader ORDER BY r.reader;
SELECT 'figure: acks', 0, count(*)::text FROM soak.checkpoints;
SELECT 'figure: ' || what, 0, n::text FROM soak.counts ORDER BY what;
SELECT 'figure: append calls / ES001 (lost races) / ES002 (tombstone, on purpose)', 0,
       (SELECT last_value FROM soak.appends_seq) || ' / ' ||
       (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM soak.es001_seq) || ' / ' ||
       (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM soak.es002_seq);
