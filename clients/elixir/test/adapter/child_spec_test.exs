defmodule CommandedPgEventStore.ChildSpecTest do
  use ExUnit.Case, async: true

  alias Commanded.EventStore.Adapters.PgEventStore, as: Adapter
  alias CommandedPgEventStore.{Config, Connection}
  alias CommandedPgEventStore.Test.Store

  test "the adapter implements Commanded's behaviour" do
    behaviours = Adapter.__info__(:attributes) |> Keyword.get_values(:behaviour) |> List.flatten()
    assert Commanded.EventStore.Adapter in behaviours

    for {name, arity} <- Commanded.EventStore.Adapter.behaviour_info(:callbacks) do
      assert function_exported?(Adapter, name, arity), "#{name}/#{arity}"
    end

    assert length(Commanded.EventStore.Adapter.behaviour_info(:callbacks)) == 11
  end

  test "child_spec/2 gives children and meta; two named stores run side by side" do
    url = "postgresql:///#{System.get_env("PGDATABASE", "")}"

    {:ok, children, meta} =
      Adapter.child_spec(SideApp, name: SideStore, pool_size: 1, read_batch_size: 7, url: url)

    assert meta.pool_size == 1 and meta.read_batch_size == 7
    assert meta.conninfo == url

    start_supervised!(%{
      id: SideStore,
      start: {Supervisor, :start_link, [children, [strategy: :one_for_one]]}
    })

    s = Store.unique("side")
    assert :ok == wait_ok(fn -> Adapter.append_to_stream(meta, s, 0, Store.events(2)) end, 100)
    # the same database through the test store's pool
    assert 2 == Store.meta() |> Adapter.stream_forward(s) |> Enum.count()
  end

  test "config keys become a quoted libpq conninfo" do
    assert Config.conninfo(
             hostname: "db",
             port: 5433,
             database: "app",
             username: "me",
             password: "it's \\ secret"
           ) ==
             "host='db' port='5433' dbname='app' user='me' password='it\\'s \\\\ secret'"

    assert Config.conninfo(url: "postgresql://h/db", conninfo: [sslmode: "verify-full"]) ==
             "postgresql://h/db?sslmode=verify-full"

    assert Config.conninfo(database: "app", conninfo: [sslmode: "require"]) ==
             "dbname='app' sslmode='require'"

    assert Config.conninfo([]) == ""
  end

  test "a conninfo the server refuses: the connection keeps retrying and queries fail with 08006" do
    {:ok, conn} = Connection.start_link(conninfo: "host=/nonexistent port=1")
    assert {:error, %{sqlstate: "08006"}} = Connection.query(conn, "SELECT 1", [])
  end

  defp wait_ok(_fun, 0), do: :gave_up

  defp wait_ok(fun, n) do
    case fun.() do
      :ok ->
        :ok

      _ ->
        Process.sleep(50)
        wait_ok(fun, n - 1)
    end
  end
end
