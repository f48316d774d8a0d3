unless Code.ensure_loaded?(Commanded.EventStore.SnapshotData) do
  defmodule Commanded.EventStore.SnapshotData do
    @moduledoc """
    A snapshot of an aggregate (Commanded's struct, declared here only when
    Commanded is not loaded).
    """
    @type t :: %__MODULE__{
            source_uuid: String.t(),
            source_version: non_neg_integer,
            source_type: String.t(),
            data: term,
            metadata: map | nil,
            created_at: DateTime.t() | nil
          }
    defstruct [:source_uuid, :source_version, :source_type, :data, :metadata, :created_at]
  end
end
