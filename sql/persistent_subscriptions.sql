-- persistent_subscriptions: competing consumers.  Leases, pinned and
-- round_robin hand-out, ack / nack (retry, park, skip), lease timeouts as
-- retries, parking past max_retry_count, replay, the checkpoint, filters,
-- and ES004 for every bad argument, naming the subscription.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- three streams, interleaved: positions 1..9
SELECT event_store.append_to_stream('order-' || (i % 3 + 1), -1,
           ARRAY[event_store.event(CASE WHEN i % 2 = 0 THEN 'Placed' ELSE 'Paid' END, jsonb_build_object('i', i))])
  FROM generate_series(0, 8) i;
SELECT event_store.append_to_stream('user-1', 0, ARRAY[event_store.event('Joined', '{}')]);
SELECT global_position, stream_name, stream_version, event_type FROM event_store.read_all_forward();

-- create: defaults, and the row in event_store.subscriptions
SELECT subscription_name, source, checkpoint FROM event_store.create_persistent_subscription('pin');
SELECT subscription_name, strategy, max_retry_count, message_timeout, event_types, stream_prefix, read_position
  FROM event_store.persistent_subscriptions;

-- pinned: a stream's events go to one consumer at a time, in version order
SELECT global_position, stream_name, stream_version, retry_count
  FROM event_store.receive_events('pin', 'a', 2);
-- b gets nothing of order-1 or order-2 while a holds them
SELECT global_position, stream_name, stream_version, retry_count
  FROM event_store.receive_events('pin', 'b', 3);
-- a asks again: it gets its own streams' next events too
SELECT global_position, stream_name, stream_version
  FROM event_store.receive_events('pin', 'a', 3);
SELECT name, kind, checkpoint, in_flight, parked FROM event_store.subscription_status;
-- ack: the checkpoint moves to just below the first event not done
SELECT event_store.ack_events('pin', ARRAY[1, 2]);
SELECT checkpoint FROM event_store.subscriptions WHERE subscription_name = 'pin';
-- acking again, or an unknown position, changes nothing
SELECT event_store.ack_events('pin', ARRAY[1, 2, 999]);
-- order-1 and order-2 still have events leased to a (4, 5): b still waits
SELECT global_position, stream_name FROM event_store.receive_events('pin', 'b', 10);
SELECT event_store.ack_events('pin', ARRAY[3, 4, 5, 6]);
-- now b takes over the streams a let go of
SELECT global_position, stream_name, stream_version FROM event_store.receive_events('pin', 'b', 10);
SELECT event_store.ack_events('pin', ARRAY(SELECT global_position FROM event_store.persistent_events
                                             WHERE subscription_name = 'pin' AND consumer = 'b'));
SELECT checkpoint FROM event_store.subscriptions WHERE subscription_name = 'pin';
-- new events after the end are taken as they come
SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('Shipped', '{}')]);
SELECT global_position, stream_name FROM event_store.receive_events('pin', 'a');
SELECT event_store.ack_events('pin', ARRAY[11]);
SELECT name, checkpoint, lag_events, in_flight, parked FROM event_store.subscription_status;

-- round_robin: no ordering promise, maximum spread
SELECT subscription_name FROM event_store.create_persistent_subscription('rr', strategy => 'round_robin');
SELECT global_position, stream_name FROM event_store.receive_events('rr', 'a', 2);
SELECT global_position, stream_name FROM event_store.receive_events('rr', 'b', 2);
SELECT consumer, count(*) FROM event_store.persistent_events WHERE subscription_name = 'rr' GROUP BY consumer ORDER BY consumer;

-- nack retry: handed out again with retry_count + 1 (to any consumer)
SELECT event_store.nack_events('rr', ARRAY[1], 'retry');
-- a nack of an event that is not leased (it waits already) changes nothing
SELECT event_store.nack_events('rr', ARRAY[1], 'retry');
SELECT global_position, retry_count FROM event_store.receive_events('rr', 'c', 1);
-- park: off the list of work, with the reason; the checkpoint passes it
SELECT event_store.nack_events('rr', ARRAY[2], 'park', 'bad payload');
SELECT global_position, stream_name, retry_count, reason, parked_at IS NOT NULL AS has_time
  FROM event_store.parked_events('rr');
-- skip: done without processing
SELECT event_store.nack_events('rr', ARRAY[3, 4], 'skip');
SELECT event_store.ack_events('rr', ARRAY[1]);
SELECT name, checkpoint, in_flight, parked FROM event_store.subscription_status WHERE name = 'rr';

-- max_retry_count: the retry past it parks the event
SELECT subscription_name FROM event_store.create_persistent_subscription('few', '$ce-order', 8,
           strategy => 'round_robin', max_retry_count => 1);
SELECT global_position, retry_count FROM event_store.receive_events('few', 'a');
SELECT event_store.nack_events('few', ARRAY[9], 'retry');
SELECT global_position, retry_count FROM event_store.receive_events('few', 'a');
SELECT event_store.nack_events('few', ARRAY[9], 'retry', 'still failing');
SELECT global_position, retry_count, reason FROM event_store.parked_events('few');
SELECT global_position FROM event_store.receive_events('few', 'a');
SELECT event_store.ack_events('few', ARRAY[11]);
SELECT checkpoint FROM event_store.subscriptions WHERE subscription_name = 'few';

-- a lease that runs out is a retry, and past max_retry_count a park
SELECT subscription_name FROM event_store.create_persistent_subscription('slow', 'order-2',
           max_retry_count => 1, message_timeout => '10 ms');
SELECT global_position, retry_count FROM event_store.receive_events('slow', 'a', 1);
SELECT pg_sleep(0.05);
SELECT global_position, retry_count FROM event_store.receive_events('slow', 'b', 1);
SELECT pg_sleep(0.05);
SELECT global_position, retry_count FROM event_store.receive_events('slow', 'b', 1);
SELECT global_position, retry_count, reason FROM event_store.parked_events('slow');
-- an ack after the lease ran out still counts: done is done
SELECT pg_sleep(0.05);
SELECT event_store.ack_events('slow', ARRAY[5]);

-- replay_parked: parked events are handed out again, from retry_count 0;
-- the checkpoint moves back below them
SELECT checkpoint FROM event_store.subscriptions WHERE subscription_name = 'slow';
SELECT event_store.replay_parked('slow');
SELECT checkpoint FROM event_store.subscriptions WHERE subscription_name = 'slow';
SELECT global_position, retry_count FROM event_store.receive_events('slow', 'c', 5);
SELECT count(*) FROM event_store.parked_events('slow');

-- filters: event types, stream prefix
SELECT subscription_name FROM event_store.create_persistent_subscription('paid', event_types => ARRAY['Paid', 'Shipped']);
SELECT global_position, stream_name, event_type FROM event_store.receive_events('paid', 'a');
SELECT subscription_name FROM event_store.create_persistent_subscription('users', stream_prefix => 'user-');
SELECT global_position, stream_name FROM event_store.receive_events('users', 'a');
SELECT event_store.ack_events('users', ARRAY[10]);
-- the checkpoint passes what the filter leaves out
SELECT name, checkpoint, lag_events FROM event_store.subscription_status WHERE name IN ('paid', 'users') ORDER BY name;

-- pinned, one busy stream held by a: b's receives keep its later events
-- waiting, but stop reading the log at ten batches of them
SELECT event_store.append_to_stream('busy-1', 0,
           ARRAY(SELECT event_store.event('Tick', '[]') FROM generate_series(1, 14)));
SELECT event_store.append_to_stream('calm-1', 0, ARRAY[event_store.event('Tick', '[]')]);
SELECT subscription_name FROM event_store.create_persistent_subscription('busy', '$all', 11);
SELECT global_position, stream_version FROM event_store.receive_events('busy', 'a', 1);
SELECT count(*) FROM event_store.receive_events('busy', 'b', 1);
SELECT count(*) FROM event_store.receive_events('busy', 'b', 1);
SELECT count(*) AS waiting, max(global_position) AS last_taken
  FROM event_store.persistent_events WHERE subscription_name = 'busy' AND consumer IS NULL;
SELECT event_store.ack_events('busy', ARRAY[12]);
SELECT global_position, stream_version FROM event_store.receive_events('busy', 'b', 3);

-- creating again resumes: same source and filter, new settings
SELECT subscription_name, checkpoint FROM event_store.create_persistent_subscription('users', stream_prefix => 'user-',
           strategy => 'round_robin', max_retry_count => 3);
SELECT strategy, max_retry_count FROM event_store.persistent_subscriptions WHERE subscription_name = 'users';

-- delete_subscription removes either kind, leases and parked events included
SELECT event_store.delete_subscription('slow');
SELECT count(*) FROM event_store.persistent_events WHERE subscription_name = 'slow';
SELECT count(*) FROM event_store.persistent_subscriptions WHERE subscription_name = 'slow';

-- errors: ES004, naming the subscription
\set VERBOSITY verbose
SELECT subscription_name FROM event_store.create_subscription('plain');
SELECT * FROM event_store.receive_events('plain', 'a');
SELECT event_store.ack_events('plain', ARRAY[1]);
SELECT event_store.nack_events('plain', ARRAY[1]);
SELECT * FROM event_store.parked_events('plain');
SELECT event_store.replay_parked('plain');
SELECT event_store.create_persistent_subscription('plain');
SELECT * FROM event_store.read_subscription('pin');
SELECT event_store.ack('pin', 1);
SELECT * FROM event_store.receive_events('nobody', 'a');
SELECT event_store.ack_events('nobody', ARRAY[1]);
SELECT * FROM event_store.receive_events(NULL, 'a');
SELECT * FROM event_store.receive_events('pin', NULL);
SELECT * FROM event_store.receive_events('pin', '');
SELECT * FROM event_store.receive_events('pin', 'a', 0);
SELECT * FROM event_store.receive_events('pin', 'a', NULL);
SELECT event_store.ack_events('pin', NULL);
SELECT event_store.nack_events('pin', ARRAY[1], 'drop');
SELECT event_store.nack_events('pin', ARRAY[1], NULL);
SELECT event_store.nack_events('pin', NULL);
SELECT event_store.create_persistent_subscription(NULL);
SELECT event_store.create_persistent_subscription('');
SELECT event_store.create_persistent_subscription('x', strategy => 'fastest');
SELECT event_store.create_persistent_subscription('x', strategy => NULL);
SELECT event_store.create_persistent_subscription('x', max_retry_count => -1);
SELECT event_store.create_persistent_subscription('x', message_timeout => '0');
SELECT event_store.create_persistent_subscription('x', message_timeout => NULL);
SELECT event_store.create_persistent_subscription('x', event_types => ARRAY[]::text[]);
SELECT event_store.create_persistent_subscription('x', event_types => ARRAY['A', NULL]);
SELECT event_store.create_persistent_subscription('x', stream_prefix => '');
SELECT event_store.create_persistent_subscription('x', '$bogus');
SELECT event_store.create_persistent_subscription('x', start_from => -1);
SELECT event_store.create_persistent_subscription('users', stream_prefix => 'order-');
SELECT event_store.create_persistent_subscription('users', '$ce-user', stream_prefix => 'user-');
SELECT count(*) FROM event_store.subscriptions WHERE subscription_name = 'x';

-- persistent_take (internal, SECURITY DEFINER, callable by writers) records
-- only events of the log: a forged page is refused and records nothing
SELECT subscription_name FROM event_store.create_persistent_subscription('forged');
SELECT event_store.persistent_take('forged', 'a', 10, ARRAY[424242]::bigint[],
                                   ARRAY['order-1'], ARRAY['Placed'], 424242);
SELECT event_store.persistent_take('forged', 'a', 10, ARRAY[1]::bigint[],
                                   ARRAY['not-its-stream'], ARRAY['Placed'], 1);
SELECT count(*) FROM event_store.persistent_events WHERE subscription_name = 'forged';
SELECT event_store.delete_subscription('forged');
