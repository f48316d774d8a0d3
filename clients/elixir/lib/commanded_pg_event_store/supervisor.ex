defmodule CommandedPgEventStore.Supervisor do
  @moduledoc """
  The adapter's supervision tree (`:rest_for_one`, in start order):

      Supervisor
      ├── Registry (duplicate keys: who wants which notifications)
      ├── Registry (unique keys: one subscription process per name)
      ├── Pool ─┬─ broker
      │         └─ Connection × pool_size (one pg_port OS process each)
      ├── Notifier ── Connection (LISTEN event_store)
      ├── Locks ───── Connection (session advisory locks of subscriptions)
      ├── Publisher (transient subscribe/2)
      └── DynamicSupervisor ── Subscription × subscribed names
  """
  use Supervisor

  alias CommandedPgEventStore.{Locks, Notifier, Pool, Publisher}

  @doc "Starts the tree for the adapter meta built by `child_spec/2`."
  @spec start_link(map) :: Supervisor.on_start()
  def start_link(meta), do: Supervisor.start_link(__MODULE__, meta, name: meta.name)

  @impl true
  def init(meta) do
    children = [
      {Registry, keys: :duplicate, name: meta.registry},
      {Registry, keys: :unique, name: meta.names},
      {Pool, name: meta.pool, pool_size: meta.pool_size, conninfo: meta.conninfo},
      {Notifier, meta},
      {Locks, meta},
      {Publisher, meta},
      {DynamicSupervisor, strategy: :one_for_one, name: meta.subscriptions}
    ]

    Supervisor.init(children, strategy: :rest_for_one)
  end
end
