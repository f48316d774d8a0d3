-- (a) one event per append, random stream among 10,000
\set sid random(1, 10000)
SELECT event_store.append_to_stream('bench-' || :sid, -1,
       ARRAY[event_store.event('BenchEvent', CAST(:data AS jsonb), CAST(:meta AS jsonb))]);
