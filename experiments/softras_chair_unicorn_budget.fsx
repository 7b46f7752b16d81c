// SoftRas trained *with* ground-truth silhouettes and viewpoints on the procedural chairs for
// the wall-clock time unicorn_chair took (read from its results file): the supervised row that
// UNICORN is compared with (issue 12).
// Run: dotnet fsi build.fsx experiment softras_chair_unicorn_budget   (after unicorn_chair)
#load "load.fsx"

open System.IO
open System.Text.Json
open Reconstruct.App.Experiments

let unicornResults = Path.Combine("experiments", "results", "unicorn_chair.json")

if not (File.Exists unicornResults) then
    eprintfn "softras_chair_unicorn_budget: %s not found; run unicorn_chair first" unicornResults
    exit 2

let minutes =
    use doc = JsonDocument.Parse(File.ReadAllText unicornResults)
    // Training time over every session of the run (older results files have only "seconds").
    match doc.RootElement.TryGetProperty "trainingSeconds" with
    | true, v -> v.GetDouble() / 60.0
    | _ -> doc.RootElement.GetProperty("seconds").GetDouble() / 60.0

let experiment =
    { SoftRas.baseline with
        Name = "softras_chair_unicorn_budget"
        Stop = { Iterations = None; Minutes = Some minutes }
        Method = { SoftRas.baseline.Method with Data = Procedural("chair", 1000) } }

exit (script SoftRas.run experiment (Array.tail fsi.CommandLineArgs))
