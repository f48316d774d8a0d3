defmodule CommandedPgEventStore.JsonSerializer do
  @moduledoc """
  The default serializer: JSON through Debian's `erlang-jiffy`.

  `serialize/1` turns structs into objects (dropping `__struct__`),
  `DateTime`/`NaiveDateTime`/`Date`/`Time` into ISO 8601 strings and `nil`
  into JSON `null`. `deserialize/2` turns `null` back into `nil`; with
  `type: "Elixir.Module"` (Commanded's module-name event types) it builds
  that struct from the object's keys, else it returns a map with string
  keys. Any module with the same two functions producing and taking JSON
  (e.g. `Commanded.Serialization.JsonSerializer`) can replace it.
  """

  @doc "Encodes `term` as JSON."
  @spec serialize(term) :: binary
  def serialize(term), do: IO.iodata_to_binary(:jiffy.encode(prepare(term), [:use_nil]))

  @doc "Decodes JSON; `type:` names the struct to build."
  @spec deserialize(binary, keyword) :: term
  def deserialize(json, opts \\ []) do
    term = :jiffy.decode(json, [:return_maps, {:null_term, nil}])

    case Keyword.get(opts, :type) do
      nil -> term
      type -> to_struct(term, type)
    end
  end

  defp prepare(%DateTime{} = v), do: DateTime.to_iso8601(v)
  defp prepare(%NaiveDateTime{} = v), do: NaiveDateTime.to_iso8601(v)
  defp prepare(%Date{} = v), do: Date.to_iso8601(v)
  defp prepare(%Time{} = v), do: Time.to_iso8601(v)
  defp prepare(%_{} = struct), do: struct |> Map.from_struct() |> prepare()
  defp prepare(map) when is_map(map), do: Map.new(map, fn {k, v} -> {key(k), prepare(v)} end)
  defp prepare(list) when is_list(list), do: Enum.map(list, &prepare/1)
  defp prepare(v), do: v

  defp key(k) when is_atom(k) or is_binary(k), do: k
  defp key(k), do: to_string(k)

  defp to_struct(map, type) when is_map(map) do
    case struct_fields(type) do
      nil ->
        map

      {module, fields} ->
        attrs = for {k, v} <- map, atom = fields[k], do: {atom, v}
        struct(module, attrs)
    end
  end

  defp to_struct(term, _type), do: term

  # Commanded's event types are module names ("Elixir.MyApp.Event"); the
  # module and its field names are looked up once and kept.
  defp struct_fields("Elixir." <> _ = type) do
    case :persistent_term.get({__MODULE__, type}, nil) do
      nil ->
        case lookup(type) do
          nil ->
            nil

          found ->
            :persistent_term.put({__MODULE__, type}, found)
            found
        end

      found ->
        found
    end
  end

  defp struct_fields(_type), do: nil

  defp lookup(type) do
    module = String.to_existing_atom(type)

    if Code.ensure_loaded?(module) and function_exported?(module, :__struct__, 0) do
      fields =
        for k <- Map.keys(module.__struct__()),
            k != :__struct__,
            into: %{},
            do: {Atom.to_string(k), k}

      {module, fields}
    end
  rescue
    ArgumentError -> nil
  end
end
