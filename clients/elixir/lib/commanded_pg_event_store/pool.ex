defmodule CommandedPgEventStore.Pool do
  @moduledoc """
  A pool of `CommandedPgEventStore.Connection`s with checkout.

  The pool is a supervisor of one broker (this module's GenServer, named
  after the pool) and `pool_size` connections. Each connection registers
  with the broker when it starts; the broker hands idle connections out,
  queues callers when none is idle, and takes a connection back when its
  borrower returns it or dies.
  """
  use GenServer

  alias CommandedPgEventStore.Connection

  @doc """
  Starts the pool. Options: `:name` (required, the broker's name),
  `:pool_size` (default 10), `:conninfo`.
  """
  @spec start_link(keyword) :: Supervisor.on_start()
  def start_link(opts) do
    name = Keyword.fetch!(opts, :name)
    size = Keyword.get(opts, :pool_size, 10)
    conninfo = Keyword.get(opts, :conninfo, "")

    conns =
      for i <- 1..size do
        Supervisor.child_spec({Connection, conninfo: conninfo, pool: name, id: {:conn, i}},
          id: {:conn, i}
        )
      end

    broker = %{id: :broker, start: {GenServer, :start_link, [__MODULE__, [], [name: name]]}}
    Supervisor.start_link([broker | conns], strategy: :one_for_one)
  end

  @doc false
  def child_spec(opts) do
    %{
      id: Keyword.fetch!(opts, :name),
      start: {__MODULE__, :start_link, [opts]},
      type: :supervisor
    }
  end

  @doc "Registers a connection with the broker (called by the connection)."
  @spec register(GenServer.server(), pid) :: :ok
  def register(pool, conn), do: GenServer.cast(pool, {:register, conn})

  @doc "Borrows a connection; waits up to `timeout` ms for one to be free."
  @spec checkout(GenServer.server(), timeout) :: pid
  def checkout(pool, timeout \\ 15_000) do
    deadline = System.monotonic_time(:millisecond) + timeout
    GenServer.call(pool, {:checkout, deadline}, timeout)
  end

  @doc "Returns a borrowed connection."
  @spec checkin(GenServer.server(), pid) :: :ok
  def checkin(pool, conn), do: GenServer.cast(pool, {:checkin, conn, self()})

  @doc "Runs `fun` with a borrowed connection and returns it afterwards."
  @spec run(GenServer.server(), (pid -> result)) :: result when result: term
  def run(pool, fun) do
    conn = checkout(pool)

    try do
      fun.(conn)
    after
      checkin(pool, conn)
    end
  end

  @doc "Runs one query on a borrowed connection (see `Connection.query/4`)."
  @spec query(GenServer.server(), iodata, list, keyword) :: Connection.result()
  def query(pool, sql, params \\ [], opts \\ []) do
    run(pool, &Connection.query(&1, sql, params, opts))
  end

  # ---- broker ----

  @impl true
  def init([]), do: {:ok, %{idle: [], busy: %{}, waiting: :queue.new(), conns: %{}}}

  @impl true
  def handle_call({:checkout, deadline}, {caller, _} = from, state) do
    case state.idle do
      [conn | rest] -> {:reply, conn, lend(%{state | idle: rest}, conn, caller)}
      [] -> {:noreply, %{state | waiting: :queue.in({from, deadline}, state.waiting)}}
    end
  end

  @impl true
  def handle_cast({:register, conn}, state) do
    ref = Process.monitor(conn)
    {:noreply, give_back(%{state | conns: Map.put(state.conns, conn, ref)}, conn)}
  end

  def handle_cast({:checkin, conn, caller}, state) do
    case state.busy do
      %{^conn => {^caller, ref}} ->
        Process.demonitor(ref, [:flush])
        {:noreply, give_back(%{state | busy: Map.delete(state.busy, conn)}, conn)}

      _ ->
        {:noreply, state}
    end
  end

  @impl true
  def handle_info({:DOWN, ref, :process, pid, _}, state) do
    case state.conns do
      %{^pid => ^ref} ->
        {:noreply,
         %{
           state
           | conns: Map.delete(state.conns, pid),
             idle: List.delete(state.idle, pid),
             busy: Map.delete(state.busy, pid)
         }}

      _ ->
        # a borrower died: take its connection back
        case Enum.find(state.busy, fn {_c, {_caller, r}} -> r == ref end) do
          {conn, _} -> {:noreply, give_back(%{state | busy: Map.delete(state.busy, conn)}, conn)}
          nil -> {:noreply, state}
        end
    end
  end

  defp lend(state, conn, caller) do
    %{state | busy: Map.put(state.busy, conn, {caller, Process.monitor(caller)})}
  end

  defp give_back(state, conn) do
    case next_waiter(state.waiting) do
      {{caller, _} = from, rest} ->
        GenServer.reply(from, conn)
        lend(%{state | waiting: rest}, conn, caller)

      {nil, rest} ->
        %{state | idle: [conn | state.idle], waiting: rest}
    end
  end

  # skip waiters that gave up (timed out or dead)
  defp next_waiter(q) do
    case :queue.out(q) do
      {{:value, {{pid, _} = from, deadline}}, rest} ->
        if Process.alive?(pid) and System.monotonic_time(:millisecond) < deadline - 5,
          do: {from, rest},
          else: next_waiter(rest)

      {:empty, rest} ->
        {nil, rest}
    end
  end
end
