defmodule Bank.Router do
  @moduledoc """
  Dispatches a command to its aggregate the way Commanded's router and
  aggregate process do, through the event store adapter's callbacks only:
  rebuild the account from its latest snapshot plus `stream_forward/4`, run
  `execute/2`, `append_to_stream/4` with the version it was rebuilt at (a
  concurrent writer makes that `{:error, :wrong_expected_version}`: rebuild
  and retry, up to 25 times), and `record_snapshot/2` every `@snapshot_every` events.

  In a Commanded application this module is `use Commanded.Commands.Router`
  plus `dispatch ..., to: Bank.Account, identity: :account_number`.
  """
  alias Bank.Account
  alias Commanded.EventStore.{EventData, SnapshotData}

  @adapter Commanded.EventStore.Adapters.PgEventStore
  @snapshot_every 10

  @doc "Runs `command`: `:ok` or `{:error, reason}`."
  def dispatch(meta, command, retries \\ 25) do
    stream = "bank-account-" <> command.account_number
    {account, version} = rebuild(meta, stream)

    case Account.execute(account, command) do
      {:error, reason} ->
        {:error, reason}

      event ->
        data = %EventData{
          event_type: Atom.to_string(event.__struct__),
          data: event,
          metadata: %{"command" => Atom.to_string(command.__struct__)}
        }

        case @adapter.append_to_stream(meta, stream, version, [data]) do
          :ok ->
            maybe_snapshot(meta, stream, Account.apply(account, event), version + 1)

          {:error, :wrong_expected_version} when retries > 0 ->
            Process.sleep(:rand.uniform(5))
            dispatch(meta, command, retries - 1)

          {:error, reason} ->
            {:error, reason}
        end
    end
  end

  @doc "The account and its version: the snapshot, then the events after it."
  def rebuild(meta, stream) do
    {state, version} =
      case @adapter.read_snapshot(meta, stream) do
        {:ok, %SnapshotData{data: %Account{} = account, source_version: v}} -> {account, v}
        {:error, :snapshot_not_found} -> {%Account{}, 0}
      end

    case @adapter.stream_forward(meta, stream, version + 1, 100) do
      {:error, :stream_not_found} ->
        {state, version}

      events ->
        Enum.reduce(events, {state, version}, fn e, {s, _v} ->
          {Account.apply(s, e.data), e.stream_version}
        end)
    end
  end

  defp maybe_snapshot(meta, stream, account, version) when rem(version, @snapshot_every) == 0 do
    :ok =
      @adapter.record_snapshot(meta, %SnapshotData{
        source_uuid: stream,
        source_version: version,
        source_type: Atom.to_string(Account),
        data: account
      })
  end

  defp maybe_snapshot(_meta, _stream, _account, _version), do: :ok
end
