/// Shape evaluation over a prepared real-model benchmark: every test instance of a category
/// against its ground-truth mesh, for a folder of predicted meshes (if any) and always for the
/// two reference rows that show the metrics discriminate.
module Reconstruct.App.Benchmark

open System
open System.IO
open System.Threading
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Eval

/// The file name a prediction for `instanceId` must have (".obj", ".off" or ".ply"): a mesh,
/// or a point cloud (a file with vertices and no faces, as `reconstruct predict` writes for
/// the point-cloud method).
let predictionStem = DatasetRender.instanceStem

let private predictionExtensions = [ ".obj"; ".off"; ".ply" ]

/// Radius of the solid each point of a predicted cloud is drawn as in the figure, in the
/// true object's units (it spans [-0.5, 0.5]): 1,024 points on a chair lie about 0.04 apart,
/// so solids of half that just touch and the cloud reads as a shape at 64 px while still
/// showing it is points (at 0.01 a chair is a faint dust).
[<Literal>]
let CloudFigureRadius = 0.02

/// Why `dir` cannot be a folder of predictions (None when it can): it does not exist, or it
/// holds no .obj, .off or .ply file (then every instance would be a failure: a wrong path,
/// not a method that failed). Files are not opened here: a bad one is its instance's failure.
let predictionFolderProblem (dir: string) : string option =
    if not (Directory.Exists dir) then Some "no such folder"
    elif Directory.EnumerateFiles dir |> Seq.exists (fun f -> List.contains (Path.GetExtension(f).ToLowerInvariant()) predictionExtensions) |> not then
        Some "holds no predicted mesh or point cloud (<instance>.obj, .off or .ply)"
    else None

/// One instance to score: its id, split and how to load its ground truth.
type private Truth = { Id: string; Split: string; Load: unit -> TexturedMesh }

type Options =
    { /// The prepared real models (`reconstruct data`), unless `Benchmarks` is given.
      CacheDir: string
      /// A folder of rendered benchmarks, one per category (`reconstruct data --output`, e.g. of
      /// procedural categories): the instances and ground truths of
      /// <Benchmarks>/<category>/multiview/index.jsonl instead of the prepared real models.
      Benchmarks: string option
      Categories: string list
      Split: string
      /// Folder of predicted meshes or point clouds named by `predictionStem`; None = reference
      /// rows only.
      Predictions: string option
      MethodName: string
      Shape: ShapeEvalOptions
      Seed: int
      /// Standard deviation of the noise of the "true mesh with small noise" row.
      NoiseSigma: float
      /// Evaluate at most this many instances per category (0 = all).
      Limit: int
      /// Rows (the first instances) of each category's reconstruction figure; 0 = no figure.
      GridInstances: int
      /// The figure's input view: an index into the multi-view protocol's 24 views.
      GridView: int
      Grid: GridOptions }

/// One category's "input | reconstruction | novel views" figure.
type CategoryGrid =
    { Category: string
      /// Instance ids, one per row, top to bottom.
      Instances: string list
      /// Method names, one per group of columns, left to right.
      Methods: string list
      /// (3, H', W') float32 (ReconstructionGrid.assemble); the caller disposes it.
      Image: Tensor }

/// Evaluates and returns the report and one figure per category whose first `GridInstances`
/// instances show the input (the true model rendered in the multi-view protocol's view
/// `GridView`), then each method's mesh in that camera and from novel azimuths: the
/// prediction (when a folder is given), the template and the noisy truth, each the very mesh
/// that was scored, in the true object frame. An instance a method has no scores for (no
/// prediction file, one that cannot be read or evaluated, a ground truth that cannot be
/// loaded) is one of the report's Failures, with the reason; the others go on. `cancel` is
/// checked before each instance: once set, the run ends with OperationCanceledException (the
/// instance in progress is finished, not counted as a failure). The predictions folder must
/// pass `predictionFolderProblem`.
let run (options: Options) (cancel: CancellationToken) (log: string -> unit) : EvalReport * CategoryGrid list =
    match options.Predictions |> Option.bind (fun dir -> predictionFolderProblem dir |> Option.map (fun p -> dir, p)) with
    | Some (dir, problem) -> invalidArg "options" (sprintf "Benchmark.run: predictions %s: %s" dir problem)
    | None -> ()
    if options.GridInstances < 0 then invalidArg "options" (sprintf "Benchmark.run: GridInstances must be >= 0, received %d" options.GridInstances)
    if options.GridView < 0 || options.GridView >= DatasetRender.multiViews.Length then
        invalidArg "options" (sprintf "Benchmark.run: GridView must be a multi-view index in 0..%d, received %d" (DatasetRender.multiViews.Length - 1) options.GridView)
    use generator = new Generator(uint64 options.Seed)
    // Frees the template and whatever else outlives an instance; the figures move out.
    use runScope = DisposalScope.Open()
    let gridView = DatasetRender.multiViews.[options.GridView]
    let gridMethods =
        (match options.Predictions with Some _ -> [ options.MethodName ] | None -> [])
        @ [ EvalReport.TemplateReference; EvalReport.NoisyTruthReference ]
    let grids = Collections.Generic.List<CategoryGrid>()
    let rows = Collections.Generic.List<InstanceScores>()
    let templates = Collections.Generic.List<InstanceScores>()
    let noisy = Collections.Generic.List<InstanceScores>()
    let failures = Collections.Generic.List<InstanceFailure>()
    let score methodName category id (r: ShapeResult) =
        { Method = methodName; Category = category; Instance = id; Values = ShapeEval.metrics r }
    let template = Template.unicorn 0.4
    // Every manifest or index is read first, so a missing or damaged one fails at once, not
    // after the others.
    let manifests =
        match options.Benchmarks with
        | None ->
            let manifestOf = Furniture.manifestPath options.CacheDir
            [ for category in options.Categories do
                  if not (File.Exists(manifestOf category)) then
                      failwithf "eval: %s not found; prepare the data first (`reconstruct data --categories %s`)" (manifestOf category) category
                  let entries, _, _ = FurnitureManifest.read (manifestOf category)
                  category, entries |> List.map (fun e -> { Id = e.Info.Id; Split = e.Split.Name; Load = fun () -> Furniture.load e }) ]
        | Some dir ->
            [ for category in options.Categories do
                  let entries = MultiView.entries (Path.Combine(dir, category))
                  category,
                  [ for e in entries ->
                        let info =
                            { Id = e.Id; Name = e.Id; Category = e.Category; SourceCategory = ""; Creator = ""; Licence = ""; Library = ""
                              WidthCm = 0.0; HeightCm = 0.0; DepthCm = 0.0; Source = e.Mesh; LicenceFiles = [] }
                        { Id = e.Id; Split = e.Split; Load = fun () -> TexturedMesh.readObj info e.Mesh } ] ]
    try
        for category, entries in manifests do
            let selected =
                entries
                |> List.filter (fun e -> e.Split = options.Split)
                |> fun l -> if options.Limit > 0 then List.truncate options.Limit l else l
            // Rows of the figure: (1 + M (1 + N), 3, S, S) each, a few hundred KB, kept past the
            // instance's scope; the meshes they show are freed with it.
            let gridRows = Collections.Generic.List<string * Tensor>()
            try
                for k, e in List.indexed selected do
                    // Between instances: the one in progress is finished, then the run ends.
                    cancel.ThrowIfCancellationRequested()
                    let id = e.Id
                    // The methods this instance has a score or a failure for: when the instance
                    // fails as a whole, the others get its reason.
                    let settled = Collections.Generic.HashSet<string>()
                    let fail methodName (ex: exn) =
                        // Under Ctrl+C an error is not the instance's: the run is abandoned.
                        cancel.ThrowIfCancellationRequested()
                        let reason = ex.Message.Split('\n').[0]
                        failures.Add { Method = methodName; Category = category; Instance = id; Reason = reason }
                        settled.Add methodName |> ignore
                        reason
                    try
                        use scope = DisposalScope.Open()
                        use model = e.Load()
                        let truth = TexturedMesh.toMesh model
                        templates.Add(score "template" category id (ShapeEval.templateReference generator options.Shape template truth))
                        settled.Add EvalReport.TemplateReference |> ignore
                        let noisyMesh = ShapeEval.noisyTruth generator options.NoiseSigma truth
                        noisy.Add(score "noisy" category id (ShapeEval.evaluate generator options.Shape noisyMesh truth))
                        settled.Add EvalReport.NoisyTruthReference |> ignore
                        let prediction =
                            match options.Predictions with
                            | Some dir ->
                                let stem = Path.Combine(dir, predictionStem id)
                                // A prediction that cannot be read or scored is its method's
                                // failure; the instance keeps its reference rows and figure.
                                try
                                    match predictionExtensions |> List.map (fun x -> stem + x) |> List.tryFind File.Exists with
                                    | Some file ->
                                        try
                                            let result, drawn =
                                                match MeshIO.readMeshOrCloud file with
                                                | MeshOrCloud.Surface mesh -> ShapeEval.evaluate generator options.Shape mesh truth, FigureMesh.plain mesh
                                                | MeshOrCloud.Cloud points ->
                                                    log (sprintf "%s %s: %s: a point cloud of %d points (no 3D IoU)" category id options.MethodName (points.Length / 3))
                                                    ShapeEval.evaluateCloud generator options.Shape points truth, FigureMesh.points CloudFigureRadius points
                                            rows.Add(score options.MethodName category id result)
                                            settled.Add options.MethodName |> ignore
                                            Some drawn
                                        // The reason names the file (the readers' errors do already).
                                        with ex when not (ex.Message.Contains file) -> raise (InvalidDataException(sprintf "%s: %s" file ex.Message, ex))
                                    | None -> failwithf "no prediction %s.{obj,off,ply}" stem
                                with ex ->
                                    let reason = fail options.MethodName ex
                                    log (sprintf "%s %s: %s: %s" category id options.MethodName reason)
                                    None
                            | None -> None
                        log (sprintf "%s %s: template CD-L1 %.3f, noisy CD-L1 %.3f" category id (snd templates.[templates.Count - 1].Values.Head) (snd noisy.[noisy.Count - 1].Values.Head))
                        if k < options.GridInstances then
                            // A figure that cannot be drawn must not cost the instance its scores.
                            try
                                let input, _ = DatasetRender.render 64 model [| gridView |] (Tensor.ones [ 1; 3; 64; 64 ])
                                let meshes =
                                    (match options.Predictions with
                                     | Some _ -> [ prediction ]
                                     | None -> [])
                                    @ [ Some(FigureMesh.plain template); Some(FigureMesh.plain noisyMesh) ]
                                gridRows.Add(id, scope.MoveOut(ReconstructionGrid.row options.Grid input.[0] gridView meshes))
                            with ex ->
                                cancel.ThrowIfCancellationRequested()
                                log (sprintf "%s %s: no figure row: %s" category id (ex.Message.Split('\n').[0]))
                    with ex when not (ex :? OperationCanceledException && cancel.IsCancellationRequested) ->
                        cancel.ThrowIfCancellationRequested()
                        for m in gridMethods do
                            if not (settled.Contains m) then fail m ex |> ignore
                        log (sprintf "%s %s: failed: %s" category id (ex.Message.Split('\n').[0]))
                if gridRows.Count > 0 then
                    let image = runScope.MoveOut(ReconstructionGrid.assemble options.Grid [ for _, r in gridRows -> r ])
                    grids.Add { Category = category; Instances = [ for id, _ in gridRows -> id ]; Methods = gridMethods; Image = image }
            finally
                for _, r in gridRows do (r :> IDisposable).Dispose()
    with _ ->
        for g in grids do (g.Image :> IDisposable).Dispose()
        reraise ()
    if templates.Count = 0 then
        for g in grids do (g.Image :> IDisposable).Dispose()
        let firstFailure = if failures.Count = 0 then "" else sprintf " (%s %s: %s)" failures.[0].Category failures.[0].Instance failures.[0].Reason
        failwithf "eval: no %s instances evaluated in %s%s" options.Split (String.Join(", ", options.Categories)) firstFailure
    let metrics = templates.[0].Values |> List.map fst
    let report = EvalReport.create "Shape reconstruction" metrics (List.ofSeq rows) (List.ofSeq templates) (List.ofSeq noisy)
    EvalReport.withFailures (List.ofSeq failures) report, List.ofSeq grids

/// Writes each grid as <directory>/grid_<category>.png with its legend grid_<category>.md
/// (columns, and the instance of each row), each atomically (temporary name, then rename).
/// Returns the paths written. `options` must be those the grids were drawn with.
let writeGrids (directory: string) (options: GridOptions) (grids: CategoryGrid list) =
    [ for g in grids do
          Directory.CreateDirectory directory |> ignore
          let name = "grid_" + DatasetRender.instanceStem g.Category
          let png = Path.Combine(directory, name + ".png")
          let md = Path.Combine(directory, name + ".md")
          Image.save png g.Image
          let legend = ReconstructionGrid.legend options (name + ".png") (sprintf "%s: input | reconstruction | novel views" g.Category) g.Methods g.Instances
          Files.writeAtomically md (fun stream ->
              let bytes = Text.UTF8Encoding(false).GetBytes legend
              stream.Write(bytes, 0, bytes.Length))
          yield! [ png; md ] ]
