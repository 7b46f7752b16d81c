/// The command line, parsed with Argu. The C# host calls `run`; everything a command does lives
/// in the library so F# scripts can call the same functions.
module Reconstruct.Cli.Commands

open System
open System.Threading
open Argu
open Reconstruct.Torch

/// A command-line argument is wrong: the message names the option and what is wrong with it.
/// Raised before any work starts; `run` prints it with a hint and exits 2.
exception UsageError of message: string
    with override this.Message = this.message

/// Fails with a usage error unless `ok`.
let private require (ok: bool) (message: string) = if not ok then raise (UsageError message)

/// The benchmark groups `bench --only` chooses from, in the order they run. Each group is a
/// list of parts; Ctrl+C is observed between parts.
let private benchGroups: (string * (unit -> Reconstruct.Bench.Report.Figure list) list) list =
    [ "torch", [ Reconstruct.Bench.TorchBench.opOverhead; Reconstruct.Bench.TorchBench.matmulGflops; Reconstruct.Bench.TorchBench.trainStepRatio ]
      "render", [ Reconstruct.Bench.RenderBench.all ]
      "eval", [ Reconstruct.Bench.EvalBench.all ]
      "data", [ Reconstruct.Bench.DataBench.renders ]
      "train", [ Reconstruct.Bench.TrainBench.all ]
      "trainer", [ Reconstruct.Bench.TrainerBench.overhead ]
      "unicorn_render", [ Reconstruct.Bench.RenderBench.unicornRender ]
      "point_projection", [ Reconstruct.Bench.PointSplatBench.all ]
      "pointcloud", [ Reconstruct.Bench.PointCloudBench.all ]
      "pc_eval", [ Reconstruct.Bench.EvalBench.emd; Reconstruct.Bench.EvalBench.fps; Reconstruct.Bench.EvalBench.fitRotation ]
      "perceptual", [ Reconstruct.Bench.PerceptualBench.all ]
      "unicorn", [ Reconstruct.Bench.UnicornBench.all ]
      "predict", [ Reconstruct.Bench.PredictBench.all ]
      "ssr", [ Reconstruct.Bench.SsrBench.all ]
      "unsup3d", [ Reconstruct.Bench.Unsup3dBench.all ] ]

let private benchGroupNames = benchGroups |> List.map fst

/// The last name of a folder's path, trailing separator or not ("photos/chairs/" -> "chairs").
let private folderName (path: string) = IO.Path.GetFileName(IO.Path.TrimEndingDirectorySeparator(IO.Path.GetFullPath path))

type TrainArgs =
    | [<MainCommand; Unique>] Method of name: string
    | Category of name: string
    | Count of count: int
    | Furniture
    | Photos of folder: string
    | Wild of views: int
    | Labelled of count: int
    | Minutes of minutes: float
    | Iterations of count: int
    | Batch of size: int
    | Seed of seed: int
    | Out of dir: string
    | Results of dir: string
    | Cache of dir: string
    | Init_From of checkpoint: string
    | Neighbours
    | Resume of dir: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Method _ -> "the method to train: softras, ssr, unicorn, unsup3d or pointcloud"
            | Category _ -> sprintf "the category: a procedural one (%s), or with --furniture a real-model one (default chair)" (String.Join(", ", Reconstruct.Data.Procedural.categories))
            | Count _ -> "procedural instances to generate (default 1000; 70% train)"
            | Furniture -> "train on the real models of --category (Debian's sweethome3d-furniture) instead of procedural ones"
            | Photos _ -> "unicorn: train on your own photographs, a folder `reconstruct data --photos` imported (no ground truth: validation is the re-render's PSNR/SSIM, no shape or pose scores)"
            | Labelled _ -> "ssr: the first N training objects keep their cameras, the others' are hidden and pseudo-labelled (default 2); softras: train on the first N objects only (SSR's SoftRas-N reference)"
            | Wild _ -> "unicorn: train on single views at random poses over random backgrounds, this many per instance (default: the multi-view renders as single images, on white)"
            | Minutes _ -> "training budget in minutes (default 60)"
            | Iterations _ -> "stop after this many iterations (default: the budget in minutes decides)"
            | Batch _ -> "batch size (softras: objects, two views each, default 16; unicorn: images, default 32)"
            | Seed _ -> "the experiment's seed: initialisation and data order (default 1)"
            | Out _ -> "the run folder: config.json, metrics.jsonl, checkpoints/, curves.png, eval/ (default runs/<method>_<category>); must be new or empty"
            | Results _ -> "also write the results table <name>.md/.json and figures into this folder"
            | Cache _ -> "where rendered training sets are kept between runs (default .cache/train)"
            | Init_From _ -> "fine-tune: start from the weights of this checkpoint (.safetensors) or run folder (its last checkpoint) of the same method and shapes, instead of a random initialisation; the optimiser and iterations start afresh"
            | Neighbours -> "pointcloud: OURS-NN, fine-tuning the --init-from model (trained with the cycles): each image's cloud, drawn at the pose of one of its 5 nearest training images in that model's shape codes, must cover that image's silhouette"
            | Resume _ -> "continue the run in this folder exactly where its last checkpoint left it (with --iterations or --minutes: a new stop rule, counted from the run's start)"

type BenchArgs =
    | [<AltCommandLine("-o")>] Out of path: string
    | Only of names: string list

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Out _ -> "write the figures as JSON to this file (default artifacts/bench.json); written only when every group has run"
            | Only _ -> sprintf "run only these groups: %s (default: all)" (String.Join(", ", benchGroupNames))

type DataArgs =
    | Categories of names: string list
    | Cache of dir: string
    | Seed of seed: int
    | Output of dir: string
    | [<AltCommandLine("--views")>] Wild_Views of count: int
    | Protocol of name: string
    | Procedural of names: string list
    | Count of count: int
    | Photos of folder: string
    | Name of name: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Procedural _ -> sprintf "render procedural categories instead of the real models (no download): %s" (String.Join(", ", Reconstruct.Data.Procedural.categories))
            | Photos _ -> "import a folder of your own photographs of one kind of object as a training set (squared and resized to 64x64, split 90/10 train/val) into <output>/<name>"
            | Name _ -> "with --photos: the collection's name, its folder under --output and its category (default: the photo folder's name)"
            | Count _ -> "instances per procedural category (default 50)"
            | Output _ -> "folder of the rendered benchmark (default artifacts/datasets)"
            | Wild_Views _ -> "views per instance under each wild size, or under --protocol symmetric (default 10)"
            | Protocol _ -> "with --procedural: `symmetric` renders only symmetric64 (Unsup3d-style: within 60 degrees of the front, a random light per image, ground-truth depth maps); default: multiview, wild64 and wild128"
            | Categories _ -> "categories to prepare (default: chair table sofa); see data/categories.json"
            | Cache _ -> "cache folder for the package and the prepared models (default .cache/data)"
            | Seed _ -> "the one seed of the data: procedural shapes, 70/10/20 instance splits, wild views and backgrounds (default 42)"

type EvalArgs =
    | Categories of names: string list
    | Cache of dir: string
    | Benchmarks of dir: string
    | Split of name: string
    | Predictions of dir: string
    | Method of name: string
    | Points of count: int
    | Limit of count: int
    | Report of dir: string
    | Grid of count: int
    | Grid_View of index: int
    | Allow_Missing

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Categories _ -> "categories (default: chair)"
            | Cache _ -> "the folder `reconstruct data` prepared (default .cache/data)"
            | Benchmarks _ -> "score against rendered benchmarks instead of the prepared real models: the folder `reconstruct data --output` wrote (e.g. artifacts/datasets with --procedural), one <category>/multiview/index.jsonl each"
            | Split _ -> "train, val or test (default test)"
            | Predictions _ -> "folder of predictions <instance>.obj|off|ply: meshes, or point clouds (vertices and no faces, as `predict` writes for a point-cloud model; scored on their own points, without 3D IoU) (default: reference rows only)"
            | Method _ -> "name of the method in the report (default prediction)"
            | Points _ -> sprintf "surface points per mesh (default 30000, at most %d)" Reconstruct.Eval.ShapeEval.MaxPoints
            | Limit _ -> "at most this many instances per category (default all)"
            | Report _ -> "output folder of the report, replaced as a whole by each run; a folder with other files is refused (default artifacts/eval)"
            | Grid _ -> "instances per category in the input | reconstruction | novel views figure (default 6, 0 = none)"
            | Grid_View _ -> "the figure's input view, an index into the 24 multi-view views (default 3: azimuth 45°, elevation 30°)"
            | Allow_Missing -> "exit 0 even when some instances could not be scored (each is a row of the report with its reason; without this flag the exit code is 1)"

type PredictArgs =
    | [<Mandatory>] Model of model: string
    | [<Mandatory>] Input of path: string
    | Out of dir: string
    | Ply
    | Glb
    | Batch of size: int

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Model _ -> "a shipped model's name (unicorn-chair, unicorn-car: models/<name>), a model folder or its model.safetensors, or a UNICORN training run folder (its best checkpoint if it kept one, else its last)"
            | Input _ -> "an image (PNG, JPEG, BMP, TGA of any size: alpha composited on white, the largest centred square cropped, resized to the model's 64²) or a folder of them (not recursive)"
            | Out _ -> "output folder (default predictions): per image NAME.obj/.mtl/_texture.png, NAME.pose.json, NAME.png, and summary.json/.md; images whose outputs are complete are skipped"
            | Ply -> "also write NAME.ply (binary, with UVs)"
            | Glb -> "also write NAME.glb (binary glTF with the texture inside: web viewers, Blender)"
            | Batch _ -> "images per forward pass (default 16)"

type ExportArgs =
    | [<MainCommand; Mandatory>] Run of dir: string
    | [<Mandatory>] Name of name: string
    | Out of dir: string
    | Results of file: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Run _ -> "the UNICORN run folder to ship (its best checkpoint if it kept one, else its last)"
            | Name _ -> "the model's name (e.g. unicorn-chair)"
            | Out _ -> "output folder (default models/<name>): model.safetensors (float16), config.json, curves.png, metrics.md"
            | Results _ -> "the run's results Markdown (experiments/results/<name>.md), copied as metrics.md"

type ReportArgs =
    | [<MainCommand; Mandatory>] Folder of dir: string
    | Out of dir: string

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Folder _ -> "a predict output folder (summary.json) or a training run folder (config.json)"
            | Out _ -> "output folder (default <dir>/report): index.html, which opens from disk with no network, and viewer.js beside it"

[<RequireSubcommand>]
type Arguments =
    | [<CliPrefix(CliPrefix.None); SubCommand>] Info
    | [<CliPrefix(CliPrefix.None)>] Bench of ParseResults<BenchArgs>
    | [<CliPrefix(CliPrefix.None); SubCommand>] Demo
    | [<CliPrefix(CliPrefix.None)>] Data of ParseResults<DataArgs>
    | [<CliPrefix(CliPrefix.None)>] Eval of ParseResults<EvalArgs>
    | [<CliPrefix(CliPrefix.None)>] Train of ParseResults<TrainArgs>
    | [<CliPrefix(CliPrefix.None)>] Predict of ParseResults<PredictArgs>
    | [<CliPrefix(CliPrefix.None)>] Export of ParseResults<ExportArgs>
    | [<CliPrefix(CliPrefix.None)>] Report of ParseResults<ReportArgs>
    | [<Inherit>] Threads of count: int

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Info -> "print the libtorch version, threads, SIMD level and BLAS in use"
            | Bench _ -> "run the benchmarks: lines `bench <name> <value> <unit>`"
            | Demo -> "run the main job on the built-in default"
            | Eval _ -> "evaluate predicted meshes or point clouds (and always the two reference rows) against the benchmark's ground truth"
            | Data _ -> "prepare the real-model benchmark (Debian's sweethome3d-furniture): normalised models, splits, attribution"
            | Train _ -> "train a method (softras, unicorn) with progress, checkpoints (Ctrl+C stops after the step and checkpoints) and a test evaluation; --resume continues a run"
            | Predict _ -> "reconstruct images with a trained UNICORN: textured mesh, pose and figure per image"
            | Export _ -> "ship a UNICORN run as a model folder (float16 weights with their checksum) for predict"
            | Report _ -> "an HTML page of a predict output or a training run, with a 3D viewer of its meshes"
            | Threads _ -> "compute threads (default and at most: all cores)"

let private info (_: CancellationToken) =
    printfn "reconstruct %s" (string (typeof<Arguments>.Assembly.GetName().Version))
    printfn "runtime %s" (Runtime.info ())
    0

let private bench (args: ParseResults<BenchArgs>) (cancel: CancellationToken) =
    let out = args.GetResult(BenchArgs.Out, defaultValue = "artifacts/bench.json")
    let groups = args.GetResult(Only, defaultValue = benchGroupNames)
    let selected = benchGroups |> List.filter (fun (name, _) -> List.contains name groups)
    // The results file holds one complete run: an interrupted run writes nothing, so the
    // previous figures stay as they were.
    let figures =
        [ for k, (name, parts) in List.indexed selected do
              printfn "running %s benchmarks (group %d of %d)" name (k + 1) selected.Length
              for part in parts do
                  cancel.ThrowIfCancellationRequested()
                  let figures = part ()
                  figures |> List.iter Reconstruct.Bench.Report.print
                  yield! figures ]
    cancel.ThrowIfCancellationRequested()
    Reconstruct.Bench.Report.writeJson out figures
    printfn "wrote %s" out
    0

/// Writes the benchmark of `category` into `out/<category>` as a whole
/// (`DatasetRender.writeBenchmark`: a temporary folder swapped in when complete, so an
/// interrupted or failed run leaves the previous benchmark as it was) under `protocols`, streaming `instances` (`count` of them) one at a time. Prints a line
/// after the first instance and then every 10 s, and one with the images per protocol at the end.
let private renderBenchmark (out: string) (seed: uint64) (wildViews: int) (protocols: Reconstruct.Data.DatasetRender.Protocol list) (category: string) (count: int) (instances: seq<Reconstruct.Data.DatasetRender.Instance>) (cancel: CancellationToken) =
    let clock = Diagnostics.Stopwatch.StartNew()
    let mutable printed = TimeSpan.Zero
    let progress n =
        if n = 1 || (n < count && clock.Elapsed - printed >= TimeSpan.FromSeconds 10.0) then
            printed <- clock.Elapsed
            printfn "%-8s %5d/%d instances  %.1f s" category n count clock.Elapsed.TotalSeconds
    let options: Reconstruct.Data.DatasetRender.BenchmarkOptions =
        { Protocols = protocols
          Seed = seed
          WildViews = wildViews }
    let root = IO.Path.Combine(out, category)
    let summary = Reconstruct.Data.DatasetRender.writeBenchmark root options cancel progress instances
    let images = summary.Images |> List.map (fun (protocol, n) -> sprintf "%s %d" protocol.Name n)
    printfn "%-8s %5d instances in %.1f s into %s: %s images" category summary.Instances clock.Elapsed.TotalSeconds root (String.Join(", ", images))

/// The built-in default: procedural categories (nothing to download) rendered as benchmarks,
/// and an overview figure of one instance per category from six azimuths.
let private demo (cancel: CancellationToken) =
    printfn "engine: %s" (Runtime.info ())
    let options = Reconstruct.App.Demo.Options.Defaults
    let r = Reconstruct.App.Demo.run options cancel (printfn "%s")
    printfn "demo: %d unseen test %ss reconstructed by %s: Chamfer-L1 %.3f, the template's %.3f (%.2fx); %.0f ms per image, %.0f s in all; report %s"
        r.Instances options.Category options.Model r.ChamferL1 r.TemplateChamferL1 (r.ChamferL1 / r.TemplateChamferL1) (1000.0 * r.SecondsPerImage) r.Seconds (IO.Path.GetFullPath r.Report)
    0

let private data (args: ParseResults<DataArgs>) (cancel: CancellationToken) =
    // The one seed of the data: shapes, splits and wild views all derive from it.
    let seed = uint64 (args.GetResult(Seed, defaultValue = 42))
    let out = args.GetResult(Output, defaultValue = "artifacts/datasets")
    let wildViews = args.GetResult(Wild_Views, defaultValue = 10)
    let protocols =
        // checkData has refused any other name
        match args.TryGetResult Protocol with
        | None -> [ Reconstruct.Data.DatasetRender.MultiView; Reconstruct.Data.DatasetRender.Wild 64; Reconstruct.Data.DatasetRender.Wild 128 ]
        | Some _ -> [ Reconstruct.Data.DatasetRender.Symmetric 64 ]
    let clock = Diagnostics.Stopwatch.StartNew()
    match args.TryGetResult Procedural, args.TryGetResult DataArgs.Photos with
    | _, Some source ->
        let name = args.GetResult(DataArgs.Name, defaultValue = folderName source)
        let mutable shown = TimeSpan.Zero
        let progress n =
            if clock.Elapsed - shown >= TimeSpan.FromSeconds 10.0 then
                shown <- clock.Elapsed
                printfn "photos: %d files read, %.1f s" n clock.Elapsed.TotalSeconds
        let s = Reconstruct.Data.Photos.import source (IO.Path.Combine(out, name)) name 64 seed cancel progress
        for file, why in s.Failures do eprintfn "photos: left out %s: %s" file why
        printfn "photos: %d imported into %s (%d train, %d val), %d left out (failures.md), %.1f s" (s.Train + s.Val) s.Folder s.Train s.Val s.Failures.Length s.Seconds
        printfn "next: reconstruct train unicorn --photos %s" s.Folder
    | Some categories, None ->
        let count = args.GetResult(Count, defaultValue = 50)
        for category in categories do
            renderBenchmark out seed wildViews protocols category count (Reconstruct.Data.DatasetRender.proceduralInstances category seed count) cancel
    | None, None ->
        let categories = args.GetResult(DataArgs.Categories, defaultValue = [ "chair"; "table"; "sofa" ])
        let cache = args.GetResult(DataArgs.Cache, defaultValue = Reconstruct.Data.Furniture.defaultCacheDir)
        let report = Reconstruct.Data.Furniture.prepare cache categories seed
        Reconstruct.Data.Furniture.summary report |> List.iter (printfn "%s")
        for c in report.Categories do
            // loaded one at a time as the benchmark asks for them
            let instances = seq { for e in c.Entries -> Reconstruct.Data.DatasetRender.instance (Reconstruct.Data.Furniture.load e) c.Category e.Split.Name e.Obj }
            renderBenchmark out seed wildViews protocols c.Category c.Entries.Length instances cancel
    printfn "data: done in %.1f s; renders under %s" clock.Elapsed.TotalSeconds out
    0

let private evaluate (args: ParseResults<EvalArgs>) (cancel: CancellationToken) =
    let options: Reconstruct.App.Benchmark.Options =
        { CacheDir = args.GetResult(EvalArgs.Cache, defaultValue = Reconstruct.Data.Furniture.defaultCacheDir)
          Benchmarks = args.TryGetResult Benchmarks
          Categories = args.GetResult(EvalArgs.Categories, defaultValue = [ "chair" ])
          Split = args.GetResult(Split, defaultValue = "test")
          Predictions = args.TryGetResult Predictions
          MethodName = args.GetResult(Method, defaultValue = "prediction")
          Shape = { Reconstruct.Eval.ShapeEvalOptions.Defaults with Points = args.GetResult(Points, defaultValue = 30_000) }
          Seed = 0
          NoiseSigma = 0.005
          Limit = args.GetResult(Limit, defaultValue = 0)
          GridInstances = args.GetResult(Grid, defaultValue = 6)
          GridView = args.GetResult(Grid_View, defaultValue = 3)
          Grid = Reconstruct.App.GridOptions.Defaults }
    let out = args.GetResult(EvalArgs.Report, defaultValue = "artifacts/eval")
    let report, grids = Reconstruct.App.Benchmark.run options cancel (printfn "%s")
    try
        // Interrupted during the last instance: the run is not written either.
        cancel.ThrowIfCancellationRequested()
        let figure (h: Reconstruct.App.Histogram) (path: string) =
            use image = Reconstruct.App.EvalReport.histogramImage 120 240 h
            Reconstruct.Data.Image.save path image
        // The whole report replaces the folder, so no file of an earlier run stays beside it.
        let files =
            Reconstruct.App.ReportFolder.replace out (fun dir ->
                Reconstruct.App.EvalReport.writeWithFigures dir "shapes" report figure
                @ Reconstruct.App.Benchmark.writeGrids (IO.Path.Combine(dir, "figures")) options.Grid grids)
        printfn "%s" (Reconstruct.App.EvalReport.toMarkdown report)
        printfn "wrote %s" (String.Join(", ", files))
        let incomplete =
            Reconstruct.App.EvalReport.summarize report
            |> List.filter (fun s -> s.Category = Reconstruct.App.EvalReport.AllCategories && s.Failed > 0)
        for s in incomplete do
            eprintfn "eval: %s: %s instances scored; the others are listed with their reasons in %s"
                s.Method (Reconstruct.App.EvalReport.scoredOf s) (IO.Path.Combine(out, "shapes.md"))
        if incomplete.IsEmpty || args.Contains Allow_Missing then 0 else 1
    finally
        for g in grids do (g.Image :> IDisposable).Dispose()

/// The experiment `train` runs when it does not resume: the method's baseline with the
/// options, as (run folder, results) -> summary.
let private trainExperiment (args: ParseResults<TrainArgs>) =
    let category = args.GetResult(Category, defaultValue = "chair")
    let data =
        match args.TryGetResult TrainArgs.Photos with
        | Some folder -> Reconstruct.App.Experiments.Photos(IO.Path.GetFullPath folder)
        | None when args.Contains Furniture -> Reconstruct.App.Experiments.Furniture category
        | None -> Reconstruct.App.Experiments.Procedural(category, args.GetResult(TrainArgs.Count, defaultValue = 1000))
    let methodName = args.GetResult(TrainArgs.Method, defaultValue = "softras")
    let name =
        match args.TryGetResult TrainArgs.Photos with
        | Some folder -> sprintf "%s_photos_%s" methodName (folderName folder)
        | None -> sprintf "%s_%s%s" methodName (if args.Contains Furniture then "furniture_" else "") category
    let common (baseline: Reconstruct.Train.Experiment<'M>) =
        { baseline with
            Name = name
            Seed = uint64 (args.GetResult(TrainArgs.Seed, defaultValue = int baseline.Seed))
            BatchSize = args.GetResult(TrainArgs.Batch, defaultValue = baseline.BatchSize)
            Stop =
                { Iterations = args.TryGetResult Iterations |> Option.orElse (if args.Contains Minutes then None else baseline.Stop.Iterations)
                  Minutes = Some(args.GetResult(Minutes, defaultValue = defaultArg baseline.Stop.Minutes 60.0)) }
            InitFrom = args.TryGetResult Init_From |> Option.orElse baseline.InitFrom }
    let cache (fallback: string) = args.GetResult(TrainArgs.Cache, defaultValue = fallback)
    if methodName = Reconstruct.App.Experiments.Unicorn.pipelineName then
        let b = common Reconstruct.App.Experiments.Unicorn.baseline
        // The curriculum's milestones are shares of the planned iterations.
        let curriculum =
            match args.TryGetResult Iterations with
            | Some n when n >= 20 -> Reconstruct.Pipelines.Unicorn.Curriculum.scaled n
            | _ -> b.Method.Curriculum
        let protocol, pipeline =
            match args.TryGetResult Wild with
            | Some views -> Reconstruct.App.Experiments.Unicorn.Wild views, Reconstruct.App.Experiments.Unicorn.wildPipeline
            | None -> b.Method.Protocol, b.Method.Pipeline
        let name = if args.Contains Wild then name + "_wild" else name
        let e = { b with Name = name; Method = { b.Method with Data = data; Cache = cache b.Method.Cache; Curriculum = curriculum; Protocol = protocol; Pipeline = pipeline } }
        name, (fun out results cancel log -> Reconstruct.App.Experiments.Unicorn.run out results e false cancel log)
    elif methodName = Reconstruct.App.PointCloudExperiment.pipelineName then
        let b = common Reconstruct.App.PointCloudExperiment.baseline
        let e = { b with Method = { b.Method with Data = data; Cache = cache b.Method.Cache } }
        let e =
            if args.Contains Neighbours then Reconstruct.App.PointCloudExperiment.withNeighbours e.InitFrom.Value e else e
        let name = e.Name
        name, (fun out results cancel log -> Reconstruct.App.PointCloudExperiment.run out results e false cancel log)
    elif methodName = Reconstruct.App.Unsup3dExperiment.pipelineName then
        let b = common Reconstruct.App.Unsup3dExperiment.baseline
        let e = { b with Method = { b.Method with Data = data; Cache = cache b.Method.Cache } }
        name, (fun out results cancel log -> Reconstruct.App.Unsup3dExperiment.run out results e false cancel log |> Reconstruct.App.Unsup3dExperiment.toRunSummary)
    elif methodName = Reconstruct.App.Experiments.Ssr.pipelineName then
        let b = common Reconstruct.App.Experiments.Ssr.baseline
        let labelled = args.GetResult(Labelled, defaultValue = b.Method.Labelled)
        let name = sprintf "%s_%d" name labelled
        let e = { b with Name = name; Method = { b.Method with Data = data; Cache = cache b.Method.Cache; Labelled = labelled } }
        name, (fun out results cancel log -> Reconstruct.App.Experiments.Ssr.run out results e false cancel log)
    else
        let b = common Reconstruct.App.Experiments.SoftRas.baseline
        let labelled = args.TryGetResult Labelled
        let name = match labelled with Some n -> sprintf "%s_%d" name n | None -> name
        let e = { b with Name = name; Method = { b.Method with Data = data; Cache = cache b.Method.Cache; Labelled = labelled } }
        name, (fun out results cancel log -> Reconstruct.App.Experiments.SoftRas.run out results e false cancel log)

let private train (args: ParseResults<TrainArgs>) (cancel: CancellationToken) =
    let log (line: string) = printfn "%s" line
    let results = args.TryGetResult TrainArgs.Results
    let summary =
        match args.TryGetResult TrainArgs.Resume with
        | Some dir ->
            let stop =
                match args.TryGetResult Iterations, args.TryGetResult Minutes with
                | None, None -> None
                | iterations, minutes -> Some({ Iterations = iterations; Minutes = minutes }: Reconstruct.Train.Stop)
            match Reconstruct.App.Experiments.pipelineOf dir with
            | name when name = Reconstruct.App.Unsup3dExperiment.pipelineName -> Reconstruct.App.Unsup3dExperiment.resume dir stop results cancel log
            | name when name = Reconstruct.App.PointCloudExperiment.pipelineName -> Reconstruct.App.PointCloudExperiment.resume dir stop results cancel log
            | _ -> Reconstruct.App.Experiments.resume dir stop results cancel log
        | None ->
            let name, run = trainExperiment args
            let out = args.GetResult(TrainArgs.Out, defaultValue = IO.Path.Combine("runs", name))
            run out results cancel log
    match summary.Outcome.Reason with
    | Reconstruct.Train.StopReason.Cancelled ->
        eprintfn "reconstruct: interrupted after iteration %d; checkpoint %s; continue with `reconstruct train --resume <run folder>`" summary.Outcome.Iterations (defaultArg summary.Outcome.LastCheckpoint "none")
        130
    | Reconstruct.Train.StopReason.NonFinite (iteration, term) ->
        eprintfn "reconstruct: training stopped: loss term '%s' is not finite at iteration %d; the last good checkpoint is %s" term iteration (defaultArg summary.Outcome.LastCheckpoint "none")
        1
    | _ ->
        summary.Report |> Option.iter (fun r -> printfn "%s" (Reconstruct.App.EvalReport.toMarkdown r))
        for f in summary.Files do printfn "wrote %s" f
        0

// ---------------------------------------------------------------- arguments, before any work

/// `value`, when given, is at least `least`.
let private predict (args: ParseResults<PredictArgs>) (cancel: CancellationToken) =
    let options: Reconstruct.App.Predict.Options =
        { Model = args.GetResult PredictArgs.Model
          Input = args.GetResult PredictArgs.Input
          Out = args.TryGetResult PredictArgs.Out |> Option.defaultValue Reconstruct.App.Predict.Options.Defaults.Out
          Ply = args.Contains PredictArgs.Ply
          Glb = args.Contains PredictArgs.Glb
          BatchSize = args.TryGetResult PredictArgs.Batch |> Option.defaultValue Reconstruct.App.Predict.Options.Defaults.BatchSize }
    let summary = Reconstruct.App.Predict.run options cancel (printfn "%s")
    let count f = summary.Items |> List.filter (snd >> f) |> List.length
    let failed = count (function Reconstruct.App.Predict.Failed _ -> true | _ -> false)
    printfn "predict: %d reconstructed, %d skipped, %d failed; %s per image; %s"
        (count (function Reconstruct.App.Predict.Done _ -> true | _ -> false))
        (count (function Reconstruct.App.Predict.Skipped -> true | _ -> false))
        failed
        (if Double.IsNaN summary.SecondsPerImage then "–" else sprintf "%.1f ms" (1000.0 * summary.SecondsPerImage))
        (String.Join(", ", summary.Files))
    if cancel.IsCancellationRequested then raise (OperationCanceledException cancel)
    if failed > 0 then 1 else 0

let private export (args: ParseResults<ExportArgs>) =
    let name = args.GetResult ExportArgs.Name
    let out = args.TryGetResult ExportArgs.Out |> Option.defaultValue (System.IO.Path.Combine("models", name))
    let files = Reconstruct.App.Predict.export (args.GetResult ExportArgs.Run) out name (args.TryGetResult ExportArgs.Results)
    for f in files do printfn "wrote %s" f
    0

let private report (args: ParseResults<ReportArgs>) =
    let source = args.GetResult ReportArgs.Folder
    let out = args.TryGetResult ReportArgs.Out |> Option.defaultValue (IO.Path.Combine(source, "report"))
    let page = Reconstruct.App.Report.write source out
    printfn "wrote %s" page
    0

let private atLeast (option: string) (least: int) (value: int option) =
    value |> Option.iter (fun v -> require (v >= least) (sprintf "%s must be at least %d, received %d" option least v))

/// `value`, when given, is in least..most.
let private within (option: string) (least: int) (most: int) (value: int option) =
    value |> Option.iter (fun v -> require (v >= least && v <= most) (sprintf "%s must be in %d..%d, received %d" option least most v))

/// Every name is one of `known` (compared with `comparison`), and there is at least one.
let private allKnown (option: string) (what: string) (comparison: StringComparison) (known: string list) (names: string list option) =
    names
    |> Option.iter (fun names ->
        let listed = String.Join(", ", known)
        require (not names.IsEmpty) (sprintf "%s needs at least one %s: %s" option what listed)
        for name in names do
            require (known |> List.exists (fun k -> String.Equals(k, name, comparison))) (sprintf "%s: unknown %s '%s'; known: %s" option what name listed))

/// `path`, when given, is not an existing file: it names a folder to write into.
let private folderPath (option: string) (path: string option) =
    path |> Option.iter (fun p -> require (not (IO.File.Exists p)) (sprintf "%s %s is a file; it names a folder" option p))

/// The real-model categories: the rules of data/categories.json.
let private furnitureCategories () =
    Reconstruct.Data.Catalogue.defaultRules () |> List.map (fun r -> r.Name)

let private checkBench (args: ParseResults<BenchArgs>) =
    allKnown "--only" "group" StringComparison.Ordinal benchGroupNames (args.TryGetResult Only)
    args.TryGetResult BenchArgs.Out
    |> Option.iter (fun p -> require (not (IO.Directory.Exists p)) (sprintf "--out %s is a folder; it names the JSON file to write" p))

let private checkData (args: ParseResults<DataArgs>) =
    atLeast "--seed" 0 (args.TryGetResult Seed)
    atLeast "--wild-views" 1 (args.TryGetResult Wild_Views)
    atLeast "--count" 1 (args.TryGetResult Count)
    folderPath "--output" (args.TryGetResult Output)
    folderPath "--cache" (args.TryGetResult DataArgs.Cache)
    allKnown "--procedural" "category" StringComparison.Ordinal Reconstruct.Data.Procedural.categories (args.TryGetResult Procedural)
    allKnown "--protocol" "protocol" StringComparison.Ordinal [ "symmetric" ] (args.TryGetResult Protocol |> Option.map List.singleton)
    if args.Contains Protocol && not (args.Contains DataArgs.Photos) then
        require (args.Contains Procedural) "--protocol symmetric applies to --procedural (the fronts of the real models are not checked yet)"
    // Furniture.prepare matches category names regardless of case.
    if args.Contains DataArgs.Categories then
        allKnown "--categories" "category" StringComparison.OrdinalIgnoreCase (furnitureCategories ()) (args.TryGetResult DataArgs.Categories)
    // An option the chosen source ignores would be silently dropped: say so instead.
    if args.Contains DataArgs.Photos then
        let source = args.GetResult DataArgs.Photos
        require (IO.Directory.Exists source) (sprintf "--photos %s: no such folder" source)
        let rendered = args.Contains Procedural || args.Contains DataArgs.Categories || args.Contains DataArgs.Cache || args.Contains Count || args.Contains Wild_Views || args.Contains Protocol
        require (not rendered) "--photos imports your photographs; --procedural, --categories, --cache, --count, --wild-views and --protocol are for rendered benchmarks"
    else require (not (args.Contains DataArgs.Name)) "--name names a photo collection (--photos)"
    if args.Contains Procedural then
        require (not (args.Contains DataArgs.Categories)) "--categories names real-model categories; --procedural names the procedural ones: give one of them"
        require (not (args.Contains DataArgs.Cache)) "--cache is the real models' cache; --procedural needs none"
    elif not (args.Contains DataArgs.Photos) then
        require (not (args.Contains Count)) "--count applies to --procedural (the real models are all prepared)"

let private checkEval (args: ParseResults<EvalArgs>) =
    let splits = [ Reconstruct.Data.Split.Train; Reconstruct.Data.Split.Val; Reconstruct.Data.Split.Test ] |> List.map (fun s -> s.Name)
    allKnown "--split" "split" StringComparison.Ordinal splits (args.TryGetResult Split |> Option.map List.singleton)
    // A category is known when data/categories.json has it or the cache holds it prepared
    // (by Furniture.prepareWith with rules of one's own); folder names match exactly.
    let cache = args.GetResult(EvalArgs.Cache, defaultValue = Reconstruct.Data.Furniture.defaultCacheDir)
    match args.TryGetResult Benchmarks with
    | Some dir ->
        require (not (args.Contains EvalArgs.Cache)) "--cache names the prepared real models; --benchmarks the rendered benchmarks: give one of them"
        require (IO.Directory.Exists dir) (sprintf "--benchmarks %s: no such folder" dir)
        // A missing or malformed index is bad input (exit 2), found before any work.
        for category in args.GetResult(EvalArgs.Categories, defaultValue = [ "chair" ]) do
            try Reconstruct.Data.MultiView.entries (IO.Path.Combine(dir, category)) |> ignore
            with :? Reconstruct.Data.IndexFileException as e -> raise (UsageError(sprintf "--benchmarks: %s" e.Message))
    | None ->
        args.TryGetResult EvalArgs.Categories
        |> Option.iter (fun names ->
            let prepared = names |> List.filter (fun n -> IO.File.Exists(Reconstruct.Data.Furniture.manifestPath cache n))
            allKnown "--categories" "category" StringComparison.Ordinal (List.distinct (furnitureCategories () @ prepared)) (Some names))
    within "--points" 1 Reconstruct.Eval.ShapeEval.MaxPoints (args.TryGetResult Points)
    atLeast "--limit" 1 (args.TryGetResult Limit)
    atLeast "--grid" 0 (args.TryGetResult Grid)
    within "--grid-view" 0 (Reconstruct.Data.DatasetRender.multiViews.Length - 1) (args.TryGetResult Grid_View)
    folderPath "--cache" (args.TryGetResult EvalArgs.Cache)
    args.TryGetResult Predictions
    |> Option.iter (fun dir ->
        Reconstruct.App.Benchmark.predictionFolderProblem dir |> Option.iter (fun p -> raise (UsageError(sprintf "--predictions %s: %s" dir p))))
    // A file, or a folder of other files, is refused; the report replaces a previous one whole.
    let out = args.GetResult(EvalArgs.Report, defaultValue = "artifacts/eval")
    Reconstruct.App.ReportFolder.problem out |> Option.iter (fun p -> raise (UsageError(sprintf "--report %s: %s" out p)))

let private checkTrain (args: ParseResults<TrainArgs>) =
    allKnown "method" "method" StringComparison.Ordinal [ Reconstruct.App.Experiments.SoftRas.pipelineName; Reconstruct.App.Experiments.Ssr.pipelineName; Reconstruct.App.Experiments.Unicorn.pipelineName; Reconstruct.App.Unsup3dExperiment.pipelineName; Reconstruct.App.PointCloudExperiment.pipelineName ] (args.TryGetResult TrainArgs.Method |> Option.map List.singleton)
    if args.Contains TrainArgs.Resume then
        // The run's config.json decides everything else: a second source of settings would be ignored.
        let others = args.GetAllResults() |> List.filter (function TrainArgs.Resume _ | TrainArgs.Results _ | Iterations _ | Minutes _ -> false | _ -> true)
        require others.IsEmpty (sprintf "--resume continues a run with the settings of its config.json (only --iterations and --minutes may change its stop rule); remove %s" (String.Join(", ", others |> List.map (fun a -> "--" + (string a).Split(' ').[0].ToLowerInvariant().Replace('_', '-')))))
        let dir = args.GetResult TrainArgs.Resume
        require (IO.File.Exists(IO.Path.Combine(dir, "config.json"))) (sprintf "--resume %s: no config.json there; is it a run folder?" dir)
    else
        require (args.Contains TrainArgs.Method) "name the method to train: reconstruct train softras|ssr|unicorn|unsup3d|pointcloud"
        if args.Contains TrainArgs.Photos then
            let folder = args.GetResult TrainArgs.Photos
            require (args.GetResult TrainArgs.Method = Reconstruct.App.Experiments.Unicorn.pipelineName) "--photos trains unicorn: softras and ssr need the silhouettes and cameras only renders have"
            require (IO.File.Exists(IO.Path.Combine(folder, "index.jsonl"))) (sprintf "--photos %s: no index.jsonl there; import your photographs first with reconstruct data --photos <folder>" folder)
            require (not (args.Contains Furniture || args.Contains Category || args.Contains TrainArgs.Count || args.Contains Wild)) "--photos trains on your photographs; --furniture, --category, --count and --wild choose rendered data"
        elif args.Contains Furniture then
            allKnown "--category" "category" StringComparison.OrdinalIgnoreCase (furnitureCategories ()) (args.TryGetResult Category |> Option.map List.singleton)
            require (not (args.Contains TrainArgs.Count)) "--count applies to procedural data; --furniture trains on all prepared real models"
        else
            allKnown "--category" "category" StringComparison.Ordinal Reconstruct.Data.Procedural.categories (args.TryGetResult Category |> Option.map List.singleton)
        atLeast "--count" 10 (args.TryGetResult TrainArgs.Count)
        atLeast "--wild" 1 (args.TryGetResult Wild)
        atLeast "--labelled" 1 (args.TryGetResult Labelled)
        require (not (args.Contains Labelled) || args.GetResult TrainArgs.Method <> Reconstruct.App.Experiments.Unicorn.pipelineName) "--labelled applies to ssr and softras: unicorn uses no camera"
        require (not (args.Contains Wild) || args.GetResult TrainArgs.Method = Reconstruct.App.Experiments.Unicorn.pipelineName) "--wild applies to unicorn"
        require (not (args.Contains Neighbours) || args.GetResult TrainArgs.Method = Reconstruct.App.PointCloudExperiment.pipelineName) "--neighbours applies to pointcloud"
        require (not (args.Contains Neighbours) || args.Contains Init_From) "--neighbours fine-tunes a model trained with the cycles: name it with --init-from"
        atLeast "--batch" 1 (args.TryGetResult TrainArgs.Batch)
        atLeast "--seed" 0 (args.TryGetResult TrainArgs.Seed)
        folderPath "--out" (args.TryGetResult TrainArgs.Out)
        folderPath "--cache" (args.TryGetResult TrainArgs.Cache)
        // Before the data is prepared, which can take minutes; the trainer checks the file whole.
        args.TryGetResult Init_From
        |> Option.iter (fun source ->
            require (IO.File.Exists source || IO.Directory.Exists source) (sprintf "--init-from %s: no such checkpoint file or run folder" source))
    atLeast "--iterations" 1 (args.TryGetResult Iterations)
    args.TryGetResult Minutes |> Option.iter (fun m -> require (m > 0.0 && Double.IsFinite m) (sprintf "--minutes must be positive, received %g" m))
    folderPath "--results" (args.TryGetResult TrainArgs.Results)

/// The thread count to use for `--threads requested`: at least 1 (a usage error otherwise), at
/// most the number of cores, since libtorch starts every thread it is told to (100000 of them
/// hung `info`).
let private checkPredict (args: ParseResults<PredictArgs>) =
    args.TryGetResult PredictArgs.Batch |> atLeast "--batch" 1

let private threadCount (requested: int) =
    require (requested >= 1) (sprintf "--threads must be at least 1, received %d" requested)
    min requested Environment.ProcessorCount

/// The commands: (name as typed, description, whether it has options of its own).
let private commands (parser: ArgumentParser<Arguments>) =
    parser.GetArgumentCases()
    |> List.filter (fun c -> c.ArgumentType = ArgumentType.SubCommand)
    |> List.map (fun c -> c.CommandLineNames.Value.Head, c.Description.Value, c.UnionCaseInfo.GetFields().Length > 0)

/// The command `argv` runs, if it names one: the first word that is a command (the global
/// options before it take numbers, never a command's name).
let private commandOf (parser: ArgumentParser<Arguments>) (argv: string[]) =
    let names = commands parser |> List.map (fun (name, _, _) -> name)
    argv |> Array.tryFind (fun a -> List.contains a names)

/// The line after a usage error: where the command's options are described.
let private hint (command: string option) =
    match command with
    | Some c -> sprintf "run 'reconstruct %s --help' for its options" c
    | None -> "run 'reconstruct --help' for the commands"

/// The help of a command without options of its own (info, demo), in Argu's layout; None for
/// the others. Argu has no parser for such a command, so it would show the top-level usage.
let private optionlessHelp (parser: ArgumentParser<Arguments>) (command: string) =
    match commands parser |> List.tryFind (fun (name, _, _) -> name = command) with
    | Some(_, description, false) ->
        let threads = parser.GetArgumentCaseInfo(<@ Threads @>).Description.Value
        Some(
            String.Join(
                "\n",
                [ sprintf "USAGE: reconstruct %s [--help] [--threads <count>]" command
                  ""
                  description
                  ""
                  "OPTIONS:"
                  ""
                  sprintf "    %-21s %s" "--threads <count>" threads
                  sprintf "    %-21s %s" "--help" "display this list of options." ]
            )
        )
    | _ -> None

/// Parses and runs; returns the process exit code: 0 done, 1 failed, 2 usage error, 130
/// interrupted. `cancel` is the host's Ctrl+C: long commands observe it between items, finish
/// or abandon the current one, keep what they wrote (atomically) and raise
/// OperationCanceledException, which becomes one line and 130 here.
let run (argv: string[]) (cancel: CancellationToken) : int =
    let parser = ArgumentParser.Create<Arguments>(programName = "reconstruct")
    let command = commandOf parser argv
    match (try Ok(parser.ParseCommandLine(argv, raiseOnUsage = true)) with :? ArguParseException as e -> Error e) with
    | Error e when e.ErrorCode = ErrorCode.HelpText ->
        // Help is output asked for: stdout, so `reconstruct data --help | less` shows it.
        match command |> Option.bind (optionlessHelp parser) with
        | Some help -> printfn "%s" help
        | None -> printfn "%s" (e.Message.TrimEnd())
        0
    | Error e ->
        // Argu's message is "ERROR: <what>" followed by the whole usage; the line is enough.
        let line = e.Message.Split('\n').[0].Trim()
        eprintfn "reconstruct: %s" (if line.StartsWith "ERROR: " then line.Substring 7 else line)
        eprintfn "%s" (hint command)
        2
    | Ok results ->
        try
            // Every argument is checked before any work: a usage error costs no rendering.
            let requestedThreads = results.TryGetResult Threads
            let threads = requestedThreads |> Option.map threadCount
            let subcommand = results.GetSubCommand()
            match subcommand with
            | Bench b -> checkBench b
            | Data d -> checkData d
            | Eval e -> checkEval e
            | Train t -> checkTrain t
            | Predict p -> checkPredict p
            | Export _ | Report _ | Info | Demo | Threads _ -> ()
            match requestedThreads, threads with
            | Some requested, Some n when n < requested ->
                eprintfn "reconstruct: --threads %d is more than the %d cores; using %d" requested n n
            | _ -> ()
            Runtime.initDefaults.Force()
            threads |> Option.iter Runtime.setThreads
            match subcommand with
            | Info -> info cancel
            | Bench b -> bench b cancel
            | Demo -> demo cancel
            | Data d -> data d cancel
            | Eval e -> evaluate e cancel
            | Train t -> train t cancel
            | Predict p -> predict p cancel
            | Export e -> export e
            | Report r -> report r
            | Threads _ -> 2
        with
        | UsageError message ->
            eprintfn "reconstruct: %s" message
            eprintfn "%s" (hint command)
            2
        // Bad input found once work started (a dataset index, a checkpoint, a run's
        // config.json): the message names the file and what is wrong; nothing was overwritten.
        | :? Reconstruct.Data.IndexFileException as e ->
            eprintfn "reconstruct: %s" e.Message
            2
        | Checkpoint.CheckpointError _ as e ->
            eprintfn "reconstruct: %s" e.Message
            2
        | Reconstruct.Train.ConfigError _
        | Reconstruct.Train.TrainerError _
        | Reconstruct.App.Predict.ModelError _
        | Reconstruct.App.Predict.InputError _
        | Reconstruct.App.Report.ReportError _
        | Files.FileWriteError _ as e ->
            eprintfn "reconstruct: %s" e.Message
            2
        | :? OperationCanceledException when cancel.IsCancellationRequested ->
            eprintfn "reconstruct: interrupted"
            130
