namespace Reconstruct.Train

open System
open System.IO
open System.Text.Json
open System.Text.Json.Serialization
open Reconstruct.Torch

type Stop = { Iterations: int option; Minutes: float option }

type Monitor = { Metric: string; HigherIsBetter: bool }

type Experiment<'Method> =
    { Name: string
      Seed: uint64
      Method: 'Method
      Optimiser: Optim.Adam
      LearningRate: Optim.Schedule
      BatchSize: int
      Stop: Stop
      CheckpointEvery: int
      EvalEvery: int
      ProgressSeconds: float
      InitFrom: string option
      KeepBest: Monitor option }

module Stop =
    let iterations (n: int) = { Iterations = Some n; Minutes = None }
    let minutes (minutes: float) = { Iterations = None; Minutes = Some minutes }

module Experiment =
    let validate (experiment: Experiment<'Method>) =
        let bad field (value: obj) rule =
            invalidArg "experiment" (sprintf "Experiment %s: %s must be %s, received %O" experiment.Name field rule value)
        if String.IsNullOrWhiteSpace experiment.Name then bad "Name" experiment.Name "a non-empty name"
        if experiment.BatchSize <= 0 then bad "BatchSize" experiment.BatchSize "> 0"
        if experiment.CheckpointEvery <= 0 then bad "CheckpointEvery" experiment.CheckpointEvery "> 0"
        if experiment.EvalEvery <= 0 then bad "EvalEvery" experiment.EvalEvery "> 0"
        if not (experiment.ProgressSeconds >= 0.0) || Double.IsInfinity experiment.ProgressSeconds then
            bad "ProgressSeconds" experiment.ProgressSeconds "finite and >= 0"
        match experiment.InitFrom with
        | Some path when String.IsNullOrWhiteSpace path -> bad "InitFrom" "\"\"" "a checkpoint file or run folder"
        | _ -> ()
        match experiment.KeepBest with
        | Some monitor when String.IsNullOrWhiteSpace monitor.Metric -> bad "KeepBest.Metric" "\"\"" "a validation metric's name"
        | _ -> ()
        match experiment.Stop with
        | { Iterations = None; Minutes = None } -> bad "Stop" "no rule" "Iterations, Minutes or both"
        | stop ->
            stop.Iterations |> Option.iter (fun n -> if n <= 0 then bad "Stop.Iterations" n "> 0")
            stop.Minutes |> Option.iter (fun m -> if not (m > 0.0) || Double.IsInfinity m then bad "Stop.Minutes" m "finite and > 0")

exception ConfigError of path: string * problem: string
    with override this.Message = sprintf "config %s: %s" this.path this.problem

module Config =
    let private options =
        let o = JsonSerializerOptions(WriteIndented = true)
        o.Converters.Add(
            JsonFSharpConverter(
                JsonUnionEncoding.ExternalTag ||| JsonUnionEncoding.NamedFields
                ||| JsonUnionEncoding.UnwrapFieldlessTags ||| JsonUnionEncoding.UnwrapOption,
                allowNullFields = false))
        o

    let private oneLine (s: string) = s.Replace("\r", " ").Replace("\n", " ")

    let toJson (value: 'T) = JsonSerializer.Serialize(value, options)

    // The converter names generic types by their full CLR names ("Experiment`1[[...]]"); the
    // short name is what a reader needs.
    let private shortTypeNames (message: string) =
        Text.RegularExpressions.Regex.Replace(message, @"[\w.]+[+.](\w+)`\d+\[\[[^ ]*?\]\]", "$1<..>")

    let ofJson<'T> (source: string) (json: string) : 'T =
        try
            let value = JsonSerializer.Deserialize<'T>(json, options)
            if isNull (box value) then raise (ConfigError(source, sprintf "the JSON is null, expected a %s" typeof<'T>.Name))
            value
        with
        | :? JsonException as e -> raise (ConfigError(source, oneLine (shortTypeNames e.Message)))
        | :? NotSupportedException as e -> raise (ConfigError(source, oneLine e.Message))

    let private readText (path: string) =
        try File.ReadAllText path
        with
        | :? FileNotFoundException
        | :? DirectoryNotFoundException -> raise (ConfigError(path, "file not found"))
        | :? IOException
        | :? UnauthorizedAccessException as e -> raise (ConfigError(path, sprintf "cannot read: %s" (oneLine e.Message)))

    let ofJsonFile<'T> (path: string) : 'T = ofJson<'T> path (readText path)

    let ofJsonOver<'T> (defaults: 'T) (source: string) (json: string) : 'T * string list =
        let filled = Collections.Generic.List<string>()
        let rec overlay (path: string) (target: Nodes.JsonObject) (fallback: Nodes.JsonObject) =
            for KeyValue (key, value) in List.ofSeq fallback do
                let here = if path = "" then key else path + "." + key
                if not (target.ContainsKey key) then
                    target.Add(key, (if isNull value then null else value.DeepClone()))
                    filled.Add here
                else
                    match target.[key], value with
                    | (:? Nodes.JsonObject as inner), (:? Nodes.JsonObject as innerDefault) -> overlay here inner innerDefault
                    | _ -> ()
        let parsed =
            try Nodes.JsonNode.Parse json
            with :? JsonException as e -> raise (ConfigError(source, oneLine e.Message))
        match parsed, Nodes.JsonNode.Parse(toJson defaults) with
        | (:? Nodes.JsonObject as saved), (:? Nodes.JsonObject as fallback) ->
            overlay "" saved fallback
            ofJson<'T> source (saved.ToJsonString()), List.ofSeq filled
        | _ -> ofJson<'T> source json, []

    let stringField (path: string) (field: string) =
        let text = readText path
        try
            use document = JsonDocument.Parse text
            let root = document.RootElement
            if root.ValueKind <> JsonValueKind.Object then raise (ConfigError(path, sprintf "expected a JSON object, found %O" root.ValueKind))
            match root.TryGetProperty field with
            | true, value when value.ValueKind = JsonValueKind.String -> value.GetString()
            | true, value -> raise (ConfigError(path, sprintf "field '%s' is %O, expected a string" field value.ValueKind))
            | _ -> raise (ConfigError(path, sprintf "no field '%s'" field))
        with :? JsonException as e -> raise (ConfigError(path, oneLine e.Message))
