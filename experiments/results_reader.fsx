// Shared by the table scripts (unicorn_table.fsx, ssr_table.fsx): reading the results files the
// runs wrote (experiments/results/<name>.json) and formatting their numbers.
open System
open System.IO
open System.Text.Json

let results = Path.Combine(__SOURCE_DIRECTORY__, "results")
let inv = Globalization.CultureInfo.InvariantCulture

/// (method name -> metric -> mean) of a results file's table, and its measured values.
let read (name: string) =
    let path = Path.Combine(results, name + ".json")
    if not (File.Exists path) then None
    else
        use doc = JsonDocument.Parse(File.ReadAllText path)
        let root = doc.RootElement
        let table =
            [ for row in root.GetProperty("table").EnumerateArray() ->
                  row.GetProperty("methodName").GetString(),
                  [ for p in row.GetProperty("means").EnumerateObject() ->
                        p.Name, (if p.Value.ValueKind = JsonValueKind.Number then p.Value.GetDouble() else nan) ]
                  |> Map.ofList ]
        let measured =
            match root.TryGetProperty "measured" with
            | true, m -> [ for p in m.EnumerateObject() -> p.Name, p.Value.GetDouble() ] |> Map.ofList
            | _ -> Map.empty
        let minutes =
            match root.TryGetProperty "trainingSeconds" with
            | true, v -> v.GetDouble() / 60.0
            | _ -> root.GetProperty("seconds").GetDouble() / 60.0
        let iterations = root.GetProperty("iterations").GetInt32()
        Some(table, measured, minutes, iterations)

let cell (format: string) (value: float option) =
    match value with
    | Some v when not (Double.IsNaN v) -> String.Format(inv, "{0:" + format + "}", v)
    | _ -> "–"

/// Writes `lines` to experiments/results/<file> (a temporary name, then renamed).
let writeTable (file: string) (lines: string list) =
    let path = Path.Combine(results, file)
    File.WriteAllText(path + ".tmp", String.Join("\n", lines) + "\n")
    File.Move(path + ".tmp", path, true)
    printfn "wrote %s" path
