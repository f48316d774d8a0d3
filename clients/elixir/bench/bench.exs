# The adapter's side of clients/elixir/bench/run.sh (which also runs pgbench
# with the same SQL and concurrency). Prints one result line.
#
#   mix run bench/bench.exs append  CLIENTS SECONDS   appends/s (1 event each)
#   mix run bench/bench.exs read    CLIENTS SECONDS   stream_forward calls/s (100 events each)
#   mix run bench/bench.exs latency RATE SECONDS      delivery latency to a subscribe_to/6 subscriber,
#                                                     from before the append call (its commit included)
#
# Connects through libpq's environment (PGHOST, PGPORT, ...).
alias Commanded.EventStore.Adapters.PgEventStore, as: Adapter
alias Commanded.EventStore.EventData

[mode, n, seconds] = System.argv()
n = String.to_integer(n)
ms = String.to_integer(seconds) * 1_000

pool_size = if mode == "latency", do: 24, else: max(n, 2)
{:ok, children, meta} = Adapter.child_spec(Bench, pool_size: pool_size)
{:ok, _} = Supervisor.start_link(children, strategy: :one_for_one)

wait = fn wait ->
  case CommandedPgEventStore.Pool.query(meta.pool, "SELECT 1", []) do
    {:ok, _} -> :ok
    _ -> Process.sleep(50) && wait.(wait)
  end
end

wait.(wait)

event = fn ->
  %EventData{
    event_type: "MoneyDeposited",
    data: %{"account" => "A-1", "amount" => 100},
    metadata: %{"user" => "bench"}
  }
end

run = fn worker ->
  deadline = System.monotonic_time(:millisecond) + ms

  1..n
  |> Enum.map(fn i -> Task.async(fn -> worker.(i, deadline, 0) end) end)
  |> Enum.map(&Task.await(&1, ms + 30_000))
  |> Enum.sum()
end

case mode do
  "append" ->
    tag = System.os_time(:microsecond)

    loop = fn loop, i, deadline, count ->
      if System.monotonic_time(:millisecond) >= deadline do
        count
      else
        :ok = Adapter.append_to_stream(meta, "ex-#{tag}-#{i}", :any_version, [event.()])
        loop.(loop, i, deadline, count + 1)
      end
    end

    total = run.(fn i, d, c -> loop.(loop, i, d, c) end)
    IO.puts("append #{n} #{Float.round(total * 1_000 / ms, 1)}")

  "read" ->
    loop = fn loop, i, deadline, count ->
      if System.monotonic_time(:millisecond) >= deadline do
        count
      else
        from = :rand.uniform(901)

        100 =
          meta |> Adapter.stream_forward("read-bench", from, 100) |> Enum.take(100) |> length()

        loop.(loop, i, deadline, count + 1)
      end
    end

    total = run.(fn i, d, c -> loop.(loop, i, d, c) end)
    IO.puts("read #{n} #{Float.round(total * 1_000 / ms, 1)}")

  "latency" ->
    rate = n
    parent = self()
    name = "latency-#{System.os_time(:microsecond)}"

    subscriber =
      spawn_link(fn ->
        {:ok, sub} = Adapter.subscribe_to(meta, :all, name, self(), :current, [])

        loop = fn loop, acc ->
          receive do
            {:subscribed, _} ->
              send(parent, :subscribed)
              loop.(loop, acc)

            {:events, events} ->
              now = System.os_time(:microsecond)

              acc =
                Enum.reduce(events, acc, fn e, acc ->
                  :ok = Adapter.ack_event(meta, sub, e)

                  case e.metadata do
                    %{"sent" => sent, "run" => ^name, "key" => key} -> [{key, sent, now} | acc]
                    _ -> acc
                  end
                end)

              loop.(loop, acc)

            {:done, from} ->
              send(from, {:latencies, acc})
          end
        end

        loop.(loop, [])
      end)

    receive do
      :subscribed -> :ok
    end

    # paced writers, each its own stream, `rate` events/s in total, one event
    # per append; enough of them that an fsync'd commit fits in each's pace
    writers = max(4, div(rate, 50))
    per_writer_us = div(writers * 1_000_000, rate)
    t0 = System.monotonic_time(:microsecond)

    writers =
      for w <- 1..writers do
        Task.async(fn ->
          # the first second is a warm-up, not measured
          warmup = div(rate, writers)
          count = div(rate * div(ms, 1_000), writers) + warmup

          for k <- 0..(count - 1) do
            due = t0 + k * per_writer_us + div(w * per_writer_us, writers)
            delay = div(due - System.monotonic_time(:microsecond), 1_000)
            if delay > 0, do: Process.sleep(delay)

            sent = System.os_time(:microsecond)
            run = if k >= warmup, do: name, else: "warmup"
            e = %{event.() | metadata: %{"sent" => sent, "run" => run, "key" => "#{w}-#{k}"}}
            :ok = Adapter.append_to_stream(meta, "lat-#{name}-#{w}", :any_version, [e])
            {run, "#{w}-#{k}", System.os_time(:microsecond)}
          end
        end)
      end

    all = Enum.flat_map(writers, &Task.await(&1, ms + 60_000))
    returned = for {^name, key, t} <- all, into: %{}, do: {key, t}
    sent = map_size(returned)
    elapsed = (System.monotonic_time(:microsecond) - t0) / 1_000_000 - 1
    Process.sleep(1_000)
    send(subscriber, {:done, self()})

    lat =
      receive do
        {:latencies, l} -> l
      end

    from_call = lat |> Enum.map(fn {_k, sent, now} -> now - sent end) |> Enum.sort()
    after_return = lat |> Enum.map(fn {k, _sent, now} -> now - returned[k] end) |> Enum.sort()
    appends = lat |> Enum.map(fn {k, sent, _now} -> returned[k] - sent end) |> Enum.sort()

    pct = fn l, p -> Enum.at(l, min(length(l) - 1, trunc(p * length(l)))) / 1_000 end

    IO.puts(
      "latency rate=#{Float.round(sent / elapsed, 1)}/s received=#{length(lat)}/#{sent} " <>
        "from the append call: p50=#{Float.round(pct.(from_call, 0.5), 1)}ms " <>
        "p99=#{Float.round(pct.(from_call, 0.99), 1)}ms max=#{Float.round(List.last(from_call) / 1_000, 1)}ms; " <>
        "after it returned: p50=#{Float.round(pct.(after_return, 0.5), 1)}ms " <>
        "p99=#{Float.round(pct.(after_return, 0.99), 1)}ms; " <>
        "the append call: p50=#{Float.round(pct.(appends, 0.5), 1)}ms p99=#{Float.round(pct.(appends, 0.99), 1)}ms"
    )
end
