defmodule CommandedPgEventStore.TransientSubscriptionTest do
  use ExUnit.Case, async: true

  alias Commanded.EventStore.Adapters.PgEventStore, as: Adapter
  alias CommandedPgEventStore.Test.Store

  setup do
    %{meta: Store.meta(), stream: Store.unique("transient")}
  end

  test "subscribe/2 to a stream gets its new events only", %{meta: meta, stream: s} do
    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(2))
    assert :ok == Adapter.subscribe(meta, s)
    :ok = Adapter.append_to_stream(meta, Store.unique("transient-other"), 0, Store.events(1))
    :ok = Adapter.append_to_stream(meta, s, 2, Store.events(3))
    assert_receive {:events, events}, 2_000
    assert Enum.map(events, &{&1.stream_id, &1.stream_version}) == [{s, 3}, {s, 4}, {s, 5}]
    refute_receive {:events, _}, 200
  end

  test "subscribe/2 to :all gets new events of every stream", %{meta: meta, stream: s} do
    assert :ok == Adapter.subscribe(meta, :all)
    :ok = Adapter.append_to_stream(meta, s <> "-a", 0, Store.events(2))
    :ok = Adapter.append_to_stream(meta, s <> "-b", 0, Store.events(1))
    got = Store.receive_events(3, prefix: s)

    assert Enum.map(got, &{&1.stream_id, &1.stream_version}) == [
             {s <> "-a", 1},
             {s <> "-a", 2},
             {s <> "-b", 1}
           ]
  end
end
