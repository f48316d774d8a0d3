defmodule CommandedPgEventStore.Notifier do
  @moduledoc """
  The node's one LISTEN connection. Every append's notification
  (`{"stream", "first", "last", "position"}` on channel `event_store`) is
  fanned out to the processes registered for `:all` or for that stream as
  `{:pg_event_store, :notify, stream, position}`; after every (re)connect
  they all get `{:pg_event_store, :reconnected}` so they catch up on
  whatever was appended while nobody was listening.
  """
  use GenServer
  require Logger

  alias CommandedPgEventStore.Connection

  @doc false
  def start_link(meta), do: GenServer.start_link(__MODULE__, meta, name: meta.notifier)

  @doc "Registers the caller for notifications about `:all` or one stream."
  @spec listen(map, :all | String.t()) :: :ok
  def listen(meta, :all), do: register(meta, :all)
  def listen(meta, stream) when is_binary(stream), do: register(meta, {:stream, stream})

  defp register(meta, key) do
    {:ok, _} = Registry.register(meta.registry, key, nil)
    :ok
  end

  @impl true
  def init(meta) do
    {:ok, conn} = Connection.start_link(conninfo: meta.conninfo, listener: self())
    {:ok, %{meta: meta, conn: conn}}
  end

  @impl true
  def handle_info({:pg_connected, conn}, state) do
    case Connection.query(conn, "LISTEN event_store", [], prepare: false) do
      {:ok, _} -> :ok
      {:error, e} -> Logger.warning("LISTEN event_store failed: #{e.message}")
    end

    pids = Registry.select(state.meta.registry, [{{:_, :"$1", :_}, [], [:"$1"]}])
    for pid <- Enum.uniq(pids), do: send(pid, {:pg_event_store, :reconnected})
    {:noreply, state}
  end

  def handle_info({:pg_notification, _conn, "event_store", payload}, state) do
    case decode(payload) do
      {stream, position} ->
        msg = {:pg_event_store, :notify, stream, position}
        Registry.dispatch(state.meta.registry, :all, &for({pid, _} <- &1, do: send(pid, msg)))

        Registry.dispatch(
          state.meta.registry,
          {:stream, stream},
          &for({pid, _} <- &1, do: send(pid, msg))
        )

      nil ->
        :ok
    end

    {:noreply, state}
  end

  def handle_info(_msg, state), do: {:noreply, state}

  defp decode(payload) do
    case :jiffy.decode(payload, [:return_maps]) do
      %{"stream" => stream, "position" => position} when is_integer(position) ->
        {stream, position}

      _ ->
        nil
    end
  catch
    _, _ -> nil
  end
end
