defmodule CommandedPgEventStore.SQL do
  @moduledoc """
  The statements the adapter sends (all prepared once per connection) and
  the mapping of rows to `Commanded.EventStore.RecordedEvent`s.
  """

  alias Commanded.EventStore.RecordedEvent

  @columns "global_position, stream_name, stream_version, event_id, event_type, data, " <>
             "metadata, causation_id, correlation_id, created_at"

  # The batch travels as one jsonb array (one parameter every driver binds),
  # unpacked into event_store.new_event[] in its original order; a NULL
  # event_id makes the server generate a time-ordered UUID.
  @doc false
  def append do
    "SELECT event_store.append_to_stream($1::text, $2::bigint, ARRAY(" <>
      "SELECT ROW(NULL::uuid, e->>'event_type', e->'data', e->'metadata', " <>
      "(e->>'causation_id')::uuid, (e->>'correlation_id')::uuid)::event_store.new_event " <>
      "FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS t(e, n) ORDER BY n))"
  end

  @doc false
  def stream_version, do: "SELECT event_store.stream_version($1::text)"

  @doc false
  def read_stream_forward,
    do: "SELECT #{@columns} FROM event_store.read_stream_forward($1::text, $2::bigint, $3::int)"

  @doc false
  def read_all_forward,
    do: "SELECT #{@columns} FROM event_store.read_all_forward($1::bigint, $2::int)"

  @doc false
  def read_subscription,
    do: "SELECT #{@columns} FROM event_store.read_subscription($1::text, $2::int)"

  @doc false
  def create_subscription,
    do: "SELECT checkpoint FROM event_store.create_subscription($1::text, $2::text, $3::bigint)"

  @doc false
  def ack, do: "SELECT event_store.ack($1::text, $2::bigint)"

  @doc false
  def delete_subscription, do: "SELECT event_store.delete_subscription($1::text)"

  @doc """
  The gap-free `$all` horizon (`wait_for_events` of 1.2 with no wait): no
  event at or below it can still commit. Before 1.2, the highest visible
  position, which an append still in flight can be below.
  """
  @spec head(GenServer.server()) :: {:ok, non_neg_integer} | {:error, term}
  def head(pool) do
    case CommandedPgEventStore.Pool.query(
           pool,
           "SELECT event_store.wait_for_events(0, interval '0')",
           []
         ) do
      {:ok, %{rows: [[pos]]}} ->
        {:ok, pos}

      {:error, %{sqlstate: "42883"}} ->
        sql = "SELECT coalesce(max(global_position), 0) FROM event_store.events"

        with {:ok, %{rows: [[pos]]}} <- CommandedPgEventStore.Pool.query(pool, sql, []),
             do: {:ok, pos}

      {:error, e} ->
        {:error, e}
    end
  end

  @doc false
  def stream_position,
    do: "SELECT global_position FROM event_store.read_stream_forward($1::text, $2::bigint, 1)"

  @doc false
  def record_snapshot do
    "SELECT event_store.record_snapshot($1::text, $2::bigint, $3::text, $4::jsonb, $5::jsonb)"
  end

  @doc false
  def read_snapshot do
    "SELECT source_id, source_version, source_type, data, metadata, created_at " <>
      "FROM event_store.read_snapshot($1::text)"
  end

  @doc false
  def delete_snapshot, do: "SELECT event_store.delete_snapshot($1::text)"

  @doc "The JSON batch for `append/0`: serialized data is embedded, not re-encoded."
  @spec batch([Commanded.EventStore.EventData.t()], module) :: iodata
  def batch(events, serializer) do
    items =
      Enum.map(events, fn e ->
        [
          "{\"event_type\":",
          :jiffy.encode(to_string(e.event_type)),
          ",\"data\":",
          serializer.serialize(e.data),
          metadata(e.metadata, serializer),
          uuid("causation_id", e.causation_id),
          uuid("correlation_id", e.correlation_id),
          "}"
        ]
      end)

    ["[", Enum.intersperse(items, ","), "]"]
  end

  defp metadata(nil, _), do: []
  defp metadata(meta, _) when meta == %{}, do: []
  defp metadata(meta, serializer), do: [",\"metadata\":", serializer.serialize(meta)]

  defp uuid(_key, nil), do: []
  defp uuid(key, id), do: [",\"", key, "\":", :jiffy.encode(to_string(id))]

  @doc "A row of `@columns` as a RecordedEvent."
  @spec recorded_event(list, module) :: RecordedEvent.t()
  def recorded_event(
        [pos, stream, version, id, type, data, meta, causation, correlation, created],
        serializer
      ) do
    %RecordedEvent{
      event_id: id,
      event_number: pos,
      stream_id: stream,
      stream_version: version,
      causation_id: causation,
      correlation_id: correlation,
      event_type: type,
      data: if(data, do: serializer.deserialize(data, type: type)),
      metadata: if(meta, do: serializer.deserialize(meta, []), else: %{}),
      created_at: created
    }
  end
end
