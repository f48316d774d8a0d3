defmodule CommandedPgEventStore.StreamForwardTest do
  use ExUnit.Case, async: true

  alias Commanded.EventStore.Adapters.PgEventStore, as: Adapter
  alias CommandedPgEventStore.Test.Store

  setup do
    %{meta: Store.meta(), stream: Store.unique("forward")}
  end

  test "{:error, :stream_not_found} for an unknown stream", %{meta: meta} do
    assert {:error, :stream_not_found} == Adapter.stream_forward(meta, Store.unique("unknown"))
  end

  test "reads from a start version, in batches", %{meta: meta, stream: s} do
    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(10))

    assert Enum.map(Adapter.stream_forward(meta, s, 0, 2), & &1.stream_version) ==
             Enum.to_list(1..10)

    assert Enum.map(Adapter.stream_forward(meta, s, 3, 4), & &1.stream_version) ==
             Enum.to_list(3..10)

    assert Enum.map(Adapter.stream_forward(meta, s, 11, 4), & &1.stream_version) == []
  end

  test "reads only its own stream", %{meta: meta, stream: s} do
    other = Store.unique("other")
    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(2))
    :ok = Adapter.append_to_stream(meta, other, 0, Store.events(4))
    assert [2, 4] == Enum.map([s, other], &(meta |> Adapter.stream_forward(&1) |> Enum.count()))
  end

  test "a 10,000-event stream is read lazily in batches", %{meta: meta, stream: s} do
    for chunk <- 0..9 do
      :ok = Adapter.append_to_stream(meta, s, chunk * 1_000, Store.events(1_000))
    end

    stream = Adapter.stream_forward(meta, s, 0, 500)
    # the first batch is read at once, the others only as the stream is consumed
    assert [1, 2, 3] == stream |> Enum.take(3) |> Enum.map(& &1.stream_version)

    {count, last} =
      Enum.reduce(stream, {0, 0}, fn e, {n, prev} ->
        assert e.stream_version == prev + 1
        {n + 1, e.stream_version}
      end)

    assert {count, last} == {10_000, 10_000}
  end
end
