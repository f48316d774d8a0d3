-- read_filters: event_types and stream_prefix on read_all_forward and
-- read_category_forward (alone, together, with consumer groups), max_count
-- counting returned events, paging by the last position, holes passed, and
-- ES004 for bad filters naming what is read.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- 1 order-1 Placed, 2 user-7 Registered, 3 order-2 Placed, 4 order-2 Paid,
-- 5 order-10 Placed, 6 orders Listed, 7 (rolled back), 8 user-70 Paid,
-- 9 order-1 Shipped
SELECT event_store.append_to_stream('order-1', 0, ARRAY[event_store.event('Placed', '{}')]);
SELECT event_store.append_to_stream('user-7', 0, ARRAY[event_store.event('Registered', '{}')]);
SELECT event_store.append_to_stream('order-2', 0, ARRAY[event_store.event('Placed', '{}'), event_store.event('Paid', '{}')]);
SELECT event_store.append_to_stream('order-10', 0, ARRAY[event_store.event('Placed', '{}')]);
SELECT event_store.append_to_stream('orders', 0, ARRAY[event_store.event('Listed', '{}')]);
BEGIN;
SELECT event_store.append_to_stream('order-3', 0, ARRAY[event_store.event('Placed', '{}')]);
ROLLBACK;
SELECT event_store.append_to_stream('user-70', 0, ARRAY[event_store.event('Paid', '{}')]);
SELECT event_store.append_to_stream('order-1', 1, ARRAY[event_store.event('Shipped', '{}')]);

-- by type: one, several (in position order), unknown, repeated
SELECT global_position, stream_name, event_type
  FROM event_store.read_all_forward(event_types => ARRAY['Placed']);
SELECT global_position, stream_name, event_type
  FROM event_store.read_all_forward(1, 100, ARRAY['Paid', 'Placed', 'Paid']);
SELECT count(*) FROM event_store.read_all_forward(1, 100, ARRAY['Nothing']);

-- max_count counts returned events; page on from the last one + 1
SELECT global_position FROM event_store.read_all_forward(1, 2, ARRAY['Placed', 'Paid']);
SELECT global_position FROM event_store.read_all_forward(4, 2, ARRAY['Placed', 'Paid']);
SELECT global_position FROM event_store.read_all_forward(9, 2, ARRAY['Placed', 'Paid']);

-- by stream prefix: a plain prefix ('_' and '%' are themselves), with or
-- without a '-' (with one, the category index serves it)
SELECT global_position, stream_name FROM event_store.read_all_forward(stream_prefix => 'order-1');
SELECT global_position, stream_name FROM event_store.read_all_forward(stream_prefix => 'order');
SELECT global_position, stream_name FROM event_store.read_all_forward(stream_prefix => 'user-7');
SELECT count(*) FROM event_store.read_all_forward(stream_prefix => 'order_');
SELECT count(*) FROM event_store.read_all_forward(stream_prefix => 'ord%');

-- both filters
SELECT global_position, stream_name, event_type
  FROM event_store.read_all_forward(1, 100, ARRAY['Placed', 'Shipped'], 'order-1');

-- a category with filters, and with a consumer group
SELECT global_position, stream_name, event_type
  FROM event_store.read_category_forward('order', event_types => ARRAY['Placed']);
SELECT global_position, stream_name
  FROM event_store.read_category_forward('order', stream_prefix => 'order-1');
SELECT global_position FROM event_store.read_category_forward('user', 1, 100, NULL, NULL, ARRAY['Paid']);
SELECT global_position FROM event_store.read_category_forward('order', 1, 1, NULL, NULL, ARRAY['Placed']);
-- the members' filtered pages together are the category's filtered page
SELECT m, array_agg(global_position ORDER BY global_position) AS positions
  FROM generate_series(0, 2) m
 CROSS JOIN LATERAL event_store.read_category_forward('order', 1, 100, m, 3, ARRAY['Placed']) e
 GROUP BY m ORDER BY m;
SELECT array_agg(e.global_position ORDER BY e.global_position) =
       (SELECT array_agg(global_position ORDER BY global_position)
          FROM event_store.read_category_forward('order', 1, 100, NULL, NULL, ARRAY['Placed'])) AS same
  FROM generate_series(0, 2) m
 CROSS JOIN LATERAL event_store.read_category_forward('order', 1, 100, m, 3, ARRAY['Placed']) e;
-- each member gets exactly its streams
SELECT bool_and(event_store.stream_hash(e.stream_name) % 3 = m) AS members_own_streams
  FROM generate_series(0, 2) m
 CROSS JOIN LATERAL event_store.read_category_forward('order', 1, 100, m, 3) e;

-- old calls keep working (positional, named)
SELECT count(*) FROM event_store.read_all_forward(1, 100);
SELECT count(*) FROM event_store.read_category_forward('order', 1, 100, 0, 1);

-- bad filters: ES004 naming what is read
SELECT * FROM event_store.read_all_forward(1, 10, ARRAY[]::text[]);
\echo :SQLSTATE
SELECT * FROM event_store.read_all_forward(1, 10, ARRAY['Placed', NULL]);
\echo :SQLSTATE
SELECT * FROM event_store.read_all_forward(1, 10, ARRAY['']);
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward('order', 1, 10, NULL, NULL, NULL, '');
\echo :SQLSTATE
SELECT * FROM event_store.read_category_forward('order', 1, 10, NULL, NULL, ARRAY[]::text[]);
\echo :SQLSTATE
