-- (b) every client appends to the same stream, any version
SELECT event_store.append_to_stream('hot-1', -1,
       ARRAY[event_store.event('BenchEvent', CAST(:data AS jsonb), CAST(:meta AS jsonb))]);
