-- Upgrades: install the oldest version, write data, ALTER EXTENSION UPDATE,
-- and check that the data survived, the new version behaves, and the
-- updated extension is the same set of objects, privileges and comments as
-- a fresh install of the default version.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- the versions we ship, and the update path from each to the default
-- (pg_extension_update_paths rather than pg_available_extension_versions,
-- which does not see a private install made through extension_destdir)
SELECT source, target, path FROM pg_extension_update_paths('event_store')
 WHERE path IS NOT NULL ORDER BY source, target;

CREATE EXTENSION event_store VERSION '1.0';
SELECT extversion FROM pg_extension WHERE extname = 'event_store';

SELECT event_store.append_to_stream('order-1', 0,
    ARRAY[event_store.event('Placed', '{"n": 1}', NULL, '00000000-0000-7000-8000-000000000001'),
          event_store.event('Paid', '{"n": 2}', NULL, '00000000-0000-7000-8000-000000000002')]);
SELECT event_store.append_to_stream('user-1', 0,
    ARRAY[event_store.event('Joined', '{}', NULL, '00000000-0000-7000-8000-000000000003')]);
SELECT event_store.record_snapshot('order-1', 2, 'Order', '{"total": 2}');
SELECT subscription_name FROM event_store.create_subscription('all');
SELECT event_store.ack('all', 2);

CREATE TEMP TABLE before_update AS
SELECT (SELECT string_agg(e::text, ';' ORDER BY global_position) FROM event_store.events e) AS events,
       (SELECT string_agg((stream_name, stream_version)::text, ';' ORDER BY stream_id) FROM event_store.streams) AS streams,
       (SELECT string_agg(s::text, ';') FROM event_store.snapshots s) AS snapshots,
       (SELECT string_agg((subscription_name, checkpoint)::text, ';') FROM event_store.subscriptions) AS subscriptions,
       (SELECT last_value FROM event_store.global_position_seq) AS position;

ALTER EXTENSION event_store UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'event_store';

-- the data is untouched
SELECT b.events = (SELECT string_agg(e::text, ';' ORDER BY global_position) FROM event_store.events e) AS events_same,
       b.streams = (SELECT string_agg((stream_name, stream_version)::text, ';' ORDER BY stream_id) FROM event_store.streams) AS streams_same,
       b.snapshots = (SELECT string_agg(s::text, ';') FROM event_store.snapshots s) AS snapshots_same,
       b.subscriptions = (SELECT string_agg((subscription_name, checkpoint)::text, ';') FROM event_store.subscriptions) AS subscriptions_same,
       b.position = (SELECT last_value FROM event_store.global_position_seq) AS sequence_same
  FROM before_update b;

-- and it behaves: old functions continue, new ones work on old data
SELECT event_store.append_to_stream('order-1', 2, ARRAY[event_store.event('Shipped', '{}')]);
SELECT global_position, stream_name, stream_version FROM event_store.read_all_forward();
SELECT event_store.delete_stream('user-1', 1);
SELECT event_store.stream_version('user-1');
SELECT event_store.scavenge();
SELECT count(*) FROM event_store.read_subscription('all');
-- 1.2: the old subscription shows in subscription_status; a persistent one
-- hands out the old events
SELECT name, kind, checkpoint FROM event_store.subscription_status;
SELECT subscription_name FROM event_store.create_persistent_subscription('workers', start_from => 1);
SELECT global_position, stream_name, retry_count FROM event_store.receive_events('workers', 'w1');

-- an updated install is the same as a fresh one: members, definitions,
-- privileges and comments
CREATE TEMP VIEW extension_shape AS
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS object,
       CASE WHEN d.classid = 'pg_proc'::regclass
            THEN (SELECT md5(p.prosrc || coalesce(array_to_string(p.proconfig, ','), '') ||
                             coalesce(p.proacl::text, ''))
                    FROM pg_proc p WHERE p.oid = d.objid) END AS definition,
       obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)) AS comment
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'event_store')
   AND d.deptype = 'e';
CREATE TEMP TABLE updated_shape AS SELECT * FROM extension_shape;

DROP EXTENSION event_store CASCADE;
CREATE EXTENSION event_store;
SELECT 'only after update' AS side, * FROM (SELECT * FROM updated_shape EXCEPT SELECT * FROM extension_shape) a
UNION ALL
SELECT 'only when fresh', * FROM (SELECT * FROM extension_shape EXCEPT SELECT * FROM updated_shape) b
ORDER BY 1, 2;
SELECT count(*) > 30 AS has_members FROM updated_shape;
