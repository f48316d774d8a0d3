-- stream_listing: list_streams (keyset paging in byte order, a plain prefix),
-- stream_info (one row or none), and the views category_summary,
-- subscription_status and slot_status.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

SELECT event_store.append_to_stream('order-1', 0, ARRAY[event_store.event('Placed', '{}'), event_store.event('Paid', '{}')]);
SELECT event_store.append_to_stream('order-2', 0, ARRAY[event_store.event('Placed', '{}')]);
SELECT event_store.append_to_stream('Order-3', 0, ARRAY[event_store.event('Placed', '{}')]);
SELECT event_store.append_to_stream('order_x', 0, ARRAY[event_store.event('Placed', '{}')]);
SELECT event_store.append_to_stream('orderly', 0, ARRAY[event_store.event('Placed', '{}')]);
SELECT event_store.append_to_stream('user-1', 0, ARRAY[event_store.event('Joined', '{}')]);
SELECT event_store.append_to_stream('user-2', 0, ARRAY[event_store.event('Joined', '{}')]);
SELECT event_store.delete_stream('order-2', 1);
SELECT event_store.delete_stream('user-2', 1, true);
SELECT event_store.set_stream_metadata('order-1', max_count => 5, max_age => '1 day');

-- every stream, in byte order (upper case first), deleted ones marked
SELECT stream_name, category, stream_version, deleted,
       created_at IS NOT NULL AS has_created, last_appended_at IS NOT NULL AS has_last
  FROM event_store.list_streams();
-- keyset paging: two at a time, each page after the last name of the one before
SELECT stream_name FROM event_store.list_streams(max_count => 2);
SELECT stream_name FROM event_store.list_streams(after => 'order-1', max_count => 2);
SELECT stream_name FROM event_store.list_streams(after => 'order_x', max_count => 2);
SELECT stream_name FROM event_store.list_streams(after => 'user-2', max_count => 2);
-- a plain prefix: '_' and '%' are characters, not patterns
SELECT stream_name FROM event_store.list_streams('order');
SELECT stream_name FROM event_store.list_streams('order_');
SELECT stream_name FROM event_store.list_streams('order%');
SELECT stream_name FROM event_store.list_streams('order-', 'order-1');
SELECT stream_name FROM event_store.list_streams('');
-- bad max_count: ES004
\set VERBOSITY verbose
SELECT * FROM event_store.list_streams(max_count => 0);
SELECT * FROM event_store.list_streams(max_count => NULL);
\set VERBOSITY default

-- stream_info: one row for a stream that exists or existed, none otherwise
SELECT stream_name, category, stream_version, deleted, max_count, max_age, truncate_before
  FROM event_store.stream_info('order-1');
SELECT stream_name, stream_version, deleted FROM event_store.stream_info('order-2');
SELECT stream_name, stream_version, deleted, last_appended_at FROM event_store.stream_info('user-2');
SELECT count(*) FROM event_store.stream_info('order-');
SELECT count(*) FROM event_store.stream_info('nobody-1');
-- a soft-deleted stream appended to again lives on, versions continuing
SELECT event_store.append_to_stream('order-2', 0, ARRAY[event_store.event('Placed', '{}')]);
SELECT stream_name, stream_version, deleted FROM event_store.stream_info('order-2');
\set VERBOSITY verbose
SELECT * FROM event_store.stream_info(NULL);
SELECT * FROM event_store.stream_info('');
\set VERBOSITY default

-- category_summary: streams not hard-deleted, events stored, last position
SELECT * FROM event_store.category_summary ORDER BY category;

-- subscription_status: both kinds, lag in events and time
SELECT subscription_name FROM event_store.create_subscription('all-sub');
SELECT subscription_name FROM event_store.create_subscription('order-sub', '$ce-order', 2);
SELECT subscription_name FROM event_store.create_subscription('one-sub', 'order-1', 2);
SELECT name, kind, source, checkpoint, lag_events, lag_seconds >= 0 AS lag_seconds_ok,
       in_flight, parked
  FROM event_store.subscription_status ORDER BY name;
SELECT event_store.ack('all-sub', (SELECT max(global_position) FROM event_store.events));
SELECT name, lag_events, lag_seconds FROM event_store.subscription_status WHERE name = 'all-sub';

-- slot_status: each logical slot of this database using the plugin
SELECT 'init' FROM pg_create_logical_replication_slot('stream_listing_slot', 'event_store');
SELECT 'init' FROM pg_create_logical_replication_slot('stream_listing_other', 'test_decoding');
SELECT slot_name, active, lag_bytes >= 0 AS lag_bytes_ok, lag_seconds FROM event_store.slot_status;
SELECT event_store.append_to_stream('user-3', 0, ARRAY[event_store.event('Joined', '{}')]);
SELECT lag_bytes > 0 AS behind FROM event_store.slot_status;
SELECT count(*) > 0 AS decoded FROM pg_logical_slot_get_changes('stream_listing_slot', NULL, NULL);
SELECT pg_drop_replication_slot('stream_listing_slot');
SELECT pg_drop_replication_slot('stream_listing_other');
SELECT count(*) FROM event_store.slot_status;
