-- First-start initialisation of a database server with event_store
-- (docker/Dockerfile puts it in /docker-entrypoint-initdb.d; the suites run
-- it with psql against a fresh cluster).  psql -f runs it: \gexec needs psql.

-- Servers with Debian's output_plugin_libraries (15.19+) load only the
-- output plugins named there; other servers do not know the setting.
SELECT 'ALTER SYSTEM SET output_plugin_libraries = ''pgoutput, test_decoding, event_store'''
 WHERE EXISTS (SELECT FROM pg_catalog.pg_settings WHERE name = 'output_plugin_libraries')
\gexec

CREATE EXTENSION IF NOT EXISTS event_store;
