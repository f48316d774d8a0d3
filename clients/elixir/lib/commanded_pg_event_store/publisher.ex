defmodule CommandedPgEventStore.Publisher do
  @moduledoc """
  Transient subscriptions (`subscribe/2`): subscribers get
  `{:events, events}` for events appended after they subscribed, one
  message per run of events of one stream, no acknowledgement. One process
  per node reads `$all` gap-free from where it last stopped whenever a
  notification says there is more, and only while someone is subscribed.
  """
  use GenServer
  require Logger

  alias CommandedPgEventStore.{Notifier, Pool, SQL}

  @batch 1_000

  @doc false
  def start_link(meta), do: GenServer.start_link(__MODULE__, meta, name: meta.publisher)

  @doc "Subscribes `pid` to new events of `:all` or one stream."
  @spec subscribe(GenServer.server(), :all | String.t(), pid) :: :ok | {:error, term}
  def subscribe(publisher, stream, pid), do: GenServer.call(publisher, {:subscribe, stream, pid})

  @impl true
  def init(meta) do
    :ok = Notifier.listen(meta, :all)
    {:ok, %{meta: meta, subs: %{}, cursor: nil, refs: %{}, pending: false}}
  end

  @impl true
  def handle_call({:subscribe, stream, pid}, _from, state) do
    with {:ok, state} <- ensure_cursor(state) do
      key = if stream == :all, do: :all, else: {:stream, stream}
      ref = Process.monitor(pid)
      subs = Map.update(state.subs, key, MapSet.new([pid]), &MapSet.put(&1, pid))
      {:reply, :ok, %{state | subs: subs, refs: Map.put(state.refs, ref, {key, pid})}}
    else
      {:error, e} -> {:reply, {:error, e}, state}
    end
  end

  @impl true
  # Notifications are coalesced: one read after those already in the mailbox.
  def handle_info({:pg_event_store, :notify, _stream, position}, state) do
    if state.cursor != nil and position > state.cursor and not state.pending do
      send(self(), :catch_up)
      {:noreply, %{state | pending: true}}
    else
      {:noreply, state}
    end
  end

  def handle_info({:pg_event_store, :reconnected}, state) do
    if state.cursor != nil, do: {:noreply, catch_up(state)}, else: {:noreply, state}
  end

  def handle_info(:catch_up, state), do: {:noreply, catch_up(%{state | pending: false})}

  def handle_info({:DOWN, ref, :process, _, _}, state) do
    {{key, pid}, refs} = Map.pop(state.refs, ref)
    set = MapSet.delete(Map.get(state.subs, key, MapSet.new()), pid)

    subs =
      if MapSet.size(set) == 0,
        do: Map.delete(state.subs, key),
        else: Map.put(state.subs, key, set)

    cursor = if subs == %{}, do: nil, else: state.cursor
    {:noreply, %{state | subs: subs, refs: refs, cursor: cursor}}
  end

  def handle_info(_msg, state), do: {:noreply, state}

  defp ensure_cursor(%{cursor: nil} = state) do
    case SQL.head(state.meta.pool) do
      {:ok, head} -> {:ok, %{state | cursor: head}}
      {:error, e} -> {:error, e}
    end
  end

  defp ensure_cursor(state), do: {:ok, state}

  defp catch_up(%{cursor: nil} = state), do: state

  defp catch_up(state) do
    params = [{:int8, state.cursor + 1}, {:int4, @batch}]

    case Pool.query(state.meta.pool, SQL.read_all_forward(), params) do
      {:ok, %{rows: []}} ->
        state

      {:ok, %{rows: rows}} ->
        events = Enum.map(rows, &SQL.recorded_event(&1, state.meta.serializer))
        publish(state, events)
        state = %{state | cursor: List.last(events).event_number}
        if length(rows) == @batch, do: catch_up(state), else: state

      {:error, e} ->
        Logger.warning("transient subscriptions: reading $all failed: #{e.message}")
        Process.send_after(self(), :catch_up, 500)
        state
    end
  end

  defp publish(state, events) do
    all = Map.get(state.subs, :all, MapSet.new())

    for run <- Enum.chunk_by(events, & &1.stream_id) do
      stream_subs = Map.get(state.subs, {:stream, hd(run).stream_id}, MapSet.new())
      for pid <- MapSet.union(all, stream_subs), do: send(pid, {:events, run})
    end
  end
end
