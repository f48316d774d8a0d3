defmodule CommandedPgEventStore.Locks do
  @moduledoc """
  Session advisory locks on one dedicated connection per node: a
  subscription process holds the lock of its name, so two nodes never both
  run it. A lock is released when its holder exits. If the connection is
  lost the locks are gone with it: on reconnect they are taken again, and a
  holder whose lock another node took meanwhile gets
  `{:pg_event_store, :lock_lost, name}`.
  """
  use GenServer

  alias CommandedPgEventStore.Connection

  @try "SELECT pg_try_advisory_lock(('x' || left(md5('commanded_pg_event_store/' || $1::text), 16))::bit(64)::bigint)"
  @unlock "SELECT pg_advisory_unlock(('x' || left(md5('commanded_pg_event_store/' || $1::text), 16))::bit(64)::bigint)"

  @doc false
  def start_link(meta), do: GenServer.start_link(__MODULE__, meta, name: meta.locks)

  @doc "Takes the lock `name` for the caller: `:ok`, `:taken` or `{:error, error}`."
  @spec acquire(map, String.t()) :: :ok | :taken | {:error, term}
  def acquire(meta, name), do: GenServer.call(meta.locks, {:acquire, name, self()}, 30_000)

  @impl true
  def init(meta) do
    {:ok, conn} = Connection.start_link(conninfo: meta.conninfo, listener: self())
    {:ok, %{conn: conn, held: %{}, connected_once: false}}
  end

  @impl true
  def handle_call({:acquire, name, pid}, _from, state) do
    case state.held do
      %{^name => {^pid, _}} ->
        {:reply, :ok, state}

      %{^name => _} ->
        {:reply, :taken, state}

      _ ->
        case Connection.query(state.conn, @try, [{:text, name}]) do
          {:ok, %{rows: [[true]]}} ->
            ref = Process.monitor(pid)
            {:reply, :ok, %{state | held: Map.put(state.held, name, {pid, ref})}}

          {:ok, _} ->
            {:reply, :taken, state}

          {:error, e} ->
            {:reply, {:error, e}, state}
        end
    end
  end

  @impl true
  def handle_info({:DOWN, ref, :process, _pid, _}, state) do
    case Enum.find(state.held, fn {_, {_, r}} -> r == ref end) do
      {name, _} ->
        _ = Connection.query(state.conn, @unlock, [{:text, name}])
        {:noreply, %{state | held: Map.delete(state.held, name)}}

      nil ->
        {:noreply, state}
    end
  end

  def handle_info({:pg_connected, conn}, %{connected_once: false} = state) do
    {:noreply, %{state | conn: conn, connected_once: true}}
  end

  def handle_info({:pg_connected, conn}, state) do
    held =
      Enum.filter(state.held, fn {name, {pid, ref}} ->
        case Connection.query(conn, @try, [{:text, name}]) do
          {:ok, %{rows: [[true]]}} ->
            true

          _ ->
            Process.demonitor(ref, [:flush])
            send(pid, {:pg_event_store, :lock_lost, name})
            false
        end
      end)

    {:noreply, %{state | held: Map.new(held)}}
  end

  def handle_info(_msg, state), do: {:noreply, state}
end
