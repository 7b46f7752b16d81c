/// Benchmark figures: printed as `bench <name> <value> <unit>` and collected into one JSON file.
module Reconstruct.Bench.Report

open System
open System.Diagnostics
open System.IO
open System.Text.Json
open Reconstruct.Torch

type Figure = { Name: string; Value: float; Unit: string; Note: string }

let figure name value unit note = { Name = name; Value = value; Unit = unit; Note = note }

let print (f: Figure) =
    printfn "bench %s %s %s%s" f.Name (f.Value.ToString("G6", Globalization.CultureInfo.InvariantCulture)) f.Unit
        (if f.Note = "" then "" else "  # " + f.Note)

/// Writes the figures as {"name": {"value", "unit", "note"}}, atomically.
let writeJson (path: string) (figures: Figure list) =
    let dir = Path.GetDirectoryName(Path.GetFullPath path)
    Directory.CreateDirectory dir |> ignore
    let payload =
        figures
        |> List.map (fun f -> f.Name, box {| value = f.Value; unit = f.Unit; note = f.Note |})
        |> dict
    Reconstruct.Torch.Files.writeTextAtomically path (JsonSerializer.Serialize(payload, JsonSerializerOptions(WriteIndented = true)))

/// Median wall-clock milliseconds of `runs` calls after `warmup` calls.
let medianMs (warmup: int) (runs: int) (action: unit -> unit) =
    for _ in 1..warmup do action ()
    let times =
        Array.init runs (fun _ ->
            let sw = Stopwatch.StartNew()
            action ()
            sw.Elapsed.TotalMilliseconds)
    Array.sortInPlace times
    times.[runs / 2]

let median (values: float[]) =
    let v = Array.sort values
    v.[v.Length / 2]

/// Wall and process-CPU milliseconds of one call. On a shared machine the wall time also
/// measures the neighbours; CPU time / threads is what idle cores would take.
let wallAndCpuMs (action: unit -> unit) =
    let cpu0 = Process.GetCurrentProcess().TotalProcessorTime
    let sw = Stopwatch.StartNew()
    action ()
    sw.Elapsed.TotalMilliseconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds

/// Medians (wall, cpu) of `runs` calls after `warmup` calls.
let medianWallAndCpuMs (warmup: int) (runs: int) (action: unit -> unit) =
    for _ in 1..warmup do action ()
    let samples = Array.init runs (fun _ -> wallAndCpuMs action)
    median (Array.map fst samples), median (Array.map snd samples)

/// The median of `runs` values of `f` after one discarded call.
let medianOf (runs: int) (f: unit -> float) =
    f () |> ignore
    median (Array.init runs (fun _ -> f ()))

/// Milliseconds of `f` in its own disposal scope (a stage forward, or forward + backward).
let timed (f: unit -> unit) () =
    use scope = DisposalScope.Open()
    let sw = Stopwatch.StartNew()
    f ()
    sw.Elapsed.TotalMilliseconds

/// Backward of sum(y · w), w random: what the rest of the graph hands each stage.
let backwardOf (g: Generator) (y: Tensor) =
    use w = Tensor.rand (y.Shape, g)
    (y * w).sum().backward ()
