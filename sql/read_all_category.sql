-- read_all_category: read_all_forward and read_category_forward (from,
-- max_count, holes left by rolled-back appends), consumer groups (member k
-- of n gets exactly the streams with stream_hash mod n = k; the members
-- together get the category, without overlap), and stream_hash's
-- documented value.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- categories: the part of the name before the first "-", or the whole name
SELECT event_store.append_to_stream('order-1', 0, ARRAY[event_store.event('Placed', '{}', NULL, '00000000-0000-4000-8000-000000000001')]);
SELECT event_store.append_to_stream('user-7', 0, ARRAY[event_store.event('Registered', '{}', NULL, '00000000-0000-4000-8000-000000000002')]);
SELECT event_store.append_to_stream('order-2', 0, ARRAY[event_store.event('Placed', '{}', NULL, '00000000-0000-4000-8000-000000000003'),
                                                        event_store.event('Paid', '{}', NULL, '00000000-0000-4000-8000-000000000004')]);
SELECT event_store.append_to_stream('order-1-a', 0, ARRAY[event_store.event('Noted', '{}', NULL, '00000000-0000-4000-8000-000000000005')]);
SELECT event_store.append_to_stream('orders', 0, ARRAY[event_store.event('Listed', '{}', NULL, '00000000-0000-4000-8000-000000000006')]);
SELECT event_store.append_to_stream('order', 0, ARRAY[event_store.event('Root', '{}', NULL, '00000000-0000-4000-8000-000000000007')]);
SELECT event_store.append_to_stream('-x', 0, ARRAY[event_store.event('Odd', '{}', NULL, '00000000-0000-4000-8000-000000000008')]);
SELECT stream_name, category FROM event_store.streams ORDER BY stream_id;

-- $all: every event in position order, inclusive of the start
SELECT global_position, stream_name, stream_version, event_id, event_type
  FROM event_store.read_all_forward();
SELECT global_position FROM event_store.read_all_forward(3);
SELECT global_position FROM event_store.read_all_forward(3, 2);
SELECT global_position FROM event_store.read_all_forward(1, 1);
SELECT global_position FROM event_store.read_all_forward(max_count => 2);
SELECT global_position FROM event_store.read_all_forward(0, 2);
SELECT global_position FROM event_store.read_all_forward(-100, 2);
SELECT count(*) FROM event_store.read_all_forward(9);
SELECT count(*) FROM event_store.read_all_forward(9223372036854775807);

-- a category: its events in $all order, not those of look-alikes
SELECT global_position, stream_name, stream_version, event_type
  FROM event_store.read_category_forward('order');
SELECT global_position FROM event_store.read_category_forward('order', 4);
SELECT global_position FROM event_store.read_category_forward('order', 2, 2);
SELECT global_position FROM event_store.read_category_forward('order', 1, 1);
SELECT global_position FROM event_store.read_category_forward('orders');
SELECT global_position FROM event_store.read_category_forward('');
\echo :SQLSTATE
SELECT count(*) FROM event_store.read_category_forward('Order');
SELECT count(*) FROM event_store.read_category_forward('nothing');
SELECT count(*) FROM event_store.read_category_forward('order', 8);

-- rolled-back appends leave permanent holes that readers pass
BEGIN;
SELECT event_store.append_to_stream('order-3', 0, ARRAY[event_store.event('Placed', '{}'), event_store.event('Paid', '{}')]);
ROLLBACK;
SELECT event_store.append_to_stream('order-4', 0, ARRAY[event_store.event('Placed', '{}', NULL, '00000000-0000-4000-8000-000000000011')]);
SELECT global_position, stream_name FROM event_store.read_all_forward(7);
SELECT global_position, stream_name FROM event_store.read_all_forward(9, 1);
SELECT global_position, stream_name FROM event_store.read_category_forward('order', 6);
-- ... also when paging with max_count across the hole
SELECT global_position FROM event_store.read_all_forward(8, 2);

-- stream_hash: the first 8 bytes of md5(name), big-endian, shifted right by
-- one bit; compare with the same computed in SQL over many names
SELECT event_store.stream_hash('order-1');
WITH names(n) AS (
    SELECT 'order-' || i FROM generate_series(1, 2000) i
    UNION ALL VALUES (''), ('a'), ('ü'), (repeat('z', 1024)), ('order-1'))
SELECT count(*) AS names,
       count(*) FILTER (WHERE event_store.stream_hash(n) =
           (('x' || substr(md5(n), 1, 16))::bit(64) >> 1)::bigint) AS same_as_sql,
       count(*) FILTER (WHERE event_store.stream_hash(n) >= 0) AS non_negative,
       count(*) FILTER (WHERE ('x' || substr(md5(n), 1, 1))::bit(4)::int >= 8) AS md5_top_bit_set
  FROM names;
-- fixed values (clients compute the same; they must never change)
SELECT n, event_store.stream_hash(n)
  FROM (VALUES (''), ('a'), ('order-1'), ('order-2'), ('user-7')) v(n);
SELECT event_store.stream_hash(NULL) IS NULL AS strict;

-- consumer groups over a category of 200 streams
SELECT count(*) AS streams
  FROM (SELECT event_store.append_to_stream('job-' || i, 0,
            ARRAY[event_store.event('Queued', jsonb_build_object('i', i)),
                  event_store.event('Started', jsonb_build_object('i', i))])
          FROM generate_series(1, 200) i) s;
CREATE TEMP TABLE group_reads AS
SELECT g.size, g.member, e.*
  FROM (VALUES (1), (2), (3), (7)) sizes(size)
 CROSS JOIN LATERAL generate_series(0, sizes.size - 1) m(member)
 CROSS JOIN LATERAL (SELECT sizes.size, m.member) g
 CROSS JOIN LATERAL event_store.read_category_forward('job', 1, 100000, g.member, g.size) e;
-- each member gets exactly its streams: stream_hash mod n = k
SELECT size, count(*) AS events,
       count(*) FILTER (WHERE event_store.stream_hash(stream_name) % size <> member) AS wrong_member
  FROM group_reads GROUP BY size ORDER BY size;
-- together they get the whole category, each event once
SELECT r.size,
       (SELECT count(*) FROM event_store.read_category_forward('job', 1, 100000)) AS category_events,
       count(DISTINCT r.global_position) AS distinct_events,
       count(*) AS delivered
  FROM group_reads r GROUP BY r.size ORDER BY r.size;
SELECT r.size, count(*) AS missing
  FROM (VALUES (1), (2), (3), (7)) r(size)
 CROSS JOIN event_store.read_category_forward('job', 1, 100000) c
 WHERE NOT EXISTS (SELECT 1 FROM group_reads g WHERE g.size = r.size AND g.global_position = c.global_position)
 GROUP BY r.size;
-- a stream stays with one member: its events are never split
SELECT size, count(*) AS split_streams
  FROM (SELECT size, stream_name FROM group_reads GROUP BY size, stream_name
         HAVING count(DISTINCT member) > 1) s
 GROUP BY size;
-- every member of 3 gets some streams, in position order
SELECT member, count(DISTINCT stream_name) > 0 AS has_streams,
       bool_and(global_position > prev) AS ordered
  FROM (SELECT member, stream_name, global_position,
               lag(global_position, 1, 0::bigint) OVER (PARTITION BY member ORDER BY global_position) AS prev
          FROM group_reads WHERE size = 3) s
 GROUP BY member ORDER BY member;
-- member 0 of 1 is the whole category
SELECT count(*) FROM event_store.read_category_forward('order', 1, 1000, 0, 1);
-- max_count and from_position apply to a member's own events
SELECT array_agg(global_position ORDER BY global_position) =
       (SELECT (array_agg(global_position ORDER BY global_position))[3:5]
          FROM group_reads WHERE size = 2 AND member = 1) AS page_3_to_5
  FROM event_store.read_category_forward('job',
           (SELECT (array_agg(global_position ORDER BY global_position))[3]
              FROM group_reads WHERE size = 2 AND member = 1),
           3, 1, 2);
