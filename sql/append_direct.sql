-- append_direct: appends write the row and its index entries directly
-- (events.c), and fall back to an INSERT statement where that would do
-- more: a trigger on events still fires, an added column gets its default;
-- the unique indexes still refuse what they refuse.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set SHOW_CONTEXT never

-- the direct path: rows, index entries, and what the same transaction sees
BEGIN;
SELECT event_store.append_to_stream('direct-1', 0, ARRAY[event_store.event('A', '{"n": 1}')]);
SELECT event_store.append_to_stream('direct-1', 1, ARRAY[
    event_store.event('B', '{"n": 2}'), event_store.event('C', '{"n": 3}')]);
SELECT stream_version, event_type, data FROM event_store.read_stream_forward('direct-1', 1, 10);
COMMIT;
SET enable_seqscan = off;
SELECT count(*) FROM event_store.events WHERE stream_name = 'direct-1' AND stream_version = 3;
SELECT count(*) FROM event_store.events WHERE category = 'direct' AND global_position > 0;
RESET enable_seqscan;

-- a duplicate id is still ES003: the same id from two streams in one
-- transaction (the unique index backs this up for concurrent appends)
BEGIN;
SELECT event_store.append_to_stream('dup-1', -1, ARRAY[
    event_store.event('A', NULL, NULL, '00000000-0000-4000-8000-0000000000d1')]);
SAVEPOINT s;
SELECT event_store.append_to_stream('dup-2', -1, ARRAY[
    event_store.event('A', NULL, NULL, '00000000-0000-4000-8000-0000000000d1')]);
ROLLBACK TO s;
COMMIT;

-- a user's trigger on events fires: the append takes the INSERT statement
CREATE FUNCTION public.note_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'trigger saw % version %', NEW.stream_name, NEW.stream_version;
    RETURN NEW;
END$$;
CREATE TRIGGER note_event BEFORE INSERT ON event_store.events
    FOR EACH ROW EXECUTE FUNCTION public.note_event();
SELECT event_store.append_to_stream('direct-1', 3, ARRAY[event_store.event('D', NULL)]);
SELECT event_store.append_to_stream('direct-2', 0, ARRAY[
    event_store.event('A', NULL), event_store.event('B', NULL)]);
DROP TRIGGER note_event ON event_store.events;
DROP FUNCTION public.note_event();

-- a column someone added gets its default
ALTER TABLE event_store.events ADD COLUMN tenant text DEFAULT 'acme';
SELECT event_store.append_to_stream('direct-1', 4, ARRAY[event_store.event('E', NULL)]);
SELECT stream_version, tenant FROM event_store.events
 WHERE stream_name = 'direct-1' ORDER BY stream_version;
ALTER TABLE event_store.events DROP COLUMN tenant;
SELECT event_store.append_to_stream('direct-1', 5, ARRAY[event_store.event('F', NULL)]);
SELECT stream_version, event_type FROM event_store.read_stream_forward('direct-1', 5, 10);
