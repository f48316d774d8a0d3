-- hostile_input: every SQL-callable function of event_store against NULLs,
-- empty and malformed arrays, bad and huge JSON, over-long names and
-- out-of-range numbers.  Every refusal must carry a documented SQLSTATE
-- (ES00x or PostgreSQL's own, never XX000), the backend must survive, and
-- the store must be exactly as it was before the refused call.
--
-- "The store" is the content of the four tables.  The position sequence is
-- not part of it: a refused append may have drawn positions, which stay
-- unused (SPEC: "positions of rolled-back appends stay unused").
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
DROP SCHEMA IF EXISTS hostile CASCADE;
CREATE SCHEMA hostile;

-- A cheap fingerprint of every row of the store (jsonb is hashed through its
-- size and md5, so a 10 MiB document costs one pass).
CREATE FUNCTION hostile.fingerprint() RETURNS text
LANGUAGE sql AS $$
    SELECT concat_ws('|',
        (SELECT count(*) || ':' || coalesce(sum(hashtextextended(concat_ws(',',
                    global_position, stream_name, category, stream_version, event_id,
                    event_type, md5(data::text), md5(metadata::text), causation_id,
                    correlation_id, created_at), 0)), 0)
           FROM event_store.events),
        (SELECT count(*) || ':' || coalesce(sum(hashtextextended(s::text, 0)), 0)
           FROM event_store.streams s),
        (SELECT count(*) || ':' || coalesce(sum(hashtextextended(s::text, 0)), 0)
           FROM event_store.snapshots s),
        (SELECT count(*) || ':' || coalesce(sum(hashtextextended(s::text, 0)), 0)
           FROM event_store.subscriptions s))
$$;

-- Run one statement; report its outcome, a short message, and whether the
-- store still has the fingerprint it had before.  A statement that succeeds
-- reports 'ok' and the number of rows it returned.
CREATE FUNCTION hostile.try(sql text,
    OUT code text, OUT outcome text, OUT unchanged boolean)
LANGUAGE plpgsql AS $$
DECLARE
    before text := hostile.fingerprint();
    n bigint;
    state text;
    msg text;
BEGIN
    BEGIN
        EXECUTE sql;
        GET DIAGNOSTICS n = ROW_COUNT;
        state := '00000';
        msg := 'ok: ' || n || ' row(s)';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
    END;
    code := state;
    outcome := left(msg, 90);
    unchanged := hostile.fingerprint() = before;
END
$$;

CREATE TABLE hostile.cases (
    n serial PRIMARY KEY,
    label text NOT NULL,
    sql text NOT NULL
);

-- A small store to be kept intact.
SELECT event_store.append_to_stream('order-1', 0, ARRAY[
    event_store.event('placed', '{"n": 1}', event_id => '00000000-0000-4000-8000-000000000001'),
    event_store.event('paid', '{"n": 2}', event_id => '00000000-0000-4000-8000-000000000002'),
    event_store.event('shipped', '{"n": 3}', event_id => '00000000-0000-4000-8000-000000000003')]);
SELECT event_store.append_to_stream('user-1', -1, ARRAY[event_store.event('joined', NULL)]);
SELECT name FROM event_store.create_subscription('sub', '$all') AS s(name);
SELECT event_store.record_snapshot('order-1', 3, 'order', '{"state": "shipped"}');
SELECT event_store.append_to_stream('gone-1', 0, ARRAY[event_store.event('t', '{}')]);
SELECT event_store.delete_stream('gone-1', 1, hard => true);

INSERT INTO hostile.cases (label, sql) VALUES
-- append_to_stream: the stream name
('append: NULL name',            $q$SELECT event_store.append_to_stream(NULL, -1, ARRAY[event_store.event('t', '{}')])$q$),
('append: empty name',           $q$SELECT event_store.append_to_stream('', -1, ARRAY[event_store.event('t', '{}')])$q$),
('append: 1,025-byte name',      $q$SELECT event_store.append_to_stream(repeat('n', 1025), -1, ARRAY[event_store.event('t', '{}')])$q$),
('append: 1,025 bytes, 2-byte chars', $q$SELECT event_store.append_to_stream('x' || repeat('é', 512), -1, ARRAY[event_store.event('t', '{}')])$q$),
('append: 10 MiB name',          $q$SELECT event_store.append_to_stream(repeat('n', 10485760), -1, ARRAY[event_store.event('t', '{}')])$q$),
('append: reserved $all',        $q$SELECT event_store.append_to_stream('$all', -1, ARRAY[event_store.event('t', '{}')])$q$),
('append: reserved $, 1,024 bytes', $q$SELECT event_store.append_to_stream('$' || repeat('n', 1023), -1, ARRAY[event_store.event('t', '{}')])$q$),
-- append_to_stream: the expected version
('append: NULL expected version', $q$SELECT event_store.append_to_stream('order-1', NULL, ARRAY[event_store.event('t', '{}')])$q$),
('append: expected version -3',  $q$SELECT event_store.append_to_stream('order-1', -3, ARRAY[event_store.event('t', '{}')])$q$),
('append: expected version min bigint', $q$SELECT event_store.append_to_stream('order-1', -9223372036854775808, ARRAY[event_store.event('t', '{}')])$q$),
('append: expected version max bigint', $q$SELECT event_store.append_to_stream('order-1', 9223372036854775807, ARRAY[event_store.event('t', '{}')])$q$),
('append: expected version 2^63', $q$SELECT event_store.append_to_stream('order-1', '9223372036854775808', ARRAY[event_store.event('t', '{}')])$q$),
('append: expected 0, stream exists', $q$SELECT event_store.append_to_stream('order-1', 0, ARRAY[event_store.event('t', '{}')])$q$),
('append: expected -2, no stream', $q$SELECT event_store.append_to_stream('order-2', -2, ARRAY[event_store.event('t', '{}')])$q$),
('append: expected 2, stream at 3', $q$SELECT event_store.append_to_stream('order-1', 2, ARRAY[event_store.event('t', '{}')])$q$),
('append: expected 1, no stream', $q$SELECT event_store.append_to_stream('order-2', 1, ARRAY[event_store.event('t', '{}')])$q$),
-- append_to_stream: the events array
('append: NULL array',           $q$SELECT event_store.append_to_stream('order-1', -1, NULL::event_store.new_event[])$q$),
('append: empty array',          $q$SELECT event_store.append_to_stream('order-1', -1, '{}'::event_store.new_event[])$q$),
('append: {NULL}',               $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[NULL::event_store.new_event])$q$),
('append: NULL as 3rd element',  $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('t', '{}'), event_store.event('t', '{}'), NULL])$q$),
('append: 2-D array',            $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[[event_store.event('t', '{}'), event_store.event('t', '{}')], [event_store.event('t', '{}'), event_store.event('t', '{}')]])$q$),
('append: 3-D array 1x1x1',      $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[[[event_store.event('t', '{}')]]])$q$),
('append: lower bound 5',        $q$SELECT event_store.append_to_stream('order-1', 2, '[5:5]={"(,t,{},,,)"}'::event_store.new_event[])$q$),
('append: all-NULL new_event',   $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[ROW(NULL, NULL, NULL, NULL, NULL, NULL)::event_store.new_event])$q$),
('append: NULL event type',      $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event(NULL, '{}')])$q$),
('append: empty event type',     $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('', '{}')])$q$),
('append: NULL type in event 100,000', $q$SELECT event_store.append_to_stream('order-1', -1, array_agg(event_store.event(CASE WHEN i < 100000 THEN 't' END, '{}') ORDER BY i)) FROM generate_series(1, 100000) i$q$),
('append: invalid JSON',         $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('t', '{"a": ')])$q$),
('append: invalid JSON metadata', $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('t', '{}', 'nope')])$q$),
('append: JSON with \u0000',     $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('t', '"\u0000"')])$q$),
('append: 10 MiB of [ (nesting)', $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('t', repeat('[', 10485760)::jsonb)])$q$),
('append: 10 MiB invalid JSON',  $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('t', ('"' || repeat('x', 10485760))::jsonb)])$q$),
('append: invalid uuid',         $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('t', '{}', event_id => 'not-a-uuid')])$q$),
('append: one id twice in a batch', $q$SELECT event_store.append_to_stream('order-3', -1, ARRAY[event_store.event('t', '{}', event_id => '00000000-0000-4000-8000-0000000000aa'), event_store.event('t', '{}', event_id => '00000000-0000-4000-8000-0000000000aa')])$q$),
('append: stored id, other stream', $q$SELECT event_store.append_to_stream('order-3', -1, ARRAY[event_store.event('t', '{}', event_id => '00000000-0000-4000-8000-000000000001')])$q$),
('append: partial retry',        $q$SELECT event_store.append_to_stream('order-1', -1, ARRAY[event_store.event('placed', '{"n": 1}', event_id => '00000000-0000-4000-8000-000000000001'), event_store.event('t', '{}', event_id => '00000000-0000-4000-8000-0000000000bb')])$q$),
('append: retry out of order',   $q$SELECT event_store.append_to_stream('order-1', 0, ARRAY[event_store.event('paid', '{"n": 2}', event_id => '00000000-0000-4000-8000-000000000002'), event_store.event('placed', '{"n": 1}', event_id => '00000000-0000-4000-8000-000000000001')])$q$),
('append: hard-deleted stream',   $q$SELECT event_store.append_to_stream('gone-1', -1, ARRAY[event_store.event('t', '{}')])$q$),
-- delete_stream, set_stream_metadata, scavenge
('delete: NULL name',            $q$SELECT event_store.delete_stream(NULL, -1)$q$),
('delete: empty name',           $q$SELECT event_store.delete_stream('', -1)$q$),
('delete: 1,025-byte name',      $q$SELECT event_store.delete_stream(repeat('n', 1025), -1)$q$),
('delete: reserved name',        $q$SELECT event_store.delete_stream('$all', -1)$q$),
('delete: NULL expected version', $q$SELECT event_store.delete_stream('order-1', NULL)$q$),
('delete: expected version -3',  $q$SELECT event_store.delete_stream('order-1', -3)$q$),
('delete: expected version 2^63', $q$SELECT event_store.delete_stream('order-1', '9223372036854775808')$q$),
('delete: wrong expected version', $q$SELECT event_store.delete_stream('order-1', 2)$q$),
('delete: expected -2, no stream', $q$SELECT event_store.delete_stream('order-9', -2)$q$),
('delete: NULL hard',            $q$SELECT event_store.delete_stream('order-1', 3, NULL)$q$),
('delete: hard-deleted stream',  $q$SELECT event_store.delete_stream('gone-1', -1)$q$),
('delete: hard-deleted, hard',   $q$SELECT event_store.delete_stream('gone-1', -1, true)$q$),
('metadata: NULL name',          $q$SELECT event_store.set_stream_metadata(NULL, 1)$q$),
('metadata: empty name',         $q$SELECT event_store.set_stream_metadata('', 1)$q$),
('metadata: 1,025-byte name',    $q$SELECT event_store.set_stream_metadata(repeat('n', 1025), 1)$q$),
('metadata: reserved name',      $q$SELECT event_store.set_stream_metadata('$all', 1)$q$),
('metadata: max_count 0',        $q$SELECT event_store.set_stream_metadata('order-1', 0)$q$),
('metadata: max_count -1',       $q$SELECT event_store.set_stream_metadata('order-1', -1)$q$),
('metadata: max_count 2^63',     $q$SELECT event_store.set_stream_metadata('order-1', '9223372036854775808')$q$),
('metadata: max_age 0',          $q$SELECT event_store.set_stream_metadata('order-1', max_age => '0')$q$),
('metadata: max_age -1 day',     $q$SELECT event_store.set_stream_metadata('order-1', max_age => '-1 day')$q$),
('metadata: max_age 1 mon -30 days', $q$SELECT event_store.set_stream_metadata('order-1', max_age => '1 mon -30 days')$q$),
('metadata: max_age not interval', $q$SELECT event_store.set_stream_metadata('order-1', max_age => 'soon')$q$),
('metadata: truncate_before 0',  $q$SELECT event_store.set_stream_metadata('order-1', truncate_before => 0)$q$),
('metadata: truncate_before -1', $q$SELECT event_store.set_stream_metadata('order-1', truncate_before => -1)$q$),
('metadata: hard-deleted stream', $q$SELECT event_store.set_stream_metadata('gone-1', 1)$q$),
('scavenge: max_events 0',       $q$SELECT event_store.scavenge(0)$q$),
('scavenge: max_events -1',      $q$SELECT event_store.scavenge(-1)$q$),
('scavenge: max_events min bigint', $q$SELECT event_store.scavenge(-9223372036854775808)$q$),
-- read_stream_forward / read_stream_backward
('read fwd: hard-deleted stream', $q$SELECT * FROM event_store.read_stream_forward('gone-1')$q$),
('read bwd: hard-deleted stream', $q$SELECT * FROM event_store.read_stream_backward('gone-1')$q$),
('version: hard-deleted stream', $q$SELECT event_store.stream_version('gone-1')$q$),
('read fwd: NULL name',          $q$SELECT * FROM event_store.read_stream_forward(NULL)$q$),
('read fwd: empty name',         $q$SELECT * FROM event_store.read_stream_forward('')$q$),
('read fwd: 1,025-byte name',    $q$SELECT * FROM event_store.read_stream_forward(repeat('n', 1025))$q$),
('read fwd: reserved name',      $q$SELECT * FROM event_store.read_stream_forward('$all')$q$),
('read fwd: NULL from_version',  $q$SELECT * FROM event_store.read_stream_forward('order-1', NULL)$q$),
('read fwd: NULL max_count',     $q$SELECT * FROM event_store.read_stream_forward('order-1', 1, NULL)$q$),
('read fwd: max_count 0',        $q$SELECT * FROM event_store.read_stream_forward('order-1', 1, 0)$q$),
('read fwd: max_count -1',       $q$SELECT * FROM event_store.read_stream_forward('order-1', 1, -1)$q$),
('read fwd: max_count 2^31',     $q$SELECT * FROM event_store.read_stream_forward('order-1', 1, '2147483648')$q$),
('read fwd: max_count 2^31 bigint', $q$SELECT * FROM event_store.read_stream_forward('order-1', 1, 2147483648::bigint::integer)$q$),
('read fwd: from_version 2^63',  $q$SELECT * FROM event_store.read_stream_forward('order-1', '9223372036854775808')$q$),
('read bwd: NULL name',          $q$SELECT * FROM event_store.read_stream_backward(NULL)$q$),
('read bwd: empty name',         $q$SELECT * FROM event_store.read_stream_backward('')$q$),
('read bwd: 1,025-byte name',    $q$SELECT * FROM event_store.read_stream_backward(repeat('n', 1025))$q$),
('read bwd: NULL max_count',     $q$SELECT * FROM event_store.read_stream_backward('order-1', NULL, NULL)$q$),
('read bwd: max_count 0',        $q$SELECT * FROM event_store.read_stream_backward('order-1', 3, 0)$q$),
('read bwd: max_count -1',       $q$SELECT * FROM event_store.read_stream_backward('order-1', NULL, -1)$q$),
-- read_all_forward
('read all: NULL from',          $q$SELECT * FROM event_store.read_all_forward(NULL)$q$),
('read all: NULL max_count',     $q$SELECT * FROM event_store.read_all_forward(1, NULL)$q$),
('read all: max_count 0',        $q$SELECT * FROM event_store.read_all_forward(1, 0)$q$),
('read all: max_count -1',       $q$SELECT * FROM event_store.read_all_forward(1, -1)$q$),
('read all: max_count min int',  $q$SELECT * FROM event_store.read_all_forward(1, -2147483648)$q$),
('read all: max_count 2^31',     $q$SELECT * FROM event_store.read_all_forward(1, '2147483648')$q$),
('read all: from 2^63',          $q$SELECT * FROM event_store.read_all_forward('9223372036854775808')$q$),
-- read_category_forward
('read cat: NULL category',      $q$SELECT * FROM event_store.read_category_forward(NULL)$q$),
('read cat: empty category',     $q$SELECT * FROM event_store.read_category_forward('')$q$),
('read cat: NULL from',          $q$SELECT * FROM event_store.read_category_forward('order', NULL)$q$),
('read cat: NULL max_count',     $q$SELECT * FROM event_store.read_category_forward('order', 1, NULL)$q$),
('read cat: max_count 0',        $q$SELECT * FROM event_store.read_category_forward('order', 1, 0)$q$),
('read cat: max_count -1',       $q$SELECT * FROM event_store.read_category_forward('order', 1, -1)$q$),
('read cat: max_count 2^31',     $q$SELECT * FROM event_store.read_category_forward('order', 1, '2147483648')$q$),
('read cat: member only',        $q$SELECT * FROM event_store.read_category_forward('order', 1, 10, 0, NULL)$q$),
('read cat: size only',          $q$SELECT * FROM event_store.read_category_forward('order', 1, 10, NULL, 2)$q$),
('read cat: member = size',      $q$SELECT * FROM event_store.read_category_forward('order', 1, 10, 2, 2)$q$),
('read cat: member -1',          $q$SELECT * FROM event_store.read_category_forward('order', 1, 10, -1, 2)$q$),
('read cat: size 0',             $q$SELECT * FROM event_store.read_category_forward('order', 1, 10, 0, 0)$q$),
('read cat: size -1',            $q$SELECT * FROM event_store.read_category_forward('order', 1, 10, 0, -1)$q$),
('read cat: size min int',       $q$SELECT * FROM event_store.read_category_forward('order', 1, 10, 0, -2147483648)$q$),
('read cat: size 2^31',          $q$SELECT * FROM event_store.read_category_forward('order', 1, 10, 0, '2147483648')$q$),
-- stream_version, stream_hash, uuid_generate_v7, event
('version: NULL name',           $q$SELECT event_store.stream_version(NULL)$q$),
('version: empty name',          $q$SELECT event_store.stream_version('')$q$),
('version: 1,025-byte name',     $q$SELECT event_store.stream_version(repeat('n', 1025))$q$),
('version: reserved name',       $q$SELECT event_store.stream_version('$ce-order')$q$),
('event: invalid JSON',          $q$SELECT event_store.event('t', '[1,')$q$),
('event: invalid causation uuid', $q$SELECT event_store.event('t', '{}', causation_id => 'x')$q$),
-- snapshots
('snapshot: NULL source_id',     $q$SELECT event_store.record_snapshot(NULL, 1, 'order', '{}')$q$),
('snapshot: empty source_id',    $q$SELECT event_store.record_snapshot('', 1, 'order', '{}')$q$),
('snapshot: NULL version',       $q$SELECT event_store.record_snapshot('order-1', NULL, 'order', '{}')$q$),
('snapshot: version -1',         $q$SELECT event_store.record_snapshot('order-1', -1, 'order', '{}')$q$),
('snapshot: version min bigint', $q$SELECT event_store.record_snapshot('order-1', -9223372036854775808, 'order', '{}')$q$),
('snapshot: NULL source_type',   $q$SELECT event_store.record_snapshot('order-1', 1, NULL, '{}')$q$),
('snapshot: NULL data',          $q$SELECT event_store.record_snapshot('order-1', 1, 'order', NULL)$q$),
('snapshot: invalid JSON',       $q$SELECT event_store.record_snapshot('order-1', 1, 'order', '{')$q$),
-- subscriptions
('create sub: NULL name',        $q$SELECT event_store.create_subscription(NULL)$q$),
('create sub: empty name',       $q$SELECT event_store.create_subscription('')$q$),
('create sub: NULL source',      $q$SELECT event_store.create_subscription('s2', NULL)$q$),
('create sub: empty source',     $q$SELECT event_store.create_subscription('s2', '')$q$),
('create sub: source $ce-',      $q$SELECT event_store.create_subscription('s2', '$ce-')$q$),
('create sub: source $other',    $q$SELECT event_store.create_subscription('s2', '$other')$q$),
('create sub: NULL start',       $q$SELECT event_store.create_subscription('s2', '$all', NULL)$q$),
('create sub: start -1',         $q$SELECT event_store.create_subscription('s2', '$all', -1)$q$),
('create sub: other source',     $q$SELECT event_store.create_subscription('sub', 'order-1')$q$),
('read sub: NULL name',          $q$SELECT * FROM event_store.read_subscription(NULL)$q$),
('read sub: unknown',            $q$SELECT * FROM event_store.read_subscription('nope')$q$),
('read sub: NULL max_count',     $q$SELECT * FROM event_store.read_subscription('sub', NULL)$q$),
('read sub: max_count 0',        $q$SELECT * FROM event_store.read_subscription('sub', 0)$q$),
('read sub: max_count -1',       $q$SELECT * FROM event_store.read_subscription('sub', -1)$q$),
('ack: NULL name',               $q$SELECT event_store.ack(NULL, 1)$q$),
('ack: unknown',                 $q$SELECT event_store.ack('nope', 1)$q$),
('ack: NULL position',           $q$SELECT event_store.ack('sub', NULL)$q$),
('ack: position -1',             $q$SELECT event_store.ack('sub', -1)$q$),
('ack: position 2^63',           $q$SELECT event_store.ack('sub', '9223372036854775808')$q$),
('delete sub: NULL name',        $q$SELECT event_store.delete_subscription(NULL)$q$),
('delete sub: unknown',          $q$SELECT event_store.delete_subscription('nope')$q$),
-- access
('grant reader: no such role',   $q$SELECT event_store.grant_reader('no_such_role_hostile')$q$),
('grant writer: no such role',   $q$SELECT event_store.grant_writer('no_such_role_hostile')$q$),
('grant admin: no such role',    $q$SELECT event_store.grant_admin('no_such_role_hostile')$q$),
('grant reader: NULL',           $q$SELECT event_store.grant_reader(NULL)$q$),
('grant writer: NULL',           $q$SELECT event_store.grant_writer(NULL)$q$),
('grant admin: NULL',            $q$SELECT event_store.grant_admin(NULL)$q$);

-- Every refusal: its SQLSTATE and message, and the store untouched.
SELECT c.n, c.label, t.code AS sqlstate, t.outcome, t.unchanged
  FROM hostile.cases c, LATERAL hostile.try(c.sql) t
 ORDER BY c.n;

-- Calls that are hostile but legal: they answer without error and without
-- writing anything.
SELECT c.label, t.code AS sqlstate, t.outcome, t.unchanged
  FROM (VALUES
    ('read fwd: from_version -1',      $q$SELECT * FROM event_store.read_stream_forward('order-1', -1)$q$),
    ('read fwd: from_version max',     $q$SELECT * FROM event_store.read_stream_forward('order-1', 9223372036854775807)$q$),
    ('read fwd: max_count max int',    $q$SELECT * FROM event_store.read_stream_forward('order-1', 1, 2147483647)$q$),
    ('read fwd: 1,024-byte name',      $q$SELECT * FROM event_store.read_stream_forward(repeat('n', 1024))$q$),
    ('read bwd: from_version -1',      $q$SELECT * FROM event_store.read_stream_backward('order-1', -1)$q$),
    ('read bwd: from_version max',     $q$SELECT * FROM event_store.read_stream_backward('order-1', 9223372036854775807)$q$),
    ('read all: from min bigint',      $q$SELECT * FROM event_store.read_all_forward(-9223372036854775808)$q$),
    ('read all: from -1',              $q$SELECT * FROM event_store.read_all_forward(-1)$q$),
    ('read all: from 0',               $q$SELECT * FROM event_store.read_all_forward(0)$q$),
    ('read all: from beyond the end',  $q$SELECT * FROM event_store.read_all_forward(1000000)$q$),
    ('read all: from max bigint',      $q$SELECT * FROM event_store.read_all_forward(9223372036854775807)$q$),
    ('read all: max_count max int',    $q$SELECT * FROM event_store.read_all_forward(1, 2147483647)$q$),
    ('read cat: from -1',              $q$SELECT * FROM event_store.read_category_forward('order', -1)$q$),
    ('read cat: from max bigint',      $q$SELECT * FROM event_store.read_category_forward('order', 9223372036854775807)$q$),
    ('read cat: 10 MiB category',      $q$SELECT * FROM event_store.read_category_forward(repeat('c', 10485760))$q$),
    ('read cat: size max int',         $q$SELECT * FROM event_store.read_category_forward('order', 1, 10, 2147483646, 2147483647)$q$),
    ('version: 1,024-byte name',       $q$SELECT event_store.stream_version(repeat('n', 1024))$q$),
    ('hash: NULL',                     $q$SELECT event_store.stream_hash(NULL)$q$),
    ('hash: empty',                    $q$SELECT event_store.stream_hash('')$q$),
    ('hash: 10 MiB',                   $q$SELECT event_store.stream_hash(repeat('h', 10485760))$q$),
    ('read snapshot: NULL',            $q$SELECT * FROM event_store.read_snapshot(NULL)$q$),
    ('delete snapshot: NULL',          $q$SELECT event_store.delete_snapshot(NULL)$q$),
    ('event: all NULL',                $q$SELECT event_store.event(NULL, NULL)$q$),
    ('exact retry, original expected', $q$SELECT event_store.append_to_stream('order-1', 0, ARRAY[event_store.event('placed', '{"n": 1}', event_id => '00000000-0000-4000-8000-000000000001'), event_store.event('paid', '{"n": 2}', event_id => '00000000-0000-4000-8000-000000000002')])$q$)
  ) AS c(label, sql), LATERAL hostile.try(c.sql) t;

-- Reads past the end, and from before the start, return what is there.
SELECT global_position, stream_version, event_type FROM event_store.read_stream_forward('order-1', -5);
SELECT global_position, stream_version, event_type FROM event_store.read_stream_backward('order-1', 9223372036854775807, 2);
SELECT count(*) FROM event_store.read_all_forward(-9223372036854775808, 2147483647);

-- The refusals left the position sequence usable and the store intact.
SELECT stream_name, stream_version FROM event_store.streams ORDER BY stream_name;

-- A few errors in full, as a client sees them (message, detail, hint and
-- SQLSTATE; the source location is left out so that it can move).
SELECT event_store.append_to_stream('order-1', -3, ARRAY[event_store.event('t', '{}')]);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.append_to_stream('order-1', -1, ARRAY[[event_store.event('t', '{}')]]);
\echo :LAST_ERROR_SQLSTATE
SELECT event_store.append_to_stream('order-1', 1, ARRAY[event_store.event('t', '{}')]);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM event_store.read_all_forward(1, 0);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM event_store.read_all_forward(1, '2147483648');
\echo :LAST_ERROR_SQLSTATE

-- Legal extremes that write: the limits are inclusive.
-- A 1,024-byte name.
SELECT event_store.append_to_stream(repeat('n', 1024), 0, ARRAY[event_store.event('t', NULL)]);
SELECT octet_length(stream_name), category = stream_name AS whole_name_is_category
  FROM event_store.streams WHERE stream_name = repeat('n', 1024);
-- NULL data, metadata and ids.
SELECT event_store.append_to_stream('nulls-1', 0,
    ARRAY[ROW(NULL, 't', NULL, NULL, NULL, NULL)::event_store.new_event]);
SELECT data IS NULL AS no_data, metadata IS NULL AS no_metadata, event_id IS NOT NULL AS has_id
  FROM event_store.read_stream_forward('nulls-1');
-- A 10 MiB JSON document.
SELECT event_store.append_to_stream('huge-1', 0,
    ARRAY[event_store.event('blob', jsonb_build_object('blob', repeat('x', 10485760)))]);
SELECT octet_length(data ->> 'blob') FROM event_store.read_stream_forward('huge-1');
-- A 100,000-event batch: contiguous versions, increasing positions, and a
-- read of $all passes over it.
SELECT event_store.append_to_stream('big-1', 0,
    array_agg(event_store.event('tick', jsonb_build_object('i', i)) ORDER BY i))
  FROM generate_series(1, 100000) i;
SELECT count(*) AS events,
       min(stream_version) AS first, max(stream_version) AS last,
       bool_and((data ->> 'i')::bigint = stream_version) AS in_order,
       max(global_position) - min(global_position) + 1 = count(*) AS contiguous_positions
  FROM event_store.events WHERE stream_name = 'big-1';
SELECT count(*) FROM event_store.read_all_forward(1, 2147483647);
SELECT event_store.stream_version('big-1');
-- ... and its exact retry writes nothing and answers the same.
SELECT hostile.fingerprint() AS before \gset
SELECT event_store.append_to_stream('big-1', 0, array_agg(
    event_store.event('tick', jsonb_build_object('i', stream_version), event_id => event_id)
    ORDER BY stream_version))
  FROM event_store.events WHERE stream_name = 'big-1';
SELECT hostile.fingerprint() = :'before' AS unchanged;

-- A subscription may start beyond the end: it then reads nothing until the
-- log gets there.  (Its checkpoint must stay below 2^63 - 1, or
-- read_subscription's checkpoint + 1 overflows: see docs/reliability.md.)
SELECT checkpoint FROM event_store.create_subscription('far', '$all', 9223372036854775806);
SELECT count(*) FROM event_store.read_subscription('far');

DROP SCHEMA hostile CASCADE;
