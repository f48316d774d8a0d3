defmodule CommandedPgEventStore.AtLeastOnceTest do
  use ExUnit.Case, async: true

  alias Commanded.EventStore.Adapters.PgEventStore, as: Adapter
  alias CommandedPgEventStore.Test.Store

  setup do
    %{meta: Store.meta(), stream: Store.unique("alo"), name: Store.unique("alo-name")}
  end

  # A subscriber that acks the first `acks` events it gets, reports them, and hangs.
  defp subscriber(meta, stream, name, acks, test) do
    spawn(fn ->
      {:ok, sub} = Adapter.subscribe_to(meta, stream, name, self(), :origin, [])

      receive do
        {:events, events} ->
          for e <- Enum.take(events, acks), do: Adapter.ack_event(meta, sub, e)
          send(test, {:got, self(), Enum.map(events, & &1.stream_version)})
          Process.sleep(:infinity)
      end
    end)
  end

  test "a subscriber killed mid-batch gets the unacked events again, the acked ones never",
       %{meta: meta, stream: s, name: n} do
    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(5))
    pid = subscriber(meta, s, n, 2, self())
    assert_receive {:got, ^pid, [1, 2, 3, 4, 5]}, 3_000
    Process.exit(pid, :kill)

    # the restarted subscriber (as a supervisor would restart it)
    pid2 = subscriber(meta, s, n, 0, self())
    assert_receive {:got, ^pid2, [3, 4, 5]}, 3_000
    Process.exit(pid2, :kill)

    # nothing was acked by the second one: still 3..5, plus what came since
    :ok = Adapter.append_to_stream(meta, s, 5, Store.events(1))
    pid3 = subscriber(meta, s, n, 4, self())
    assert_receive {:got, ^pid3, [3, 4, 5, 6]}, 3_000
    Process.exit(pid3, :kill)
  end

  test "acking the last event of a batch acknowledges the whole batch", %{
    meta: meta,
    stream: s,
    name: n
  } do
    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(4))
    {:ok, sub} = Adapter.subscribe_to(meta, s, n, self(), :origin, [])
    assert_receive {:events, events}, 3_000
    Adapter.ack_event(meta, sub, List.last(events))
    :ok = Adapter.unsubscribe(meta, sub)
    Process.sleep(50)
    :ok = Adapter.append_to_stream(meta, s, 4, Store.events(1))
    {:ok, _sub2} = Adapter.subscribe_to(meta, s, n, self(), :origin, [])
    assert_receive {:events, [%{stream_version: 5}]}, 3_000
  end
end
