-- (a) variant: each client appends to 1,250 streams of its own (own-<client>-<n>),
-- so a backend made its streams' last appends itself (the round-5/6 bounds of
-- docs/benchmarks.md: a build that skips the stream-state read is correct only so)
\set sid random(1, 1250)
SELECT event_store.append_to_stream('own-' || :client_id || '-' || :sid, -1,
       ARRAY[event_store.event('BenchEvent', CAST(:data AS jsonb), CAST(:meta AS jsonb))]);
