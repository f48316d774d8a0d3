defmodule CommandedPgEventStore.SnapshotsTest do
  use ExUnit.Case, async: true

  alias Commanded.EventStore.Adapters.PgEventStore, as: Adapter
  alias Commanded.EventStore.SnapshotData
  alias CommandedPgEventStore.Test.Store

  defmodule Account do
    defstruct [:number, :balance]
  end

  setup do
    %{meta: Store.meta(), source: Store.unique("snap")}
  end

  test "{:error, :snapshot_not_found} when there is none", %{meta: meta, source: id} do
    assert {:error, :snapshot_not_found} == Adapter.read_snapshot(meta, id)
  end

  test "record, read (latest wins), delete", %{meta: meta, source: id} do
    type = Atom.to_string(Account)

    for v <- [1, 2] do
      snap = %SnapshotData{
        source_uuid: id,
        source_version: v,
        source_type: type,
        data: %Account{number: "ACC-é", balance: v * 100},
        metadata: %{"by" => "test"}
      }

      assert :ok == Adapter.record_snapshot(meta, snap)
    end

    assert {:ok, %SnapshotData{} = snap} = Adapter.read_snapshot(meta, id)
    assert snap.source_uuid == id
    assert snap.source_version == 2
    assert snap.source_type == type
    assert snap.data == %Account{number: "ACC-é", balance: 200}
    assert snap.metadata == %{"by" => "test"}
    assert %DateTime{} = snap.created_at

    assert :ok == Adapter.delete_snapshot(meta, id)
    assert {:error, :snapshot_not_found} == Adapter.read_snapshot(meta, id)
    assert :ok == Adapter.delete_snapshot(meta, id)
  end
end
