defmodule CommandedPgEventStore.ReconnectTest do
  # Restarts the server: runs alone, after the async tests.
  use ExUnit.Case, async: false

  alias Commanded.EventStore.Adapters.PgEventStore, as: Adapter
  alias CommandedPgEventStore.Test.Store

  @restart System.get_env("ES_TEST_RESTART_CMD")

  @tag skip:
         if(@restart,
           do: false,
           else: "set ES_TEST_RESTART_CMD to a command restarting the server"
         )
  @tag timeout: 60_000
  test "the server restarted under running subscriptions: they reconnect and miss nothing" do
    meta = Store.meta()
    s = Store.unique("restart")
    all = forwarder(meta, :all, :current, s)
    one = forwarder(meta, s, :origin, s)
    assert_receive {:subscribed, ^all}, 3_000
    assert_receive {:subscribed, ^one}, 3_000

    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(5))
    assert versions(all, 5) == Enum.to_list(1..5)
    assert versions(one, 5) == Enum.to_list(1..5)

    {_, 0} = System.cmd("sh", ["-c", @restart], stderr_to_stdout: true)

    # append right after the restart through a fresh connection, before the
    # adapter's LISTEN connection is back: only the catch-up can find these
    :ok = append_retrying(s, 5, 5, 100)
    :ok = append_retrying(s, 10, 5, 100)

    assert versions(all, 10, 15_000) == Enum.to_list(6..15)
    assert versions(one, 10, 15_000) == Enum.to_list(6..15)

    # the adapter's own pool works again, and pushes still arrive
    :ok = wait_ok(fn -> Adapter.append_to_stream(meta, s, 15, Store.events(1)) end, 100)
    assert versions(all, 1) == [16]
    assert versions(one, 1) == [16]
  end

  # A subscriber that acks everything and forwards events of `prefix` streams.
  defp forwarder(meta, stream, start_from, prefix) do
    test = self()

    spawn_link(fn ->
      {:ok, sub} =
        Adapter.subscribe_to(meta, stream, Store.unique("restart"), self(), start_from, [])

      loop(meta, sub, prefix, test)
    end)
  end

  defp loop(meta, sub, prefix, test) do
    receive do
      {:subscribed, _} ->
        send(test, {:subscribed, self()})

      {:events, events} ->
        for e <- events do
          if String.starts_with?(e.stream_id, prefix),
            do: send(test, {:event, self(), e.stream_version})

          :ok = Adapter.ack_event(meta, sub, e)
        end
    end

    loop(meta, sub, prefix, test)
  end

  defp versions(pid, n, timeout \\ 3_000) do
    for _ <- 1..n do
      receive do
        {:event, ^pid, v} -> v
      after
        timeout -> :missing
      end
    end
  end

  defp append_retrying(_s, _from, _n, 0), do: {:error, :gave_up}

  defp append_retrying(s, from, n, tries) do
    batch =
      Enum.map_join(1..n, ",", fn i ->
        ~s({"event_type":"test_event","data":{"n":#{from + i}}})
      end)

    sql =
      "SELECT event_store.append_to_stream($1, $2, ARRAY(SELECT ROW(NULL::uuid, e->>'event_type', e->'data', NULL::jsonb, NULL::uuid, NULL::uuid)::event_store.new_event FROM jsonb_array_elements($3::jsonb) e))"

    case safe_sql(sql, [{:text, s}, {:int8, from}, {:jsonb, "[" <> batch <> "]"}]) do
      {:ok, _} ->
        :ok

      _ ->
        Process.sleep(100)
        append_retrying(s, from, n, tries - 1)
    end
  end

  defp safe_sql(sql, params) do
    Store.sql(sql, params)
  catch
    _, e -> {:error, e}
  end

  defp wait_ok(_fun, 0), do: :gave_up

  defp wait_ok(fun, n) do
    case fun.() do
      :ok ->
        :ok

      _ ->
        Process.sleep(100)
        wait_ok(fun, n - 1)
    end
  end
end
