-- (d) baseline: the same 100 rows of the same stream from the baseline table
\set sid random(1, :nstreams)
\set from random(1, 901)
SELECT global_position, stream_name, stream_version, event_id, event_type,
       data, metadata, causation_id, correlation_id, created_at
  FROM bench.baseline_events
 WHERE stream_name = 'read-' || :sid AND stream_version >= :from
 ORDER BY stream_version
 LIMIT 100;
