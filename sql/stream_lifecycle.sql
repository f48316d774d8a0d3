-- Deleting streams, stream metadata and scavenging (SPEC "Stream lifecycle").
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
-- each refusal is followed by its SQLSTATE
\set SHOW_CONTEXT never

CREATE FUNCTION pg_temp.evs(n int, prefix text DEFAULT 'e') RETURNS event_store.new_event[]
    LANGUAGE sql
    RETURN (SELECT array_agg(event_store.event(prefix || g, jsonb_build_object('g', g),
                                               NULL, NULL) ORDER BY g)
              FROM generate_series(1, n) g);

SELECT event_store.append_to_stream('order-1', 0, pg_temp.evs(3));
SELECT event_store.append_to_stream('order-2', 0, pg_temp.evs(2));
SELECT event_store.append_to_stream('order-1', 3,
    ARRAY[event_store.event('Retried', '{}', NULL, '00000000-0000-7000-8000-0000000000aa')]);

-- soft delete: expected version checked like an append
SELECT event_store.delete_stream('order-1', 3);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.delete_stream('order-1', -2);
\echo :LAST_ERROR_SQLSTATE
-- the stream now looks like one that does not exist
SELECT event_store.stream_version('order-1');
SELECT count(*) FROM event_store.read_stream_forward('order-1');
SELECT count(*) FROM event_store.read_stream_backward('order-1');
SELECT event_store.append_to_stream('order-1', -2, pg_temp.evs(1));
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.append_to_stream('order-1', 4, pg_temp.evs(1));
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.delete_stream('order-1', -2);
\echo :LAST_ERROR_SQLSTATE
-- $all and categories still show every event until scavenge
SELECT global_position, stream_name, stream_version FROM event_store.read_all_forward();
SELECT count(*) FROM event_store.read_category_forward('order');
-- an exact retry of a batch stored before the delete is answered as a retry
SELECT event_store.append_to_stream('order-1', 3,
    ARRAY[event_store.event('Retried', '{}', NULL, '00000000-0000-7000-8000-0000000000aa')]);
-- re-creation: versions continue after the last one written
SELECT event_store.append_to_stream('order-1', event_store.no_stream(), pg_temp.evs(2, 'again'));
SELECT event_store.stream_version('order-1');
SELECT stream_version, event_type FROM event_store.read_stream_forward('order-1');
SELECT stream_version, event_type FROM event_store.read_stream_backward('order-1');
SELECT event_store.append_to_stream('order-1', 6, pg_temp.evs(1, 'more'));

-- metadata: limits apply to stream reads at once, and only to them
SELECT event_store.set_stream_metadata('order-1', max_count => 2);
SELECT stream_version FROM event_store.read_stream_forward('order-1');
SELECT event_store.set_stream_metadata('order-1', truncate_before => 7);
SELECT stream_version FROM event_store.read_stream_forward('order-1');
SELECT event_store.set_stream_metadata('order-1', max_age => '1 hour');
SELECT stream_version FROM event_store.read_stream_forward('order-1');
-- later metadata never brings soft-deleted events back
SELECT event_store.set_stream_metadata('order-1');
SELECT stream_version FROM event_store.read_stream_forward('order-1');
SELECT max_count, max_age, truncate_before FROM event_store.streams WHERE stream_name = 'order-1';
-- max_age hides old events: make order-2's events look a day old
UPDATE event_store.events SET created_at = created_at - interval '1 day'
 WHERE stream_name = 'order-2' AND stream_version = 1;
SELECT event_store.set_stream_metadata('order-2', max_age => '1 hour');
SELECT stream_version FROM event_store.read_stream_forward('order-2');
-- metadata for a stream that does not exist yet applies once it does
SELECT event_store.set_stream_metadata('order-3', max_count => 1);
SELECT event_store.stream_version('order-3');
SELECT event_store.append_to_stream('order-3', event_store.no_stream(), pg_temp.evs(3));
SELECT stream_version FROM event_store.read_stream_forward('order-3');
-- bad limits
SELECT event_store.set_stream_metadata('order-1', max_count => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.set_stream_metadata('order-1', max_count => -1);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.set_stream_metadata('order-1', truncate_before => 0);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.set_stream_metadata('order-1', max_age => '-1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.set_stream_metadata('order-1', max_age => '0');
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.set_stream_metadata('order-1', max_age => '1001 years');
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.set_stream_metadata('order-9', max_age => '1000 years');
SELECT count(*) FROM event_store.read_stream_forward('order-9');
SELECT event_store.set_stream_metadata(NULL, max_count => 1);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.set_stream_metadata('$all', max_count => 1);
\echo :LAST_ERROR_SQLSTATE

-- scavenge: removes what deletion marks and limits exclude, in small steps
SELECT count(*) FROM event_store.events;
SELECT event_store.scavenge(0);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.scavenge(2);
SELECT event_store.scavenge(2);
SELECT event_store.scavenge();
SELECT event_store.scavenge();
SELECT stream_name, stream_version FROM event_store.events ORDER BY global_position;
-- readers pass the removed positions
SELECT global_position, stream_name, stream_version FROM event_store.read_all_forward();
SELECT global_position FROM event_store.read_category_forward('order', 1, 3);
-- after scavenge the old batch is gone: its ids can be appended again
SELECT event_store.append_to_stream('order-1', -1,
    ARRAY[event_store.event('Retried', '{}', NULL, '00000000-0000-7000-8000-0000000000aa')]);

-- hard delete: events gone at once, the name tombstoned
SELECT subscription_name FROM event_store.create_subscription('watch-order-2', 'order-2');
SELECT event_store.delete_stream('order-2', 1, hard => true);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.delete_stream('order-2', event_store.stream_exists(), hard => true);
SELECT count(*) FROM event_store.events WHERE stream_name = 'order-2';
SELECT count(*) FROM event_store.read_subscription('watch-order-2');
SELECT event_store.append_to_stream('order-2', -1, pg_temp.evs(1));
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.append_to_stream('order-2', 0, pg_temp.evs(1));
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM event_store.read_stream_forward('order-2');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM event_store.read_stream_backward('order-2');
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.stream_version('order-2');
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.delete_stream('order-2', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.delete_stream('order-2', -1, true);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.set_stream_metadata('order-2', max_count => 1);
\echo :LAST_ERROR_SQLSTATE
-- a name never used can be tombstoned in advance
SELECT event_store.delete_stream('reserved-1', event_store.no_stream(), true);
SELECT event_store.append_to_stream('reserved-1', 0, pg_temp.evs(1));
\echo :LAST_ERROR_SQLSTATE

-- bad arguments
SELECT event_store.delete_stream(NULL, -1);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.delete_stream('', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.delete_stream('$all', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.delete_stream('order-1', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.delete_stream('order-1', -3);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.delete_stream('order-1', -1, NULL);
\echo :LAST_ERROR_SQLSTATE

-- scavenging a stream's last events keeps its version: no version is reused
SELECT event_store.append_to_stream('order-5', 0, pg_temp.evs(3));
SELECT event_store.set_stream_metadata('order-5', truncate_before => 10);
SELECT count(*) FROM event_store.read_stream_forward('order-5');
SELECT event_store.scavenge();
SELECT count(*) FROM event_store.events WHERE stream_name = 'order-5';
SELECT event_store.stream_version('order-5');
SELECT event_store.append_to_stream('order-5', 3, pg_temp.evs(1));

-- nothing above left the store inconsistent
SELECT s.stream_name, s.stream_version AS row_version, s.deleted_version, s.tombstoned_at IS NOT NULL AS tombstoned,
       (SELECT max(e.stream_version) FROM event_store.events e WHERE e.stream_name = s.stream_name) AS max_stored
  FROM event_store.streams s ORDER BY s.stream_name;
