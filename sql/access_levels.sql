-- The three access levels, for every function of the extension, and what a
-- role at each level can and cannot do.  Nothing is granted to PUBLIC.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
DROP ROLE IF EXISTS es_al_none, es_al_reader, es_al_writer, es_al_admin;
RESET client_min_messages;
\set SHOW_CONTEXT never

CREATE ROLE es_al_none;
CREATE ROLE es_al_reader;
CREATE ROLE es_al_writer;
CREATE ROLE es_al_admin;
SELECT event_store.grant_reader('es_al_reader');
SELECT event_store.grant_writer('es_al_writer');
SELECT event_store.grant_admin('es_al_admin');

-- every function: who may execute it
SELECT p.oid::regprocedure AS function,
       has_function_privilege('es_al_none', p.oid, 'EXECUTE') AS none,
       has_function_privilege('es_al_reader', p.oid, 'EXECUTE') AS reader,
       has_function_privilege('es_al_writer', p.oid, 'EXECUTE') AS writer,
       has_function_privilege('es_al_admin', p.oid, 'EXECUTE') AS admin
  FROM pg_proc p
 WHERE p.pronamespace = 'event_store'::regnamespace
 ORDER BY p.oid::regprocedure::text;

-- every table and sequence: what each level may do
SELECT c.oid::regclass AS relation, l.level,
       string_agg(priv, ',' ORDER BY priv) FILTER (WHERE has_table_privilege(l.level, c.oid, priv)) AS privileges
  FROM pg_class c
 CROSS JOIN (VALUES ('es_al_none'), ('es_al_reader'), ('es_al_writer'), ('es_al_admin'), ('public')) l(level)
 CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) priv
 WHERE c.relnamespace = 'event_store'::regnamespace AND c.relkind IN ('r', 'S')
 GROUP BY c.oid, l.level
 ORDER BY c.oid::regclass::text, l.level;
SELECT has_schema_privilege('public', 'event_store', 'USAGE') AS public_usage,
       has_schema_privilege('es_al_none', 'event_store', 'USAGE') AS none_usage;

SELECT event_store.append_to_stream('order-1', 0, ARRAY[event_store.event('Placed', '{}')]);

-- no grant: nothing
SET ROLE es_al_none;
SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('X', '{}')]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM event_store.read_all_forward();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM event_store.events;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- reader: reads, nothing else
SET ROLE es_al_reader;
SELECT count(*) FROM event_store.read_all_forward();
SELECT count(*) FROM event_store.read_stream_forward('order-1');
SELECT count(*) FROM event_store.read_category_forward('order');
SELECT event_store.stream_version('order-1');
SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('X', '{}')]);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.create_subscription('reader-sub');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO event_store.events VALUES (100, 'order-1', 'order', 2, gen_random_uuid(), 'X', '{}', NULL, NULL, NULL, now());
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- writer: appends, snapshots, subscriptions, metadata; no deletes, and the
-- log stays append-only
SET ROLE es_al_writer;
SELECT event_store.append_to_stream('order-1', 1, ARRAY[event_store.event('Paid', '{}')]);
SELECT event_store.append_to_stream('order-2', 0, ARRAY[event_store.event('Placed', '{}')]);
SELECT event_store.record_snapshot('order-1', 2, 'Order', '{}');
SELECT source_version FROM event_store.read_snapshot('order-1');
SELECT subscription_name FROM event_store.create_subscription('writer-sub');
SELECT count(*) FROM event_store.read_subscription('writer-sub');
SELECT event_store.ack('writer-sub', 2);
SELECT event_store.set_stream_metadata('order-1', max_count => 10);
SELECT event_store.delete_stream('order-2', -1);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.scavenge();
\echo :LAST_ERROR_SQLSTATE
UPDATE event_store.events SET data = '{"forged": true}';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM event_store.events;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE event_store.events;
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.grant_admin('es_al_writer');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- admin: deletes and scavenges, still cannot rewrite events
SET ROLE es_al_admin;
SELECT event_store.delete_stream('order-2', 1);
SELECT event_store.delete_stream('order-1', 2, true);
SELECT event_store.scavenge();
SELECT count(*) FROM event_store.events;
UPDATE event_store.events SET data = '{"forged": true}';
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

DROP OWNED BY es_al_none, es_al_reader, es_al_writer, es_al_admin;
DROP ROLE es_al_none, es_al_reader, es_al_writer, es_al_admin;
