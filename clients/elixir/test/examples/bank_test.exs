defmodule Bank.ExampleTest do
  use ExUnit.Case, async: true

  alias Bank.Commands.{DepositMoney, OpenAccount, WithdrawMoney}
  alias CommandedPgEventStore.Test.Store

  test "accounts, concurrent deposits, a projection and a concurrent handler" do
    meta = Store.meta()
    tag = Store.unique("bank")
    table = :"balances_#{System.unique_integer([:positive])}"
    handler = "Bank.LargeWithdrawals-" <> tag

    for pid <- Bank.LargeWithdrawals.start(meta, self(), handler_name: handler),
        do: assert_receive({:handler_subscribed, ^pid}, 3_000)

    {:ok, _} =
      Bank.Balances.start_link(
        meta: meta,
        name: table,
        handler_name: "Bank.Balances-" <> tag,
        start_from: :current
      )

    accounts = for i <- 1..4, do: "#{tag}-#{i}"

    for a <- accounts,
        do:
          assert(
            :ok ==
              Bank.Router.dispatch(meta, %OpenAccount{account_number: a, initial_balance: 100})
          )

    assert {:error, :account_already_open} ==
             Bank.Router.dispatch(meta, %OpenAccount{account_number: hd(accounts)})

    assert {:error, :account_not_open} ==
             Bank.Router.dispatch(meta, %DepositMoney{account_number: tag <> "-x", amount: 1})

    # 25 deposits per account, 100 at once: expected-version conflicts are retried
    accounts
    |> Enum.flat_map(fn a ->
      for _ <- 1..25,
          do:
            Task.async(fn ->
              Bank.Router.dispatch(meta, %DepositMoney{account_number: a, amount: 100})
            end)
    end)
    |> Enum.each(&assert(Task.await(&1, 30_000) == :ok))

    [a1 | _] = accounts

    assert {:error, :insufficient_funds} ==
             Bank.Router.dispatch(meta, %WithdrawMoney{account_number: a1, amount: 1_000_000})

    assert :ok == Bank.Router.dispatch(meta, %WithdrawMoney{account_number: a1, amount: 1_500})

    # the aggregate (snapshot + events) and the projection agree
    {account, version} = Bank.Router.rebuild(meta, "bank-account-" <> a1)
    assert account.balance == 100 + 25 * 100 - 1_500
    assert version == 27

    assert {:ok, %{source_version: 20}} =
             Commanded.EventStore.Adapters.PgEventStore.read_snapshot(meta, "bank-account-" <> a1)

    wait_until(fn -> Bank.Balances.balance(table, a1) == 1_100 end)
    for a <- tl(accounts), do: wait_until(fn -> Bank.Balances.balance(table, a) == 2_600 end)

    assert_receive {:large_withdrawal, ^a1, 1_500}, 3_000
  end

  defp wait_until(fun, n \\ 100) do
    cond do
      fun.() -> :ok
      n == 0 -> flunk("condition not met")
      true -> Process.sleep(50) && wait_until(fun, n - 1)
    end
  end
end
