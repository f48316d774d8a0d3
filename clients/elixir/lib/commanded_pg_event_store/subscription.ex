defmodule CommandedPgEventStore.Subscription do
  @moduledoc """
  A persistent subscription (`subscribe_to/6`): one process per name per
  node, holding the name's advisory lock so no other node runs it at the
  same time, with one or more subscriber processes.

  It reads events after the server-side checkpoint (`create_subscription`
  then gap-free reads), wakes on notifications from
  `CommandedPgEventStore.Notifier` and after every reconnect, and sends each
  subscriber `{:subscribed, subscription}` then `{:events, events}`.

  Delivery is at-least-once. An ack of an event acknowledges it and every
  event sent to the same subscriber before it. The checkpoint written with
  `event_store.ack` is the highest position below which every event is
  acknowledged (written when it moves, coalesced). When a subscriber exits,
  its unacknowledged events go to the others; when the last one exits the
  process stops, and the next subscriber starts again from the checkpoint,
  so whatever was not acknowledged is delivered again.

  With `concurrency_limit: n` up to n subscribers share the subscription;
  with `partition_by: fun` the events for which `fun.(event)` is equal go to
  one subscriber at a time, in order. Without `concurrency_limit` a second
  subscriber gets `{:error, :subscription_already_exists}`; past the limit,
  `{:error, :too_many_subscribers}`. `buffer_size` (default 100) caps the
  events in flight per subscriber.
  """
  use GenServer, restart: :temporary
  require Logger

  alias CommandedPgEventStore.{Locks, Notifier, Pool, SQL}

  @max_queue 2_000
  @max_backoff 5_000

  @doc false
  def start_link({meta, _stream, name, _subscriber, _start_from, _opts} = args) do
    GenServer.start_link(__MODULE__, args, name: {:via, Registry, {meta.names, name}})
  end

  @doc "Subscribes `subscriber`, starting the subscription process if needed."
  @spec subscribe(map, :all | String.t(), String.t(), pid, term, keyword) ::
          {:ok, pid} | {:error, term}
  def subscribe(meta, stream, name, subscriber, start_from, opts, tries \\ 3) do
    result =
      case Registry.lookup(meta.names, name) do
        [{pid, _}] ->
          join(pid, subscriber, opts)

        [] ->
          spec = {__MODULE__, {meta, stream, name, subscriber, start_from, opts}}

          case DynamicSupervisor.start_child(meta.subscriptions, spec) do
            {:ok, pid} -> {:ok, pid}
            {:error, {:already_started, pid}} -> join(pid, subscriber, opts)
            {:error, {:error, e}} -> {:error, e}
            {:error, e} -> {:error, e}
          end
      end

    case result do
      :retry when tries > 0 ->
        Process.sleep(10)
        subscribe(meta, stream, name, subscriber, start_from, opts, tries - 1)

      :retry ->
        {:error, :subscription_already_exists}

      other ->
        other
    end
  end

  defp join(pid, subscriber, opts) do
    GenServer.call(pid, {:join, subscriber, opts})
  catch
    :exit, _ -> :retry
  end

  @doc "Acknowledges `position` and every earlier event sent to the same subscriber."
  @spec ack(pid, non_neg_integer) :: :ok
  def ack(subscription, position), do: GenServer.cast(subscription, {:ack, position})

  @doc """
  Removes `subscriber` (called by another process: every subscriber); the
  process stops with its last subscriber.
  """
  @spec unsubscribe(pid, pid) :: :ok
  def unsubscribe(subscription, subscriber) do
    GenServer.call(subscription, {:unsubscribe, subscriber})
  catch
    :exit, _ -> :ok
  end

  @doc "Stops the local process of subscription `name`, if any."
  @spec stop_local(map, String.t()) :: :ok
  def stop_local(meta, name) do
    case Registry.lookup(meta.names, name) do
      [{pid, _}] -> GenServer.stop(pid, :shutdown)
      [] -> :ok
    end
  catch
    :exit, _ -> :ok
  end

  # ---- server ----

  @impl true
  def init({meta, stream, name, subscriber, start_from, opts}) do
    Process.flag(:trap_exit, true)

    state = %{
      meta: meta,
      stream: stream,
      name: name,
      start_from: start_from,
      limit: Keyword.get(opts, :concurrency_limit),
      partition_by: Keyword.get(opts, :partition_by),
      buffer_size: Keyword.get(opts, :buffer_size, 100),
      batch: meta.read_batch_size,
      status: :locking,
      subscribers: %{},
      queue: [],
      owners: %{},
      inflight: %{},
      sent: %{},
      seq: 0,
      fetched: :queue.new(),
      acked: MapSet.new(),
      checkpoint: 0,
      flushed: 0,
      flush_pending: false,
      dispatch_pending: false,
      notify_pending: false,
      cursor: nil,
      last_pos: 0,
      more: false,
      backoff: 200
    }

    state = add_subscriber(state, subscriber)

    case start(state) do
      {:ok, state} -> {:ok, state}
      {:error, e} -> {:stop, {:error, e}}
    end
  end

  # Take the lock, create (or resume) the server-side subscription, listen.
  defp start(state) do
    case Locks.acquire(state.meta, state.name) do
      :ok ->
        with {:ok, from} <- start_position(state),
             {:ok, %{rows: [[checkpoint]]}} <-
               Pool.query(state.meta.pool, SQL.create_subscription(), [
                 {:text, state.name},
                 {:text, source(state.stream)},
                 {:int8, from}
               ]) do
          :ok = Notifier.listen(state.meta, state.stream)
          for {pid, _} <- state.subscribers, do: send(pid, {:subscribed, self()})

          state = %{
            state
            | status: :running,
              checkpoint: checkpoint,
              flushed: checkpoint,
              last_pos: checkpoint
          }

          {:ok, fetch(state)}
        else
          {:error, e} -> {:error, e}
        end

      :taken ->
        Process.send_after(self(), :start, 1_000)
        {:ok, state}

      {:error, e} ->
        {:error, e}
    end
  end

  defp source(:all), do: "$all"
  defp source(stream), do: stream

  defp start_position(%{start_from: :origin}), do: {:ok, 0}
  defp start_position(%{start_from: :current} = state), do: head(state)

  defp start_position(%{start_from: n, stream: :all}) when is_integer(n) and n >= 0,
    do: {:ok, n}

  defp start_position(%{start_from: n, stream: stream} = state) when is_integer(n) and n >= 0 do
    case Pool.query(state.meta.pool, SQL.stream_position(), [{:text, stream}, {:int8, n}]) do
      {:ok, %{rows: [[pos]]}} -> {:ok, pos}
      {:ok, %{rows: []}} -> if n == 0, do: {:ok, 0}, else: head(state)
      {:error, e} -> {:error, e}
    end
  end

  defp head(state), do: SQL.head(state.meta.pool)

  @impl true
  def handle_call({:join, subscriber, _opts}, _from, state) do
    n = map_size(state.subscribers)

    cond do
      Map.has_key?(state.subscribers, subscriber) ->
        {:reply, {:ok, self()}, state}

      state.limit == nil and n >= 1 ->
        {:reply, {:error, :subscription_already_exists}, state}

      state.limit != nil and n >= state.limit ->
        {:reply, {:error, :too_many_subscribers}, state}

      n == 0 ->
        # the last subscriber left and this process is about to stop
        {:reply, :retry, state}

      true ->
        if state.status == :running, do: send(subscriber, {:subscribed, self()})
        {:reply, {:ok, self()}, state |> add_subscriber(subscriber) |> dispatch()}
    end
  end

  # From a subscriber: that subscriber leaves. From any other process: the
  # whole subscription stops (its subscribers see it go down).
  def handle_call({:unsubscribe, caller}, _from, state) do
    state =
      if Map.has_key?(state.subscribers, caller),
        do: remove_subscriber(state, caller),
        else: Enum.reduce(Map.keys(state.subscribers), state, &remove_subscriber(&2, &1))

    if map_size(state.subscribers) == 0,
      do: {:stop, :normal, :ok, state},
      else: {:reply, :ok, dispatch(state)}
  end

  @impl true
  def handle_cast({:ack, position}, state) do
    case state.inflight do
      %{^position => {pid, _key, _seq}} ->
        {:noreply, state |> ack_upto(pid, position) |> schedule_dispatch()}

      _ ->
        {:noreply, state}
    end
  end

  @impl true
  def handle_info(:start, %{status: :locking} = state) do
    case start(state) do
      {:ok, state} -> {:noreply, state}
      {:error, e} -> {:stop, {:error, e}, state}
    end
  end

  # Notifications are coalesced: one read after those already in the mailbox.
  def handle_info({:pg_event_store, :notify, _stream, position}, state) do
    cond do
      position <= state.last_pos -> {:noreply, state}
      state.notify_pending -> {:noreply, state}
      true -> send(self(), :notified) && {:noreply, %{state | notify_pending: true}}
    end
  end

  def handle_info(:notified, state),
    do: {:noreply, fetch(%{state | more: true, notify_pending: false})}

  def handle_info({:pg_event_store, :reconnected}, state),
    do: {:noreply, fetch(%{state | more: true})}

  def handle_info(:fetch, state), do: {:noreply, fetch(state)}

  def handle_info({:pg_event_store, :lock_lost, _name}, state),
    do: {:stop, {:shutdown, :lock_lost}, state}

  def handle_info(:flush, state), do: {:noreply, flush(%{state | flush_pending: false})}

  def handle_info(:dispatch, state),
    do: {:noreply, %{state | dispatch_pending: false} |> dispatch() |> maybe_fetch()}

  def handle_info({:DOWN, _ref, :process, pid, _reason}, state) do
    state = remove_subscriber(state, pid)

    if map_size(state.subscribers) == 0,
      do: {:stop, :normal, state},
      else: {:noreply, dispatch(state)}
  end

  def handle_info(_msg, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, state) do
    if state.status == :running, do: flush(state)
    :ok
  end

  # ---- subscribers ----

  defp add_subscriber(state, pid) do
    sub = %{ref: Process.monitor(pid), count: 0}
    %{state | subscribers: Map.put(state.subscribers, pid, sub)}
  end

  # Its unacknowledged events go back to the queue, in order.
  defp remove_subscriber(state, pid) do
    case Map.pop(state.subscribers, pid) do
      {nil, _} ->
        state

      {sub, subscribers} ->
        Process.demonitor(sub.ref, [:flush])
        {mine, others} = Enum.split_with(state.inflight, fn {_, {p, _, _}} -> p == pid end)
        positions = mine |> Enum.map(&elem(&1, 0)) |> MapSet.new()
        owners = Map.reject(state.owners, fn {_k, {p, _}} -> p == pid end)

        requeue =
          state.sent
          |> Map.take(MapSet.to_list(positions))
          |> Map.values()

        queue = Enum.sort_by(requeue ++ state.queue, & &1.event_number)

        %{
          state
          | subscribers: subscribers,
            inflight: Map.new(others),
            owners: owners,
            queue: queue,
            sent: Map.drop(state.sent, MapSet.to_list(positions))
        }
    end
  end

  # ---- fetching ----

  defp maybe_fetch(%{more: true} = state), do: fetch(state)
  defp maybe_fetch(state), do: state

  defp fetch(%{status: :running} = state) when length(state.queue) < @max_queue do
    case read(state) do
      {:ok, events, cursor} ->
        events = Enum.filter(events, &(&1.event_number > state.last_pos))
        last_pos = if events == [], do: state.last_pos, else: List.last(events).event_number
        fetched = Enum.reduce(events, state.fetched, &:queue.in(&1.event_number, &2))
        full = length(events) >= state.batch

        state = %{
          state
          | queue: state.queue ++ events,
            fetched: fetched,
            cursor: cursor,
            last_pos: last_pos,
            more: full,
            backoff: 200
        }

        if full, do: send(self(), :fetch)
        state |> advance() |> dispatch()

      :dead ->
        %{state | more: false}

      {:error, e} ->
        Logger.debug("subscription #{state.name}: read failed: #{inspect(e)}")
        Process.send_after(self(), :fetch, state.backoff)
        %{state | backoff: min(state.backoff * 2, @max_backoff)}
    end
  end

  defp fetch(state), do: state

  defp read(%{stream: :all} = state) do
    from = if state.cursor == nil, do: state.last_pos, else: state.cursor

    rows(state, SQL.read_all_forward(), [{:int8, from + 1}, {:int4, state.batch}], fn events ->
      if events == [], do: from, else: List.last(events).event_number
    end)
  end

  defp read(%{cursor: nil, stream: stream} = state) do
    # Before the first read, the stream's version: if nothing follows the
    # checkpoint, every event up to that version is at or below it.
    case Pool.query(state.meta.pool, SQL.stream_version(), [{:text, stream}]) do
      {:ok, %{rows: [[version]]}} ->
        rows(state, SQL.read_subscription(), [{:text, state.name}, {:int4, state.batch}], fn
          [] -> version
          events -> List.last(events).stream_version
        end)

      {:error, %{sqlstate: "ES002"}} ->
        :dead

      {:error, e} ->
        {:error, e}
    end
  end

  defp read(%{stream: stream, cursor: version} = state) do
    params = [{:text, stream}, {:int8, version + 1}, {:int4, state.batch}]

    rows(state, SQL.read_stream_forward(), params, fn
      [] -> version
      events -> List.last(events).stream_version
    end)
  end

  defp rows(state, sql, params, cursor_fun) do
    case Pool.query(state.meta.pool, sql, params) do
      {:ok, %{rows: rows}} ->
        events = Enum.map(rows, &SQL.recorded_event(&1, state.meta.serializer))
        {:ok, events, cursor_fun.(events)}

      {:error, %{sqlstate: "ES002"}} ->
        :dead

      {:error, e} ->
        {:error, e}
    end
  end

  # ---- dispatching ----

  # Acks arrive one per event: dispatch once after the mailbox's acks.
  defp schedule_dispatch(%{dispatch_pending: true} = state), do: state

  defp schedule_dispatch(state) do
    send(self(), :dispatch)
    %{state | dispatch_pending: true}
  end

  defp dispatch(%{status: :running} = state)
       when state.queue != [] and state.subscribers != %{} do
    free =
      Enum.reduce(state.subscribers, 0, fn {_, s}, n ->
        n + max(state.buffer_size - s.count, 0)
      end)

    {state, keep, batches} = assign_events(state.queue, free, state, [], %{})
    for {pid, events} <- batches, do: send(pid, {:events, Enum.reverse(events)})
    %{state | queue: keep}
  end

  defp dispatch(state), do: state

  # Walks the queue in order until every subscriber is full; events whose
  # partition is busy on a full subscriber wait, in order.
  defp assign_events(rest, 0, state, keep, batches),
    do: {state, Enum.reverse(keep, rest), batches}

  defp assign_events([], _free, state, keep, batches), do: {state, Enum.reverse(keep), batches}

  defp assign_events([event | rest], free, state, keep, batches) do
    key = partition_key(state, event)

    case target(state, key) do
      nil ->
        assign_events(rest, free, state, [event | keep], batches)

      pid ->
        state = assign(state, pid, key, event)
        batches = Map.update(batches, pid, [event], &[event | &1])
        assign_events(rest, free - 1, state, keep, batches)
    end
  end

  defp partition_key(%{partition_by: nil}, _event), do: nil
  defp partition_key(%{partition_by: fun}, event), do: {:key, fun.(event)}

  defp target(state, key) do
    case key != nil && state.owners[key] do
      {pid, _n} ->
        if state.subscribers[pid].count < state.buffer_size, do: pid

      _ ->
        {pid, sub} = Enum.min_by(state.subscribers, fn {_p, s} -> s.count end)
        if sub.count < state.buffer_size, do: pid
    end
  end

  defp assign(state, pid, key, event) do
    pos = event.event_number
    subscribers = Map.update!(state.subscribers, pid, &%{&1 | count: &1.count + 1})

    owners =
      if key,
        do: Map.update(state.owners, key, {pid, 1}, fn {p, n} -> {p, n + 1} end),
        else: state.owners

    %{
      state
      | subscribers: subscribers,
        owners: owners,
        inflight: Map.put(state.inflight, pos, {pid, key, state.seq}),
        sent: Map.put(state.sent, pos, event),
        seq: state.seq + 1
    }
  end

  # ---- acknowledging ----

  # Everything sent to `pid` up to and including `position`, in the order it
  # was sent (a later batch may hold lower positions).
  defp ack_upto(state, pid, position) do
    {^pid, _, upto} = state.inflight[position]
    done = for {pos, {p, key, seq}} <- state.inflight, p == pid, seq <= upto, do: {pos, key}

    Enum.reduce(done, state, fn {pos, key}, st ->
      owners =
        case key && st.owners[key] do
          {^pid, 1} -> Map.delete(st.owners, key)
          {^pid, n} -> Map.put(st.owners, key, {pid, n - 1})
          _ -> st.owners
        end

      %{
        st
        | inflight: Map.delete(st.inflight, pos),
          sent: Map.delete(st.sent, pos),
          owners: owners,
          acked: MapSet.put(st.acked, pos),
          subscribers: Map.update!(st.subscribers, pid, &%{&1 | count: &1.count - 1})
      }
    end)
    |> advance()
  end

  # Move the checkpoint over the acknowledged prefix of what was fetched.
  defp advance(state) do
    case :queue.peek(state.fetched) do
      {:value, pos} ->
        if MapSet.member?(state.acked, pos) do
          advance(%{
            state
            | fetched: :queue.drop(state.fetched),
              acked: MapSet.delete(state.acked, pos),
              checkpoint: pos
          })
        else
          schedule_flush(state)
        end

      :empty ->
        # nothing outstanding: everything read so far is done
        schedule_flush(%{state | checkpoint: max(state.checkpoint, state.last_pos)})
    end
  end

  defp schedule_flush(%{flush_pending: false} = state) when state.checkpoint > state.flushed do
    send(self(), :flush)
    %{state | flush_pending: true}
  end

  defp schedule_flush(state), do: state

  defp flush(state) when state.checkpoint > state.flushed do
    case Pool.query(state.meta.pool, SQL.ack(), [{:text, state.name}, {:int8, state.checkpoint}]) do
      {:ok, _} ->
        %{state | flushed: state.checkpoint}

      {:error, e} ->
        Logger.debug("subscription #{state.name}: ack failed: #{inspect(e)}")
        Process.send_after(self(), :flush, 500)
        %{state | flush_pending: true}
    end
  end

  defp flush(state), do: state
end
