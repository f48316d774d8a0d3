-- direct_writes: a role of each level attacks every table and sequence of the
-- schema directly (INSERT, UPDATE, DELETE, TRUNCATE, SELECT … FOR UPDATE,
-- LOCK, ALTER, CREATE POLICY / DISABLE ROW LEVEL SECURITY, a trigger, and
-- nextval / setval / currval / ALTER SEQUENCE): every attempt must fail with
-- 42501 and the store must be unchanged, while the same roles append,
-- subscribe, snapshot, delete and scavenge through the functions.  The
-- attacks are generated from the catalog, so a table added later is attacked
-- too; only attempts that do NOT fail with 42501 are printed.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
DROP ROLE IF EXISTS es_dw_none, es_dw_reader, es_dw_writer, es_dw_admin;
RESET client_min_messages;
\set SHOW_CONTEXT never

CREATE ROLE es_dw_none;
CREATE ROLE es_dw_reader;
CREATE ROLE es_dw_writer;
CREATE ROLE es_dw_admin;
SELECT event_store.grant_reader('es_dw_reader');
SELECT event_store.grant_writer('es_dw_writer');
SELECT event_store.grant_admin('es_dw_admin');
GRANT USAGE ON SCHEMA event_store TO es_dw_none;

SELECT event_store.append_to_stream('order-1', 0, ARRAY[
    event_store.event('Placed', '{}', NULL, '00000000-0000-4000-8000-000000000001')]);
SELECT subscription_name FROM event_store.create_subscription('orders', '$ce-order');
SELECT event_store.record_snapshot('order-1', 1, 'Order', '{}');

-- the attacks, one statement each, for every table and sequence
CREATE TABLE public.es_dw_attacks AS
SELECT c.oid::regclass::text AS relation, a.attack,
       pg_catalog.format(a.sql, c.oid::regclass,
                         (SELECT quote_ident(attname) FROM pg_attribute WHERE attrelid = c.oid AND attnum = 1)) AS sql
  FROM pg_class c
 CROSS JOIN LATERAL (VALUES
        ('insert', 'INSERT INTO %s DEFAULT VALUES'),
        ('insert-select', 'INSERT INTO %1$s SELECT * FROM %1$s'),
        ('update', 'UPDATE %1$s SET %2$s = %2$s'),
        ('delete', 'DELETE FROM %s'),
        ('truncate', 'TRUNCATE %s'),
        ('select-for-update', 'SELECT 1 FROM %s FOR UPDATE'),
        ('select-for-key-share', 'SELECT 1 FROM %s FOR KEY SHARE'),
        ('lock-exclusive', 'LOCK TABLE %s IN EXCLUSIVE MODE'),
        ('lock-row-exclusive', 'LOCK TABLE %s IN ROW EXCLUSIVE MODE'),
        ('alter', 'ALTER TABLE %s ADD COLUMN es_dw_x int'),
        ('disable-rls', 'ALTER TABLE %s DISABLE ROW LEVEL SECURITY'),
        ('create-policy', 'CREATE POLICY es_dw_p ON %s USING (true)'),
        ('create-trigger', 'CREATE TRIGGER es_dw_t BEFORE INSERT ON %s FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()'),
        ('disable-trigger', 'ALTER TABLE %1$s DISABLE TRIGGER ALL')) a(attack, sql)
 WHERE c.relnamespace = 'event_store'::regnamespace AND c.relkind IN ('r', 'p')
UNION ALL
SELECT c.oid::regclass::text, a.attack, pg_catalog.format(a.sql, pg_catalog.quote_literal(c.oid::regclass::text), c.oid::regclass)
  FROM pg_class c
 CROSS JOIN LATERAL (VALUES
        ('nextval', 'SELECT nextval(%1$s)'),
        ('setval', 'SELECT setval(%1$s, 1000000)'),
        ('currval', 'SELECT currval(%1$s)'),
        ('select', 'SELECT last_value FROM %2$s'),
        ('alter', 'ALTER SEQUENCE %2$s RESTART')) a(attack, sql)
 WHERE c.relnamespace = 'event_store'::regnamespace AND c.relkind = 'S';
GRANT SELECT ON public.es_dw_attacks TO es_dw_none, es_dw_reader, es_dw_writer, es_dw_admin;
SELECT count(*) > 40 AS many_attacks, count(DISTINCT relation) >= 6 AS every_relation FROM public.es_dw_attacks;

CREATE TEMP TABLE before_attacks AS
SELECT (SELECT string_agg(e::text, ';' ORDER BY global_position) FROM event_store.events e) AS events,
       (SELECT string_agg(s::text, ';' ORDER BY stream_id) FROM event_store.streams s) AS streams,
       (SELECT string_agg(s::text, ';') FROM event_store.snapshots s) AS snapshots,
       (SELECT string_agg(s::text, ';') FROM event_store.subscriptions s) AS subscriptions,
       (SELECT last_value FROM event_store.global_position_seq) AS position;

-- Runs every attack as the current role; prints those that did not fail
-- with 42501, and how many did.
CREATE FUNCTION public.es_dw_attack() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    a record;
    refused int := 0;
BEGIN
    FOR a IN SELECT * FROM public.es_dw_attacks ORDER BY relation, attack LOOP
        BEGIN
            EXECUTE a.sql;
            RAISE NOTICE '% % % succeeded', current_user, a.relation, a.attack;
        EXCEPTION WHEN OTHERS THEN
            IF SQLSTATE = '42501' THEN
                refused := refused + 1;
            ELSE
                RAISE NOTICE '% % % failed with % (not 42501): %', current_user, a.relation, a.attack, SQLSTATE, SQLERRM;
            END IF;
        END;
    END LOOP;
    RETURN pg_catalog.format('%s: %s of %s refused with 42501', current_user, refused,
                             (SELECT count(*) FROM public.es_dw_attacks));
END
$$;

SET ROLE es_dw_none;
SELECT public.es_dw_attack() = 'es_dw_none: ' || count(*) || ' of ' || count(*) || ' refused with 42501' AS all_refused
  FROM public.es_dw_attacks;
SET ROLE es_dw_reader;
SELECT public.es_dw_attack() = 'es_dw_reader: ' || count(*) || ' of ' || count(*) || ' refused with 42501' AS all_refused
  FROM public.es_dw_attacks;
SET ROLE es_dw_writer;
SELECT public.es_dw_attack() = 'es_dw_writer: ' || count(*) || ' of ' || count(*) || ' refused with 42501' AS all_refused
  FROM public.es_dw_attacks;
SET ROLE es_dw_admin;
SELECT public.es_dw_attack() = 'es_dw_admin: ' || count(*) || ' of ' || count(*) || ' refused with 42501' AS all_refused
  FROM public.es_dw_attacks;
RESET ROLE;

-- nothing changed
SELECT b.events = (SELECT string_agg(e::text, ';' ORDER BY global_position) FROM event_store.events e) AS events_same,
       b.streams = (SELECT string_agg(s::text, ';' ORDER BY stream_id) FROM event_store.streams s) AS streams_same,
       b.snapshots = (SELECT string_agg(s::text, ';') FROM event_store.snapshots s) AS snapshots_same,
       b.subscriptions = (SELECT string_agg(s::text, ';') FROM event_store.subscriptions s) AS subscriptions_same,
       b.position = (SELECT last_value FROM event_store.global_position_seq) AS sequence_same
  FROM before_attacks b;

-- the one row of issue 11: a position just above the sequence, a version
-- far ahead, inserted by a writer; it cannot get in
SET ROLE es_dw_writer;
INSERT INTO event_store.events (global_position, stream_name, category, stream_version,
                                event_id, event_type, created_at)
VALUES (currval('event_store.global_position_seq') + 1, 'order-1', 'order', 1000,
        '00000000-0000-4000-8000-0000000000ff', 'Forged', now());
\echo :SQLSTATE
INSERT INTO event_store.events (global_position, stream_name, category, stream_version,
                                event_id, event_type, created_at)
VALUES (2, 'order-1', 'order', 1000, '00000000-0000-4000-8000-0000000000ff', 'Forged', now());
\echo :SQLSTATE
UPDATE event_store.streams SET stream_version = 1000 WHERE stream_name = 'order-1';
\echo :SQLSTATE
SELECT setval('event_store.global_position_seq', 1000);
\echo :SQLSTATE

-- ... while the functions, running as the owner, do their work
SELECT event_store.append_to_stream('order-1', 1, ARRAY[
    event_store.event('Paid', '{}', NULL, '00000000-0000-4000-8000-000000000002')]);
SELECT event_store.append_to_stream('order-2', event_store.no_stream(), ARRAY[
    event_store.event('Placed', '{}', NULL, '00000000-0000-4000-8000-000000000003')]);
SELECT event_store.set_stream_metadata('order-1', max_count => 5);
SELECT event_store.record_snapshot('order-1', 2, 'Order', '{"paid": true}');
SELECT event_store.delete_snapshot('order-1');
SELECT subscription_name, checkpoint FROM event_store.create_subscription('writer-sub', 'order-1');
SELECT global_position, stream_version FROM event_store.read_subscription('writer-sub');
SELECT event_store.ack('writer-sub', 2);
SELECT event_store.delete_subscription('writer-sub');
-- a writer still cannot delete or scavenge (admin level)
SELECT event_store.delete_stream('order-2', 1);
\echo :SQLSTATE
SELECT event_store.scavenge();
\echo :SQLSTATE
-- nor hand out levels
SELECT event_store.grant_admin('es_dw_writer');
\echo :SQLSTATE
SELECT event_store.grant_level('es_dw_writer', 'admin');
\echo :SQLSTATE
SELECT event_store.declare_access_level('scavenge', 'writer');
\echo :SQLSTATE
RESET ROLE;
-- the owner: not to role 0, not an unknown level
SELECT event_store.grant_reader(0::regrole);
\echo :SQLSTATE
SELECT event_store.grant_level('es_dw_writer', 'owner');
\echo :SQLSTATE

SET ROLE es_dw_admin;
SELECT event_store.delete_stream('order-2', 1);
SELECT event_store.scavenge();
SELECT global_position, stream_name, stream_version, event_type FROM event_store.read_all_forward();
RESET ROLE;

-- the owner can write directly (it owns the tables); nobody else, and no
-- role may reference the tables from its own or put a trigger on them
SELECT r.rolname, c.oid::regclass AS relation, p.priv
  FROM pg_roles r
 CROSS JOIN pg_class c
 CROSS JOIN unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) p(priv)
 WHERE r.rolname LIKE 'es\_dw\_%'
   AND c.relnamespace = 'event_store'::regnamespace AND c.relkind = 'r'
   AND has_table_privilege(r.oid, c.oid, p.priv);

DROP FUNCTION public.es_dw_attack();
DROP TABLE public.es_dw_attacks;
DROP OWNED BY es_dw_none, es_dw_reader, es_dw_writer, es_dw_admin;

-- roles granted under 1.1 lose their direct write privileges in the update
-- to 1.2 and keep their levels
SET client_min_messages = warning;
DROP EXTENSION event_store CASCADE;
RESET client_min_messages;
CREATE EXTENSION event_store VERSION '1.1';
SELECT event_store.grant_reader('es_dw_reader');
SELECT event_store.grant_writer('es_dw_writer');
SELECT event_store.grant_admin('es_dw_admin');
SELECT count(*) > 0 AS writes_granted_in_1_1
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'event_store'::regnamespace AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'USAGE');
ALTER EXTENSION event_store UPDATE TO '1.2';
SELECT c.oid::regclass AS relation, a.grantee::regrole AS role, a.privilege_type
  FROM pg_class c, aclexplode(c.relacl) a
 WHERE c.relnamespace = 'event_store'::regnamespace AND a.grantee <> c.relowner
   AND (c.relkind = 'S' OR a.privilege_type <> 'SELECT');
SELECT r.role,
       has_function_privilege(r.role, 'event_store.read_all_forward(bigint, integer, text[], text)', 'EXECUTE') AS read,
       has_function_privilege(r.role, 'event_store.append_to_stream(text, bigint, event_store.new_event[])', 'EXECUTE') AS append,
       has_function_privilege(r.role, 'event_store.scavenge(bigint)', 'EXECUTE') AS scavenge,
       has_function_privilege(r.role, 'event_store.grant_level(regrole, text)', 'EXECUTE') AS grant_level,
       has_table_privilege(r.role, 'event_store.access_levels', 'SELECT') AS new_table
  FROM (VALUES ('es_dw_reader'), ('es_dw_writer'), ('es_dw_admin')) r(role);
SET ROLE es_dw_writer;
SELECT event_store.append_to_stream('order-3', 0, ARRAY[event_store.event('Placed', '{}')]);
INSERT INTO event_store.streams (stream_name, category) VALUES ('order-9', 'order');
\echo :SQLSTATE
RESET ROLE;

SET client_min_messages = warning;
DROP EXTENSION event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
DROP OWNED BY es_dw_none, es_dw_reader, es_dw_writer, es_dw_admin;
DROP ROLE es_dw_none, es_dw_reader, es_dw_writer, es_dw_admin;
