-- Checkpoint subscriptions with server-side filters (1.2): create_subscription
-- takes event_types and stream_prefix, read_subscription returns only what
-- matches, gap-free, and the filter is part of what a subscription follows.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT event_store.append_to_stream('order-1', 0,
    ARRAY[event_store.event('OrderPlaced', '{}'), event_store.event('OrderPaid', '{}')]);
SELECT event_store.append_to_stream('user-1', 0, ARRAY[event_store.event('UserJoined', '{}')]);
SELECT event_store.append_to_stream('order-2', 0,
    ARRAY[event_store.event('OrderPlaced', '{}'), event_store.event('OrderShipped', '{}')]);
SELECT event_store.append_to_stream('orderly-1', 0, ARRAY[event_store.event('OrderPaid', '{}')]);

-- $all, one type
SELECT subscription_name, source, checkpoint, event_types, stream_prefix
  FROM event_store.create_subscription('paid', '$all', 0, ARRAY['OrderPaid']);
SELECT global_position, stream_name, event_type FROM event_store.read_subscription('paid');
SELECT event_store.ack('paid', 2);
SELECT global_position, stream_name, event_type FROM event_store.read_subscription('paid');

-- $all, a stream prefix (a plain prefix: '_' is no wildcard) and max_count
-- counting returned events
SELECT checkpoint FROM event_store.create_subscription('orders', '$all', stream_prefix => 'order-');
SELECT global_position, stream_name, event_type FROM event_store.read_subscription('orders', 3);
SELECT checkpoint FROM event_store.create_subscription('underscore', '$all', stream_prefix => 'order_');
SELECT count(*) FROM event_store.read_subscription('underscore');

-- a category with both filters
SELECT checkpoint FROM event_store.create_subscription('placed-2', '$ce-order', 0,
    ARRAY['OrderPlaced', 'OrderShipped'], 'order-2');
SELECT global_position, stream_name, event_type FROM event_store.read_subscription('placed-2');

-- a stream with a type filter
SELECT checkpoint FROM event_store.create_subscription('o1-paid', 'order-1', 0, ARRAY['OrderPaid']);
SELECT global_position, stream_name, event_type FROM event_store.read_subscription('o1-paid');

-- creating again resumes with the same filter, and refuses another
SELECT checkpoint FROM event_store.create_subscription('paid', '$all', 0, ARRAY['OrderPaid']);
SELECT event_store.create_subscription('paid', '$all', 0, ARRAY['OrderPlaced']);
SELECT event_store.create_subscription('paid', '$all');
SELECT event_store.create_subscription('orders', '$all', stream_prefix => 'user-');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- bad filters: ES004 naming the subscription
\set VERBOSITY default
SELECT event_store.create_subscription('bad', '$all', 0, ARRAY[]::text[]);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT event_store.create_subscription('bad', '$all', 0, ARRAY['A', NULL]);
SELECT event_store.create_subscription('bad', '$all', 0, ARRAY['']);
SELECT event_store.create_subscription('bad', '$all', 0, NULL, '');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
\set VERBOSITY terse
SELECT count(*) FROM event_store.subscriptions WHERE subscription_name = 'bad';

-- the unfiltered form is unchanged
SELECT checkpoint, event_types, stream_prefix FROM event_store.create_subscription('everything');
SELECT count(*) FROM event_store.read_subscription('everything');
