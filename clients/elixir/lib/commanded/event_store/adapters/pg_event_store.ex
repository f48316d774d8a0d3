defmodule Commanded.EventStore.Adapters.PgEventStore do
  @moduledoc """
  A Commanded event store adapter for the `event_store` PostgreSQL extension,
  over libpq.

      config :my_app, MyApp.Application,
        event_store: [
          adapter: Commanded.EventStore.Adapters.PgEventStore,
          hostname: "localhost",
          database: "my_app",
          username: "my_app",
          password: "…",
          pool_size: 10
        ]

  Config: `url` or `hostname`/`port`/`database`/`username`/`password`,
  `conninfo` (extra libpq keywords, e.g. `sslmode`), `pool_size` (default
  10), `serializer` (default `CommandedPgEventStore.JsonSerializer`),
  `read_batch_size` for subscriptions (default 500) and `name`.
  """
  @behaviour Commanded.EventStore.Adapter

  alias Commanded.EventStore.{RecordedEvent, SnapshotData}
  alias CommandedPgEventStore.{Config, Pool, Publisher, SQL, Subscription}

  @impl Commanded.EventStore.Adapter
  def child_spec(application, config) do
    name = Keyword.get(config, :name, application)
    prefix = Module.concat([name, PgEventStore])

    meta = %{
      name: prefix,
      conninfo: Config.conninfo(config),
      pool: Module.concat(prefix, Pool),
      registry: Module.concat(prefix, Registry),
      notifier: Module.concat(prefix, Notifier),
      locks: Module.concat(prefix, Locks),
      names: Module.concat(prefix, Names),
      publisher: Module.concat(prefix, Publisher),
      subscriptions: Module.concat(prefix, Subscriptions),
      serializer: Keyword.get(config, :serializer, CommandedPgEventStore.JsonSerializer),
      read_batch_size: Keyword.get(config, :read_batch_size, 500),
      pool_size: Keyword.get(config, :pool_size, 10)
    }

    {:ok, [{CommandedPgEventStore.Supervisor, meta}], meta}
  end

  @impl Commanded.EventStore.Adapter
  def append_to_stream(meta, stream_uuid, expected_version, events) do
    params = [
      {:text, stream_uuid},
      {:int8, expected(expected_version)},
      {:jsonb, SQL.batch(events, meta.serializer)}
    ]

    case Pool.query(meta.pool, SQL.append(), params) do
      {:ok, _} -> :ok
      {:error, %{sqlstate: "ES001"}} -> {:error, version_error(expected_version)}
      {:error, %{sqlstate: "ES002"}} -> {:error, :stream_deleted}
      {:error, error} -> {:error, error}
    end
  end

  defp expected(:any_version), do: -1
  defp expected(:no_stream), do: 0
  defp expected(:stream_exists), do: -2
  defp expected(n) when is_integer(n) and n >= 0, do: n

  defp version_error(:no_stream), do: :stream_exists
  defp version_error(:stream_exists), do: :stream_not_found
  defp version_error(_), do: :wrong_expected_version

  @impl Commanded.EventStore.Adapter
  def stream_forward(meta, stream_uuid, start_version \\ 0, read_batch_size \\ 1_000) do
    # The first batch is read now, to answer :stream_not_found; the rest as
    # the enumerable is consumed.
    from = max(start_version, 1)

    case read_batch(meta, stream_uuid, from, read_batch_size) do
      {:ok, [], _next} ->
        case Pool.query(meta.pool, SQL.stream_version(), [{:text, stream_uuid}]) do
          {:ok, %{rows: [[0]]}} -> {:error, :stream_not_found}
          {:ok, _} -> []
          {:error, %{sqlstate: "ES002"}} -> {:error, :stream_deleted}
          {:error, error} -> {:error, error}
        end

      {:ok, events, next} ->
        Stream.concat(events, lazy_stream(meta, stream_uuid, next, read_batch_size))

      {:error, %{sqlstate: "ES002"}} ->
        {:error, :stream_deleted}

      {:error, error} ->
        {:error, error}
    end
  end

  defp read_batch(meta, stream_uuid, from, batch) do
    params = [{:text, stream_uuid}, {:int8, from}, {:int4, batch}]

    with {:ok, %{rows: rows}} <- Pool.query(meta.pool, SQL.read_stream_forward(), params) do
      events = Enum.map(rows, &SQL.recorded_event(&1, meta.serializer))

      next =
        if length(rows) < batch or rows == [],
          do: :done,
          else: List.last(events).stream_version + 1

      {:ok, events, next}
    end
  end

  defp lazy_stream(meta, stream_uuid, from, batch) do
    Stream.resource(
      fn -> from end,
      fn
        :done ->
          {:halt, :done}

        from ->
          case read_batch(meta, stream_uuid, from, batch) do
            {:ok, events, next} ->
              {events, next}

            {:error, error} ->
              raise "reading stream #{inspect(stream_uuid)} failed: #{inspect(error)}"
          end
      end,
      fn _ -> :ok end
    )
  end

  @impl Commanded.EventStore.Adapter
  def subscribe(meta, stream) when stream == :all or is_binary(stream) do
    Publisher.subscribe(meta.publisher, stream, self())
  end

  @impl Commanded.EventStore.Adapter
  def subscribe_to(meta, stream, subscription_name, subscriber, start_from, opts \\ [])
      when (stream == :all or is_binary(stream)) and is_binary(subscription_name) and
             is_pid(subscriber) do
    Subscription.subscribe(meta, stream, subscription_name, subscriber, start_from, opts)
  end

  @impl Commanded.EventStore.Adapter
  def ack_event(_meta, subscription, %RecordedEvent{event_number: position})
      when is_pid(subscription) do
    Subscription.ack(subscription, position)
  end

  @impl Commanded.EventStore.Adapter
  def unsubscribe(_meta, subscription) when is_pid(subscription) do
    Subscription.unsubscribe(subscription, self())
  end

  @impl Commanded.EventStore.Adapter
  def delete_subscription(meta, _stream, subscription_name) do
    Subscription.stop_local(meta, subscription_name)

    case Pool.query(meta.pool, SQL.delete_subscription(), [{:text, subscription_name}]) do
      {:ok, _} -> :ok
      {:error, %{sqlstate: "ES004"}} -> {:error, :subscription_not_found}
      {:error, error} -> {:error, error}
    end
  end

  @impl Commanded.EventStore.Adapter
  def read_snapshot(meta, source_uuid) do
    case Pool.query(meta.pool, SQL.read_snapshot(), [{:text, source_uuid}]) do
      {:ok, %{rows: [[id, version, type, data, metadata, created_at]]}} when id != nil ->
        {:ok,
         %SnapshotData{
           source_uuid: id,
           source_version: version,
           source_type: type,
           data: meta.serializer.deserialize(data, type: type),
           metadata: if(metadata, do: meta.serializer.deserialize(metadata, []), else: %{}),
           created_at: created_at
         }}

      {:ok, _} ->
        {:error, :snapshot_not_found}

      {:error, error} ->
        {:error, error}
    end
  end

  @impl Commanded.EventStore.Adapter
  def record_snapshot(meta, %SnapshotData{} = snapshot) do
    params = [
      {:text, snapshot.source_uuid},
      {:int8, snapshot.source_version},
      {:text, to_string(snapshot.source_type)},
      {:jsonb, meta.serializer.serialize(snapshot.data)},
      {:jsonb, if(snapshot.metadata, do: meta.serializer.serialize(snapshot.metadata))}
    ]

    case Pool.query(meta.pool, SQL.record_snapshot(), params) do
      {:ok, _} -> :ok
      {:error, error} -> {:error, error}
    end
  end

  @impl Commanded.EventStore.Adapter
  def delete_snapshot(meta, source_uuid) do
    case Pool.query(meta.pool, SQL.delete_snapshot(), [{:text, source_uuid}]) do
      {:ok, _} -> :ok
      {:error, error} -> {:error, error}
    end
  end
end
