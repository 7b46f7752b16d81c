namespace Reconstruct.Train

open System
open System.Collections.Generic
open System.Diagnostics
open System.Globalization
open System.IO
open System.Text.Json
open System.Text.Json.Nodes
open System.Threading
open Reconstruct.Torch

type Learner<'Batch> =
    { Pipeline: string
      Parameters: Layers.Named
      Buffers: Layers.Named
      Generators: (string * Generator) list
      Phases: int
      Loss: int -> int -> 'Batch -> (string * Tensor) list
      Validate: int -> (string * float) list }

type Data<'Batch when 'Batch :> IDisposable> =
    { BatchesPerEpoch: int
      Epoch: int -> int -> seq<'Batch> }

type StopReason =
    | Finished
    | TimeBudget
    | Cancelled
    | NonFinite of iteration: int * term: string

type Outcome =
    { Iterations: int
      Reason: StopReason
      LastCheckpoint: string option
      BestCheckpoint: string option
      Seconds: float
      TrainingSeconds: float
      Message: string }

exception TrainerError of problem: string
    with override this.Message = this.problem

module Trainer =
    [<Literal>]
    let ConfigFile = "config.json"

    [<Literal>]
    let CheckpointsFolder = "checkpoints"

    [<Literal>]
    let EvalFolder = "eval"

    [<Literal>]
    let LastCheckpointFile = "last.safetensors"

    [<Literal>]
    let BestCheckpointFile = "best.safetensors"

    /// Periodic checkpoints kept besides last.safetensors.
    let private keptCheckpoints = 3

    let private fail problem = raise (TrainerError problem)

    let private invariant (v: float) = v.ToString("R", CultureInfo.InvariantCulture)

    let private iterationFiles (runDir: string) =
        let dir = Path.Combine(runDir, CheckpointsFolder)
        if Directory.Exists dir then
            Directory.GetFiles(dir, "iter-*.safetensors") |> Array.sort |> List.ofArray
        else []

    let lastCheckpoint (runDir: string) =
        let last = Path.Combine(runDir, CheckpointsFolder, LastCheckpointFile)
        if File.Exists last then Some last else iterationFiles runDir |> List.tryLast

    let pipelineOf (runDir: string) = Config.stringField (Path.Combine(runDir, ConfigFile)) "Pipeline"

    let readExperiment<'Method> (runDir: string) : Experiment<'Method> =
        Config.ofJsonFile<Experiment<'Method>> (Path.Combine(runDir, ConfigFile))

    let private indented = JsonSerializerOptions(WriteIndented = true)

    let configJson (pipeline: string) (experiment: Experiment<'Method>) =
        let record = JsonNode.Parse(Config.toJson experiment).AsObject()
        let config = JsonObject()
        config.Add("Pipeline", JsonValue.Create pipeline)
        for KeyValue (key, value) in List.ofSeq record do
            config.Add(key, (if isNull value then null else value.DeepClone()))
        config.ToJsonString indented

    /// The first top-level field (Stop aside) where two configs differ, if any.
    let private configDifference (saved: string) (wanted: string) =
        let a = JsonNode.Parse(saved).AsObject()
        let b = JsonNode.Parse(wanted).AsObject()
        let keys = Seq.append (a |> Seq.map (fun kv -> kv.Key)) (b |> Seq.map (fun kv -> kv.Key)) |> Seq.distinct
        // A field added since the run was written reads as null (None) there.
        let value (o: JsonObject) (k: string) = if o.ContainsKey k then o.[k] else null
        keys
        |> Seq.filter (fun k -> k <> "Stop")
        |> Seq.tryFind (fun k -> not (JsonNode.DeepEquals(value a k, value b k)))

    let private checkLearner (learner: Learner<'Batch>) (data: Data<'Batch>) =
        if String.IsNullOrWhiteSpace learner.Pipeline then invalidArg "learner" "Trainer.run: learner.Pipeline is empty"
        if learner.Phases < 1 then invalidArg "learner" (sprintf "Trainer.run: learner.Phases must be >= 1, received %d" learner.Phases)
        if learner.Parameters.IsEmpty then invalidArg "learner" "Trainer.run: learner.Parameters is empty"
        if data.BatchesPerEpoch < 1 then invalidArg "data" (sprintf "Trainer.run: data.BatchesPerEpoch must be >= 1, received %d" data.BatchesPerEpoch)

    /// A float the trainer wrote into a checkpoint's metadata ("elapsed_s", "best_value").
    let private tryMetadataFloat (metadata: Checkpoint.Metadata) (key: string) =
        match metadata.Extra.TryFind key |> Option.map (fun t -> Double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture)) with
        | Some (true, v) -> Some v
        | _ -> None

    let private metadataInt (path: string) (metadata: Checkpoint.Metadata) (key: string) =
        match metadata.Extra.TryFind key with
        | Some text ->
            match Int32.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture) with
            | true, v -> v
            | _ -> raise (Checkpoint.CheckpointError(path, sprintf "metadata '%s' is not a non-negative integer: '%s'" key text))
        | None -> raise (Checkpoint.CheckpointError(path, sprintf "no metadata '%s' (not written by the trainer)" key))

    /// A checkpoint's metadata, refused (naming the file) when another pipeline wrote it.
    let private metadataOfPipeline (learner: Learner<'Batch>) (path: string) =
        let metadata = Checkpoint.readMetadata path
        if metadata.Pipeline <> learner.Pipeline then
            raise (Checkpoint.CheckpointError(path, sprintf "written by pipeline '%s', this run's pipeline is '%s'" metadata.Pipeline learner.Pipeline))
        metadata

    /// Fine-tuning: the learner's parameters and buffers from `source` (a checkpoint file, or
    /// a run folder's last checkpoint), checked whole before anything changes.
    let private initialiseFrom (learner: Learner<'Batch>) (log: string -> unit) (source: string) =
        let path =
            if Directory.Exists source then
                match lastCheckpoint source with
                | Some p -> p
                | None -> fail (sprintf "Trainer.run: InitFrom %s: no checkpoint in that folder" source)
            elif File.Exists source then source
            else fail (sprintf "Trainer.run: InitFrom %s: no such checkpoint file or run folder" source)
        let metadata = metadataOfPipeline learner path
        Checkpoint.restoreTraining path { Parameters = learner.Parameters; Buffers = learner.Buffers; Optimizer = None; Generators = [] } |> ignore
        log (sprintf "initialised from %s (iteration %d of its run); optimiser and iterations start afresh" path metadata.Step)

    /// Where a resumed run starts.
    type private Start = { Steps: int; Epoch: int; Batch: int; ElapsedS: float }

    let runWith (display: Display) (runDir: string) (experiment: Experiment<'Method>) (learner: Learner<'Batch>)
                (data: Data<'Batch>) (resume: bool) (cancel: CancellationToken) (log: string -> unit) : Outcome =
        let session = Stopwatch.StartNew()
        Experiment.validate experiment
        checkLearner learner data
        let runDir = Path.GetFullPath runDir
        let configPath = Path.Combine(runDir, ConfigFile)
        let metricsPath = Path.Combine(runDir, Metrics.FileName)
        let checkpointsDir = Path.Combine(runDir, CheckpointsFolder)
        let curvesPath = Path.Combine(runDir, Curves.FileName)
        let config = configJson learner.Pipeline experiment
        use optimizer = Optim.adam experiment.Optimiser learner.Parameters
        let state: Checkpoint.TrainingState =
            { Parameters = learner.Parameters
              Buffers = learner.Buffers
              Optimizer = Some optimizer
              Generators = learner.Generators }
        let start =
            if not resume then
                if Directory.Exists runDir && not (Seq.isEmpty (Directory.EnumerateFileSystemEntries runDir)) then
                    fail (sprintf "Trainer.run: the run directory %s is not empty; resume it, or choose a new directory (nothing was changed)" runDir)
                experiment.InitFrom |> Option.iter (initialiseFrom learner log)
                Directory.CreateDirectory checkpointsDir |> ignore
                Directory.CreateDirectory(Path.Combine(runDir, EvalFolder)) |> ignore
                Files.writeTextAtomically configPath config
                Files.writeTextAtomically metricsPath ""
                { Steps = 0; Epoch = 0; Batch = 0; ElapsedS = 0.0 }
            else
                if not (Directory.Exists runDir) then fail (sprintf "Trainer.run: cannot resume %s: no such directory" runDir)
                let path =
                    match lastCheckpoint runDir with
                    | Some p -> p
                    | None -> fail (sprintf "Trainer.run: cannot resume %s: no checkpoint in %s" runDir checkpointsDir)
                let metadata = metadataOfPipeline learner path
                let saved =
                    try File.ReadAllText configPath
                    with :? IOException as e -> raise (ConfigError(configPath, e.Message.Split('\n').[0]))
                let difference =
                    try configDifference saved config
                    with :? JsonException as e -> raise (ConfigError(configPath, e.Message.Split('\n').[0]))
                match difference with
                | Some field ->
                    raise (ConfigError(configPath, sprintf "the run holds another experiment ('%s' differs); resume with the experiment it holds (only Stop may change)" field))
                | None -> ()
                let epoch = metadataInt path metadata "epoch"
                let batch = metadataInt path metadata "batch"
                let elapsed =
                    match tryMetadataFloat metadata "elapsed_s" with
                    | Some v -> v
                    | None -> raise (Checkpoint.CheckpointError(path, "no valid metadata 'elapsed_s' (not written by the trainer)"))
                Checkpoint.restoreTraining path state |> ignore
                Metrics.truncate metricsPath (int metadata.Step)
                if saved <> config then Files.writeTextAtomically configPath config
                log (sprintf "%s: resuming %s at iteration %d (epoch %d, batch %d)" experiment.Name path metadata.Step epoch batch)
                { Steps = int metadata.Step; Epoch = epoch; Batch = batch; ElapsedS = elapsed }

        let mutable steps = start.Steps
        let mutable epoch = start.Epoch
        let mutable batchIndex = start.Batch
        let mutable lastCheckpointPath = lastCheckpoint runDir
        let mutable checkpointedAt = if resume then steps else -1
        // A run resumed where it already validated (re-evaluating a finished run) does not
        // validate again: metrics.jsonl would hold that validation twice.
        let mutable validatedAt =
            if resume && Metrics.read metricsPath |> List.exists (function Validation (i, _) -> i = steps | _ -> false) then steps else -1
        let loopClock = Stopwatch.StartNew()
        let elapsed () = start.ElapsedS + loopClock.Elapsed.TotalSeconds

        let metadataNow (extra: (string * string) list) =
            { Checkpoint.Metadata.empty with
                Pipeline = learner.Pipeline
                Config = config
                Step = int64 steps
                Extra =
                    Map.ofList
                        ([ "experiment", experiment.Name
                           "epoch", string epoch
                           "batch", string batchIndex
                           "elapsed_s", invariant (elapsed ()) ] @ extra) }

        let bestPath = Path.Combine(checkpointsDir, BestCheckpointFile)
        // The best value so far is the one best.safetensors holds; a best file written after the
        // resumed checkpoint belongs to steps that will be taken again, so it goes.
        let mutable best: float option =
            match experiment.KeepBest with
            | Some _ when resume && File.Exists bestPath ->
                let metadata = Checkpoint.readMetadata bestPath
                let value = tryMetadataFloat metadata "best_value"
                if int metadata.Step > steps || value.IsNone then
                    File.Delete bestPath
                    None
                else value
            | _ -> None

        let keepIfBest (values: (string * float) list) (message: string -> unit) =
            match experiment.KeepBest with
            | None -> ()
            | Some monitor ->
                match values |> List.tryFind (fun (n, _) -> n = monitor.Metric) with
                | None ->
                    message (sprintf "KeepBest: validation has no metric '%s' (it has %s); no best checkpoint kept at iteration %d"
                                 monitor.Metric (values |> List.map fst |> String.concat ", ") steps)
                | Some (_, value) ->
                    let better =
                        not (Double.IsNaN value)
                        && (match best with
                            | None -> true
                            | Some b -> if monitor.HigherIsBetter then value > b else value < b)
                    if better then
                        Checkpoint.saveTraining bestPath state (metadataNow [ "best_metric", monitor.Metric; "best_value", invariant value ])
                        best <- Some value
                        message (sprintf "best %s so far (%s): %s" monitor.Metric (value.ToString("G5", CultureInfo.InvariantCulture)) bestPath)

        let saveCheckpoint () =
            let name = sprintf "iter-%08d.safetensors" steps
            let path = Path.Combine(checkpointsDir, name)
            Checkpoint.saveTraining path state (metadataNow [])
            let last = Path.Combine(checkpointsDir, LastCheckpointFile)
            Files.writeAtomically last (fun target ->
                use source = File.OpenRead path
                source.CopyTo target)
            let older = iterationFiles runDir |> List.filter (fun p -> p <> path)
            for old in List.truncate (max 0 (older.Length - (keptCheckpoints - 1))) older do
                File.Delete old
            checkpointedAt <- steps
            lastCheckpointPath <- Some last
            (try Curves.draw metricsPath curvesPath
             with e -> log (sprintf "%s: curves.png not drawn: %s" experiment.Name (e.Message.Split('\n').[0])))
            path

        use metrics = new Metrics.Writer(metricsPath)

        let validate (message: string -> unit) =
            if validatedAt <> steps then
                let values =
                    use _ = DisposalScope.Open()
                    learner.Validate steps
                validatedAt <- steps
                if not values.IsEmpty then
                    metrics.Append(Validation(steps, values))
                    message (sprintf "validation at iteration %d: %s" steps
                                 (values |> List.map (fun (n, v) -> sprintf "%s %s" n (v.ToString("G5", CultureInfo.InvariantCulture))) |> String.concat ", "))
                keepIfBest values message

        // The current epoch's enumerator, from the data position on.
        let mutable batches: IEnumerator<'Batch> = null
        let closeEpoch () =
            if not (isNull batches) then
                batches.Dispose()
                batches <- null
        let openEpoch () =
            batches <- (data.Epoch epoch batchIndex).GetEnumerator()
        let nextBatch () =
            if isNull batches then openEpoch ()
            if batches.MoveNext() then batches.Current
            else
                if batchIndex = 0 then fail (sprintf "Trainer.run: epoch %d yielded no batch" epoch)
                closeEpoch ()
                epoch <- epoch + 1
                batchIndex <- 0
                openEpoch ()
                if batches.MoveNext() then batches.Current
                else fail (sprintf "Trainer.run: epoch %d yielded no batch" epoch)

        let limit = experiment.Stop.Iterations |> Option.defaultValue Int32.MaxValue
        let budget = experiment.Stop.Minutes |> Option.map (fun m -> m * 60.0) |> Option.defaultValue Double.PositiveInfinity
        let stopReason () =
            if steps >= limit then Some Finished
            elif elapsed () >= budget then Some TimeBudget
            else None
        let mutable smoothedStep = nan

        let outcome =
            Progress.within display experiment.ProgressSeconds log (fun report message ->
                try
                    let mutable reason = stopReason ()
                    while reason.IsNone do
                        let stepClock = Stopwatch.StartNew()
                        let lr = Optim.applySchedule optimizer experiment.LearningRate experiment.Optimiser.Lr steps
                        let mutable takenEpoch, takenIndex = epoch, batchIndex
                        let losses = List<string * float>()
                        let mutable bad = None
                        do
                            use _ = DisposalScope.Open()
                            // Advanced inside the step's scope, as Loader's batches expect:
                            // the scope frees whatever making the batch left behind.
                            use batch = nextBatch ()
                            takenEpoch <- epoch
                            takenIndex <- batchIndex
                            let mutable phase = 0
                            while bad.IsNone && phase < learner.Phases do
                                optimizer.ZeroGrad()
                                let terms = learner.Loss steps phase batch
                                let name (term: string) = if learner.Phases > 1 then sprintf "phase%d.%s" phase term else term
                                let values =
                                    [ for term, t in terms ->
                                          if t.Numel <> 1 then
                                              invalidArg "learner" (sprintf "Trainer.run: loss term '%s' at iteration %d must be a scalar, received %s" term steps (Shape.describe t.Dtype t.Shape))
                                          term, t.ToScalar() ]
                                match values |> List.tryFind (fun (_, v) -> not (Double.IsFinite v)) with
                                | Some (term, v) -> bad <- Some(name term, v)
                                | None ->
                                    let total =
                                        match terms |> List.tryFind (fun (n, _) -> n = "total") with
                                        | Some (_, t) -> t
                                        | None -> invalidArg "learner" (sprintf "Trainer.run: the loss at iteration %d has no term \"total\" (terms: %s)" steps (terms |> List.map fst |> String.concat ", "))
                                    total.backward ()
                                    optimizer.Step()
                                    for term, v in values do losses.Add((name term, v))
                                phase <- phase + 1
                        match bad with
                        | Some (term, v) ->
                            let kept =
                                match lastCheckpointPath with
                                | Some p -> sprintf "the last good checkpoint is %s (iteration %d)" p checkpointedAt
                                | None -> "no checkpoint was written"
                            message (sprintf "%s: iteration %d: loss term '%s' is %g; stopped, nothing of this step saved; %s" experiment.Name steps term v kept)
                            reason <- Some(NonFinite(steps, term))
                        | None ->
                            let iteration = steps
                            steps <- steps + 1
                            batchIndex <- batchIndex + 1
                            if batchIndex >= data.BatchesPerEpoch then
                                closeEpoch ()
                                epoch <- epoch + 1
                                batchIndex <- 0
                            let seconds = stepClock.Elapsed.TotalSeconds
                            smoothedStep <- if Double.IsNaN smoothedStep then seconds else 0.9 * smoothedStep + 0.1 * seconds
                            let now = elapsed ()
                            let lossList = List.ofSeq losses
                            metrics.Append(
                                Step
                                    { Iteration = iteration
                                      Epoch = takenEpoch
                                      Batch = takenIndex
                                      Losses = lossList
                                      Lr = lr
                                      ItPerS = 1.0 / seconds
                                      MemoryMb = float Environment.WorkingSet / 1048576.0
                                      ElapsedS = now })
                            let eta =
                                let byCount = experiment.Stop.Iterations |> Option.map (fun n -> float (n - steps) * smoothedStep)
                                let byTime = experiment.Stop.Minutes |> Option.map (fun m -> m * 60.0 - now)
                                match byCount, byTime with
                                | Some a, Some b -> Some(min a b)
                                | a, None -> a
                                | None, b -> b
                            report
                                { Name = experiment.Name
                                  Iteration = steps
                                  Total = experiment.Stop.Iterations
                                  Epoch = epoch
                                  ItPerS = 1.0 / smoothedStep
                                  EtaSeconds = eta |> Option.map (max 0.0)
                                  ElapsedS = now
                                  Lr = lr
                                  Losses = lossList }
                            if steps % experiment.EvalEvery = 0 then validate message
                            if steps % experiment.CheckpointEvery = 0 then
                                message (sprintf "checkpoint %s" (saveCheckpoint ()))
                            reason <-
                                if cancel.IsCancellationRequested then Some Cancelled else stopReason ()
                    let reason = reason.Value
                    match reason with
                    | NonFinite _ -> ()
                    | Cancelled ->
                        if checkpointedAt <> steps then message (sprintf "checkpoint %s" (saveCheckpoint ()))
                    | Finished
                    | TimeBudget ->
                        if checkpointedAt <> steps then message (sprintf "checkpoint %s" (saveCheckpoint ()))
                        validate message
                    reason
                finally
                    closeEpoch ())

        (try Curves.draw metricsPath curvesPath
         with e -> log (sprintf "%s: curves.png not drawn: %s" experiment.Name (e.Message.Split('\n').[0])))
        let text =
            match outcome with
            | Finished -> sprintf "%s: finished %d iterations" experiment.Name steps
            | TimeBudget -> sprintf "%s: time budget of %s reached after %d iterations" experiment.Name (Progress.duration budget) steps
            | Cancelled -> sprintf "%s: cancelled after %d iterations; resume to continue" experiment.Name steps
            | NonFinite (iteration, term) -> sprintf "%s: stopped at iteration %d: loss term '%s' is not finite" experiment.Name iteration term
        log text
        { Iterations = steps
          Reason = outcome
          LastCheckpoint = lastCheckpointPath
          BestCheckpoint = best |> Option.map (fun _ -> bestPath)
          Seconds = session.Elapsed.TotalSeconds
          TrainingSeconds = elapsed ()
          Message = text }

    let run (runDir: string) (experiment: Experiment<'Method>) (learner: Learner<'Batch>) (data: Data<'Batch>)
            (resume: bool) (cancel: CancellationToken) (log: string -> unit) : Outcome =
        runWith Display.Auto runDir experiment learner data resume cancel log
