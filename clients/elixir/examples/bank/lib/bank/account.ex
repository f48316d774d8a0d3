defmodule Bank.Account do
  @moduledoc """
  The bank-account aggregate, written as a Commanded aggregate is:
  `execute/2` decides (returns events or `{:error, reason}`), `apply/2`
  folds an event into the state.
  """
  alias Bank.Commands.{DepositMoney, OpenAccount, WithdrawMoney}
  alias Bank.Events.{AccountOpened, MoneyDeposited, MoneyWithdrawn}

  defstruct [:account_number, balance: 0, open?: false]

  @doc "Decides what a command does to the account."
  def execute(%__MODULE__{open?: true}, %OpenAccount{}), do: {:error, :account_already_open}

  def execute(%__MODULE__{}, %OpenAccount{account_number: n, initial_balance: b}) when b >= 0,
    do: %AccountOpened{account_number: n, initial_balance: b}

  def execute(%__MODULE__{open?: false}, _command), do: {:error, :account_not_open}

  def execute(%__MODULE__{balance: b}, %DepositMoney{account_number: n, amount: a}) when a > 0,
    do: %MoneyDeposited{account_number: n, amount: a, balance: b + a}

  def execute(%__MODULE__{balance: b}, %WithdrawMoney{amount: a}) when a > b,
    do: {:error, :insufficient_funds}

  def execute(%__MODULE__{balance: b}, %WithdrawMoney{account_number: n, amount: a}) when a > 0,
    do: %MoneyWithdrawn{account_number: n, amount: a, balance: b - a}

  @doc "Folds one event into the state."
  def apply(%__MODULE__{} = s, %AccountOpened{account_number: n, initial_balance: b}),
    do: %{s | account_number: n, balance: b, open?: true}

  def apply(%__MODULE__{} = s, %MoneyDeposited{balance: b}), do: %{s | balance: b}
  def apply(%__MODULE__{} = s, %MoneyWithdrawn{balance: b}), do: %{s | balance: b}
end
