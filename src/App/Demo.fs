module Reconstruct.App.Demo

open System
open System.Diagnostics
open System.IO
open System.Text.Json
open System.Threading
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Eval

type Options =
    { Model: string
      Out: string
      Category: string
      Seed: uint64
      Count: int
      Instances: int }

    static member Defaults =
        { Model = "unicorn-chair"; Out = Path.Combine("artifacts", "demo"); Category = "chair"; Seed = 42UL; Count = 1000; Instances = 12 }

type Result =
    { Report: string
      Instances: int
      ChamferL1: float
      TemplateChamferL1: float
      SecondsPerImage: float
      Seconds: float }

/// The input view of instance i, as the training runs' evaluation cycles them.
let private inputView (i: int) = (3 + 7 * i) % DatasetRender.multiViews.Length

/// Reads a prediction's pose (rotation, translation) back from its pose.json.
let private poseOf (path: string) =
    use doc = JsonDocument.Parse(File.ReadAllText path)
    let root = doc.RootElement
    let rotation = [| for row in root.GetProperty("rotation").EnumerateArray() do for v in row.EnumerateArray() -> v.GetSingle() |]
    let translation = [| for v in root.GetProperty("translation").EnumerateArray() -> v.GetSingle() |]
    Camera.pose (Tensor.ofArray (rotation, [ 1; 3; 3 ])) (Tensor.ofArray (translation, [ 1; 3 ]))

let private mean (key: string) (s: CategorySummary) =
    s.Means |> List.tryPick (fun (k, v) -> if k = key then Some v else None) |> Option.defaultValue nan

let run (options: Options) (cancel: CancellationToken) (log: string -> unit) : Result =
    let clock = Stopwatch.StartNew()
    let root = Path.Combine(options.Out, "benchmark" + Procedural.revisionTag options.Category)
    let benchmark = Path.Combine(root, options.Category)
    DatasetRender.writeOnce benchmark (fun () -> log (sprintf "demo: waiting for another process rendering %s" benchmark)) (fun () ->
        log (sprintf "demo: rendering %d unseen test %ss (seed %d) into %s" options.Instances options.Category options.Seed benchmark)
        let renderOptions: DatasetRender.BenchmarkOptions = { Protocols = [ DatasetRender.MultiView ]; Seed = options.Seed; WildViews = 0 }
        DatasetRender.writeBenchmark benchmark renderOptions cancel ignore (DatasetRender.proceduralSplit options.Category options.Seed options.Count "test" |> Seq.truncate options.Instances) |> ignore)
    log (sprintf "demo: test instances ready after %.1f s" clock.Elapsed.TotalSeconds)
    let set = MultiView.load benchmark "test"
    // The inputs: one single view per instance, as a user would give a photograph.
    let inputs = Path.Combine(options.Out, "inputs")
    Directory.CreateDirectory inputs |> ignore
    let stems = Array.init set.Count (fun i -> Benchmark.predictionStem (MultiView.id set i))
    for i in 0 .. set.Count - 1 do
        let path = Path.Combine(inputs, stems.[i] + ".png")
        if not (File.Exists path) then
            use _ = DisposalScope.Open()
            Image.save path (MultiView.image set i (inputView i)).[0]
    let predictions = Path.Combine(options.Out, "predictions")
    // The demo's own output, made afresh so that its timing is measured each time (predict
    // itself would skip the images already done).
    if Directory.Exists predictions then Directory.Delete(predictions, true)
    let predictOptions = { Predict.Options.Defaults with Model = options.Model; Input = inputs; Out = predictions; Glb = false }
    let summary = Predict.run predictOptions cancel log
    cancel.ThrowIfCancellationRequested()
    log (sprintf "demo: reconstructed after %.1f s" clock.Elapsed.TotalSeconds)
    // Into the true object frame through the predicted and the true camera, as the runs score.
    let aligned = Path.Combine(options.Out, "aligned")
    Directory.CreateDirectory aligned |> ignore
    for i in 0 .. set.Count - 1 do
        let obj, pose = Path.Combine(predictions, stems.[i] + ".obj"), Path.Combine(predictions, stems.[i] + ".pose.json")
        if File.Exists obj && File.Exists pose then
            use _ = DisposalScope.Open()
            let mesh = MeshIO.readObj obj
            let truth = Experiments.Unicorn.truePose DatasetRender.multiViews.[inputView i]
            let vertices = Alignment.toTrueObjectFrame (poseOf pose) truth mesh.Vertices
            MeshIO.writeObj (Path.Combine(aligned, stems.[i] + ".obj")) (Mesh.create vertices mesh.Faces)
    let evalOptions: Benchmark.Options =
        { CacheDir = Furniture.defaultCacheDir
          Benchmarks = Some root
          Categories = [ options.Category ]
          Split = "test"
          Predictions = Some aligned
          MethodName = "unicorn"
          Shape = { ShapeEvalOptions.Defaults with Points = 10000 }
          Seed = 0
          NoiseSigma = ShapeEval.ReferenceNoise
          Limit = 0
          GridInstances = 0
          GridView = 3
          Grid = GridOptions.Defaults }
    cancel.ThrowIfCancellationRequested()
    let report, grids = Benchmark.run evalOptions cancel ignore
    cancel.ThrowIfCancellationRequested()
    for g in grids do (g.Image :> IDisposable).Dispose()
    let evalDir = Path.Combine(predictions, "eval")
    Directory.CreateDirectory evalDir |> ignore
    EvalReport.write evalDir "shapes" report |> ignore
    let summaries = EvalReport.summarize report |> List.filter (fun s -> s.Category = EvalReport.AllCategories)
    let mine = summaries |> List.find (fun s -> s.Method = "unicorn")
    let template = summaries |> List.find (fun s -> s.Method = EvalReport.TemplateReference)
    log (sprintf "demo: scored after %.1f s" clock.Elapsed.TotalSeconds)
    let page = Report.writePage predictions options.Out "report.html"
    { Report = page
      Instances = set.Count
      ChamferL1 = mean "chamfer_l1" mine
      TemplateChamferL1 = mean "chamfer_l1" template
      SecondsPerImage = summary.SecondsPerImage
      Seconds = clock.Elapsed.TotalSeconds }
