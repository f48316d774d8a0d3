defmodule CommandedPgEventStore.Config do
  @moduledoc """
  Turns Commanded-style event store config into a libpq conninfo string.

  Keys as Commanded's EventStore names them: `url`, or `hostname`, `port`,
  `database`, `username`, `password`; anything libpq accepts (TLS:
  `sslmode`, `sslrootcert`, `sslcert`, `sslkey`; `connect_timeout`, …) goes
  in `conninfo: [sslmode: "verify-full", …]`. Keys left out fall back to
  libpq's environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
  `PGDATABASE`, `~/.pgpass`), so SCRAM, TLS and service files work as in
  `psql`.
  """

  @keys [
    hostname: "host",
    port: "port",
    database: "dbname",
    username: "user",
    password: "password"
  ]

  @doc "The conninfo for `config`."
  @spec conninfo(keyword) :: String.t()
  def conninfo(config) do
    extra = Keyword.get(config, :conninfo, [])

    case Keyword.get(config, :url) do
      url when is_binary(url) and url != "" ->
        query = URI.encode_query(Enum.map(extra, fn {k, v} -> {to_string(k), to_string(v)} end))

        cond do
          query == "" -> url
          String.contains?(url, "?") -> url <> "&" <> query
          true -> url <> "?" <> query
        end

      _ ->
        pairs =
          for({key, libpq} <- @keys, v = Keyword.get(config, key), v != nil, do: {libpq, v}) ++
            Enum.map(extra, fn {k, v} -> {to_string(k), v} end)

        Enum.map_join(pairs, " ", fn {k, v} -> "#{k}=#{quote_value(to_string(v))}" end)
    end
  end

  defp quote_value(v) do
    "'" <> (v |> String.replace("\\", "\\\\") |> String.replace("'", "\\'")) <> "'"
  end
end
