-- wait_for_events: returns at once when the horizon is already past
-- after_position, waits out its timeout when not (returning after_position),
-- passes holes, and refuses NULL or negative arguments with ES004.  (Waking
-- on a commit in another session, cancellation and a pooler in transaction
-- mode are tested in test/t/076_wait_for_events.pl.)
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT event_store.wait_for_events(0, '0');
SELECT event_store.append_to_stream('w-1', 0, ARRAY[event_store.event('A', '{}'), event_store.event('B', '{}')]);
SELECT event_store.wait_for_events(0);
SELECT event_store.wait_for_events(1, '1 second');
-- nothing after 2: the timeout, then 2
SELECT clock_timestamp() AS t0 \gset
SELECT event_store.wait_for_events(2, '200 milliseconds');
SELECT clock_timestamp() - :'t0' >= interval '190 milliseconds' AS waited;
-- a hole (a rolled-back append) is passed: the horizon is the next event
BEGIN;
SELECT event_store.append_to_stream('w-2', 0, ARRAY[event_store.event('C', '{}')]);
ROLLBACK;
SELECT event_store.wait_for_events(2, '0');
SELECT event_store.append_to_stream('w-2', 0, ARRAY[event_store.event('D', '{}')]);
SELECT event_store.wait_for_events(2, '0');
-- an after_position beyond the log: it is returned at the timeout
SELECT event_store.wait_for_events(100, '0');
-- statement_timeout ends a wait
SET statement_timeout = '100ms';
SELECT event_store.wait_for_events(100, '10 seconds');
\echo :SQLSTATE
RESET statement_timeout;
-- bad arguments
SELECT event_store.wait_for_events(NULL);
\echo :SQLSTATE
SELECT event_store.wait_for_events(1, NULL);
\echo :SQLSTATE
SELECT event_store.wait_for_events(1, '-1 second');
\echo :SQLSTATE
