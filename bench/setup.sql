-- bench/setup.sql: the objects the benchmark needs besides the extension.
-- Run once by bench/run.sh in its own throwaway cluster.

CREATE EXTENSION IF NOT EXISTS event_store;
CREATE SCHEMA bench;

-- The baseline: a plain table with the columns of event_store.events, a
-- bigserial position and the same unique indexes plus the category index.
-- A plain INSERT into it is what an application could do without the event
-- store; it checks nothing (see docs/benchmarks.md).
CREATE TABLE bench.baseline_events (
    global_position bigserial,
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
    CONSTRAINT baseline_events_pkey PRIMARY KEY (global_position),
    CONSTRAINT baseline_events_event_id_key UNIQUE (event_id),
    CONSTRAINT baseline_events_stream_version_key UNIQUE (stream_name, stream_version)
);
CREATE INDEX baseline_events_category_position_idx
    ON bench.baseline_events (category, global_position);
-- events_type_position_idx's twin (1.2): the same indexes on both sides
CREATE INDEX baseline_events_type_position_idx
    ON bench.baseline_events (event_type, global_position);

-- ~200 bytes of JSON data and ~100 bytes of JSON metadata, as text (clients
-- send text; both sides parse it to jsonb on every call).
CREATE FUNCTION bench.data() RETURNS text LANGUAGE sql IMMUTABLE
    RETURN '{"order_id":"ord-000123","customer":{"id":"cust-4567","name":"Ada Lovelace","email":"ada@example.com"},"lines":[{"sku":"SKU-1","qty":2,"price":19.99},{"sku":"SKU-2","qty":1,"price":5.5}],"total":45.48,"currency":"EUR"}';
CREATE FUNCTION bench.metadata() RETURNS text LANGUAGE sql IMMUTABLE
    RETURN '{"user_id":"user-42","source":"bench","trace_id":"0af7651916cd43dd8448eb211c80319c","ip":"127.0.0.1"}';

-- n events with the benchmark payload and no ids (the store makes UUIDv7s)
CREATE FUNCTION bench.batch(n int) RETURNS event_store.new_event[] LANGUAGE sql
    RETURN (SELECT array_agg(event_store.event('BenchEvent', bench.data()::jsonb,
                                               bench.metadata()::jsonb))
              FROM generate_series(1, n));

-- Data generation (read scenarios, growth): 'batches' appends of 'size'
-- events each through append_to_stream, a COMMIT after each.  Streams are
-- prefix || 1..nstreams, round-robin, so each ends with batches/nstreams
-- appends.
CREATE PROCEDURE bench.generate(prefix text, nstreams int, batches int, size int)
LANGUAGE plpgsql AS $$
DECLARE
    b event_store.new_event[] := bench.batch(size);
BEGIN
    FOR i IN 0 .. batches - 1 LOOP
        PERFORM event_store.append_to_stream(prefix || (i % nstreams + 1), -1, b);
        COMMIT;
    END LOOP;
END
$$;

-- The memory check: n appends of one event each, from one backend, with a
-- COMMIT every 'chunk' appends.
CREATE PROCEDURE bench.append_loop(n int, chunk int)
LANGUAGE plpgsql AS $$
DECLARE
    d jsonb := bench.data()::jsonb;
    m jsonb := bench.metadata()::jsonb;
BEGIN
    FOR i IN 1 .. n LOOP
        PERFORM event_store.append_to_stream('mem-' || (i % 1000),
                                             event_store.any_version(),
                                             ARRAY[event_store.event('BenchEvent', d, m)]);
        IF i % chunk = 0 THEN
            COMMIT;
        END IF;
    END LOOP;
    COMMIT;
END
$$;
