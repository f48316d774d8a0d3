-- (a) baseline: a plain INSERT of the same row into bench.baseline_events.
-- The version is unique by construction (a per-client counter, the client id
-- and a per-run base), not read from the stream: nothing is checked.
\set sid random(1, 10000)
\set n :n + 1
\set v :vbase + :n * 64 + :client_id
INSERT INTO bench.baseline_events (stream_name, category, stream_version, event_id,
    event_type, data, metadata, causation_id, correlation_id, created_at)
VALUES ('bench-' || :sid, 'bench', :v, event_store.uuid_generate_v7(),
    'BenchEvent', CAST(:data AS jsonb), CAST(:meta AS jsonb), NULL, NULL, now());
