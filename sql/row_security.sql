-- row_security: with row-level security on event_store.events and a tenant
-- policy (a role sees the streams named "<role>:…"), every read function
-- shows a role exactly what a plain SELECT shows it: streams, $all (paged),
-- categories with consumer groups, stream_version, subscriptions of every
-- source and persistent subscriptions.  Rows a policy hides are not holes:
-- a page of $all for a role that sees 10 % of the log is complete.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
DROP ROLE IF EXISTS es_rls_acme, es_rls_globex;
RESET client_min_messages;
\set SHOW_CONTEXT never

CREATE ROLE es_rls_acme;
CREATE ROLE es_rls_globex;
SELECT event_store.grant_writer('es_rls_acme');
SELECT event_store.grant_reader('es_rls_globex');

ALTER TABLE event_store.events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON event_store.events FOR SELECT
    USING (pg_catalog.starts_with(stream_name, current_user || ':'));

-- 200 events: every tenth belongs to acme (in two categories, four
-- streams), the rest to globex
SELECT count(event_store.append_to_stream(
           CASE WHEN i % 10 = 0 THEN 'es_rls_acme:' || (ARRAY['order', 'invoice'])[1 + (i / 10) % 2] || '-' || (i / 20) % 2
                ELSE 'es_rls_globex:order-' || i % 7 END,
           -1, ARRAY[event_store.event('E' || i, jsonb_build_object('i', i))]))
  FROM generate_series(1, 200) i;

CREATE FUNCTION public.es_rls_same(what text, got bigint[], want bigint[]) RETURNS text
LANGUAGE sql RETURN what || ': ' || CASE WHEN got IS NOT DISTINCT FROM want
    THEN 'same as SELECT (' || coalesce(cardinality(got), 0) || ' rows)'
    ELSE 'DIFFERENT: ' || coalesce(got::text, 'none') || ' vs ' || coalesce(want::text, 'none') END;

SET ROLE es_rls_acme;
SELECT count(*) AS select_shows FROM event_store.events;
-- $all, one page and pages of 3
SELECT public.es_rls_same('read_all_forward',
    (SELECT array_agg(global_position) FROM event_store.read_all_forward()),
    (SELECT array_agg(global_position ORDER BY global_position) FROM event_store.events));
WITH RECURSIVE pages(n, last, got) AS (
    SELECT 0, 0::bigint, ARRAY[]::bigint[]
    UNION ALL
    SELECT n + 1, p.last, got || p.positions
      FROM pages, LATERAL (SELECT max(global_position) AS last, array_agg(global_position) AS positions
                             FROM event_store.read_all_forward(pages.last + 1, 3)) p
     WHERE p.last IS NOT NULL AND n < 100)
SELECT public.es_rls_same('read_all_forward in pages of 3', (SELECT got FROM pages ORDER BY n DESC LIMIT 1),
    (SELECT array_agg(global_position ORDER BY global_position) FROM event_store.events));
-- a page asks for 5: it gets 5, from anywhere in the log
SELECT array_agg(global_position) AS five FROM event_store.read_all_forward(1, 5);
-- the 1.2 filters: event types, a stream prefix
SELECT public.es_rls_same('read_all_forward, event_types',
    (SELECT array_agg(global_position) FROM event_store.read_all_forward(1, 1000, ARRAY['E10', 'E20', 'E21', 'E150'])),
    (SELECT array_agg(global_position ORDER BY global_position) FROM event_store.events
      WHERE event_type IN ('E10', 'E20', 'E21', 'E150')));
SELECT public.es_rls_same('read_all_forward, stream_prefix',
    (SELECT array_agg(global_position) FROM event_store.read_all_forward(1, 1000, NULL, 'es_rls_acme:invoice')),
    (SELECT array_agg(global_position ORDER BY global_position) FROM event_store.events
      WHERE starts_with(stream_name, 'es_rls_acme:invoice')));
SELECT public.es_rls_same('read_category_forward, event_types',
    (SELECT array_agg(global_position) FROM event_store.read_category_forward('es_rls_acme:order', 1, 1000, NULL, NULL, ARRAY['E20', 'E60', 'E61'])),
    (SELECT array_agg(global_position ORDER BY global_position) FROM event_store.events
      WHERE category = 'es_rls_acme:order' AND event_type IN ('E20', 'E60', 'E61')));
-- categories, and consumer groups
SELECT public.es_rls_same('read_category_forward',
    (SELECT array_agg(global_position) FROM event_store.read_category_forward('es_rls_acme:order')),
    (SELECT array_agg(global_position ORDER BY global_position) FROM event_store.events WHERE category = 'es_rls_acme:order'));
SELECT public.es_rls_same('read_category_forward, group member ' || m || ' of 2',
    (SELECT array_agg(global_position) FROM event_store.read_category_forward('es_rls_acme:invoice', 1, 1000, m, 2)),
    (SELECT array_agg(global_position ORDER BY global_position) FROM event_store.events
      WHERE category = 'es_rls_acme:invoice' AND event_store.stream_hash(stream_name) % 2 = m))
  FROM generate_series(0, 1) m;
-- another tenant's category: nothing, as SELECT shows nothing
SELECT public.es_rls_same('read_category_forward of globex',
    (SELECT array_agg(global_position) FROM event_store.read_category_forward('es_rls_globex:order')),
    (SELECT array_agg(global_position ORDER BY global_position) FROM event_store.events WHERE category = 'es_rls_globex:order'));
-- streams
SELECT public.es_rls_same('read_stream_forward ' || s,
    (SELECT array_agg(global_position) FROM event_store.read_stream_forward(s)),
    (SELECT array_agg(global_position ORDER BY stream_version) FROM event_store.events WHERE stream_name = s))
  FROM unnest(ARRAY['es_rls_acme:order-0', 'es_rls_globex:order-3']) s;
SELECT public.es_rls_same('read_stream_backward ' || s,
    (SELECT array_agg(global_position) FROM event_store.read_stream_backward(s)),
    (SELECT array_agg(global_position ORDER BY stream_version DESC) FROM event_store.events WHERE stream_name = s))
  FROM unnest(ARRAY['es_rls_acme:order-0', 'es_rls_globex:order-3']) s;
SELECT s, event_store.stream_version(s) AS stream_version,
       (SELECT coalesce(max(stream_version), 0) FROM event_store.events WHERE stream_name = s) AS select_max
  FROM unnest(ARRAY['es_rls_acme:order-0', 'es_rls_globex:order-3', 'nobody:x']) s;
-- subscriptions of every source
SELECT subscription_name FROM event_store.create_subscription('acme-all');
SELECT subscription_name FROM event_store.create_subscription('acme-orders', '$ce-es_rls_acme:order');
SELECT subscription_name FROM event_store.create_subscription('acme-peek', 'es_rls_globex:order-3');
SELECT public.es_rls_same('read_subscription ' || n,
    (SELECT array_agg(global_position) FROM event_store.read_subscription(n, 1000)),
    (SELECT array_agg(global_position ORDER BY global_position) FROM event_store.events
      WHERE n = 'acme-all' OR (n = 'acme-orders' AND category = 'es_rls_acme:order')
         OR (n = 'acme-peek' AND stream_name = 'es_rls_globex:order-3')))
  FROM unnest(ARRAY['acme-all', 'acme-orders', 'acme-peek']) n;
-- a persistent subscription
SELECT subscription_name FROM event_store.create_persistent_subscription('acme-workers');
SELECT public.es_rls_same('receive_events',
    (SELECT array_agg(global_position) FROM event_store.receive_events('acme-workers', 'w1', 1000)),
    (SELECT array_agg(global_position ORDER BY global_position) FROM event_store.events));
RESET ROLE;

-- the other tenant, through the same functions
SET ROLE es_rls_globex;
SELECT public.es_rls_same('globex read_all_forward',
    (SELECT array_agg(global_position) FROM event_store.read_all_forward()),
    (SELECT array_agg(global_position ORDER BY global_position) FROM event_store.events));
SELECT event_store.stream_version('es_rls_acme:order-0') AS acme_version_seen_by_globex;
RESET ROLE;

-- row_security = off: an error, as for a plain SELECT
SET ROLE es_rls_globex;
SET row_security = off;
SELECT count(*) FROM event_store.read_all_forward();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM event_store.events;
\echo :LAST_ERROR_SQLSTATE
RESET row_security;
RESET ROLE;

-- the owner is not subject to the policy (no FORCE): it sees all 200
SELECT count(*) FROM event_store.read_all_forward();

DROP FUNCTION public.es_rls_same(text, bigint[], bigint[]);
DROP POLICY tenant ON event_store.events;
ALTER TABLE event_store.events DISABLE ROW LEVEL SECURITY;
DROP OWNED BY es_rls_acme, es_rls_globex;
DROP ROLE es_rls_acme, es_rls_globex;
