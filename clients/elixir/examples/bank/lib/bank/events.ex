defmodule Bank.Events do
  @moduledoc "The bank's events; their event type is the module name, as in Commanded."

  defmodule AccountOpened do
    @moduledoc false
    defstruct [:account_number, :initial_balance]
  end

  defmodule MoneyDeposited do
    @moduledoc false
    defstruct [:account_number, :amount, :balance]
  end

  defmodule MoneyWithdrawn do
    @moduledoc false
    defstruct [:account_number, :amount, :balance]
  end
end
