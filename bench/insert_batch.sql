-- (c) baseline: one INSERT statement writing 100 rows, parsed from the same
-- array parameter as (c) so that both sides do the same input work
\set sid random(1, 10000)
\set n :n + 1
\set v :vbase + (:n * 64 + :client_id) * 1000
INSERT INTO bench.baseline_events (stream_name, category, stream_version, event_id,
    event_type, data, metadata, causation_id, correlation_id, created_at)
SELECT 'bench-' || :sid, 'bench', :v + e.n, event_store.uuid_generate_v7(),
       e.event_type, e.data, e.metadata, e.causation_id, e.correlation_id, now()
  FROM unnest(CAST(:batch AS event_store.new_event[]))
       WITH ORDINALITY AS e(event_id, event_type, data, metadata, causation_id,
                            correlation_id, n);
