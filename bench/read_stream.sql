-- (d) 100 events of a 1,000-event stream, from a random version
\set sid random(1, :nstreams)
\set from random(1, 901)
SELECT * FROM event_store.read_stream_forward('read-' || :sid, :from, 100);
