-- snapshots: record_snapshot replaces the previous snapshot of a source,
-- read_snapshot returns it (NULL when none), delete_snapshot removes it.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- none yet: one NULL row (the function returns a single snapshots row)
SELECT * FROM event_store.read_snapshot('order-1');
SELECT event_store.read_snapshot('order-1') IS NULL AS is_null;

SELECT event_store.record_snapshot('order-1', 3, 'OrderState', '{"total": 30}', '{"schema": 1}');
SELECT source_id, source_version, source_type, data, metadata,
       created_at BETWEEN now() - interval '1 minute' AND now() AS created_recently
  FROM event_store.read_snapshot('order-1');
-- metadata defaults to NULL
SELECT event_store.record_snapshot('order-2', 0, 'OrderState', '[]');
SELECT source_id, source_version, source_type, data, metadata
  FROM event_store.read_snapshot('order-2');

-- recording again replaces every field (also with an older version, and
-- NULL metadata clears the old metadata)
SELECT event_store.record_snapshot('order-1', 7, 'OrderStateV2', '{"total": 70}');
SELECT source_id, source_version, source_type, data, metadata
  FROM event_store.read_snapshot('order-1');
SELECT event_store.record_snapshot('order-1', 5, 'OrderStateV2', '{"total": 50}', '{"rebuilt": true}');
SELECT source_id, source_version, source_type, data, metadata
  FROM event_store.read_snapshot('order-1');
SELECT source_id, count(*) FROM event_store.snapshots GROUP BY source_id ORDER BY source_id;

-- source ids are exact and may look like anything (they are not stream names)
SELECT event_store.record_snapshot('Order-1', 1, 'T', '{"case": "upper"}');
SELECT event_store.record_snapshot('$projection', 1, 'T', '{"reserved": "no"}');
SELECT source_id, data FROM event_store.snapshots ORDER BY source_id COLLATE "C";

-- delete: true if there was one, false otherwise; then read gives NULL
SELECT event_store.delete_snapshot('order-1');
SELECT event_store.delete_snapshot('order-1');
SELECT event_store.delete_snapshot('never');
SELECT event_store.delete_snapshot(NULL);
SELECT event_store.read_snapshot('order-1') IS NULL AS gone;
SELECT source_id FROM event_store.snapshots ORDER BY source_id COLLATE "C";

-- a deleted snapshot can be recorded again
SELECT event_store.record_snapshot('order-1', 9, 'OrderStateV2', '{"total": 90}');
SELECT source_id, source_version, data FROM event_store.read_snapshot('order-1');

-- a rolled-back record leaves the previous snapshot
BEGIN;
SELECT event_store.record_snapshot('order-1', 10, 'OrderStateV2', '{"total": 100}');
ROLLBACK;
SELECT source_version, data FROM event_store.read_snapshot('order-1');

-- snapshots are independent of the event log
SELECT count(*) AS events FROM event_store.events;
