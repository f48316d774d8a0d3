defmodule CommandedPgEventStore.ConnectionTest do
  use ExUnit.Case, async: true

  alias CommandedPgEventStore.{Connection, Protocol}
  alias CommandedPgEventStore.Test.Store

  setup do
    {:ok, conn} = Connection.start_link(listener: self())
    assert_receive {:pg_connected, ^conn}, 5_000
    %{conn: conn}
  end

  test "decodes bigint, bool, uuid, jsonb, timestamptz and NULL", %{conn: conn} do
    {:ok, %{rows: [[n, b, u, j, t, nil]]}} =
      Connection.query(
        conn,
        "SELECT $1::bigint, true, $2::uuid, $3::jsonb, '2026-01-02 03:04:05.123456+00'::timestamptz, NULL::text",
        [
          {:int8, 9_007_199_254_740_993},
          {:uuid, "0190b0c6-0000-7000-8000-000000000001"},
          {:jsonb, ~s({"a":"é"})}
        ]
      )

    assert n == 9_007_199_254_740_993
    assert b == true
    assert u == "0190b0c6-0000-7000-8000-000000000001"
    assert j == ~s({"a": "é"})
    assert t == ~U[2026-01-02 03:04:05.123456Z]
  end

  test "errors carry the SQLSTATE, message, detail and hint", %{conn: conn} do
    assert {:error, %{sqlstate: "22P02", message: msg}} =
             Connection.query(conn, "SELECT $1::jsonb", [{:text, "{nope"}])

    assert msg =~ "json"

    assert {:error, %{sqlstate: "ES004"}} =
             Connection.query(conn, "SELECT event_store.read_subscription($1, 1)", [
               {:text, "no-such"}
             ])

    # the connection is still usable
    assert {:ok, %{rows: [[1]]}} = Connection.query(conn, "SELECT 1", [])
  end

  test "survives NOTICE and ParameterStatus messages", %{conn: conn} do
    assert {:ok, _} =
             Connection.query(
               conn,
               "DO $$BEGIN RAISE NOTICE 'hello'; RAISE WARNING 'w'; END$$",
               [],
               prepare: false
             )

    assert {:ok, _} = Connection.query(conn, "SET application_name = 'x'", [], prepare: false)

    assert {:ok, %{rows: [["x"]]}} =
             Connection.query(conn, "SHOW application_name", [], prepare: false)
  end

  test "prepared statements are reused with new parameters", %{conn: conn} do
    for i <- 1..5 do
      assert {:ok, %{rows: [[^i]]}} = Connection.query(conn, "SELECT $1::int", [{:int4, i}])
    end
  end

  test "a statement with too few parameters is a server error, not a crash", %{conn: conn} do
    assert {:error, %{sqlstate: "08P01"}} = Connection.query(conn, "SELECT $1::int, $2::int", [1])
    assert {:ok, %{rows: [[2]]}} = Connection.query(conn, "SELECT 2", [])
  end

  test "a query past its timeout is cancelled on the server (57014)", %{conn: conn} do
    t0 = System.monotonic_time(:millisecond)

    assert {:error, %{sqlstate: "57014"}} =
             Connection.query(conn, "SELECT pg_sleep(10)", [], timeout: 200)

    assert System.monotonic_time(:millisecond) - t0 < 3_000
    assert {:ok, %{rows: [[1]]}} = Connection.query(conn, "SELECT 1", [])
  end

  test "delivers LISTEN notifications to the listener", %{conn: conn} do
    {:ok, _} = Connection.query(conn, "LISTEN h14_test", [], prepare: false)
    {:ok, _} = Connection.query(conn, "SELECT pg_notify('h14_test', 'ping')", [])
    assert_receive {:pg_notification, ^conn, "h14_test", "ping"}, 2_000
  end

  test "a server-side kill mid-query fails the query with 08006/57P01 and reconnects", %{
    conn: conn
  } do
    {:ok, %{rows: [[pid]]}} = Connection.query(conn, "SELECT pg_backend_pid()", [])

    task =
      Task.async(fn -> Connection.query(conn, "SELECT pg_sleep(10)", [], timeout: 20_000) end)

    Process.sleep(200)
    {:ok, %{rows: [[true]]}} = Store.sql("SELECT pg_terminate_backend($1::int)", [{:int4, pid}])
    assert {:error, %{sqlstate: state}} = Task.await(task, 5_000)
    assert state in ["57P01", "08006"]
    assert_receive {:pg_connected, ^conn}, 5_000
    assert {:ok, %{rows: [[1]]}} = Connection.query(conn, "SELECT 1", [])
  end

  test "the port exits when its owner dies (no orphan process)" do
    {:ok, conn} = GenServer.start(Connection, listener: self())
    Store.wait_connected(conn, 100)
    os_pid = Connection.os_pid(conn)
    assert File.exists?("/proc/#{os_pid}")
    Process.exit(conn, :kill)
    assert wait_gone(os_pid, 50)
  end

  test "bad frames from Elixir get an 08P01 error and the port keeps working" do
    exe = Application.app_dir(:commanded_pg_event_store, "priv/pg_port")
    port = Port.open({:spawn_executable, exe}, [:binary, {:packet, 4}, :exit_status])
    Port.command(port, Protocol.connect(""))
    assert_receive {^port, {:data, <<?K, _::32>>}}, 5_000

    for junk <- ["Z", "Q", <<?Q, 0, 0, 0, 200, "short">>, <<?Q, 0::32, 0::32, 5::16>>] do
      Port.command(port, junk)
      assert_receive {^port, {:data, data}}, 2_000
      assert {:error, %{sqlstate: "08P01"}} = Protocol.decode(data)
    end

    Port.command(port, Protocol.query("", "SELECT 41 + 1", []))
    assert_receive {^port, {:data, data}}, 2_000
    assert {:result, %{rows: [[42]]}} = Protocol.decode(data)
    Port.close(port)
  end

  test "a connect frame that is not first, or a bad conninfo, ends the port with an error" do
    exe = Application.app_dir(:commanded_pg_event_store, "priv/pg_port")
    port = Port.open({:spawn_executable, exe}, [:binary, {:packet, 4}, :exit_status])
    Port.command(port, Protocol.connect("host=/nonexistent port=1"))
    assert_receive {^port, {:data, data}}, 5_000
    assert {:error, %{sqlstate: "08001", fatal: true}} = Protocol.decode(data)
    assert_receive {^port, {:exit_status, 1}}, 5_000
  end

  defp wait_gone(_os_pid, 0), do: false

  defp wait_gone(os_pid, n) do
    if File.exists?("/proc/#{os_pid}") and not zombie?(os_pid) do
      Process.sleep(20)
      wait_gone(os_pid, n - 1)
    else
      true
    end
  end

  defp zombie?(os_pid) do
    case File.read("/proc/#{os_pid}/stat") do
      {:ok, stat} -> String.contains?(stat, ") Z ")
      _ -> true
    end
  end
end
