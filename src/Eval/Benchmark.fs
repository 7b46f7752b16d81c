/// Shape evaluation over a prepared real-model benchmark: every test instance of a category
/// against its ground-truth mesh, for a folder of predicted meshes (if any) and always for the
/// two reference rows that show the metrics discriminate.
module Reconstruct.Eval.Benchmark

open System
open System.IO
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data

/// The file name a prediction for `instanceId` must have (".obj", ".off" or ".ply").
let predictionStem = DatasetRender.instanceStem

type Options =
    { CacheDir: string
      Categories: string list
      Split: string
      /// Folder of predicted meshes named by `predictionStem`; None = reference rows only.
      Predictions: string option
      MethodName: string
      Shape: ShapeEvalOptions
      Seed: int
      /// Standard deviation of the noise of the "true mesh with small noise" row.
      NoiseSigma: float
      /// Evaluate at most this many instances per category (0 = all).
      Limit: int }

/// Evaluates and returns the report plus the instances that could not be evaluated (reason).
let run (options: Options) (log: string -> unit) =
    use generator = new Generator(uint64 options.Seed)
    let rows = Collections.Generic.List<InstanceScores>()
    let templates = Collections.Generic.List<InstanceScores>()
    let noisy = Collections.Generic.List<InstanceScores>()
    let failures = Collections.Generic.List<string * string>()
    let score methodName category id (r: ShapeResult) =
        { Method = methodName; Category = category; Instance = id; Values = ShapeEval.metrics r }
    let template = Template.unicorn 0.4
    for category in options.Categories do
        let manifest = Path.Combine(options.CacheDir, "furniture", category, "manifest.json")
        if not (File.Exists manifest) then
            failwithf "eval: %s not found; prepare the data first (`reconstruct data --categories %s`)" manifest category
        let entries, _, _ = Furniture.readManifest manifest
        let selected =
            entries
            |> List.filter (fun e -> e.Split.Name = options.Split)
            |> fun l -> if options.Limit > 0 then List.truncate options.Limit l else l
        for e in selected do
            try
                use scope = DisposalScope.Open()
                use model = Furniture.load e
                let truth = TexturedMesh.toMesh model
                let id = e.Info.Id
                templates.Add(score "template" category id (ShapeEval.templateReference generator options.Shape template truth))
                noisy.Add(score "noisy" category id (ShapeEval.noisyTruthReference generator options.Shape options.NoiseSigma truth))
                match options.Predictions with
                | Some dir ->
                    let stem = Path.Combine(dir, predictionStem id)
                    match [ ".obj"; ".off"; ".ply" ] |> List.map (fun x -> stem + x) |> List.tryFind File.Exists with
                    | Some file -> rows.Add(score options.MethodName category id (ShapeEval.evaluate generator options.Shape (MeshIO.read file) truth))
                    | None -> failures.Add(id, sprintf "no prediction %s.{obj,off,ply}" stem)
                | None -> ()
                log (sprintf "%s %s: template CD-L1 %.3f, noisy CD-L1 %.3f" category id (snd templates.[templates.Count - 1].Values.Head) (snd noisy.[noisy.Count - 1].Values.Head))
            with ex ->
                failures.Add(e.Info.Id, ex.Message.Split('\n').[0])
                log (sprintf "%s %s: failed: %s" category e.Info.Id (ex.Message.Split('\n').[0]))
    if templates.Count = 0 then failwithf "eval: no %s instances evaluated in %A" options.Split options.Categories
    let metrics = templates.[0].Values |> List.map fst
    EvalReport.create "Shape reconstruction" metrics (List.ofSeq rows) (List.ofSeq templates) (List.ofSeq noisy), List.ofSeq failures
