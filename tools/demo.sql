-- The walkthrough run by tools/demo.sh; safe to run again.
\pset footer off
CREATE EXTENSION IF NOT EXISTS event_store;

-- The subscriber's slot exists before the appends, so it sees them all.
SELECT 'slot created' AS subscriber
  FROM pg_create_logical_replication_slot('event_store_demo', 'event_store')
 WHERE NOT EXISTS (SELECT FROM pg_replication_slots WHERE slot_name = 'event_store_demo');

\echo '-- open an order: expected version 0 means "the stream must not exist yet"'
SELECT event_store.append_to_stream(
    'order-' || (SELECT count(*) + 1 FROM event_store.streams),
    event_store.no_stream(),
    ARRAY[event_store.event('OrderPlaced', '{"customer": "ada", "total": 42.5}',
                            '{"user": "demo"}')]) AS new_version
\gset
\echo '-- add two more events in one atomic batch, expecting version 1'
SELECT stream_name AS order_stream FROM event_store.streams ORDER BY stream_id DESC LIMIT 1
\gset
SELECT event_store.append_to_stream(:'order_stream', 1,
    ARRAY[event_store.event('ItemAdded', '{"sku": "tea", "qty": 2}'),
          event_store.event('OrderPaid', '{"amount": 42.5}')]) AS new_version;

\echo '-- a writer that lost the race gets ES001'
\set VERBOSITY default
DO $$
BEGIN
    PERFORM event_store.append_to_stream(
        (SELECT stream_name FROM event_store.streams ORDER BY stream_id DESC LIMIT 1),
        1, ARRAY[event_store.event('OrderCancelled', '{}')]);
EXCEPTION WHEN SQLSTATE 'ES001' THEN
    RAISE NOTICE 'refused: % (%)', SQLERRM, SQLSTATE;
END $$;

\echo '-- read the stream'
SELECT stream_version, event_type, data
  FROM event_store.read_stream_forward(:'order_stream');

\echo '-- the $all feed, gap-free'
SELECT global_position, stream_name, stream_version, event_type
  FROM event_store.read_all_forward(1, 10);

\echo '-- a durable subscription to the order category, acknowledged'
SELECT subscription_name, source, checkpoint
  FROM event_store.create_subscription('demo-projection', '$ce-order');
SELECT global_position, event_type
  FROM event_store.read_subscription('demo-projection', 10);
SELECT event_store.ack('demo-projection',
                       (SELECT max(global_position) FROM event_store.events)) AS checkpoint;
