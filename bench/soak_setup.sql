-- bench/soak_setup.sql: the helpers of the soak test (bench/soak.sh).
-- Run once in the soak's own throwaway database.  Everything the soak
-- records lives in the schema soak; the checks at the end compare it with
-- event_store's tables and with what the logical slot delivered.

CREATE EXTENSION IF NOT EXISTS event_store;
CREATE SCHEMA soak;

-- Counters that survive a rollback (sequences are not transactional): how
-- often an expected outcome happened, whatever became of its transaction.
CREATE SEQUENCE soak.es001_seq;         -- wrong expected version (a lost race)
CREATE SEQUENCE soak.es002_seq;         -- append/read of a tombstoned stream, on purpose
CREATE SEQUENCE soak.appends_seq;       -- append_to_stream calls made by soak.append

-- What the tailing readers and subscriptions were given, in the order given:
-- (iter, o) is the call and the row's place in its result.
CREATE UNLOGGED TABLE soak.seen (
    reader text NOT NULL,
    iter bigint NOT NULL,
    o bigint NOT NULL,
    global_position bigint NOT NULL,
    event_id uuid NOT NULL
) WITH (autovacuum_enabled = false);   -- insert-only; the checks index it (an
                                       -- autovacuum cancelled by that would
                                       -- show as an error in the server log)

-- Every checkpoint ack() returned, in order.
CREATE UNLOGGED TABLE soak.checkpoints (
    sub text NOT NULL,
    iter bigint NOT NULL,
    acked bigint NOT NULL,
    checkpoint bigint NOT NULL
) WITH (autovacuum_enabled = false);

-- Events physically removed, recorded by whoever removed them in the same
-- transaction (hard deletes) or right after, in the same transaction
-- (scavenge): the only events readers may legitimately miss.
-- "at" is taken before the removing transaction commits.
CREATE TABLE soak.removed (
    global_position bigint PRIMARY KEY,
    event_id uuid NOT NULL,
    how text NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- When each read call that returned something had finished: all its
-- snapshots were taken before.  An event removed (committed) after that was
-- visible to them, so a call that passed it without returning it skipped it.
CREATE UNLOGGED TABLE soak.calls (
    reader text NOT NULL,
    iter bigint NOT NULL,
    done timestamptz NOT NULL
) WITH (autovacuum_enabled = false);

-- The streams deleted, how, and at which version.
CREATE TABLE soak.deleted (
    stream_name text PRIMARY KEY,
    hard boolean NOT NULL,
    version bigint NOT NULL,
    recreated_at bigint
);

CREATE TABLE soak.scavenges (
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    removed bigint NOT NULL
);

CREATE TABLE soak.counts (
    what text PRIMARY KEY,
    n bigint NOT NULL
);

-- Readers stop once this is set and they have caught up.
CREATE TABLE soak.control (stop boolean NOT NULL);
INSERT INTO soak.control VALUES (false);

-- The logical slot's output, one JSON line per row.
CREATE UNLOGGED TABLE soak.slot_raw (line text NOT NULL) WITH (autovacuum_enabled = false);

CREATE FUNCTION soak.bump(what text, by bigint DEFAULT 1) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO soak.counts VALUES (what, by)
    ON CONFLICT (what) DO UPDATE SET n = soak.counts.n + excluded.n
$$;

CREATE FUNCTION soak.batch(n bigint) RETURNS event_store.new_event[]
LANGUAGE sql AS $$
    SELECT array_agg(event_store.event('Happened',
                                       jsonb_build_object('i', g, 'pad', repeat('x', 40)),
                                       '{"soak": true}'))
      FROM generate_series(1, n) g
$$;

-- One append of n events.  ES001 (a lost race on an expected version) is an
-- expected outcome: counted and answered with NULL.  Anything else is not
-- caught: it fails the transaction, the server logs it with its SQLSTATE,
-- and the soak counts it as an error.
CREATE FUNCTION soak.append(stream text, expected bigint, n bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('soak.appends_seq');
    RETURN event_store.append_to_stream(stream, expected, soak.batch(n));
EXCEPTION WHEN SQLSTATE 'ES001' THEN
    PERFORM nextval('soak.es001_seq');
    RETURN NULL;
END
$$;

-- An append with the version just read as the expected version: loses the
-- race (ES001) whenever another append to the stream commits in between.
CREATE FUNCTION soak.append_expected(stream text, n int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v bigint := event_store.stream_version(stream);
BEGIN
    IF v = 0 THEN
        v := event_store.no_stream();
    END IF;
    RETURN soak.append(stream, v, n);
END
$$;

-- A tailing reader of $all (category NULL) or of a category, optionally as
-- member k of a consumer group of size g.  Reads from the position after the
-- last one it was given, in its own short transactions; refuses to go
-- backwards; exits when told to stop and caught up (or at hard_deadline,
-- with an error).
CREATE PROCEDURE soak.tail_reader(reader text, category text, k int, g int,
                                  hard_deadline float8)
LANGUAGE plpgsql AS $$
DECLARE
    last bigint := 0;
    iter bigint := 0;
    got bigint;
    top bigint;
    back bigint;
    idle int := 0;
    stopping boolean;
    -- readers named *-scan read as a plain SELECT does, through the custom
    -- scan (docs/api.md#custom-scan); the library is loaded before the read
    -- is first planned
    scan boolean := reader LIKE '%-scan';
BEGIN
    PERFORM event_store.stream_version('soak-load');
    LOOP
        iter := iter + 1;
        -- one of the four sources runs: $all or a category, through a
        -- function scan (WITH ORDINALITY) or the custom scan (*-scan)
        WITH e AS MATERIALIZED (
            SELECT r.global_position, r.event_id, r.ordinality AS o
              FROM event_store.read_all_forward(last + 1, 1000) WITH ORDINALITY r
             WHERE category IS NULL AND NOT scan
            UNION ALL
            SELECT r.global_position, r.event_id, r.ordinality AS o
              FROM event_store.read_category_forward(coalesce(category, '-'), last + 1, 1000,
                                                     k, g) WITH ORDINALITY r
             WHERE category IS NOT NULL AND NOT scan
            UNION ALL
            SELECT r.global_position, r.event_id, row_number() OVER () AS o
              FROM event_store.read_all_forward(last + 1, 1000) r
             WHERE category IS NULL AND scan
            UNION ALL
            SELECT r.global_position, r.event_id, row_number() OVER () AS o
              FROM event_store.read_category_forward(coalesce(category, '-'), last + 1, 1000,
                                                     k, g) r
             WHERE category IS NOT NULL AND scan),
        i AS (
            INSERT INTO soak.seen (reader, iter, o, global_position, event_id)
            SELECT reader, iter, e.o, e.global_position, e.event_id FROM e)
        SELECT count(*), max(global_position),
               count(*) FILTER (WHERE global_position <= coalesce(prev, last))
          INTO got, top, back
          FROM (SELECT global_position, lag(global_position) OVER (ORDER BY o) AS prev
                  FROM e) x;
        IF back > 0 THEN
            RAISE EXCEPTION 'reader % went backwards (% rows) in call % from %',
                reader, back, iter, last;
        END IF;
        IF got > 0 THEN
            last := top;
            INSERT INTO soak.calls VALUES (reader, iter, clock_timestamp());
        END IF;
        COMMIT;
        IF got = 0 THEN
            SELECT stop INTO stopping FROM soak.control;
            IF stopping THEN
                idle := idle + 1;
                EXIT WHEN idle >= 3;
            END IF;
            IF extract(epoch FROM clock_timestamp()) > hard_deadline THEN
                RAISE EXCEPTION 'reader % did not drain by the hard deadline', reader;
            END IF;
            PERFORM pg_sleep(0.01);
        ELSE
            idle := 0;
        END IF;
    END LOOP;
    PERFORM soak.bump('reads ' || reader, iter);
    COMMIT;
END
$$;

-- A durable subscription: create, then read_subscription + ack until told to
-- stop and caught up.  Records every event given and every checkpoint ack()
-- returned; checks on the spot that the checkpoint is the position acked,
-- never moves back (a stale ack is ignored), and survives create_subscription
-- again.
CREATE PROCEDURE soak.subscriber(sub text, source text, hard_deadline float8)
LANGUAGE plpgsql AS $$
DECLARE
    iter bigint := 0;
    got bigint;
    top bigint;
    cp bigint;
    prev_cp bigint := 0;
    idle int := 0;
    stopping boolean;
    s event_store.subscriptions;
BEGIN
    PERFORM event_store.create_subscription(sub, source, 0);
    COMMIT;
    LOOP
        iter := iter + 1;
        WITH e AS MATERIALIZED (
            SELECT r.global_position, r.event_id, r.ordinality AS o
              FROM event_store.read_subscription(sub, 200) WITH ORDINALITY r),
        i AS (
            INSERT INTO soak.seen (reader, iter, o, global_position, event_id)
            SELECT sub, iter, e.o, e.global_position, e.event_id FROM e)
        SELECT count(*), max(global_position) INTO got, top FROM e;
        IF got > 0 THEN
            INSERT INTO soak.calls VALUES (sub, iter, clock_timestamp());
            cp := event_store.ack(sub, top);
            INSERT INTO soak.checkpoints VALUES (sub, iter, top, cp);
            IF cp <> top OR cp < prev_cp THEN
                RAISE EXCEPTION 'subscription %: ack(%) returned % after %', sub, top, cp, prev_cp;
            END IF;
            prev_cp := cp;
            IF iter % 7 = 0 THEN        -- a late, stale ack changes nothing
                cp := event_store.ack(sub, greatest(top - 100, 0));
                INSERT INTO soak.checkpoints VALUES (sub, iter, greatest(top - 100, 0), cp);
                IF cp <> prev_cp THEN
                    RAISE EXCEPTION 'subscription %: stale ack moved the checkpoint to %', sub, cp;
                END IF;
            END IF;
        END IF;
        IF iter % 50 = 0 THEN           -- resuming gives the same checkpoint
            s := event_store.create_subscription(sub, source, 0);
            IF s.checkpoint <> prev_cp THEN
                RAISE EXCEPTION 'subscription %: resumed at % instead of %', sub, s.checkpoint, prev_cp;
            END IF;
        END IF;
        COMMIT;
        IF got = 0 THEN
            SELECT stop INTO stopping FROM soak.control;
            IF stopping THEN
                idle := idle + 1;
                EXIT WHEN idle >= 3;
            END IF;
            IF extract(epoch FROM clock_timestamp()) > hard_deadline THEN
                RAISE EXCEPTION 'subscription % did not drain by the hard deadline', sub;
            END IF;
            PERFORM pg_sleep(0.01);
        ELSE
            idle := 0;
        END IF;
    END LOOP;
    PERFORM soak.bump('reads ' || sub, iter);
    COMMIT;
END
$$;

-- Snapshots: record, read back, now and then delete, on its own sources
-- (exact checks) and on sources shared with the other snapshot loops
-- (concurrent upserts: no error, some snapshot left).
CREATE PROCEDURE soak.snapshotter(me int, deadline float8)
LANGUAGE plpgsql AS $$
DECLARE
    i bigint := 0;
    src text;
    s event_store.snapshots;
BEGIN
    WHILE extract(epoch FROM clock_timestamp()) < deadline LOOP
        i := i + 1;
        src := 'snap-' || me || '-' || (i % 50);
        PERFORM event_store.record_snapshot(src, i, 'Aggregate',
                                            jsonb_build_object('i', i, 'me', me));
        s := event_store.read_snapshot(src);
        IF s.source_version IS DISTINCT FROM i OR (s.data->>'i')::bigint IS DISTINCT FROM i THEN
            RAISE EXCEPTION 'snapshot %: read version % after recording %', src, s.source_version, i;
        END IF;
        IF i % 10 = 0 THEN
            IF NOT event_store.delete_snapshot(src) THEN
                RAISE EXCEPTION 'snapshot %: delete found nothing', src;
            END IF;
            IF event_store.read_snapshot(src) IS NOT NULL THEN
                RAISE EXCEPTION 'snapshot %: still there after delete', src;
            END IF;
        END IF;
        PERFORM event_store.record_snapshot('snap-shared-' || (i % 5), i, 'Shared', '{}');
        IF event_store.read_snapshot('snap-shared-' || (i % 5)) IS NULL THEN
            RAISE EXCEPTION 'shared snapshot % missing', i % 5;
        END IF;
        COMMIT;
        PERFORM pg_sleep(0.01);
    END LOOP;
    PERFORM soak.bump('snapshot rounds', i);
    COMMIT;
END
$$;

-- Doomed streams: each doomed-<me>-<i> gets a few appends (each committed,
-- so readers may be reading it), then is hard-deleted (its events recorded
-- in soak.removed in the same transaction; later appends and reads must
-- fail with ES002), or soft-deleted (stream_version 0, reads empty) and
-- sometimes re-created (versions continue), or soft-deleted after a wrong
-- expected version was refused.
CREATE PROCEDURE soak.doomer(me int, deadline float8)
LANGUAGE plpgsql AS $$
DECLARE
    i bigint := 0;
    s text;
    v bigint;
    nb int;
    hard_n bigint := 0;
    soft_n bigint := 0;
BEGIN
    WHILE extract(epoch FROM clock_timestamp()) < deadline LOOP
        i := i + 1;
        s := 'doomed-' || me || '-' || i;
        nb := 1 + (i % 4);
        FOR b IN 1 .. nb LOOP
            v := event_store.append_to_stream(s, event_store.any_version(), soak.batch(1 + (b * 7 + i) % 12));
            COMMIT;
            PERFORM pg_sleep(0.01);
        END LOOP;
        IF i % 3 = 0 THEN
            INSERT INTO soak.removed
            SELECT e.global_position, e.event_id, 'hard delete', clock_timestamp()
              FROM event_store.events e WHERE e.stream_name = s
            ON CONFLICT DO NOTHING;
            INSERT INTO soak.deleted VALUES (s, true, v);
            PERFORM event_store.delete_stream(s, v, true);
            COMMIT;
            hard_n := hard_n + 1;
            BEGIN
                PERFORM event_store.append_to_stream(s, event_store.any_version(), soak.batch(1));
                RAISE EXCEPTION 'append to tombstoned stream % succeeded', s;
            EXCEPTION WHEN SQLSTATE 'ES002' THEN
                PERFORM nextval('soak.es002_seq');
            END;
            BEGIN
                PERFORM count(*) FROM event_store.read_stream_forward(s);
                RAISE EXCEPTION 'read of tombstoned stream % succeeded', s;
            EXCEPTION WHEN SQLSTATE 'ES002' THEN
                PERFORM nextval('soak.es002_seq');
            END;
        ELSE
            IF i % 3 = 2 THEN
                BEGIN
                    PERFORM event_store.delete_stream(s, v + 1, false);
                    RAISE EXCEPTION 'delete of % with a wrong expected version succeeded', s;
                EXCEPTION WHEN SQLSTATE 'ES001' THEN
                    PERFORM nextval('soak.es001_seq');
                END;
            END IF;
            PERFORM event_store.delete_stream(s, v, false);
            INSERT INTO soak.deleted VALUES (s, false, v);
            COMMIT;
            soft_n := soft_n + 1;
            IF event_store.stream_version(s) <> 0 THEN
                RAISE EXCEPTION 'soft-deleted % has version %', s, event_store.stream_version(s);
            END IF;
            IF EXISTS (SELECT 1 FROM event_store.read_stream_forward(s)) THEN
                RAISE EXCEPTION 'soft-deleted % still reads events', s;
            END IF;
            IF i % 2 = 0 THEN
                IF soak.append(s, event_store.any_version(), 2) <> v + 2 THEN
                    RAISE EXCEPTION 're-created % does not continue after version %', s, v;
                END IF;
                UPDATE soak.deleted SET recreated_at = v + 1 WHERE stream_name = s;
                COMMIT;
            END IF;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
    PERFORM soak.bump('hard deletes', hard_n);
    PERFORM soak.bump('soft deletes', soft_n);
    COMMIT;
END
$$;

-- Retention limits on the trim-N streams (which the writers append to).
CREATE PROCEDURE soak.limiter(deadline float8)
LANGUAGE plpgsql AS $$
DECLARE
    i bigint := 0;
    s text;
BEGIN
    WHILE extract(epoch FROM clock_timestamp()) < deadline LOOP
        i := i + 1;
        s := 'trim-' || (1 + i % 20);
        IF event_store.stream_version(s) > 0 THEN
            CASE i % 4
                WHEN 0 THEN PERFORM event_store.set_stream_metadata(s, max_count => 5 + i % 40);
                WHEN 1 THEN PERFORM event_store.set_stream_metadata(s, max_age => interval '20 seconds');
                WHEN 2 THEN PERFORM event_store.set_stream_metadata(s,
                                truncate_before => greatest(1, event_store.stream_version(s) - 10));
                ELSE PERFORM event_store.set_stream_metadata(s, max_count => 30, max_age => interval '1 minute');
            END CASE;
        END IF;
        COMMIT;
        PERFORM pg_sleep(0.2);
    END LOOP;
    PERFORM soak.bump('metadata changes', i);
    COMMIT;
END
$$;

-- scavenge(500) in a loop; what it removed (any event of a doomed or trim
-- stream that was there before the call and is gone after it) is recorded
-- in the same transaction.  The soak runs this at REPEATABLE READ
-- (default_transaction_isolation): "before" and scavenge() then see the same
-- snapshot, so nothing committed in between can be removed unrecorded (at
-- READ COMMITTED an event committed after the "before" look could be).  A
-- concurrent delete_stream or set_stream_metadata on a stream scavenge()
-- updates is then a serialization failure: counted, the round skipped.
CREATE PROCEDURE soak.scavenger(deadline float8)
LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
    total bigint := 0;
    rounds bigint := 0;
    conflicts bigint := 0;
BEGIN
    CREATE TEMP TABLE pre (global_position bigint, event_id uuid) ON COMMIT DELETE ROWS;
    COMMIT;
    WHILE extract(epoch FROM clock_timestamp()) < deadline LOOP
        rounds := rounds + 1;
        BEGIN
            INSERT INTO pre
            SELECT e.global_position, e.event_id FROM event_store.events e
             WHERE e.category IN ('doomed', 'trim');
            n := event_store.scavenge(500);
            INSERT INTO soak.removed
            SELECT p.global_position, p.event_id, 'scavenge', clock_timestamp() FROM pre p
             WHERE NOT EXISTS (SELECT 1 FROM event_store.events e
                                WHERE e.global_position = p.global_position)
            ON CONFLICT DO NOTHING;
            INSERT INTO soak.scavenges (removed) VALUES (n);
            total := total + n;
        EXCEPTION WHEN serialization_failure THEN
            conflicts := conflicts + 1;
            n := 0;
        END;
        COMMIT;
        PERFORM pg_sleep(CASE WHEN n < 500 THEN 1 ELSE 0.05 END);
    END LOOP;
    PERFORM soak.bump('scavenge calls', rounds);
    PERFORM soak.bump('scavenge rounds skipped (40001 at REPEATABLE READ)', conflicts);
    COMMIT;
END
$$;
