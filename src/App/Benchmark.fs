/// Shape evaluation over a prepared real-model benchmark: every test instance of a category
/// against its ground-truth mesh, for a folder of predicted meshes (if any) and always for the
/// two reference rows that show the metrics discriminate.
module Reconstruct.App.Benchmark

open System
open System.IO
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Eval

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

/// Evaluates and returns the report, the instances that could not be evaluated (reason) and
/// one figure per category whose first `GridInstances` instances show the input (the true
/// model rendered in the multi-view protocol's view `GridView`), then each method's mesh in
/// that camera and from novel azimuths: the prediction (when a folder is given), the
/// template and the noisy truth, each the very mesh that was scored, in the true object frame.
let run (options: Options) (log: string -> unit) =
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
    let failures = Collections.Generic.List<string * string>()
    let score methodName category id (r: ShapeResult) =
        { Method = methodName; Category = category; Instance = id; Values = ShapeEval.metrics r }
    let template = Template.unicorn 0.4
    let manifestOf = Furniture.manifestPath options.CacheDir
    // Every manifest is checked first, so a missing one fails at once, not after the others.
    for category in options.Categories do
        if not (File.Exists(manifestOf category)) then
            failwithf "eval: %s not found; prepare the data first (`reconstruct data --categories %s`)" (manifestOf category) category
    try
        for category in options.Categories do
            let entries, _, _ = FurnitureManifest.read (manifestOf category)
            let selected =
                entries
                |> List.filter (fun e -> e.Split.Name = options.Split)
                |> fun l -> if options.Limit > 0 then List.truncate options.Limit l else l
            // Rows of the figure: (1 + M (1 + N), 3, S, S) each, a few hundred KB, kept past the
            // instance's scope; the meshes they show are freed with it.
            let gridRows = Collections.Generic.List<string * Tensor>()
            try
                selected
                |> List.iteri (fun k e ->
                    try
                        use scope = DisposalScope.Open()
                        use model = Furniture.load e
                        let truth = TexturedMesh.toMesh model
                        let id = e.Info.Id
                        templates.Add(score "template" category id (ShapeEval.templateReference generator options.Shape template truth))
                        let noisyMesh = ShapeEval.noisyTruth generator options.NoiseSigma truth
                        noisy.Add(score "noisy" category id (ShapeEval.evaluate generator options.Shape noisyMesh truth))
                        let prediction =
                            match options.Predictions with
                            | Some dir ->
                                let stem = Path.Combine(dir, predictionStem id)
                                match [ ".obj"; ".off"; ".ply" ] |> List.map (fun x -> stem + x) |> List.tryFind File.Exists with
                                | Some file ->
                                    let mesh = MeshIO.read file
                                    rows.Add(score options.MethodName category id (ShapeEval.evaluate generator options.Shape mesh truth))
                                    Some mesh
                                | None ->
                                    failures.Add(id, sprintf "no prediction %s.{obj,off,ply}" stem)
                                    None
                            | None -> None
                        log (sprintf "%s %s: template CD-L1 %.3f, noisy CD-L1 %.3f" category id (snd templates.[templates.Count - 1].Values.Head) (snd noisy.[noisy.Count - 1].Values.Head))
                        if k < options.GridInstances then
                            // A figure that cannot be drawn must not cost the instance its scores.
                            try
                                let input, _ = DatasetRender.render 64 model [| gridView |] (Tensor.ones [ 1; 3; 64; 64 ])
                                let meshes =
                                    (match options.Predictions with
                                     | Some _ -> [ prediction |> Option.map FigureMesh.plain ]
                                     | None -> [])
                                    @ [ Some(FigureMesh.plain template); Some(FigureMesh.plain noisyMesh) ]
                                gridRows.Add(id, scope.MoveOut(ReconstructionGrid.row options.Grid input.[0] gridView meshes))
                            with ex -> log (sprintf "%s %s: no figure row: %s" category id (ex.Message.Split('\n').[0]))
                    with ex ->
                        failures.Add(e.Info.Id, ex.Message.Split('\n').[0])
                        log (sprintf "%s %s: failed: %s" category e.Info.Id (ex.Message.Split('\n').[0])))
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
        failwithf "eval: no %s instances evaluated in %A" options.Split options.Categories
    let metrics = templates.[0].Values |> List.map fst
    EvalReport.create "Shape reconstruction" metrics (List.ofSeq rows) (List.ofSeq templates) (List.ofSeq noisy), List.ofSeq failures, List.ofSeq grids

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
