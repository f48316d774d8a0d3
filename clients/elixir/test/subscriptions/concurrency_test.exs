defmodule CommandedPgEventStore.ConcurrencyTest do
  use ExUnit.Case, async: true

  alias Commanded.EventStore.Adapters.PgEventStore, as: Adapter
  alias CommandedPgEventStore.Test.Store

  @streams 16
  @per_stream 30

  test "concurrency_limit: 4 with partition_by keeps per-key order under load" do
    meta = Store.meta()
    prefix = Store.unique("conc")
    name = Store.unique("conc-name")
    test = self()
    opts = [concurrency_limit: 4, partition_by: & &1.stream_id, buffer_size: 5]

    subscribers =
      for i <- 1..4 do
        spawn_link(fn ->
          {:ok, sub} = Adapter.subscribe_to(meta, :all, name, self(), :current, opts)
          send(test, {:joined, i})
          handle(meta, sub, prefix, test)
        end)
      end

    for i <- 1..4, do: assert_receive({:joined, ^i}, 3_000)

    # a fifth is refused
    assert {:error, :too_many_subscribers} ==
             Adapter.subscribe_to(meta, :all, name, self(), :current, opts)

    1..@streams
    |> Enum.map(fn k ->
      Task.async(fn ->
        for v <- 0..(@per_stream - 1),
            do: :ok = Adapter.append_to_stream(meta, "#{prefix}-#{k}", v, Store.events(1))
      end)
    end)
    |> Enum.each(&Task.await(&1, 30_000))

    handled = collect(@streams * @per_stream, [])
    assert length(handled) == @streams * @per_stream

    by_stream = Enum.group_by(handled, &elem(&1, 0), &elem(&1, 1))

    for {_stream, versions} <- by_stream do
      assert versions == Enum.to_list(1..@per_stream)
    end

    workers = handled |> Enum.map(&elem(&1, 2)) |> Enum.uniq()
    assert length(workers) > 1
    Enum.each(subscribers, &unlink_kill/1)
  end

  defp unlink_kill(pid) do
    Process.unlink(pid)
    Process.exit(pid, :kill)
  end

  defp handle(meta, sub, prefix, test) do
    receive do
      {:events, events} ->
        for e <- events do
          if String.starts_with?(e.stream_id, prefix) do
            Process.sleep(:rand.uniform(3) - 1)
            send(test, {:handled, e.stream_id, e.stream_version, self()})
          end

          Adapter.ack_event(meta, sub, e)
        end

        handle(meta, sub, prefix, test)

      {:subscribed, _} ->
        handle(meta, sub, prefix, test)
    end
  end

  defp collect(0, acc), do: Enum.reverse(acc)

  defp collect(n, acc) do
    receive do
      {:handled, s, v, pid} -> collect(n - 1, [{s, v, pid} | acc])
    after
      10_000 -> Enum.reverse(acc)
    end
  end
end
