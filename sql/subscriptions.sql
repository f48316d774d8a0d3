-- subscriptions: create/read/ack/delete for the three kinds of source
-- ($all, one stream, $ce-<category>); the checkpoint is a global position
-- and never moves backwards; creating again resumes.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT event_store.append_to_stream('order-1', 0, ARRAY[event_store.event('Placed', '{}', NULL, '00000000-0000-4000-8000-000000000001')]);
SELECT event_store.append_to_stream('user-1', 0, ARRAY[event_store.event('Joined', '{}', NULL, '00000000-0000-4000-8000-000000000002')]);
SELECT event_store.append_to_stream('order-2', 0, ARRAY[event_store.event('Placed', '{}', NULL, '00000000-0000-4000-8000-000000000003')]);
SELECT event_store.append_to_stream('order-1', 1, ARRAY[event_store.event('Paid', '{}', NULL, '00000000-0000-4000-8000-000000000004'),
                                                        event_store.event('Shipped', '{}', NULL, '00000000-0000-4000-8000-000000000005')]);

-- create: defaults are $all from the start
SELECT subscription_name, source, checkpoint,
       created_at = updated_at AS fresh
  FROM event_store.create_subscription('all-sub');
SELECT subscription_name, source, checkpoint FROM event_store.create_subscription('stream-sub', 'order-1');
SELECT subscription_name, source, checkpoint FROM event_store.create_subscription('cat-sub', '$ce-order');
SELECT subscription_name, source, checkpoint FROM event_store.create_subscription('late-sub', '$all', 3);

-- read: the next events after the checkpoint, up to max_count
SELECT global_position, stream_name, stream_version, event_type FROM event_store.read_subscription('all-sub');
SELECT global_position, stream_name, stream_version, event_type FROM event_store.read_subscription('stream-sub');
SELECT global_position, stream_name, stream_version, event_type FROM event_store.read_subscription('cat-sub');
SELECT global_position, stream_name, stream_version, event_type FROM event_store.read_subscription('late-sub');
SELECT global_position FROM event_store.read_subscription('all-sub', 2);
SELECT global_position FROM event_store.read_subscription('all-sub', 1);
-- reading does not move the checkpoint
SELECT global_position FROM event_store.read_subscription('all-sub', 1);

-- ack moves it forward and returns the checkpoint in force
SELECT event_store.ack('all-sub', 2);
SELECT global_position FROM event_store.read_subscription('all-sub');
SELECT event_store.ack('stream-sub', 4);
SELECT global_position, stream_version FROM event_store.read_subscription('stream-sub');
SELECT event_store.ack('cat-sub', 3);
SELECT global_position, stream_name FROM event_store.read_subscription('cat-sub');
-- an older or equal position is ignored: the checkpoint never moves back
SELECT event_store.ack('all-sub', 1);
SELECT event_store.ack('all-sub', 0);
SELECT event_store.ack('all-sub', 2);
SELECT checkpoint FROM event_store.subscriptions WHERE subscription_name = 'all-sub';
SELECT global_position FROM event_store.read_subscription('all-sub');
-- acking to the end leaves nothing to read; new events then arrive
SELECT event_store.ack('all-sub', 5);
SELECT count(*) FROM event_store.read_subscription('all-sub');
SELECT event_store.append_to_stream('user-1', 1, ARRAY[event_store.event('Left', '{}', NULL, '00000000-0000-4000-8000-000000000006')]);
SELECT event_store.append_to_stream('order-2', 1, ARRAY[event_store.event('Paid', '{}', NULL, '00000000-0000-4000-8000-000000000007')]);
SELECT global_position, stream_name FROM event_store.read_subscription('all-sub');
SELECT global_position, stream_name FROM event_store.read_subscription('cat-sub');
SELECT count(*) FROM event_store.read_subscription('stream-sub', 100);
-- a position past the end is allowed (positions are a client's to know)
SELECT event_store.ack('late-sub', 1000);
SELECT count(*) FROM event_store.read_subscription('late-sub');
SELECT event_store.ack('late-sub', 999);

-- a rolled-back ack leaves the checkpoint as it was
BEGIN;
SELECT event_store.ack('cat-sub', 7);
ROLLBACK;
SELECT checkpoint FROM event_store.subscriptions WHERE subscription_name = 'cat-sub';

-- creating again resumes: the same row, its checkpoint kept (start_from of
-- the second call is not applied)
SELECT subscription_name, source, checkpoint FROM event_store.create_subscription('all-sub');
SELECT subscription_name, source, checkpoint FROM event_store.create_subscription('all-sub', '$all', 0);
SELECT subscription_name, source, checkpoint FROM event_store.create_subscription('cat-sub', '$ce-order');
-- ... but not with another source
SELECT subscription_name FROM event_store.create_subscription('all-sub', 'order-1');
\echo :SQLSTATE
SELECT subscription_name FROM event_store.create_subscription('cat-sub', '$ce-user');
\echo :SQLSTATE

-- a stream subscription to a stream that does not exist yet reads nothing,
-- then its events once they come
SELECT subscription_name, source FROM event_store.create_subscription('future-sub', 'invoice-1');
SELECT count(*) FROM event_store.read_subscription('future-sub');
SELECT event_store.append_to_stream('invoice-1', 0, ARRAY[event_store.event('Issued', '{}', NULL, '00000000-0000-4000-8000-000000000008')]);
SELECT global_position, stream_name FROM event_store.read_subscription('future-sub');
-- ... and a category subscription to an empty category likewise
SELECT subscription_name, source FROM event_store.create_subscription('inv-sub', '$ce-invoice');
SELECT global_position, stream_name FROM event_store.read_subscription('inv-sub');

-- delete: gone, and then unknown
SELECT event_store.delete_subscription('stream-sub');
SELECT * FROM event_store.read_subscription('stream-sub');
\echo :SQLSTATE
SELECT event_store.ack('stream-sub', 1);
\echo :SQLSTATE
SELECT event_store.delete_subscription('stream-sub');
\echo :SQLSTATE
-- a deleted subscription can be created again, from its new start
SELECT subscription_name, source, checkpoint FROM event_store.create_subscription('stream-sub', 'order-1', 4);
SELECT global_position, stream_version FROM event_store.read_subscription('stream-sub');

SELECT subscription_name, source, checkpoint, updated_at >= created_at AS updated_after_created
  FROM event_store.subscriptions ORDER BY subscription_name;
