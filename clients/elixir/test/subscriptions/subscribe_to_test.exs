defmodule CommandedPgEventStore.SubscribeToTest do
  use ExUnit.Case, async: true

  alias Commanded.EventStore.Adapters.PgEventStore, as: Adapter
  alias CommandedPgEventStore.Connection
  alias CommandedPgEventStore.Test.Store

  setup do
    %{meta: Store.meta(), stream: Store.unique("sub"), name: Store.unique("name")}
  end

  test "a stream from :origin: {:subscribed, pid}, then old and new events", %{
    meta: meta,
    stream: s,
    name: n
  } do
    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(3))
    assert {:ok, sub} = Adapter.subscribe_to(meta, s, n, self(), :origin, [])
    assert_receive {:subscribed, ^sub}, 2_000
    :ok = Adapter.append_to_stream(meta, s, 3, Store.events(2))
    got = Store.receive_events(5, subscription: sub)
    assert Enum.map(got, & &1.stream_version) == [1, 2, 3, 4, 5]
    assert Enum.all?(got, &(&1.stream_id == s))
  end

  test "a stream from :current gets only later events", %{meta: meta, stream: s, name: n} do
    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(3))
    {:ok, sub} = Adapter.subscribe_to(meta, s, n, self(), :current, [])
    assert_receive {:subscribed, ^sub}, 2_000
    :ok = Adapter.append_to_stream(meta, s, 3, Store.events(1))
    assert [%{stream_version: 4}] = Store.receive_events(1, subscription: sub)
    refute_receive {:events, _}, 200
  end

  test "a stream from a version gets the events after it", %{meta: meta, stream: s, name: n} do
    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(5))
    {:ok, sub} = Adapter.subscribe_to(meta, s, n, self(), 3, [])
    assert Enum.map(Store.receive_events(2, subscription: sub), & &1.stream_version) == [4, 5]
    refute_receive {:events, _}, 200
  end

  test ":all from a position gets every later event", %{meta: meta, stream: s, name: n} do
    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(2))
    [first, _] = meta |> Adapter.stream_forward(s) |> Enum.to_list()
    {:ok, sub} = Adapter.subscribe_to(meta, :all, n, self(), first.event_number, [])
    :ok = Adapter.append_to_stream(meta, s, 2, Store.events(1))
    got = Store.receive_events(2, subscription: sub, prefix: s)
    assert Enum.map(got, & &1.stream_version) == [2, 3]
  end

  test "a second subscriber without concurrency: {:error, :subscription_already_exists}",
       %{meta: meta, stream: s, name: n} do
    {:ok, sub} = Adapter.subscribe_to(meta, s, n, self(), :origin, [])
    other = spawn(fn -> Process.sleep(:infinity) end)

    assert {:error, :subscription_already_exists} ==
             Adapter.subscribe_to(meta, s, n, other, :origin, [])

    assert {:error, :subscription_already_exists} ==
             Adapter.subscribe_to(meta, :all, n, other, :origin, [])

    assert :ok == Adapter.unsubscribe(meta, sub)
  end

  test "unsubscribe keeps the checkpoint: acked events are not delivered again",
       %{meta: meta, stream: s, name: n} do
    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(3))
    {:ok, sub} = Adapter.subscribe_to(meta, s, n, self(), :origin, [])
    assert length(Store.receive_events(3, subscription: sub)) == 3
    ref = Process.monitor(sub)
    assert :ok == Adapter.unsubscribe(meta, sub)
    assert_receive {:DOWN, ^ref, :process, ^sub, _}, 2_000
    :ok = Adapter.append_to_stream(meta, s, 3, Store.events(1))
    {:ok, sub2} = Adapter.subscribe_to(meta, s, n, self(), :origin, [])
    assert [%{stream_version: 4}] = Store.receive_events(1, subscription: sub2)
    refute_receive {:events, _}, 200
  end

  test "one subscription process per name: a lock held elsewhere (another node) holds delivery back",
       %{meta: meta, stream: s, name: n} do
    {:ok, other_node} = Connection.start_link([])
    Store.wait_connected(other_node, 100)
    lock = "('x' || left(md5('commanded_pg_event_store/' || $1::text), 16))::bit(64)::bigint"

    {:ok, %{rows: [[true]]}} =
      Connection.query(other_node, "SELECT pg_try_advisory_lock(#{lock})", [{:text, n}])

    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(1))
    {:ok, sub} = Adapter.subscribe_to(meta, s, n, self(), :origin, [])
    refute_receive {:subscribed, _}, 300
    refute_receive {:events, _}, 10

    {:ok, %{rows: [[true]]}} =
      Connection.query(other_node, "SELECT pg_advisory_unlock(#{lock})", [{:text, n}])

    assert_receive {:subscribed, ^sub}, 3_000
    assert [%{stream_version: 1}] = Store.receive_events(1, subscription: sub)
  end

  test "unsubscribe from another process stops the subscription", %{
    meta: meta,
    stream: s,
    name: n
  } do
    {:ok, sub} = Adapter.subscribe_to(meta, s, n, self(), :origin, [])
    ref = Process.monitor(sub)
    assert :ok == Task.await(Task.async(fn -> Adapter.unsubscribe(meta, sub) end))
    assert_receive {:DOWN, ^ref, :process, ^sub, _}, 2_000
    assert :ok == Adapter.unsubscribe(meta, sub)
  end

  test "ack_event returns :ok and the checkpoint reaches the server", %{
    meta: meta,
    stream: s,
    name: n
  } do
    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(2))
    {:ok, sub} = Adapter.subscribe_to(meta, s, n, self(), :origin, [])
    [_, last] = Store.receive_events(2, subscription: sub)
    assert checkpoint(n, last.event_number, 60) == last.event_number
  end

  defp checkpoint(name, want, tries) do
    {:ok, %{rows: [[cp]]}} =
      Store.sql("SELECT checkpoint FROM event_store.subscriptions WHERE subscription_name = $1", [
        {:text, name}
      ])

    if cp == want or tries == 0 do
      cp
    else
      Process.sleep(50)
      checkpoint(name, want, tries - 1)
    end
  end

  test "delete_subscription, then subscribing from :origin starts afresh", %{
    meta: meta,
    stream: s,
    name: n
  } do
    assert {:error, :subscription_not_found} == Adapter.delete_subscription(meta, s, n)
    :ok = Adapter.append_to_stream(meta, s, 0, Store.events(2))
    {:ok, sub} = Adapter.subscribe_to(meta, s, n, self(), :origin, [])
    ref = Process.monitor(sub)
    assert length(Store.receive_events(2, subscription: sub)) == 2
    assert :ok == Adapter.delete_subscription(meta, s, n)
    assert_receive {:DOWN, ^ref, :process, ^sub, _}, 2_000
    {:ok, sub2} = Adapter.subscribe_to(meta, s, n, self(), :origin, [])
    assert Enum.map(Store.receive_events(2, subscription: sub2), & &1.stream_version) == [1, 2]
    assert :ok == Adapter.delete_subscription(meta, :all, n)
    assert {:error, :subscription_not_found} == Adapter.delete_subscription(meta, s, n)
  end
end
