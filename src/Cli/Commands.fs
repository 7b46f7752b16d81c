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

type BenchArgs =
    | [<AltCommandLine("-o")>] Out of path: string
    | Only of names: string list

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Out _ -> "write the figures as JSON to this file (default artifacts/bench.json)"
            | Only _ -> "run only these groups: torch, render, eval, data (default: all)"

type DataArgs =
    | Categories of names: string list
    | Cache of dir: string
    | Seed of seed: int
    | Output of dir: string
    | Wild_Views of count: int
    | Procedural of names: string list
    | Count of count: int

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Procedural _ -> "render procedural categories instead of the real models (no download): chair table car airplane vase"
            | Count _ -> "instances per procedural category (default 50)"
            | Output _ -> "folder of the rendered benchmark (default artifacts/datasets)"
            | Wild_Views _ -> "in-the-wild views per instance and size (default 10)"
            | Categories _ -> "categories to prepare (default: chair table sofa); see data/categories.json"
            | Cache _ -> "cache folder for the package and the prepared models (default .cache/data)"
            | Seed _ -> "the one seed of the data: procedural shapes, 70/10/20 instance splits, wild views and backgrounds (default 42)"

type EvalArgs =
    | Categories of names: string list
    | Cache of dir: string
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
            | Split _ -> "train, val or test (default test)"
            | Predictions _ -> "folder of predicted meshes <instance>.obj|off|ply (default: reference rows only)"
            | Method _ -> "name of the method in the report (default prediction)"
            | Points _ -> "surface points per mesh (default 30000, at most 100000)"
            | Limit _ -> "at most this many instances per category (default all)"
            | Report _ -> "output folder of the report, replaced as a whole by each run; a folder with other files is refused (default artifacts/eval)"
            | Grid _ -> "instances per category in the input | reconstruction | novel views figure (default 6, 0 = none)"
            | Grid_View _ -> "the figure's input view, an index into the 24 multi-view views (default 3: azimuth 45°, elevation 30°)"
            | Allow_Missing -> "exit 0 even when some instances could not be scored (each is a row of the report with its reason; without this flag the exit code is 1)"

[<RequireSubcommand>]
type Arguments =
    | [<CliPrefix(CliPrefix.None); SubCommand>] Info
    | [<CliPrefix(CliPrefix.None)>] Bench of ParseResults<BenchArgs>
    | [<CliPrefix(CliPrefix.None); SubCommand>] Demo
    | [<CliPrefix(CliPrefix.None)>] Data of ParseResults<DataArgs>
    | [<CliPrefix(CliPrefix.None)>] Eval of ParseResults<EvalArgs>
    | [<Inherit>] Threads of count: int

    interface IArgParserTemplate with
        member a.Usage =
            match a with
            | Info -> "print the libtorch version, threads, SIMD level and BLAS in use"
            | Bench _ -> "run the benchmarks: lines `bench <name> <value> <unit>`"
            | Demo -> "run the main job on the built-in default"
            | Eval _ -> "evaluate predicted meshes (and always the two reference rows) against the benchmark's ground truth"
            | Data _ -> "prepare the real-model benchmark (Debian's sweethome3d-furniture): normalised models, splits, attribution"
            | Threads _ -> "number of compute threads (default: all cores)"

let private info (_: CancellationToken) =
    printfn "reconstruct %s" (string (typeof<Arguments>.Assembly.GetName().Version))
    printfn "runtime %s" (Runtime.info ())
    0

let private bench (args: ParseResults<BenchArgs>) (cancel: CancellationToken) =
    let out = args.GetResult(Out, defaultValue = "artifacts/bench.json")
    let groups = args.GetResult(Only, defaultValue = [ "torch"; "render"; "eval"; "data" ])
    let figures =
        [ if List.contains "torch" groups then
              yield! Reconstruct.Bench.TorchBench.opOverhead ()
              yield! Reconstruct.Bench.TorchBench.matmulGflops ()
              yield! Reconstruct.Bench.TorchBench.trainStepRatio ()
          if List.contains "render" groups then
              yield! Reconstruct.Bench.RenderBench.all ()
          if List.contains "eval" groups then
              yield! Reconstruct.Bench.EvalBench.all ()
          if List.contains "data" groups then
              yield! Reconstruct.Bench.DataBench.renders () ]
    figures |> List.iter Reconstruct.Bench.Report.print
    Reconstruct.Bench.Report.writeJson out figures
    printfn "wrote %s" out
    0

/// Renders instances under both protocols (multi-view 64, in the wild at `wildSizes`) into
/// `out/<category>`, printing a line per protocol; disposes their meshes.
let private renderBenchmark (out: string) (seed: uint64) (wildViews: int) (wildSizes: int list) (category: string) (instances: Reconstruct.Data.DatasetRender.Instance list) =
    try
        for protocol in Reconstruct.Data.DatasetRender.MultiView :: (wildSizes |> List.map Reconstruct.Data.DatasetRender.Wild) do
            let clock = Diagnostics.Stopwatch.StartNew()
            let n = Reconstruct.Data.DatasetRender.renderDataset (IO.Path.Combine(out, category)) protocol seed wildViews instances
            printfn "%-8s %-9s %5d images in %.1f s" category protocol.Name n clock.Elapsed.TotalSeconds
    finally
        for i in instances do (i.Mesh :> IDisposable).Dispose()

/// The built-in default: procedural categories (nothing to download) rendered as benchmarks,
/// and an overview figure of one instance per category from six azimuths.
let private demo (cancel: CancellationToken) =
    let out = IO.Path.Combine("artifacts", "demo")
    let clock = Diagnostics.Stopwatch.StartNew()
    printfn "engine: %s" (Runtime.info ())
    let categories = Reconstruct.Data.Procedural.categories
    for category in categories do
        let instances = Reconstruct.Data.DatasetRender.proceduralInstances out category 42UL 10
        renderBenchmark out 42UL 4 [ 64 ] category instances
    let overview = IO.Path.Combine(out, "overview.png")
    do
        use scope = DisposalScope.Open()
        let views = [| for k in 0..5 -> Reconstruct.Data.DatasetRender.nmrView (30.0 + 60.0 * float k) |]
        let white = Tensor.ones [ views.Length; 3; 128; 128 ]
        // (categories, views, 3, 128, 128): one row per category, one column per view
        let rows =
            Tensor.stack
                [ for category in categories ->
                      let mesh = Reconstruct.Data.Procedural.generate category 42UL 1 |> List.exactlyOne
                      try fst (Reconstruct.Data.DatasetRender.render 128 mesh views white)
                      finally (mesh :> IDisposable).Dispose() ]
        let columns = [ for k in 0 .. views.Length - 1 -> rows.select (1, k) ]
        Reconstruct.Data.Image.save overview (Reconstruct.Data.Image.mosaic 2 1.0 columns)
    printfn "demo: %d procedural categories rendered in %.1f s under %s; overview %s" categories.Length clock.Elapsed.TotalSeconds out overview
    printfn "The main job (UNICORN trained on these renders) arrives with the reconstruction issues."
    0

let private data (args: ParseResults<DataArgs>) (cancel: CancellationToken) =
    // The one seed of the data: shapes, splits and wild views all derive from it.
    let seed = uint64 (args.GetResult(Seed, defaultValue = 42))
    let out = args.GetResult(Output, defaultValue = "artifacts/datasets")
    let wildViews = args.GetResult(Wild_Views, defaultValue = 10)
    let clock = Diagnostics.Stopwatch.StartNew()
    match args.TryGetResult Procedural with
    | Some categories ->
        let count = args.GetResult(Count, defaultValue = 50)
        for category in categories do
            let instances = Reconstruct.Data.DatasetRender.proceduralInstances out category seed count
            renderBenchmark out seed wildViews [ 64; 128 ] category instances
    | None ->
        let categories = args.GetResult(DataArgs.Categories, defaultValue = [ "chair"; "table"; "sofa" ])
        let cache = args.GetResult(DataArgs.Cache, defaultValue = Reconstruct.Data.Furniture.defaultCacheDir)
        let report = Reconstruct.Data.Furniture.prepare cache categories seed
        Reconstruct.Data.Furniture.summary report |> List.iter (printfn "%s")
        for c in report.Categories do
            let instances =
                [ for e in c.Entries -> Reconstruct.Data.DatasetRender.instance (Reconstruct.Data.Furniture.load e) c.Category e.Split.Name e.Obj ]
            renderBenchmark out seed wildViews [ 64; 128 ] c.Category instances
    printfn "data: done in %.1f s; renders under %s" clock.Elapsed.TotalSeconds out
    0

let private evaluate (args: ParseResults<EvalArgs>) (cancel: CancellationToken) =
    let options: Reconstruct.App.Benchmark.Options =
        { CacheDir = args.GetResult(EvalArgs.Cache, defaultValue = Reconstruct.Data.Furniture.defaultCacheDir)
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
    let out = args.GetResult(Report, defaultValue = "artifacts/eval")
    options.Predictions
    |> Option.iter (fun dir ->
        Reconstruct.App.Benchmark.predictionFolderProblem dir |> Option.iter (fun p -> raise (UsageError(sprintf "--predictions %s: %s" dir p))))
    Reconstruct.App.ReportFolder.problem out |> Option.iter (fun p -> raise (UsageError(sprintf "--report %s: %s" out p)))
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

/// Parses and runs; returns the process exit code: 0 done, 1 failed, 2 usage error, 130
/// interrupted. `cancel` is the host's Ctrl+C: long commands observe it between items, finish
/// or abandon the current one, keep what they wrote (atomically) and raise
/// OperationCanceledException, which becomes one line and 130 here.
let run (argv: string[]) (cancel: CancellationToken) : int =
    let parser = ArgumentParser.Create<Arguments>(programName = "reconstruct")
    match (try Ok(parser.ParseCommandLine(argv, raiseOnUsage = true)) with :? ArguParseException as e -> Error e) with
    | Error e ->
        eprintfn "%s" e.Message
        (if e.ErrorCode = ErrorCode.HelpText then 0 else 2)
    | Ok results ->
        try
            Runtime.initDefaults.Force()
            results.TryGetResult Threads |> Option.iter Runtime.setThreads
            match results.GetSubCommand() with
            | Info -> info cancel
            | Bench b -> bench b cancel
            | Demo -> demo cancel
            | Data d -> data d cancel
            | Eval e -> evaluate e cancel
            | Threads _ -> 2
        with
        | UsageError message ->
            eprintfn "reconstruct: %s" message
            eprintfn "run `reconstruct --help` for the commands and their options"
            2
        | :? OperationCanceledException when cancel.IsCancellationRequested ->
            eprintfn "reconstruct: interrupted"
            130
