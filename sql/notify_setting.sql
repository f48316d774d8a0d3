-- notify_setting: event_store.notify is an enum (off, commit, async; the
-- default is async), the boolean spellings of 1.1 still work (on = async),
-- and nonsense is refused by SET and by ALTER ROLE/DATABASE … SET, in any
-- session where the library is loaded (any event_store function loads it).
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS event_store CASCADE;
CREATE EXTENSION event_store;
RESET client_min_messages;

SELECT event_store.stream_version('nothing-1');
SHOW event_store.notify;
SELECT setting, enumvals, context FROM pg_settings WHERE name = 'event_store.notify';

-- the spellings
SET event_store.notify = commit;
SHOW event_store.notify;
SET event_store.notify = on;
SHOW event_store.notify;
SET event_store.notify = true;
SHOW event_store.notify;
SET event_store.notify = yes;
SHOW event_store.notify;
SET event_store.notify = 1;
SHOW event_store.notify;
SET event_store.notify = false;
SHOW event_store.notify;
SET event_store.notify = no;
SHOW event_store.notify;
SET event_store.notify = 0;
SHOW event_store.notify;
SET event_store.notify = ASYNC;
SHOW event_store.notify;
RESET event_store.notify;

-- nonsense, and names the library does not define
SET event_store.notify = maybe;
SET event_store.notfy = off;

-- per role and per database
CREATE ROLE es_notify_role;
ALTER ROLE es_notify_role SET event_store.notify = maybe;
ALTER ROLE es_notify_role SET event_store.notify = commit;
SELECT unnest(setconfig) FROM pg_db_role_setting
 WHERE setrole = 'es_notify_role'::regrole;
DROP ROLE es_notify_role;
DO $$BEGIN
    EXECUTE format('ALTER DATABASE %I SET event_store.notify = %L', current_database(), 'perhaps');
END$$;
DO $$BEGIN
    EXECUTE format('ALTER DATABASE %I SET event_store.notify = %L', current_database(), 'off');
    EXECUTE format('ALTER DATABASE %I RESET event_store.notify', current_database());
END$$;
