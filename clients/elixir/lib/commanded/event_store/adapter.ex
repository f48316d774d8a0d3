unless Code.ensure_loaded?(Commanded.EventStore.Adapter) do
  defmodule Commanded.EventStore.Adapter do
    @moduledoc """
    Commanded's event store adapter behaviour, declared here only when
    Commanded itself is not loaded (same callbacks, arities and returns).
    """

    alias Commanded.EventStore.{EventData, RecordedEvent, SnapshotData}

    @type adapter_meta :: map
    @type application :: module
    @type config :: Keyword.t()
    @type stream_uuid :: String.t()
    @type start_from :: :origin | :current | integer
    @type expected_version :: :any_version | :no_stream | :stream_exists | non_neg_integer
    @type subscription_name :: String.t()
    @type subscription :: any
    @type subscriber :: pid
    @type source_uuid :: String.t()
    @type error :: term
    @type options :: Keyword.t()

    @callback child_spec(application, config) ::
                {:ok, [:supervisor.child_spec() | {module, term} | module], adapter_meta}

    @callback append_to_stream(adapter_meta, stream_uuid, expected_version, [EventData.t()]) ::
                :ok | {:error, :wrong_expected_version} | {:error, error}

    @callback stream_forward(
                adapter_meta,
                stream_uuid,
                start_version :: non_neg_integer,
                read_batch_size :: non_neg_integer
              ) :: Enumerable.t() | {:error, :stream_not_found} | {:error, error}

    @callback subscribe(adapter_meta, stream_uuid | :all) :: :ok | {:error, error}

    @callback subscribe_to(
                adapter_meta,
                stream_uuid | :all,
                subscription_name,
                subscriber,
                start_from,
                options
              ) ::
                {:ok, subscription} | {:error, :subscription_already_exists} | {:error, error}

    @callback ack_event(adapter_meta, pid, RecordedEvent.t()) :: :ok

    @callback unsubscribe(adapter_meta, subscription) :: :ok

    @callback delete_subscription(adapter_meta, stream_uuid | :all, subscription_name) ::
                :ok | {:error, :subscription_not_found} | {:error, error}

    @callback read_snapshot(adapter_meta, source_uuid) ::
                {:ok, SnapshotData.t()} | {:error, :snapshot_not_found}

    @callback record_snapshot(adapter_meta, SnapshotData.t()) :: :ok | {:error, error}

    @callback delete_snapshot(adapter_meta, source_uuid) :: :ok | {:error, error}
  end
end
