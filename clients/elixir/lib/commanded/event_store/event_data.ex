unless Code.ensure_loaded?(Commanded.EventStore.EventData) do
  defmodule Commanded.EventStore.EventData do
    @moduledoc """
    An event to append (Commanded's struct, declared here only when Commanded
    is not loaded).
    """
    @type t :: %__MODULE__{
            causation_id: String.t() | nil,
            correlation_id: String.t() | nil,
            event_type: String.t(),
            data: term,
            metadata: map | nil
          }
    defstruct [:causation_id, :correlation_id, :event_type, :data, :metadata]
  end
end
