# Runs against the server libpq's environment names (PGHOST, PGPORT,
# PGUSER, PGPASSWORD, PGDATABASE), e.g. inside pg_virtualenv; the extension
# is created if missing.
Code.require_file("support/store.exs", __DIR__)
CommandedPgEventStore.Test.Store.setup!()
ExUnit.start(capture_log: true)
