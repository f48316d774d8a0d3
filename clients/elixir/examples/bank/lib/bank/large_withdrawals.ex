defmodule Bank.LargeWithdrawals do
  @moduledoc """
  An event handler with concurrency: `concurrency_limit: 2` processes share
  the subscription, `partition_by` the account keeps each account's events
  in order on one of them. It sends `{:large_withdrawal, account, amount}`
  to `:notify` for every withdrawal of 1,000 or more.
  """
  alias Bank.Events.MoneyWithdrawn

  @adapter Commanded.EventStore.Adapters.PgEventStore

  @doc "Starts the handler's `concurrency` processes; returns their pids."
  def start(meta, notify, opts \\ []) do
    n = Keyword.get(opts, :concurrency, 2)
    name = Keyword.get(opts, :handler_name, "Bank.LargeWithdrawals")

    sub_opts = [
      concurrency_limit: n,
      partition_by: fn event -> event.stream_id end
    ]

    for _ <- 1..n do
      spawn_link(fn ->
        {:ok, sub} = @adapter.subscribe_to(meta, :all, name, self(), :current, sub_opts)
        loop(meta, sub, notify)
      end)
    end
  end

  defp loop(meta, sub, notify) do
    receive do
      {:subscribed, _} ->
        send(notify, {:handler_subscribed, self()})

      {:events, events} ->
        for event <- events do
          case event.data do
            %MoneyWithdrawn{account_number: n, amount: a} when a >= 1_000 ->
              send(notify, {:large_withdrawal, n, a})

            _ ->
              :ok
          end

          :ok = @adapter.ack_event(meta, sub, event)
        end
    end

    loop(meta, sub, notify)
  end
end
