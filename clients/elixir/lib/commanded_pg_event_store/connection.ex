defmodule CommandedPgEventStore.Connection do
  @moduledoc """
  One PostgreSQL connection: a GenServer that owns one `pg_port` OS process.

  Queries are serialised (one at a time per connection, others wait in
  order). Each query has a timeout: when it expires the port cancels the
  statement on the server (`PQcancel`) and the caller gets SQLSTATE `57014`.
  Notifications go to the `:listener` process as
  `{:pg_notification, connection, channel, payload}`, and the listener gets
  `{:pg_connected, connection}` after every (re)connect.

  When the connection is lost the running and queued queries fail with
  SQLSTATE `08006`, and the connection reconnects with a backoff (100 ms
  doubling to 2 s); queries sent while it is down fail at once. If this
  process dies the port sees EOF on its stdin and exits.

  This module is the driver boundary: the rest of the library only calls
  `query/4` and receives the messages above, so a Postgrex-backed connection
  can stand in where hex is reachable.
  """
  use GenServer
  require Logger

  alias CommandedPgEventStore.Protocol

  @default_timeout 15_000
  @connect_timeout 20_000

  @type t :: GenServer.server()
  @type result :: {:ok, %{rows: [[term]], command: String.t()}} | {:error, Protocol.error()}

  @doc """
  Starts a connection. Options: `:conninfo` (a libpq conninfo string or URL;
  empty uses the PG* environment), `:listener` (a pid for notifications),
  `:pool` (a `CommandedPgEventStore.Pool` broker to register with), `:name`.
  """
  @spec start_link(keyword) :: GenServer.on_start()
  def start_link(opts) do
    GenServer.start_link(__MODULE__, opts, Keyword.take(opts, [:name]))
  end

  @doc false
  def child_spec(opts) do
    %{id: Keyword.get(opts, :id, __MODULE__), start: {__MODULE__, :start_link, [opts]}}
  end

  @doc """
  Runs `sql` with `params` (see `CommandedPgEventStore.Protocol.param/0`).
  Options: `:timeout` (ms, default 15 s; the statement is cancelled on the
  server when it expires), `:prepare` (default `true`: the statement is
  prepared once per connection and reused).
  """
  @spec query(t, iodata, [Protocol.param()], keyword) :: result
  def query(conn, sql, params \\ [], opts \\ []) do
    timeout = Keyword.get(opts, :timeout, @default_timeout)
    name = if Keyword.get(opts, :prepare, true), do: statement_name(sql), else: ""
    frame = Protocol.query(name, sql, params)
    GenServer.call(conn, {:query, frame, timeout}, timeout + 5_000)
  end

  @doc "The OS pid of the port program (for tests)."
  @spec os_pid(t) :: non_neg_integer | nil
  def os_pid(conn), do: GenServer.call(conn, :os_pid)

  @doc "Whether the connection is up."
  @spec connected?(t) :: boolean
  def connected?(conn), do: GenServer.call(conn, :connected?)

  defp statement_name(sql) do
    "cpes_" <> Base.encode16(:erlang.md5(sql), case: :lower)
  end

  # ---- server ----

  @impl true
  def init(opts) do
    Process.flag(:trap_exit, true)

    state = %{
      conninfo: Keyword.get(opts, :conninfo, ""),
      listener: Keyword.get(opts, :listener),
      port: nil,
      os_pid: nil,
      current: nil,
      queue: :queue.new(),
      backoff: 100
    }

    if pool = Keyword.get(opts, :pool), do: CommandedPgEventStore.Pool.register(pool, self())
    {:ok, state, {:continue, :connect}}
  end

  @impl true
  def handle_continue(:connect, state), do: {:noreply, connect(state)}

  @impl true
  def handle_call({:query, frame, timeout}, from, state) do
    cond do
      state.port == nil ->
        {:reply, {:error, not_connected()}, state}

      state.current == nil ->
        {:noreply, send_query(state, {from, frame, timeout})}

      true ->
        {:noreply, %{state | queue: :queue.in({from, frame, timeout}, state.queue)}}
    end
  end

  def handle_call(:os_pid, _from, state), do: {:reply, state.os_pid, state}
  def handle_call(:connected?, _from, state), do: {:reply, state.port != nil, state}

  @impl true
  def handle_info({port, {:data, data}}, %{port: port} = state) do
    case Protocol.decode(data) do
      {:notification, channel, payload} ->
        if state.listener, do: send(state.listener, {:pg_notification, self(), channel, payload})
        {:noreply, state}

      {:error, %{fatal: true}} = reply when state.current == nil ->
        _ = reply
        {:noreply, state}

      reply ->
        {:noreply, finish(state, reply)}
    end
  end

  def handle_info({:cancel, ref}, %{current: {_, ref, _}, port: port} = state) when port != nil do
    Port.command(port, Protocol.cancel())
    {:noreply, state}
  end

  def handle_info({:cancel, _ref}, state), do: {:noreply, state}

  def handle_info({port, {:exit_status, status}}, %{port: port} = state) do
    Logger.debug("pg_port exited with status #{status}")
    {:noreply, lost(state)}
  end

  def handle_info({:EXIT, port, _reason}, %{port: port} = state), do: {:noreply, lost(state)}
  def handle_info({:EXIT, _other, _reason}, state), do: {:noreply, state}
  def handle_info(:reconnect, state), do: {:noreply, connect(state)}
  def handle_info(_msg, state), do: {:noreply, state}

  @impl true
  def terminate(_reason, %{port: port}) when port != nil do
    Port.close(port)
  catch
    _, _ -> :ok
  end

  def terminate(_reason, _state), do: :ok

  # ---- internals ----

  defp connect(state) do
    exe = Application.app_dir(:commanded_pg_event_store, "priv/pg_port")
    port = Port.open({:spawn_executable, exe}, [:binary, {:packet, 4}, :exit_status, :use_stdio])
    {:os_pid, os_pid} = Port.info(port, :os_pid)
    Port.command(port, Protocol.connect(state.conninfo))

    receive do
      {^port, {:data, data}} ->
        case Protocol.decode(data) do
          {:connected, _version} ->
            if state.listener, do: send(state.listener, {:pg_connected, self()})
            %{state | port: port, os_pid: os_pid, backoff: 100}

          {:error, error} ->
            Logger.warning("event store connection failed: #{error.message}")
            close_port(port)
            retry(state)
        end

      {^port, {:exit_status, _}} ->
        retry(state)
    after
      @connect_timeout ->
        close_port(port)
        retry(state)
    end
  end

  defp close_port(port) do
    Port.close(port)

    receive do
      {^port, {:exit_status, _}} -> :ok
    after
      0 -> :ok
    end
  catch
    _, _ -> :ok
  end

  defp retry(state) do
    Process.send_after(self(), :reconnect, state.backoff)
    %{state | port: nil, os_pid: nil, backoff: min(state.backoff * 2, 2_000)}
  end

  defp send_query(state, {from, frame, timeout}) do
    ref = make_ref()
    timer = Process.send_after(self(), {:cancel, ref}, timeout)
    Port.command(state.port, frame)
    %{state | current: {from, ref, timer}}
  end

  defp finish(%{current: nil} = state, _reply), do: state

  defp finish(%{current: {from, _ref, timer}} = state, reply) do
    Process.cancel_timer(timer)

    reply =
      case reply do
        {:result, result} -> {:ok, result}
        {:error, e} -> {:error, Map.delete(e, :fatal)}
      end

    GenServer.reply(from, reply)
    next(%{state | current: nil})
  end

  defp next(state) do
    case :queue.out(state.queue) do
      {{:value, q}, rest} -> send_query(%{state | queue: rest}, q)
      {:empty, _} -> state
    end
  end

  defp lost(state) do
    error = {:error, Map.put(not_connected(), :message, "connection to the server was lost")}
    if state.current, do: finish(%{state | queue: :queue.new()}, error)

    for {from, _, _} <- :queue.to_list(state.queue), do: GenServer.reply(from, error)
    retry(%{state | current: nil, queue: :queue.new(), port: nil})
  end

  defp not_connected() do
    %{sqlstate: "08006", message: "not connected to the server", detail: nil, hint: nil}
  end
end
