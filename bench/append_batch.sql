-- (c) 100 events per append, random stream among 10,000; the batch is one
-- array parameter, as a client driver sends it
\set sid random(1, 10000)
SELECT event_store.append_to_stream('bench-' || :sid, -1,
       CAST(:batch AS event_store.new_event[]));
