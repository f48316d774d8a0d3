-- (e) 1,000 events of $all from a random position
\set from random(1, :maxpos)
SELECT * FROM event_store.read_all_forward(:from, 1000);
