-- feed_scan: once the library is loaded, read_all_forward and
-- read_category_forward in FROM are planned as a custom scan that hands out
-- rows one by one (feed_scan.c) instead of a function scan that stores them
-- all first.  It must return exactly what the function returns, check what
-- calling it checks, and step aside where it cannot stand in for it (WITH
-- ORDINALITY, LATERAL, the whole row).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never
SET event_store.notify = off;

-- 300 events in 30 streams of three categories, two types, with NULLs
SELECT count(*) FROM (
SELECT event_store.append_to_stream(c || '-' || (s % 10), -1, ARRAY[
    event_store.event(CASE WHEN s % 3 = 0 THEN 'Shipped' ELSE 'Placed' END,
                      CASE WHEN s % 4 = 0 THEN NULL ELSE jsonb_build_object('s', s) END,
                      CASE WHEN s % 5 = 0 THEN NULL ELSE jsonb_build_object('m', repeat('x', s)) END)])
  FROM generate_series(1, 100) s, unnest(ARRAY['order', 'cart', 'user']) c) a;

-- the plan (the library is loaded by the appends above)
EXPLAIN (COSTS OFF) SELECT * FROM event_store.read_all_forward(1, 10);
EXPLAIN (COSTS OFF) SELECT global_position FROM event_store.read_all_forward(1, 10)
 WHERE stream_version > 3;
-- where it steps aside: a function scan
EXPLAIN (COSTS OFF) SELECT * FROM event_store.read_all_forward(1, 10) WITH ORDINALITY;
EXPLAIN (COSTS OFF) SELECT r FROM event_store.read_all_forward(1, 10) r;
EXPLAIN (COSTS OFF) SELECT g, r.global_position
  FROM generate_series(1, 3) g, LATERAL event_store.read_all_forward(g, 2) r;
EXPLAIN (COSTS OFF) SELECT * FROM event_store.read_all_forward(1, 10) WHERE false;
ALTER FUNCTION event_store.read_all_forward(bigint, integer, text[], text) STRICT;
EXPLAIN (COSTS OFF) SELECT * FROM event_store.read_all_forward(1, 10);
ALTER FUNCTION event_store.read_all_forward(bigint, integer, text[], text) CALLED ON NULL INPUT;
-- EXPLAIN VERBOSE names the call, as for a function scan
EXPLAIN (COSTS OFF, VERBOSE) SELECT global_position
  FROM event_store.read_category_forward('cart', 5, 10, event_types => ARRAY['Placed']);

-- the same rows as the function scan (WITH ORDINALITY forces one), for
-- pages, filters and the whole log
CREATE FUNCTION pg_temp.differences(from_position bigint, max_count int,
                                    event_types text[] DEFAULT NULL,
                                    stream_prefix text DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*) FROM (
        (SELECT * FROM event_store.read_all_forward(from_position, max_count,
                                                     event_types, stream_prefix)
         EXCEPT ALL
         SELECT global_position, stream_name, stream_version, event_id, event_type,
                data, metadata, causation_id, correlation_id, created_at
           FROM event_store.read_all_forward(from_position, max_count,
                                             event_types, stream_prefix) WITH ORDINALITY)
        UNION ALL
        (SELECT global_position, stream_name, stream_version, event_id, event_type,
                data, metadata, causation_id, correlation_id, created_at
           FROM event_store.read_all_forward(from_position, max_count,
                                             event_types, stream_prefix) WITH ORDINALITY
         EXCEPT ALL
         SELECT * FROM event_store.read_all_forward(from_position, max_count,
                                                     event_types, stream_prefix))) d
$$;
SELECT pg_temp.differences(1, 1000) AS whole_log,
       pg_temp.differences(17, 50) AS page,
       pg_temp.differences(290, 50) AS past_the_end,
       pg_temp.differences(1, 1000, ARRAY['Shipped']) AS one_type,
       pg_temp.differences(1, 1000, NULL, 'cart-') AS prefix;
CREATE FUNCTION pg_temp.category_differences(category text, from_position bigint,
                                             max_count int, member int DEFAULT NULL,
                                             size int DEFAULT NULL,
                                             event_types text[] DEFAULT NULL,
                                             stream_prefix text DEFAULT NULL) RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*) FROM (
        (SELECT * FROM event_store.read_category_forward(category, from_position, max_count,
                                                          member, size, event_types, stream_prefix)
         EXCEPT ALL
         SELECT global_position, stream_name, stream_version, event_id, event_type,
                data, metadata, causation_id, correlation_id, created_at
           FROM event_store.read_category_forward(category, from_position, max_count,
                                                  member, size, event_types, stream_prefix)
                WITH ORDINALITY)
        UNION ALL
        (SELECT global_position, stream_name, stream_version, event_id, event_type,
                data, metadata, causation_id, correlation_id, created_at
           FROM event_store.read_category_forward(category, from_position, max_count,
                                                  member, size, event_types, stream_prefix)
                WITH ORDINALITY
         EXCEPT ALL
         SELECT * FROM event_store.read_category_forward(category, from_position, max_count,
                                                          member, size, event_types, stream_prefix))) d
$$;
SELECT pg_temp.category_differences('cart', 1, 1000) AS category,
       pg_temp.category_differences('cart', 50, 20) AS page,
       pg_temp.category_differences('cart', 1, 1000, 1, 3) AS group_member,
       pg_temp.category_differences('cart', 1, 1000, NULL, NULL, ARRAY['Placed']) AS one_type,
       pg_temp.category_differences('cart', 1, 1000, NULL, NULL, NULL, 'cart-1') AS prefix;
EXPLAIN (COSTS OFF) SELECT * FROM event_store.read_category_forward('cart', 1, 10);
SELECT count(*), min(global_position), max(global_position)
  FROM event_store.read_all_forward(1, 1000);
SELECT count(*), count(DISTINCT stream_name)
  FROM event_store.read_category_forward('user', 1, 1000, 0, 2);
SELECT count(*) FROM event_store.read_all_forward(1, 1000, ARRAY['Shipped'], 'cart-');
SELECT global_position, stream_name, stream_version, event_type, data, metadata
  FROM event_store.read_all_forward(298, 10);

-- a LIMIT stops the read early; an ORDER BY and a join above it
SELECT global_position FROM event_store.read_all_forward(1, 1000) LIMIT 3;
SELECT stream_name, count(*) FROM event_store.read_all_forward(1, 1000)
 GROUP BY stream_name ORDER BY stream_name LIMIT 3;
SELECT r.global_position, s.stream_version AS stream_at
  FROM event_store.read_all_forward(1, 3) r
  JOIN event_store.streams s USING (stream_name) ORDER BY 1;

-- parameters: a prepared statement, custom and generic plans
PREPARE page(bigint, int) AS
    SELECT min(global_position), max(global_position), count(*)
      FROM event_store.read_all_forward($1, $2);
EXECUTE page(10, 5);
SET plan_cache_mode = force_generic_plan;
EXECUTE page(100, 7);
EXPLAIN (COSTS OFF) EXECUTE page(100, 7);
RESET plan_cache_mode;
DEALLOCATE page;

-- rescans: once per outer row, with the outer row's position
SELECT g, (SELECT array_agg(global_position)
             FROM event_store.read_all_forward(g * 100, 2)) AS two
  FROM generate_series(1, 3) g;
-- rescans with the same arguments (the outer row is only in the quals):
-- the rows are kept and read again from the start, as a function scan does
EXPLAIN (COSTS OFF) SELECT t.n, EXISTS (SELECT FROM event_store.read_all_forward(1, 1000) e
                                         WHERE e.stream_name = t.n)
  FROM (VALUES ('cart-1'), ('nope'), ('user-9')) t(n);
SELECT t.n, EXISTS (SELECT FROM event_store.read_all_forward(1, 1000) e
                     WHERE e.stream_name = t.n) AS found,
       (SELECT count(*) FROM event_store.read_all_forward(1, 1000) e
         WHERE e.stream_name = t.n) AS events
  FROM (VALUES ('cart-1'), ('nope'), ('user-9')) t(n);
-- a join inside a correlated subquery: the scan may be rescanned without
-- having been told (its parent is), and still gives the same rows
SELECT t.n, (SELECT count(*) FROM event_store.read_all_forward(1, 1000) f
               JOIN event_store.streams s ON s.stream_name = f.stream_name
              WHERE s.stream_name = t.n) AS events
  FROM (VALUES ('cart-1'), ('user-2'), ('nope')) t(n);
SET enable_hashjoin = off;
SET enable_mergejoin = off;
SET enable_material = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM generate_series(1, 3) g
  JOIN event_store.read_all_forward(1, 5) r ON r.global_position >= g;
SELECT count(*) FROM generate_series(1, 3) g
  JOIN event_store.read_all_forward(1, 5) r ON r.global_position >= g;
RESET enable_hashjoin;
RESET enable_mergejoin;
RESET enable_material;

-- a scrollable cursor reads backwards too (from a materialized copy)
BEGIN;
DECLARE c SCROLL CURSOR FOR SELECT global_position FROM event_store.read_all_forward(1, 5);
FETCH 3 FROM c;
FETCH BACKWARD 2 FROM c;
FETCH ALL FROM c;
COMMIT;

-- arguments are checked by read_all_forward's own code
SELECT * FROM event_store.read_all_forward(NULL, 3);
SELECT * FROM event_store.read_all_forward(1, 0);
SELECT * FROM event_store.read_all_forward(1, 3, ARRAY[]::text[]);
SELECT * FROM event_store.read_all_forward(1, 3, NULL, '');
SELECT * FROM event_store.read_category_forward('', 1, 3);
SELECT * FROM event_store.read_category_forward('cart', 1, 3, 2, 2);

-- privileges: EXECUTE on the function, as a function scan checks it, and
-- SELECT on the table, as the function checks it
CREATE ROLE es_scan_nobody;
GRANT USAGE ON SCHEMA event_store TO es_scan_nobody;
GRANT SELECT ON event_store.events TO es_scan_nobody;
SET ROLE es_scan_nobody;
SELECT count(*) FROM event_store.read_all_forward(1, 3);
EXPLAIN (COSTS OFF) SELECT * FROM event_store.read_all_forward(1, 3);
RESET ROLE;
GRANT EXECUTE ON FUNCTION event_store.read_all_forward(bigint, integer, text[], text)
    TO es_scan_nobody;
SET ROLE es_scan_nobody;
SELECT count(*) FROM event_store.read_all_forward(1, 3);
RESET ROLE;
REVOKE SELECT ON event_store.events FROM es_scan_nobody;
SET ROLE es_scan_nobody;
SELECT count(*) FROM event_store.read_all_forward(1, 3);
RESET ROLE;
GRANT SELECT ON event_store.events TO es_scan_nobody;

-- row-level security: the rows go through the policy (the scan reads
-- through policy.c, as the function does)
ALTER TABLE event_store.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_carts ON event_store.events FOR SELECT TO es_scan_nobody
    USING (category = 'cart');
SET ROLE es_scan_nobody;
SELECT count(*), min(stream_name), max(stream_name)
  FROM event_store.read_all_forward(1, 1000);
SELECT count(*) FROM event_store.read_all_forward(1, 1000) WITH ORDINALITY;
RESET ROLE;
DROP POLICY only_carts ON event_store.events;
ALTER TABLE event_store.events DISABLE ROW LEVEL SECURITY;

REVOKE ALL ON event_store.events FROM es_scan_nobody;
REVOKE ALL ON FUNCTION event_store.read_all_forward(bigint, integer, text[], text)
    FROM es_scan_nobody;
REVOKE ALL ON SCHEMA event_store FROM es_scan_nobody;
DROP ROLE es_scan_nobody;
DROP FUNCTION pg_temp.differences(bigint, int, text[], text),
    pg_temp.category_differences(text, bigint, int, int, int, text[], text);
DROP EXTENSION event_store;
