-- (b) baseline: plain INSERTs into one stream name (versions from a
-- per-client counter, so they never wait for each other)
\set n :n + 1
\set v :vbase + :n * 64 + :client_id
INSERT INTO bench.baseline_events (stream_name, category, stream_version, event_id,
    event_type, data, metadata, causation_id, correlation_id, created_at)
VALUES ('hot-1', 'hot', :v, event_store.uuid_generate_v7(),
    'BenchEvent', CAST(:data AS jsonb), CAST(:meta AS jsonb), NULL, NULL, now());
