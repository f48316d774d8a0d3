defmodule CommandedPgEventStore.Protocol do
  @moduledoc """
  Encodes requests for, and decodes replies from, the `pg_port` program.

  The wire format is described in the header comment of `c_src/pg_port.c`;
  frames are length-prefixed by the port driver (`{:packet, 4}`).
  """

  @typedoc "A parameter: untyped (the server infers it) or tagged with its type."
  @type param ::
          nil
          | integer
          | String.t()
          | boolean
          | {:text | :uuid | :jsonb | :int8 | :int4 | :bool, term}

  @typedoc "An error reply, as libpq reports it."
  @type error :: %{
          sqlstate: String.t(),
          message: String.t(),
          detail: String.t() | nil,
          hint: String.t() | nil,
          fatal: boolean
        }

  @oids %{text: 25, uuid: 2950, jsonb: 3802, int8: 20, int4: 23, bool: 16}

  @doc "The connect frame."
  @spec connect(String.t()) :: iodata
  def connect(conninfo), do: [?C, str(conninfo)]

  @doc "The cancel frame."
  @spec cancel() :: iodata
  def cancel(), do: "X"

  @doc "A query frame; a non-empty `name` prepares the statement once under it."
  @spec query(String.t(), iodata, [param]) :: iodata
  def query(name, sql, params) when length(params) < 65_536 do
    [?Q, str(name), str(sql), <<length(params)::16>> | Enum.map(params, &param/1)]
  end

  defp str(data), do: [<<IO.iodata_length(data)::32>>, data]

  defp param(nil), do: <<0::32, -1::32-signed>>
  defp param({_type, nil}), do: <<0::32, -1::32-signed>>
  defp param({type, value}), do: [<<Map.fetch!(@oids, type)::32>> | str(text(value))]
  defp param(value), do: [<<0::32>> | str(text(value))]

  defp text(v) when is_integer(v), do: Integer.to_string(v)
  defp text(true), do: "t"
  defp text(false), do: "f"
  defp text(v) when is_binary(v) or is_list(v), do: v

  @doc "Decodes one frame from the port."
  @spec decode(binary) ::
          {:connected, non_neg_integer}
          | {:result, %{rows: [[term]], command: String.t()}}
          | {:error, error}
          | {:notification, String.t(), String.t()}
  def decode(<<?K, version::32>>), do: {:connected, version}

  def decode(<<?R, ncols::32, rest::binary>>) do
    <<oids::binary-size(ncols * 4), nrows::32, rest::binary>> = rest
    oids = for <<oid::32 <- oids>>, do: oid
    {rows, <<len::32, tag::binary-size(len)>>} = rows(nrows, oids, rest, [])
    {:result, %{rows: rows, command: tag}}
  end

  def decode(<<?E, state::binary-size(5), rest::binary>>) do
    {message, rest} = take_str(rest)
    {detail, rest} = take_str(rest)
    {hint, <<fatal>>} = take_str(rest)

    {:error,
     %{
       sqlstate: state,
       message: message,
       detail: blank(detail),
       hint: blank(hint),
       fatal: fatal == 1
     }}
  end

  def decode(<<?N, _pid::32, rest::binary>>) do
    {channel, rest} = take_str(rest)
    {payload, ""} = take_str(rest)
    {:notification, channel, payload}
  end

  defp take_str(<<len::32, s::binary-size(len), rest::binary>>), do: {s, rest}

  defp blank(""), do: nil
  defp blank(s), do: s

  # One pass over the cells, row by row (keeps the binary match context).
  defp rows(0, _oids, rest, acc), do: {Enum.reverse(acc), rest}
  defp rows(n, oids, bin, acc), do: cells(bin, oids, oids, [], n, acc)

  defp cells(rest, [], oids, row, n, acc), do: rows(n - 1, oids, rest, [Enum.reverse(row) | acc])

  defp cells(<<-1::32-signed, rest::binary>>, [_ | more], oids, row, n, acc),
    do: cells(rest, more, oids, [nil | row], n, acc)

  defp cells(<<len::32, v::binary-size(len), rest::binary>>, [oid | more], oids, row, n, acc),
    do: cells(rest, more, oids, [value(oid, v) | row], n, acc)

  # bigint, integer, smallint, oid
  defp value(oid, v) when oid in [20, 21, 23, 26], do: String.to_integer(v)
  defp value(16, v), do: v == "t"
  # timestamptz (the port sets TimeZone UTC and DateStyle ISO)
  defp value(1184, v), do: timestamptz(v)
  # json and jsonb stay JSON text: the serializer decodes them
  defp value(_oid, v), do: v

  @doc "Parses a timestamptz in ISO DateStyle, e.g. `2026-11-30 04:29:44.1234+00`."
  @spec timestamptz(String.t()) :: DateTime.t() | String.t()
  def timestamptz(
        <<y::binary-size(4), ?-, mo::binary-size(2), ?-, d::binary-size(2), ?\s,
          h::binary-size(2), ?:, mi::binary-size(2), ?:, s::binary-size(2), rest::binary>> = v
      ) do
    case fraction(rest, 0, 0) do
      {us, digits} ->
        %DateTime{
          year: String.to_integer(y),
          month: String.to_integer(mo),
          day: String.to_integer(d),
          hour: String.to_integer(h),
          minute: String.to_integer(mi),
          second: String.to_integer(s),
          microsecond: {us * pow10(6 - digits), 6},
          time_zone: "Etc/UTC",
          zone_abbr: "UTC",
          utc_offset: 0,
          std_offset: 0
        }

      :other ->
        timestamptz_slow(v)
    end
  end

  def timestamptz(v), do: timestamptz_slow(v)

  # ".ffffff+00" or "+00" (the session's TimeZone is UTC)
  defp fraction("+00", us, digits), do: {us, digits}
  defp fraction(<<?., rest::binary>>, 0, 0), do: fraction(rest, 0, 0)

  defp fraction(<<c, rest::binary>>, us, digits) when c in ?0..?9 and digits < 6,
    do: fraction(rest, us * 10 + (c - ?0), digits + 1)

  defp fraction(_, _, _), do: :other

  defp pow10(0), do: 1
  defp pow10(n), do: 10 * pow10(n - 1)

  defp timestamptz_slow(v) do
    iso = String.replace(v, " ", "T", global: false)
    iso = if Regex.match?(~r/[+-]\d\d$/, iso), do: iso <> ":00", else: iso

    case DateTime.from_iso8601(iso) do
      {:ok, dt, _offset} -> dt
      _ -> v
    end
  end
end
