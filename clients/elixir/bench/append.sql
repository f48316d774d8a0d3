-- pgbench side of clients/elixir/bench/run.sh: the adapter's append_to_stream/4
-- statement (one event, :any_version, the writer's own stream), as it sends it.
SELECT event_store.append_to_stream(('pgb-' || :client_id)::text, (-1)::bigint, ARRAY(SELECT ROW(NULL::uuid, e->>'event_type', e->'data', e->'metadata', (e->>'causation_id')::uuid, (e->>'correlation_id')::uuid)::event_store.new_event FROM jsonb_array_elements('[{"event_type":"MoneyDeposited","data":{"account":"A-1","amount":100},"metadata":{"user":"bench"}}]'::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n));
