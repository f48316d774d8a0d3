defmodule Bank.Commands do
  @moduledoc "The bank's commands (plain structs, as Commanded routes them)."

  defmodule OpenAccount do
    @moduledoc "Open an account with an initial balance."
    defstruct [:account_number, initial_balance: 0]
  end

  defmodule DepositMoney do
    @moduledoc "Deposit an amount."
    defstruct [:account_number, :amount]
  end

  defmodule WithdrawMoney do
    @moduledoc "Withdraw an amount; refused when the balance would go negative."
    defstruct [:account_number, :amount]
  end
end
