-- A role that can create objects in public must not be able to hijack what
-- the extension's functions do: not with functions (now, lower, md5,
-- coalesce-like helpers), not with operators on the types they compare, not
-- with a search_path that puts public before pg_catalog.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;
\set VERBOSITY terse

CREATE ROLE es_sp_attacker;
GRANT CREATE, USAGE ON SCHEMA public TO es_sp_attacker;
SET ROLE es_sp_attacker;

-- Every trap raises, so a test passes only if none is ever called.
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'hijacked: now()'; END $$;
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'hijacked: lower(text)'; END $$;
CREATE FUNCTION public.md5(text) RETURNS text LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'hijacked: md5(text)'; END $$;
CREATE FUNCTION public.count(anyelement) RETURNS bigint LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'hijacked: count'; END $$;
CREATE FUNCTION public.trap_eq(text, text) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'hijacked: text = text'; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.trap_eq);
CREATE FUNCTION public.trap_ge(bigint, bigint) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'hijacked: bigint >= bigint'; END $$;
CREATE OPERATOR public.>= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.trap_ge);
CREATE FUNCTION public.trap_le(bigint, bigint) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'hijacked: bigint <= bigint'; END $$;
CREATE OPERATOR public.<= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = public.trap_le);
CREATE FUNCTION public.trap_uuid_eq(uuid, uuid) RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'hijacked: uuid = uuid'; END $$;
CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.trap_uuid_eq);
CREATE FUNCTION public.trap_mod(bigint, integer) RETURNS bigint LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'hijacked: bigint %% integer'; END $$;
CREATE OPERATOR public.% (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = public.trap_mod);
CREATE FUNCTION public.trap_minus(timestamptz, interval) RETURNS timestamptz LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'hijacked: timestamptz - interval'; END $$;
CREATE OPERATOR public.- (LEFTARG = timestamptz, RIGHTARG = interval, FUNCTION = public.trap_minus);
RESET ROLE;

-- The victim runs with the attacker's objects first on its path.
SET search_path = public, pg_catalog;

SELECT event_store.append_to_stream('order-1', 0,
    ARRAY[event_store.event('Placed', '{"n": 1}', NULL, '00000000-0000-7000-8000-000000000001'),
          event_store.event('Paid', '{"n": 2}', NULL, '00000000-0000-7000-8000-000000000002')]);
-- an idempotent retry looks ids up by uuid equality
SELECT event_store.append_to_stream('order-1', 0,
    ARRAY[event_store.event('Placed', '{"n": 1}', NULL, '00000000-0000-7000-8000-000000000001'),
          event_store.event('Paid', '{"n": 2}', NULL, '00000000-0000-7000-8000-000000000002')]);
SELECT event_store.append_to_stream('order-2', -1, ARRAY[event_store.event('Placed', '{}')]);
SELECT stream_version, event_type FROM event_store.read_stream_forward('order-1');
SELECT stream_version, event_type FROM event_store.read_stream_backward('order-1', NULL, 1);
SELECT global_position, stream_name FROM event_store.read_all_forward(1, 10);
SELECT global_position FROM event_store.read_category_forward('order', 1, 10);
SELECT global_position FROM event_store.read_category_forward('order', 1, 10, 0, 1);
SELECT event_store.stream_version('order-1');
SELECT event_store.stream_hash('order-1') = event_store.stream_hash('order-1') AS stable;
SELECT event_store.set_stream_metadata('order-1', max_count => 5, max_age => '1 day');
SELECT count(*) FROM event_store.read_stream_forward('order-1');
SELECT event_store.record_snapshot('order-1', 2, 'Order', '{}');
SELECT source_version FROM event_store.read_snapshot('order-1');
SELECT event_store.delete_snapshot('order-1');
SELECT checkpoint FROM event_store.create_subscription('sp-all');
SELECT checkpoint FROM event_store.create_subscription('sp-cat', '$ce-order');
SELECT checkpoint FROM event_store.create_subscription('sp-stream', 'order-1');
SELECT count(*) FROM event_store.read_subscription('sp-all');
SELECT count(*) FROM event_store.read_subscription('sp-cat');
SELECT count(*) FROM event_store.read_subscription('sp-stream');
SELECT event_store.ack('sp-all', 2);
SELECT event_store.ack('sp-all', 1);
SELECT event_store.delete_subscription('sp-all');
SELECT event_store.delete_stream('order-2', 1);
SELECT event_store.scavenge();
SELECT event_store.delete_stream('order-1', 2, true);

RESET search_path;
DROP OWNED BY es_sp_attacker;
DROP ROLE es_sp_attacker;
