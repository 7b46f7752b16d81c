// An Unsup3d run's model at one of its checkpoints, with the run's val images: what the
// diagnostic scripts (unsup3d_probe.fsx, unsup3d_trace.fsx) read. Loaded by them, not run.
#load "load.fsx"

open System
open System.IO
open System.Threading
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Train
open Reconstruct.App

/// The run's experiment, its val set (over the run's background) and its model with the
/// weights of `checkpoint` (default: the last one).
let loadRun (runDir: string) (checkpoint: string option) =
    let experiment = Trainer.readExperiment<Unsup3dExperiment.Method> runDir
    let m = experiment.Method
    let checkpoint = checkpoint |> Option.defaultValue (Path.Combine(runDir, Trainer.CheckpointsFolder, "last.safetensors"))
    let benchmark = Experiments.symmetricBenchmark m.Cache m.DataSeed m.Data m.Views CancellationToken.None ignore
    let protocol = Path.Combine(benchmark, (DatasetRender.Symmetric Reconstruct.Stages.Unsup3d.ImageSize).Name)
    let set = SingleView.loadOver (byte (Math.Round(255.0 * m.Background))) protocol "val"
    let model =
        use g = new Generator(0UL)
        Reconstruct.Pipelines.Unsup3d.create g m.Pipeline
    Checkpoint.restoreWeights checkpoint (Reconstruct.Pipelines.Unsup3d.parameters model) (fun _ -> false) |> ignore
    printfn "%s, iteration %d" checkpoint (Checkpoint.readMetadata checkpoint).Step
    experiment, set, model

/// The script's arguments RUN_DIR [CHECKPOINT] [more...]: the run's experiment, val set and
/// model as `loadRun` gives them, and the arguments after the checkpoint. Without a run
/// folder, prints `usage` and exits with 2.
let loadFromArgs (usage: string) =
    let args = fsi.CommandLineArgs |> Array.tail
    if args.Length < 1 then
        eprintfn "usage: %s" usage
        exit 2
    let experiment, set, model = loadRun args.[0] (if args.Length > 1 then Some args.[1] else None)
    experiment, set, model, args.[0], Array.skip (min 2 args.Length) args
