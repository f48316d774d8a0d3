-- pgbench side of clients/elixir/bench/run.sh: the adapter's stream_forward/4
-- (one batch of 100 from a random version of an existing stream).
\set from random(1, 901)
SELECT global_position, stream_name, stream_version, event_id, event_type, data, metadata, causation_id, correlation_id, created_at FROM event_store.read_stream_forward('read-bench'::text, (:from)::bigint, (100)::int);
