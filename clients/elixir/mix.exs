defmodule Mix.Tasks.Compile.PgPort do
  @moduledoc """
  Builds the libpq port program `priv/pg_port` from `c_src/pg_port.c` with the
  system C compiler, against `pg_config --includedir` and `--libdir`.
  """
  use Mix.Task.Compiler

  @source "c_src/pg_port.c"
  @target "priv/pg_port"

  @impl true
  def run(_args) do
    if up_to_date?() do
      {:noop, []}
    else
      build()
    end
  end

  defp up_to_date?() do
    File.exists?(@target) and
      File.stat!(@target, time: :posix).mtime >= File.stat!(@source, time: :posix).mtime
  end

  defp build() do
    File.mkdir_p!("priv")
    pg_config = System.get_env("PG_CONFIG", "pg_config")
    include = pg_config!(pg_config, "--includedir")
    libdir = pg_config!(pg_config, "--libdir")
    cc = System.get_env("CC", "cc")

    args =
      ~w(-O2 -std=gnu99 -Wall -Wextra -Werror -o #{@target} #{@source}) ++
        ["-I#{include}", "-L#{libdir}", "-Wl,-rpath,#{libdir}", "-lpq"]

    case System.cmd(cc, args, stderr_to_stdout: true) do
      {"", 0} ->
        Mix.shell().info("Compiled #{@target}")
        {:ok, []}

      {out, 0} ->
        Mix.shell().info(out)
        {:ok, []}

      {out, status} ->
        Mix.raise("#{cc} failed (#{status}):\n#{out}")
    end
  end

  defp pg_config!(pg_config, flag) do
    case System.cmd(pg_config, [flag]) do
      {out, 0} -> String.trim(out)
      {_, status} -> Mix.raise("#{pg_config} #{flag} failed (#{status})")
    end
  end
end

defmodule CommandedPgEventStore.MixProject do
  use Mix.Project

  def project do
    [
      app: :commanded_pg_event_store,
      version: "0.1.0",
      elixir: "~> 1.14",
      compilers: [:pg_port] ++ Mix.compilers(),
      elixirc_paths: elixirc_paths(Mix.env()),
      start_permanent: Mix.env() == :prod,
      deps: []
    ]
  end

  def application do
    [extra_applications: [:logger, :jiffy]]
  end

  defp elixirc_paths(:test), do: ["lib", "examples/bank/lib"]
  defp elixirc_paths(_), do: ["lib"]
end
