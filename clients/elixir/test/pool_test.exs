defmodule CommandedPgEventStore.PoolTest do
  use ExUnit.Case, async: true

  alias CommandedPgEventStore.{Connection, Pool}
  alias CommandedPgEventStore.Test.Store

  setup do
    name = :"pool_#{System.unique_integer([:positive])}"
    start_supervised!({Pool, name: name, pool_size: 2, conninfo: ""})
    %{pool: name}
  end

  test "hands out pool_size distinct connections and queues the next caller", %{pool: pool} do
    a = Pool.checkout(pool)
    b = Pool.checkout(pool)
    assert a != b
    Store.wait_connected(a, 100)
    Store.wait_connected(b, 100)
    assert catch_exit(Pool.checkout(pool, 100))
    Pool.checkin(pool, a)
    # the timed-out waiter above is skipped; a new caller gets the connection
    assert Pool.checkout(pool) in [a, b]
  end

  test "takes a connection back when its borrower dies", %{pool: pool} do
    parent = self()

    {pid, ref} =
      spawn_monitor(fn ->
        send(parent, {:got, Pool.checkout(pool)})
        Pool.checkout(pool)
        exit(:boom)
      end)

    assert_receive {:got, _}
    assert_receive {:DOWN, ^ref, :process, ^pid, :boom}
    conns = for _ <- 1..2, do: Pool.checkout(pool)
    assert length(Enum.uniq(conns)) == 2
  end

  test "runs queries concurrently on separate connections", %{pool: pool} do
    Pool.run(pool, &Store.wait_connected(&1, 100))
    t0 = System.monotonic_time(:millisecond)

    results =
      1..2
      |> Enum.map(fn _ -> Task.async(fn -> Pool.query(pool, "SELECT pg_sleep(0.3)", []) end) end)
      |> Enum.map(&Task.await/1)

    assert Enum.all?(results, &match?({:ok, _}, &1))
    assert System.monotonic_time(:millisecond) - t0 < 550
  end

  test "a restarted connection registers again", %{pool: pool} do
    a = Pool.checkout(pool)
    Pool.checkin(pool, a)
    Process.exit(a, :kill)
    Process.sleep(100)
    conns = for _ <- 1..2, do: Pool.checkout(pool)
    refute a in conns
    assert Enum.all?(conns, &Process.alive?/1)
    _ = Connection
  end
end
