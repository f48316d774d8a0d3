-- read_stream: read_stream_forward / read_stream_backward (from_version,
-- max_count, NULL = the end), stream_version, and the edges: max_count 1,
-- a start beyond the end, a stream that does not exist.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- two streams, interleaved in $all
SELECT event_store.append_to_stream('acct-1', 0, ARRAY[
    event_store.event('Opened', '{"v": 1}', NULL, '00000000-0000-4000-8000-000000000101'),
    event_store.event('Deposited', '{"v": 2}', NULL, '00000000-0000-4000-8000-000000000102')]);
SELECT event_store.append_to_stream('acct-2', 0, ARRAY[
    event_store.event('Opened', '{"v": 1}', NULL, '00000000-0000-4000-8000-000000000201')]);
SELECT event_store.append_to_stream('acct-1', 2, ARRAY[
    event_store.event('Deposited', '{"v": 3}', NULL, '00000000-0000-4000-8000-000000000103'),
    event_store.event('Withdrawn', '{"v": 4}', '{"by": "atm"}', '00000000-0000-4000-8000-000000000104',
                      '00000000-0000-4000-8000-000000000102', '00000000-0000-4000-8000-000000000101'),
    event_store.event('Closed', '{"v": 5}', NULL, '00000000-0000-4000-8000-000000000105')]);

-- forward: defaults read it all, in version order, with every column
SELECT global_position, stream_name, stream_version, event_id, event_type, data, metadata,
       causation_id, correlation_id, created_at IS NOT NULL AS has_created_at
  FROM event_store.read_stream_forward('acct-1');
-- from_version is inclusive; max_count limits
SELECT stream_version, event_type FROM event_store.read_stream_forward('acct-1', 3);
SELECT stream_version, event_type FROM event_store.read_stream_forward('acct-1', 2, 2);
SELECT stream_version, event_type FROM event_store.read_stream_forward('acct-1', 1, 1);
SELECT stream_version, event_type FROM event_store.read_stream_forward('acct-1', from_version => 5);
SELECT stream_version, event_type FROM event_store.read_stream_forward('acct-1', max_count => 3);
-- a start at or below 0 reads from the first version
SELECT stream_version FROM event_store.read_stream_forward('acct-1', 0, 2);
SELECT stream_version FROM event_store.read_stream_forward('acct-1', -10, 2);
-- beyond the end, or a stream that does not exist: nothing, no error
SELECT count(*) FROM event_store.read_stream_forward('acct-1', 6);
SELECT count(*) FROM event_store.read_stream_forward('acct-1', 9223372036854775807);
SELECT count(*) FROM event_store.read_stream_forward('acct-9');
SELECT count(*) FROM event_store.read_stream_backward('acct-9');
-- a huge max_count is just a limit
SELECT count(*) FROM event_store.read_stream_forward('acct-1', 1, 2147483647);

-- backward: NULL (the default) starts at the end
SELECT global_position, stream_version, event_type FROM event_store.read_stream_backward('acct-1');
SELECT stream_version FROM event_store.read_stream_backward('acct-1', NULL);
SELECT stream_version FROM event_store.read_stream_backward('acct-1', NULL, 2);
SELECT stream_version FROM event_store.read_stream_backward('acct-1', 3);
SELECT stream_version FROM event_store.read_stream_backward('acct-1', 3, 1);
SELECT stream_version FROM event_store.read_stream_backward('acct-1', 1);
-- from beyond the end reads from the end; from below the start, nothing
SELECT stream_version FROM event_store.read_stream_backward('acct-1', 100, 2);
SELECT count(*) FROM event_store.read_stream_backward('acct-1', 0);
SELECT count(*) FROM event_store.read_stream_backward('acct-1', -1);

-- reads of one stream show none of another, even with a common prefix
SELECT event_store.append_to_stream('acct-10', 0, ARRAY[
    event_store.event('Opened', '{}', NULL, '00000000-0000-4000-8000-000000001001')]);
SELECT stream_name, stream_version FROM event_store.read_stream_forward('acct-1') WHERE stream_name <> 'acct-1';
SELECT stream_name, stream_version, global_position FROM event_store.read_stream_forward('acct-10');
SELECT stream_name, stream_version, global_position FROM event_store.read_stream_backward('acct-2');

-- stream names are exact: case, spaces and unicode are part of them
SELECT event_store.append_to_stream('Acct-1', 0, ARRAY[event_store.event('Opened', '{}')]);
SELECT event_store.append_to_stream('acct-1 ', 0, ARRAY[event_store.event('Opened', '{}')]);
SELECT event_store.append_to_stream('kontø-1', 0, ARRAY[event_store.event('Opened', '{}')]);
SELECT event_store.stream_version('acct-1') AS "acct-1",
       event_store.stream_version('Acct-1') AS "Acct-1",
       event_store.stream_version('acct-1 ') AS "acct-1 ",
       event_store.stream_version('kontø-1') AS "kontø-1",
       event_store.stream_version('ACCT-1') AS "ACCT-1";
SELECT quote_literal(stream_name) AS stream_name, category FROM event_store.streams ORDER BY stream_id;

-- a read inside the appending transaction sees its own events
BEGIN;
SELECT event_store.append_to_stream('acct-2', 1, ARRAY[
    event_store.event('Deposited', '{}', NULL, '00000000-0000-4000-8000-000000000202')]);
SELECT stream_version, event_type FROM event_store.read_stream_forward('acct-2');
SELECT event_store.stream_version('acct-2');
ROLLBACK;
SELECT stream_version, event_type FROM event_store.read_stream_forward('acct-2');
SELECT event_store.stream_version('acct-2');
