-- (e) baseline: 1,000 rows in position order from a random position
\set from random(1, :maxpos)
SELECT global_position, stream_name, stream_version, event_id, event_type,
       data, metadata, causation_id, correlation_id, created_at
  FROM bench.baseline_events
 WHERE global_position >= :from
 ORDER BY global_position
 LIMIT 1000;
