defmodule CommandedPgEventStore.AppendToStreamTest do
  use ExUnit.Case, async: true

  alias Commanded.EventStore.Adapters.PgEventStore, as: Adapter
  alias Commanded.EventStore.EventData
  alias CommandedPgEventStore.Test.Store

  setup do
    %{meta: Store.meta(), stream: Store.unique("append")}
  end

  test "appends with an integer expected version", %{meta: meta, stream: s} do
    assert :ok == Adapter.append_to_stream(meta, s, 0, Store.events(1))
    assert :ok == Adapter.append_to_stream(meta, s, 1, Store.events(2))
    assert :ok == Adapter.append_to_stream(meta, s, 3, Store.events(3))
    assert 6 == meta |> Adapter.stream_forward(s) |> Enum.count()
  end

  test ":any_version never checks", %{meta: meta, stream: s} do
    assert :ok == Adapter.append_to_stream(meta, s, :any_version, Store.events(3))
    assert :ok == Adapter.append_to_stream(meta, s, :any_version, Store.events(2))
  end

  test ":no_stream, and {:error, :stream_exists} once it exists", %{meta: meta, stream: s} do
    assert :ok == Adapter.append_to_stream(meta, s, :no_stream, Store.events(2))

    assert {:error, :stream_exists} ==
             Adapter.append_to_stream(meta, s, :no_stream, Store.events(1))
  end

  test ":stream_exists, and {:error, :stream_not_found} before", %{meta: meta, stream: s} do
    assert {:error, :stream_not_found} ==
             Adapter.append_to_stream(meta, s, :stream_exists, Store.events(1))

    assert :ok == Adapter.append_to_stream(meta, s, :no_stream, Store.events(2))
    assert :ok == Adapter.append_to_stream(meta, s, :stream_exists, Store.events(1))
  end

  test "{:error, :wrong_expected_version}", %{meta: meta, stream: s} do
    assert {:error, :wrong_expected_version} ==
             Adapter.append_to_stream(meta, s, 1, Store.events(1))

    assert :ok == Adapter.append_to_stream(meta, s, 0, Store.events(3))

    for v <- [0, 1, 2] do
      assert {:error, :wrong_expected_version} ==
               Adapter.append_to_stream(meta, s, v, Store.events(1))
    end

    assert :ok == Adapter.append_to_stream(meta, s, 3, Store.events(1))
  end

  test "a hard-deleted stream is {:error, :stream_deleted}", %{meta: meta, stream: s} do
    assert :ok == Adapter.append_to_stream(meta, s, 0, Store.events(1))
    {:ok, _} = Store.sql("SELECT event_store.delete_stream($1, -1, true)", [{:text, s}])

    assert {:error, :stream_deleted} ==
             Adapter.append_to_stream(meta, s, :any_version, Store.events(1))

    assert {:error, :stream_deleted} == Adapter.stream_forward(meta, s)
  end

  test "other refusals come back with their SQLSTATE", %{meta: meta} do
    assert {:error, %{sqlstate: "ES004"}} =
             Adapter.append_to_stream(meta, "$reserved", 0, Store.events(1))

    assert {:error, %{sqlstate: "ES004"}} = Adapter.append_to_stream(meta, "", 0, Store.events(1))
  end

  test "the expected-version race: of two concurrent writers exactly one wins", %{meta: meta} do
    for _ <- 1..20 do
      s = Store.unique("race")
      :ok = Adapter.append_to_stream(meta, s, 0, Store.events(1))

      results =
        1..2
        |> Enum.map(fn _ ->
          Task.async(fn -> Adapter.append_to_stream(meta, s, 1, Store.events(2)) end)
        end)
        |> Enum.map(&Task.await/1)
        |> Enum.sort()

      assert results == [:ok, {:error, :wrong_expected_version}]
      assert 3 == meta |> Adapter.stream_forward(s) |> Enum.count()
    end
  end

  test "unicode, nil vs JSON null, metadata and ids round-trip", %{meta: meta, stream: s} do
    causation = "0190b0c6-0000-7000-8000-00000000000a"
    correlation = "0190b0c6-0000-7000-8000-00000000000b"

    data = %{
      "name" => "Zoë 🚀 日本語 \"quoted\" \\ \u0001",
      "none" => nil,
      "list" => [1, 2.5, true, nil]
    }

    event = %EventData{
      event_type: "unicode_événement",
      data: data,
      metadata: %{"user" => "ßtraße", "null" => nil},
      causation_id: causation,
      correlation_id: correlation
    }

    assert :ok == Adapter.append_to_stream(meta, s, 0, [event])
    [read] = meta |> Adapter.stream_forward(s) |> Enum.to_list()
    assert read.data == data
    assert read.metadata == %{"user" => "ßtraße", "null" => nil}
    assert read.event_type == "unicode_événement"
    assert read.causation_id == causation
    assert read.correlation_id == correlation
    assert read.stream_id == s
    assert read.stream_version == 1
    assert read.event_id =~ ~r/^[0-9a-f-]{36}$/
    assert %DateTime{} = read.created_at
    assert is_integer(read.event_number)
  end

  test "a 1 MB payload round-trips", %{meta: meta, stream: s} do
    big = String.duplicate("0123456789abcdéf", 65_536)
    assert byte_size(big) > 1_000_000

    assert :ok ==
             Adapter.append_to_stream(
               meta,
               s,
               0,
               Store.events(2, fn i -> %{"i" => i, "big" => big} end)
             )

    assert [%{data: %{"big" => ^big}}, %{data: %{"big" => ^big}}] =
             meta |> Adapter.stream_forward(s) |> Enum.to_list()
  end

  defmodule Opened do
    defstruct [:account, :balance, :at]
  end

  test "struct data comes back as the struct named by the event type", %{meta: meta, stream: s} do
    event = %EventData{
      event_type: Atom.to_string(Opened),
      data: %Opened{account: "A1", balance: 10}
    }

    assert :ok == Adapter.append_to_stream(meta, s, 0, [event])

    assert [%{data: %Opened{account: "A1", balance: 10, at: nil}}] =
             meta |> Adapter.stream_forward(s) |> Enum.to_list()
  end
end
