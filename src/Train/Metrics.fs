namespace Reconstruct.Train

open System
open System.Buffers
open System.IO
open System.Text.Json
open Reconstruct.Torch

type StepLine =
    { Iteration: int
      Epoch: int
      Batch: int
      Losses: (string * float) list
      Lr: float
      ItPerS: float
      MemoryMb: float
      ElapsedS: float }

type MetricsLine =
    | Step of StepLine
    | Validation of iteration: int * values: (string * float) list

module Metrics =
    [<Literal>]
    let FileName = "metrics.jsonl"

    // A NaN or infinity is not JSON; a non-finite value is written as null (the trainer never
    // writes a non-finite loss, but throughput or a validation metric may be one).
    let private number (w: Utf8JsonWriter) (name: string) (value: float) =
        if Double.IsFinite value then w.WriteNumber(name, value) else w.WriteNull name

    let private write (w: Utf8JsonWriter) (line: MetricsLine) =
        w.WriteStartObject()
        match line with
        | Step s ->
            w.WriteNumber("iteration", s.Iteration)
            w.WriteNumber("epoch", s.Epoch)
            w.WriteNumber("batch", s.Batch)
            w.WriteStartObject "loss"
            for name, v in s.Losses do number w name v
            w.WriteEndObject()
            number w "lr" s.Lr
            number w "it_per_s" s.ItPerS
            number w "memory_mb" s.MemoryMb
            number w "elapsed_s" s.ElapsedS
        | Validation (iteration, values) ->
            w.WriteNumber("iteration", iteration)
            w.WriteStartObject "validation"
            for name, v in values do number w name v
            w.WriteEndObject()
        w.WriteEndObject()
        w.Flush()

    let toJson (line: MetricsLine) =
        let buffer = ArrayBufferWriter<byte>()
        use w = new Utf8JsonWriter(buffer)
        write w line
        Text.Encoding.UTF8.GetString buffer.WrittenSpan

    let private parse (path: string) (number: int) (text: string) =
        let bad what = raise (InvalidDataException(sprintf "%s line %d: %s" path number what))
        try
            use document = JsonDocument.Parse text
            let root = document.RootElement
            let value (e: JsonElement) = if e.ValueKind = JsonValueKind.Null then nan else e.GetDouble()
            let get (name: string) =
                match root.TryGetProperty name with
                | true, e -> e
                | _ -> bad (sprintf "no \"%s\"" name)
            let named (e: JsonElement) = [ for p in e.EnumerateObject() -> p.Name, value p.Value ]
            let iteration = (get "iteration").GetInt32()
            match root.TryGetProperty "validation" with
            | true, v -> Validation(iteration, named v)
            | _ ->
                Step
                    { Iteration = iteration
                      Epoch = (get "epoch").GetInt32()
                      Batch = (get "batch").GetInt32()
                      Losses = named (get "loss")
                      Lr = value (get "lr")
                      ItPerS = value (get "it_per_s")
                      MemoryMb = value (get "memory_mb")
                      ElapsedS = value (get "elapsed_s") }
        with
        | :? JsonException
        | :? FormatException
        | :? InvalidOperationException as e -> bad (e.Message.Split('\n').[0])

    let private readWithText (path: string) =
        File.ReadLines path
        |> Seq.mapi (fun k text -> k + 1, text)
        |> Seq.filter (fun (_, text) -> not (String.IsNullOrWhiteSpace text))
        |> Seq.map (fun (k, text) -> parse path k text, text)
        |> List.ofSeq

    let read (path: string) = readWithText path |> List.map fst

    let truncate (path: string) (steps: int) =
        let kept =
            if File.Exists path then
                readWithText path
                |> List.filter (fun (line, _) ->
                    match line with
                    | Step s -> s.Iteration < steps
                    | Validation (iteration, _) -> iteration <= steps)
                |> List.map (fun (_, text) -> text + "\n")
            else []
        Files.writeTextAtomically path (String.concat "" kept)

    [<Sealed>]
    type Writer(path: string) =
        let stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read)
        let buffer = ArrayBufferWriter<byte>()
        let writer = new Utf8JsonWriter(buffer)

        member _.Append(line: MetricsLine) =
            buffer.Clear()
            writer.Reset buffer
            write writer line
            stream.Write buffer.WrittenSpan
            stream.WriteByte 10uy
            stream.Flush()

        interface IDisposable with
            member _.Dispose() =
                writer.Dispose()
                stream.Dispose()
