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
            | Report _ -> "output folder of the report (default artifacts/eval)"
            | Grid _ -> "instances per category in the input | reconstruction | novel views figure (default 6, 0 = none)"
            | Grid_View _ -> "the figure's input view, an index into the 24 multi-view views (default 3: azimuth 45°, elevation 30°)"

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

/// Writes the benchmark of `category` into `out/<category>` as a whole
/// (`DatasetRender.writeBenchmark`: a temporary folder swapped in when complete, so an
/// interrupted or failed run leaves the previous benchmark as it was): multi-view 64 and in the
/// wild at `wildSizes`, streaming `instances` (`count` of them) one at a time. Prints a line
/// after the first instance and then every 10 s, and one with the images per protocol at the end.
let private renderBenchmark (out: string) (seed: uint64) (wildViews: int) (wildSizes: int list) (category: string) (count: int) (instances: seq<Reconstruct.Data.DatasetRender.Instance>) (cancel: CancellationToken) =
    let clock = Diagnostics.Stopwatch.StartNew()
    let mutable printed = TimeSpan.Zero
    let progress n =
        if n = 1 || (n < count && clock.Elapsed - printed >= TimeSpan.FromSeconds 10.0) then
            printed <- clock.Elapsed
            printfn "%-8s %5d/%d instances  %.1f s" category n count clock.Elapsed.TotalSeconds
    let options: Reconstruct.Data.DatasetRender.BenchmarkOptions =
        { Protocols = Reconstruct.Data.DatasetRender.MultiView :: (wildSizes |> List.map Reconstruct.Data.DatasetRender.Wild)
          Seed = seed
          WildViews = wildViews }
    let root = IO.Path.Combine(out, category)
    let summary = Reconstruct.Data.DatasetRender.writeBenchmark root options cancel progress instances
    let images = summary.Images |> List.map (fun (protocol, n) -> sprintf "%s %d" protocol.Name n)
    printfn "%-8s %5d instances in %.1f s into %s: %s images" category summary.Instances clock.Elapsed.TotalSeconds root (String.Join(", ", images))

/// The built-in default: procedural categories (nothing to download) rendered as benchmarks,
/// and an overview figure of one instance per category from six azimuths.
let private demo (cancel: CancellationToken) =
    let out = IO.Path.Combine("artifacts", "demo")
    let clock = Diagnostics.Stopwatch.StartNew()
    printfn "engine: %s" (Runtime.info ())
    let categories = Reconstruct.Data.Procedural.categories
    for category in categories do
        renderBenchmark out 42UL 4 [ 64 ] category 10 (Reconstruct.Data.DatasetRender.proceduralInstances category 42UL 10) cancel
    cancel.ThrowIfCancellationRequested()
    let overview = IO.Path.Combine(out, "overview.png")
    do
        use scope = DisposalScope.Open()
        let views = [| for k in 0..5 -> Reconstruct.Data.DatasetRender.nmrView (30.0 + 60.0 * float k) |]
        let white = Tensor.ones [ views.Length; 3; 128; 128 ]
        // (categories, views, 3, 128, 128): one row per category, one column per view
        let rows =
            Tensor.stack
                [ for category in categories ->
                      let mesh = Reconstruct.Data.Procedural.mesh category 42UL 0
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
            renderBenchmark out seed wildViews [ 64; 128 ] category count (Reconstruct.Data.DatasetRender.proceduralInstances category seed count) cancel
    | None ->
        let categories = args.GetResult(DataArgs.Categories, defaultValue = [ "chair"; "table"; "sofa" ])
        let cache = args.GetResult(DataArgs.Cache, defaultValue = Reconstruct.Data.Furniture.defaultCacheDir)
        let report = Reconstruct.Data.Furniture.prepare cache categories seed
        Reconstruct.Data.Furniture.summary report |> List.iter (printfn "%s")
        for c in report.Categories do
            // loaded one at a time as the benchmark asks for them
            let instances = seq { for e in c.Entries -> Reconstruct.Data.DatasetRender.instance (Reconstruct.Data.Furniture.load e) c.Category e.Split.Name e.Obj }
            renderBenchmark out seed wildViews [ 64; 128 ] c.Category c.Entries.Length instances cancel
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
    let report, failures, grids = Reconstruct.App.Benchmark.run options (printfn "%s")
    for id, reason in failures do eprintfn "eval: %s: %s" id reason
    let figure (h: Reconstruct.App.Histogram) (path: string) =
        use image = Reconstruct.App.EvalReport.histogramImage 120 240 h
        Reconstruct.Data.Image.save path image
    let files = Reconstruct.App.EvalReport.writeWithFigures out "shapes" report figure
    let gridFiles =
        try Reconstruct.App.Benchmark.writeGrids (IO.Path.Combine(out, "figures")) options.Grid grids
        finally
            for g in grids do (g.Image :> IDisposable).Dispose()
    printfn "%s" (Reconstruct.App.EvalReport.toMarkdown report)
    printfn "wrote %s" (String.Join(", ", files @ gridFiles))
    0

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
