unless Code.ensure_loaded?(Commanded.EventStore.RecordedEvent) do
  defmodule Commanded.EventStore.RecordedEvent do
    @moduledoc """
    An event read back from the store (Commanded's struct, declared here only
    when Commanded is not loaded). `event_number` is the global position.
    """
    @type t :: %__MODULE__{
            event_id: String.t(),
            event_number: non_neg_integer,
            stream_id: String.t(),
            stream_version: non_neg_integer,
            causation_id: String.t() | nil,
            correlation_id: String.t() | nil,
            event_type: String.t(),
            data: term,
            metadata: map,
            created_at: DateTime.t()
          }
    defstruct [
      :event_id,
      :event_number,
      :stream_id,
      :stream_version,
      :causation_id,
      :correlation_id,
      :event_type,
      :data,
      :created_at,
      metadata: %{}
    ]
  end
end
