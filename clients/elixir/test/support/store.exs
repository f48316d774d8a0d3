defmodule CommandedPgEventStore.Test.Store do
  @moduledoc false
  alias Commanded.EventStore.Adapters.PgEventStore
  alias Commanded.EventStore.EventData
  alias CommandedPgEventStore.Connection

  def setup!() do
    {:ok, conn} = Connection.start_link([])
    wait_connected(conn, 100)

    {:ok, _} =
      Connection.query(conn, "CREATE EXTENSION IF NOT EXISTS event_store", [], prepare: false)

    GenServer.stop(conn)

    {:ok, children, meta} = PgEventStore.child_spec(TestApp, pool_size: 4)
    {:ok, _} = Supervisor.start_link(children, strategy: :one_for_one, name: TestApp.Sup)
    :persistent_term.put({__MODULE__, :meta}, meta)
  end

  def wait_connected(conn, 0), do: raise("no connection to #{inspect(conn)}")

  def wait_connected(conn, n) do
    unless Connection.connected?(conn) do
      Process.sleep(50)
      wait_connected(conn, n - 1)
    end
  end

  def meta(), do: :persistent_term.get({__MODULE__, :meta})

  def unique(prefix),
    do: "#{prefix}-#{System.unique_integer([:positive])}-#{:rand.uniform(1_000_000)}"

  def events(n, data_fun \\ fn i -> %{"n" => i} end) do
    for i <- 1..n do
      %EventData{
        event_type: "test_event",
        data: data_fun.(i),
        metadata: %{"i" => i},
        causation_id: nil,
        correlation_id: nil
      }
    end
  end

  @doc "Runs SQL on a fresh connection (not the adapter's pool)."
  def sql(statement, params \\ []) do
    {:ok, conn} = Connection.start_link([])
    wait_connected(conn, 100)
    result = Connection.query(conn, statement, params, prepare: false)
    GenServer.stop(conn)
    result
  end

  @doc """
  Collects `n` events sent as {:events, _} to the caller, keeping those whose
  stream starts with `prefix` (others are other tests'); acks every event
  through `subscription` when given.
  """
  def receive_events(n, opts \\ []) do
    collect(
      n,
      Keyword.get(opts, :timeout, 5_000),
      Keyword.get(opts, :subscription),
      Keyword.get(opts, :prefix, ""),
      []
    )
  end

  defp collect(n, _timeout, _sub, _prefix, acc) when length(acc) >= n, do: acc

  defp collect(n, timeout, sub, prefix, acc) do
    receive do
      {:events, events} ->
        if sub,
          do:
            for(
              e <- events,
              do: :ok = Commanded.EventStore.Adapters.PgEventStore.ack_event(meta(), sub, e)
            )

        mine = Enum.filter(events, &String.starts_with?(&1.stream_id, prefix))
        collect(n, timeout, sub, prefix, acc ++ mine)
    after
      timeout -> acc
    end
  end
end
