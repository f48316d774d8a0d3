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
    module =
      try do
        String.to_existing_atom(type)
      rescue
        ArgumentError -> nil
      end

    if module && Code.ensure_loaded?(module) && function_exported?(module, :__struct__, 0) do
      fields =
        module.__struct__() |> Map.keys() |> Enum.map(&{Atom.to_string(&1), &1}) |> Map.new()

      attrs = for {k, v} <- map, atom = fields[k], atom != :__struct__, do: {atom, v}
      struct(module, attrs)
    else
      map
    end
  end

  defp to_struct(term, _type), do: term
end
