defmodule Bank.Balances do
  @moduledoc """
  A projection: account number → balance, in an ETS table, built by an
  event handler the way `use Commanded.Event.Handler` runs one: a
  process that calls `subscribe_to/6` on `:all` from `:origin` (or
  `start_from:`) under its
  handler name, waits for `{:subscribed, subscription}`, and for each
  `{:events, events}` handles every event in order and acks it with
  `ack_event/3`. Restarted, it resumes after the last acknowledged event.
  """
  use GenServer

  alias Bank.Events.{AccountOpened, MoneyDeposited, MoneyWithdrawn}

  @adapter Commanded.EventStore.Adapters.PgEventStore

  def start_link(opts),
    do: GenServer.start_link(__MODULE__, opts, name: Keyword.get(opts, :name, __MODULE__))

  @doc "The projected balance of an account (nil if unknown)."
  def balance(table \\ __MODULE__, account) do
    case :ets.lookup(table, account) do
      [{^account, balance, _version}] -> balance
      [] -> nil
    end
  end

  @impl true
  def init(opts) do
    meta = Keyword.fetch!(opts, :meta)

    table =
      :ets.new(Keyword.get(opts, :name, __MODULE__), [
        :named_table,
        :public,
        read_concurrency: true
      ])

    name = Keyword.get(opts, :handler_name, "Bank.Balances")
    start_from = Keyword.get(opts, :start_from, :origin)
    {:ok, sub} = @adapter.subscribe_to(meta, :all, name, self(), start_from, [])
    {:ok, %{meta: meta, table: table, subscription: sub}}
  end

  @impl true
  def handle_info({:subscribed, _subscription}, state), do: {:noreply, state}

  def handle_info({:events, events}, state) do
    for event <- events do
      handle(event.data, event.stream_version, state.table)
      :ok = @adapter.ack_event(state.meta, state.subscription, event)
    end

    {:noreply, state}
  end

  # Idempotent: a redelivered event (at-least-once) carries a version
  # already applied and changes nothing.
  defp handle(%AccountOpened{account_number: n, initial_balance: b}, v, t), do: put(t, n, b, v)
  defp handle(%MoneyDeposited{account_number: n, balance: b}, v, t), do: put(t, n, b, v)
  defp handle(%MoneyWithdrawn{account_number: n, balance: b}, v, t), do: put(t, n, b, v)
  defp handle(_other, _v, _t), do: :ok

  defp put(table, account, balance, version) do
    case :ets.lookup(table, account) do
      [{_, _, seen}] when seen >= version -> :ok
      _ -> :ets.insert(table, {account, balance, version})
    end
  end
end
