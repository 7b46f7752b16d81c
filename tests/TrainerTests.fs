/// The trainer on a toy learner of its own (a tiny MLP regression whose batches come from a
/// per-epoch generator and whose every step draws input noise from a checkpointed generator):
/// exact resume, cancellation, non-finite losses, config and refusals, flat memory, progress.
module Reconstruct.Tests.TrainerTests

open System
open System.IO
open System.Security.Cryptography
open System.Threading
open Expecto
open Reconstruct.Torch
open Reconstruct.Train
open Reconstruct.Tests.TestHelpers

type ToyBatch =
    { X: Tensor
      Y: Tensor }

    interface IDisposable with
        member b.Dispose() = Layers.Named.dispose [ "x", b.X; "y", b.Y ]

type ToyKind =
    | Small
    | Wide of factor: int

/// The toy's own record, as a method's would be: an option, a union, a schedule as data.
type ToyMethod = { Hidden: int; Extra: int option; Kind: ToyKind; Sigma: Optim.Schedule }

let private toyMethod = { Hidden = 8; Extra = None; Kind = Small; Sigma = Optim.Constant }

let private baseline: Experiment<ToyMethod> =
    { Name = "toy"
      Seed = 5UL
      Method = toyMethod
      Optimiser = { Optim.Adam.Defaults with Lr = 1e-2 }
      LearningRate = Optim.MultiStep([ 25 ], 0.5)
      BatchSize = 8
      Stop = Stop.iterations 40
      CheckpointEvery = 7
      EvalEvery = 10
      ProgressSeconds = 60.0
      InitFrom = None
      KeepBest = None }

/// Batches of one epoch: a pure function of (seed, epoch).
let private toyData (seed: uint64) : Data<ToyBatch> =
    { BatchesPerEpoch = 6
      Epoch =
        fun epoch start ->
            seq {
                use g = new Generator(Seed.item seed (uint64 epoch))
                for k in 0..5 do
                    // One generator draws the whole epoch: the batches before `start` are
                    // drawn too, in a scope of their own, to reach its state there.
                    if k < start then
                        use _ = DisposalScope.Open()
                        Tensor.randn ([ 8; 4 ], g) |> ignore
                    else
                        let x = Tensor.randn ([ 8; 4 ], g)
                        yield { X = x; Y = (x * 0.5 + 0.25).tanh () }
            } }

type private Toy =
    { Learner: Learner<ToyBatch>
      Generator: Generator }

    member t.Dispose() =
        Layers.Named.dispose t.Learner.Parameters
        (t.Generator :> IDisposable).Dispose()

/// hook iteration phase runs first in every Loss call; nanAt makes "total" NaN there.
let private toy (pipeline: string) (hidden: int) (phases: int) (nanAt: (int * int) option) (hook: int -> int -> unit) =
    let g = new Generator(7UL)
    let mlp = Layers.Mlp.create g (Layers.Mlp.spec [ 4; hidden; 4 ])
    let loss (x: Tensor) (y: Tensor) = Functional.mseLoss Reduction.Mean (Layers.Mlp.apply mlp x) y
    { Generator = g
      Learner =
        { Pipeline = pipeline
          Parameters = Layers.Mlp.parameters mlp
          Buffers = []
          Generators = [ "toy", g ]
          Phases = phases
          Loss =
            fun iteration phase batch ->
                hook iteration phase
                let noisy = batch.X + Tensor.randn ([ 8; 4 ], g) * 0.05
                let mse = loss noisy batch.Y
                let total = if nanAt = Some(iteration, phase) then mse * nan else mse
                [ "total", total; "mse", mse ]
          Validate =
            fun _ ->
                use _ = Autograd.noGrad ()
                use v = new Generator(99UL)
                let x = Tensor.randn ([ 16; 4 ], v)
                [ "val_mse", (loss x ((x * 0.5 + 0.25).tanh ())).ToScalar() ] } }

let private stepLines (runDir: string) =
    Metrics.read (Path.Combine(runDir, Metrics.FileName))
    |> List.choose (function
        | Step s -> Some(s.Iteration, s.Epoch, s.Batch, s.Losses, s.Lr)
        | Validation _ -> None)

let private bits (parameters: Layers.Named) =
    parameters |> List.map (fun (n, t) -> n, t.ToArray<float32>() |> Array.map BitConverter.SingleToInt32Bits)

let private train display dir experiment (t: Toy) resume log =
    Trainer.runWith display dir experiment t.Learner (toyData experiment.Seed) resume CancellationToken.None log

let private quiet = Plain
let private ignoreLog (_: string) = ()

let private sha (path: string) = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes path))

let private snapshot (dir: string) =
    Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
    |> Array.sort
    |> Array.map (fun f -> Path.GetRelativePath(dir, f), sha f)

let private oneLine (message: string) (mustName: string) =
    Expect.isFalse (message.Contains '\n') (sprintf "one line: %s" message)
    Expect.stringContains message mustName "the message names the file"

/// Libtorch's thread count set to 1 for `f` (bitwise comparisons), restored after.
let private singleThreaded f =
    let before = Runtime.threads ()
    Runtime.setThreads 1
    try f () finally Runtime.setThreads before

[<Tests>]
let tests =
    testList "Trainer" [
        testSequenced <| test "resume continues exactly: 40 straight equals 20, a lost tail, resume to 40" {
            singleThreaded (fun () ->
                use straightDir = new TempDir()
                use splitDir = new TempDir()
                let straight = toy "toy" 8 1 None (fun _ _ -> ())
                let a = train quiet straightDir.Path baseline straight false ignoreLog
                Expect.equal a.Reason Finished "the straight run finishes"
                let expectedWeights = bits straight.Learner.Parameters
                straight.Dispose()

                let first = toy "toy" 8 1 None (fun _ _ -> ())
                let b = train quiet splitDir.Path { baseline with Stop = Stop.iterations 20 } first false ignoreLog
                Expect.equal (b.Reason, b.Iterations) (Finished, 20) "the first part stops at 20"
                first.Dispose()
                // A run killed after its checkpoint at 14: its lines 14..19 are a lost tail.
                let checkpoints = Path.Combine(splitDir.Path, Trainer.CheckpointsFolder)
                File.Delete(Path.Combine(checkpoints, Trainer.LastCheckpointFile))
                File.Delete(Path.Combine(checkpoints, "iter-00000020.safetensors"))
                let resumed = toy "toy" 8 1 None (fun _ _ -> ())
                let messages = Collections.Generic.List<string>()
                let c = train quiet splitDir.Path baseline resumed true messages.Add
                Expect.equal (c.Reason, c.Iterations) (Finished, 40) "the resumed run finishes at 40"
                Expect.exists messages (fun m -> m.Contains "at iteration 14 (epoch 2, batch 2)") "resumed from the checkpoint at 14, inside epoch 2"
                Expect.equal (stepLines splitDir.Path) (stepLines straightDir.Path) "every step line (iteration, epoch, batch, losses, lr) equal"
                Expect.equal (bits resumed.Learner.Parameters) expectedWeights "the final weights equal bitwise"
                resumed.Dispose()
                Expect.isTrue (File.Exists(Path.Combine(splitDir.Path, Curves.FileName))) "curves.png written"
                Expect.isTrue (Directory.Exists(Path.Combine(splitDir.Path, Trainer.EvalFolder))) "eval/ left for the caller")
        }

        test "cancellation finishes the step, writes its checkpoint and returns Cancelled" {
            use dir = new TempDir()
            use cts = new CancellationTokenSource()
            let t = toy "toy" 8 1 None (fun iteration _ -> if iteration = 5 then cts.Cancel())
            let outcome = Trainer.runWith quiet dir.Path baseline t.Learner (toyData baseline.Seed) false cts.Token ignoreLog
            Expect.equal (outcome.Reason, outcome.Iterations) (Cancelled, 6) "stopped after finishing step 5"
            let path = outcome.LastCheckpoint |> Option.defaultWith (fun () -> failtest "no checkpoint")
            Expect.equal (Checkpoint.readMetadata path).Step 6L "the checkpoint holds the 6 steps"
            use contents = Checkpoint.load path
            let saved = t.Learner.Parameters |> List.map (fun (n, _) -> n, contents.Find(n).ToArray<float32>() |> Array.map BitConverter.SingleToInt32Bits)
            Expect.equal saved (bits t.Learner.Parameters) "the checkpoint holds the weights after the finished step"
            Expect.equal (stepLines dir.Path).Length 6 "one metrics line per finished step"
            t.Dispose()
        }

        test "a non-finite term stops the run naming the iteration and the term; the checkpoint before stays" {
            for phases, phase, term in [ 1, 0, "total"; 2, 1, "phase1.total" ] do
                use dir = new TempDir()
                let last = Path.Combine(dir.Path, Trainer.CheckpointsFolder, Trainer.LastCheckpointFile)
                let mutable before = ""
                let t = toy "toy" 8 phases (Some(12, phase)) (fun iteration p -> if iteration = 12 && p = 0 then before <- sha last)
                let messages = Collections.Generic.List<string>()
                let outcome = train quiet dir.Path { baseline with CheckpointEvery = 5 } t false messages.Add
                Expect.equal outcome.Reason (NonFinite(12, term)) "stopped at iteration 12 on the term"
                Expect.exists messages (fun m -> m.Contains "iteration 12" && m.Contains (sprintf "'%s'" term)) "a message names the iteration and the term"
                Expect.equal (sha last) before "the last good checkpoint is unchanged"
                let fresh = toy "toy" 8 phases None (fun _ _ -> ())
                let metadata =
                    Checkpoint.restoreTraining last
                        { Parameters = fresh.Learner.Parameters; Buffers = []; Optimizer = None; Generators = fresh.Learner.Generators }
                Expect.equal metadata.Step 10L "the checkpoint of iteration 10 loads"
                Expect.equal (stepLines dir.Path).Length 12 "no line for the bad step"
                t.Dispose()
                fresh.Dispose()
        }

        test "config.json round-trips the experiment; bad files and directories are refused by one line" {
            let experiment =
                { baseline with
                    Stop = { Iterations = Some 3; Minutes = Some 1.5 }
                    Method = { toyMethod with Extra = Some 3; Kind = Wide 2; Sigma = Optim.Warmup(5, Optim.MultiStep([ 10; 20 ], 0.5)) } }
            Expect.equal (Config.ofJson<Experiment<ToyMethod>> "text" (Config.toJson experiment)) experiment "the record round-trips"
            // A file written before two fields existed, one of them nested: ofJson refuses it,
            // ofJsonOver takes the two from the defaults and keeps every value the file has.
            let older = Text.Json.Nodes.JsonNode.Parse(Config.toJson { experiment with BatchSize = 3 }).AsObject()
            older.Remove "EvalEvery" |> ignore
            older.["Optimiser"].AsObject().Remove "Lr" |> ignore
            let defaults = { experiment with EvalEvery = 77; Optimiser = { experiment.Optimiser with Lr = 0.125 } }
            Expect.throwsT<ConfigError> (fun () -> Config.ofJson<Experiment<ToyMethod>> "older" (older.ToJsonString()) |> ignore) "a missing field does not read"
            let read, filled = Config.ofJsonOver defaults "older" (older.ToJsonString())
            Expect.equal read { experiment with BatchSize = 3; EvalEvery = 77; Optimiser = { experiment.Optimiser with Lr = 0.125 } } "the missing fields from the defaults, the rest from the file"
            Expect.equal (List.sort filled) [ "EvalEvery"; "Optimiser.Lr" ] "and which they were"
            use dir = new TempDir()
            let run = Path.Combine(dir.Path, "run")
            let t = toy "toy" 8 1 None (fun _ _ -> ())
            let outcome = train quiet run experiment t false ignoreLog
            Expect.equal outcome.Iterations 3 "trained"
            Expect.equal (Trainer.pipelineOf run) "toy" "the pipeline name is read before the method"
            Expect.equal (Trainer.readExperiment<ToyMethod> run) experiment "config.json holds the whole record"
            t.Dispose()
            // A corrupted config.json and one of another method.
            let config = Path.Combine(run, Trainer.ConfigFile)
            let broken = dir.File "broken.json"
            File.WriteAllText(broken, File.ReadAllText(config).Substring(0, 40))
            let e = Expect.catchT<ConfigError> (fun () -> Config.ofJsonFile<Experiment<ToyMethod>> broken |> ignore) "refused"
            oneLine e.Message broken
            let e = Expect.catchT<ConfigError> (fun () -> Config.ofJsonFile<Experiment<int>> config |> ignore) "refused"
            oneLine e.Message config
            let before = snapshot run
            // Another pipeline, other shapes: refused naming the checkpoint; nothing changes.
            let other = toy "other" 8 1 None (fun _ _ -> ())
            let e = Expect.catchT<Checkpoint.CheckpointError> (fun () -> train quiet run experiment other true ignoreLog |> ignore) "refused"
            oneLine e.Message (Path.Combine(run, Trainer.CheckpointsFolder, Trainer.LastCheckpointFile))
            Expect.stringContains e.Message "'other'" "names the pipeline"
            other.Dispose()
            let wide = toy "toy" 9 1 None (fun _ _ -> ())
            let e = Expect.catchT<Checkpoint.CheckpointError> (fun () -> train quiet run experiment wide true ignoreLog |> ignore) "refused"
            oneLine e.Message (Path.Combine(run, Trainer.CheckpointsFolder, Trainer.LastCheckpointFile))
            wide.Dispose()
            // Another experiment in the same directory.
            let same = toy "toy" 8 1 None (fun _ _ -> ())
            let e = Expect.catchT<ConfigError> (fun () -> train quiet run { experiment with BatchSize = 4 } same true ignoreLog |> ignore) "refused"
            oneLine e.Message config
            Expect.stringContains e.Message "BatchSize" "names the field"
            // Not empty without resume.
            let e = Expect.catchT<TrainerError> (fun () -> train quiet run experiment same false ignoreLog |> ignore) "refused"
            oneLine e.Message run
            Expect.equal (snapshot run) before "nothing in the run directory changed"
            // Resume without a checkpoint.
            let empty = Path.Combine(dir.Path, "empty")
            Directory.CreateDirectory empty |> ignore
            File.WriteAllText(Path.Combine(empty, "notes.txt"), "mine")
            let e = Expect.catchT<TrainerError> (fun () -> train quiet empty experiment same true ignoreLog |> ignore) "refused"
            oneLine e.Message empty
            let e = Expect.catchT<TrainerError> (fun () -> train quiet empty experiment same false ignoreLog |> ignore) "refused"
            oneLine e.Message empty
            Expect.equal (File.ReadAllText(Path.Combine(empty, "notes.txt"))) "mine" "a stranger's file is left alone"
            Expect.equal (Directory.GetFileSystemEntries empty).Length 1 "nothing added"
            same.Dispose()
        }

        test "InitFrom starts a new run from another run's weights; another pipeline or a missing path is refused before anything is written" {
            use dir = new TempDir()
            let source = Path.Combine(dir.Path, "source")
            let trained = toy "toy" 8 1 None (fun _ _ -> ())
            train quiet source baseline trained false ignoreLog |> ignore
            let weights = trained.Learner.Parameters |> List.map (fun (n, t) -> n, t.ToFloat32s())
            trained.Dispose()
            // One step at a vanishing learning rate: the weights stay where the run started.
            let oneStep = { baseline with Stop = Stop.iterations 1; Optimiser = { baseline.Optimiser with Lr = 1e-9 } }
            let distance (t: Toy) =
                List.map2 (fun (_, a: float32[]) (_, (b: Tensor)) -> Array.map2 (fun x y -> abs (float x - float y)) a (b.ToFloat32s()) |> Array.max) weights t.Learner.Parameters
                |> List.max
            for from in [ source; Trainer.lastCheckpoint source |> Option.get ] do
                let tuned = toy "toy" 8 1 None (fun _ _ -> ())
                let messages = Collections.Generic.List<string>()
                train quiet (Path.Combine(dir.Path, sprintf "tuned%d" from.Length)) { oneStep with InitFrom = Some from } tuned false messages.Add |> ignore
                Expect.isLessThan (distance tuned) 1e-6 (sprintf "started from the source's weights (%s)" from)
                Expect.exists messages (fun m -> m.StartsWith "initialised from") "says where it started"
                tuned.Dispose()
            let fresh = toy "toy" 8 1 None (fun _ _ -> ())
            train quiet (Path.Combine(dir.Path, "fresh")) oneStep fresh false ignoreLog |> ignore
            Expect.isGreaterThan (distance fresh) 1e-3 "without InitFrom the run starts from its own initialisation"
            fresh.Dispose()
            let other = toy "other" 8 1 None (fun _ _ -> ())
            let refused = Path.Combine(dir.Path, "refused")
            let e = Expect.catchT<Checkpoint.CheckpointError> (fun () -> train quiet refused { oneStep with InitFrom = Some source } other false ignoreLog |> ignore) "another pipeline"
            oneLine e.Message (Path.Combine(source, Trainer.CheckpointsFolder))
            other.Dispose()
            let same = toy "toy" 8 1 None (fun _ _ -> ())
            let missing = Path.Combine(dir.Path, "no such run")
            let e = Expect.catchT<TrainerError> (fun () -> train quiet refused { oneStep with InitFrom = Some missing } same false ignoreLog |> ignore) "a missing path"
            oneLine e.Message missing
            same.Dispose()
            Expect.isFalse (Directory.Exists refused) "nothing written for a refused run"
        }

        test "KeepBest keeps the state of the best validation in either direction, survives a resume, and says when the metric is missing" {
            use dir = new TempDir()
            // Validation values as a pure function of the steps, peaking where the test says.
            let withValidation (f: int -> float) (t: Toy) = { t with Learner = { t.Learner with Validate = fun steps -> [ "val_x", f steps ] } }
            let experiment monitor = { baseline with CheckpointEvery = 10; EvalEvery = 10; KeepBest = monitor }
            let parametersOf (path: string) =
                let t = toy "toy" 8 1 None (fun _ _ -> ())
                Checkpoint.restoreTraining path { Parameters = t.Learner.Parameters; Buffers = []; Optimizer = None; Generators = [] } |> ignore
                let b = bits t.Learner.Parameters
                t.Dispose()
                b
            let stepOf (outcome: Outcome) = int (Checkpoint.readMetadata (Option.get outcome.BestCheckpoint)).Step
            for higher, peak in [ true, 20; false, 30 ] do
                let run = Path.Combine(dir.Path, sprintf "higher-%b" higher)
                let t = toy "toy" 8 1 None (fun _ _ -> ()) |> withValidation (fun steps -> (if higher then -1.0 else 1.0) * abs (float (steps - peak)))
                let outcome = train quiet run (experiment (Some { Metric = "val_x"; HigherIsBetter = higher })) t false ignoreLog
                Expect.equal (stepOf outcome) peak (sprintf "the best validation's step (higher is better: %b)" higher)
                Expect.equal (parametersOf (Option.get outcome.BestCheckpoint)) (parametersOf (Path.Combine(run, Trainer.CheckpointsFolder, sprintf "iter-%08d.safetensors" peak))) "the best file holds that step's weights"
                t.Dispose()
            // Stopped at the peak and resumed: later, worse validations leave the best where it was.
            let resumed = Path.Combine(dir.Path, "resumed")
            let peakAt20 = fun steps -> -abs (float (steps - 20))
            // The first session is made slow (20 ms a step) so that the second, fast one cannot reach
            // its time alone: only a total that adds the saved time passes.
            let slow = ref true
            let t = toy "toy" 8 1 None (fun _ _ -> if slow.Value then Thread.Sleep 20) |> withValidation peakAt20
            let monitor = Some { Metric = "val_x"; HigherIsBetter = true }
            let first = train quiet resumed { experiment monitor with Stop = Stop.iterations 20 } t false ignoreLog
            slow.Value <- false
            // The resume starts from the time saved with the step-20 checkpoint, which can be less than
            // the first session's total (it went on to validate and write), so compare with that.
            let savedSeconds = (Checkpoint.readMetadata (Option.get first.LastCheckpoint)).Extra |> Map.find "elapsed_s" |> fun s -> Double.Parse(s, Globalization.CultureInfo.InvariantCulture)
            let outcome = train quiet resumed (experiment monitor) t true ignoreLog
            Expect.equal outcome.Iterations 40 "resumed to the end"
            Expect.isGreaterThan outcome.TrainingSeconds savedSeconds "training time adds up over the sessions"
            Expect.equal (stepOf outcome) 20 "the best value came back with the resume"
            t.Dispose()
            let t = toy "toy" 8 1 None (fun _ _ -> ()) |> withValidation peakAt20
            let messages = Collections.Generic.List<string>()
            let outcome = train quiet (Path.Combine(dir.Path, "missing")) (experiment (Some { Metric = "nope"; HigherIsBetter = true })) t false messages.Add
            Expect.isNone outcome.BestCheckpoint "no best without the metric"
            Expect.exists messages (fun m -> m.Contains "no metric 'nope'") "says the metric is missing"
            t.Dispose()
            let t = toy "toy" 8 1 None (fun _ _ -> ()) |> withValidation peakAt20
            let plain = Path.Combine(dir.Path, "plain")
            let outcome = train quiet plain (experiment None) t false ignoreLog
            Expect.isNone outcome.BestCheckpoint "no KeepBest, no best"
            Expect.isFalse (File.Exists(Path.Combine(plain, Trainer.CheckpointsFolder, Trainer.BestCheckpointFile))) "no best file"
            t.Dispose()
        }

        test "resuming a finished run at its end validates no second time" {
            use dir = new TempDir()
            let t = toy "toy" 8 1 None (fun _ _ -> ())
            let finished = { baseline with Stop = Stop.iterations 10; EvalEvery = 5 }
            train quiet dir.Path finished t false ignoreLog |> ignore
            let outcome = train quiet dir.Path finished t true ignoreLog
            Expect.equal outcome.Iterations 10 "nothing more to train"
            let validations = Metrics.read (Path.Combine(dir.Path, Metrics.FileName)) |> List.choose (function Validation (i, _) -> Some i | _ -> None)
            Expect.equal validations [ 5; 10 ] "one validation line per validated step"
            t.Dispose()
        }

        test "a run written before a field was added (its key absent from config.json) still resumes" {
            use dir = new TempDir()
            let t = toy "toy" 8 1 None (fun _ _ -> ())
            train quiet dir.Path { baseline with Stop = Stop.iterations 5 } t false ignoreLog |> ignore
            let config = Path.Combine(dir.Path, Trainer.ConfigFile)
            let json = Text.Json.Nodes.JsonNode.Parse(File.ReadAllText config).AsObject()
            Expect.isTrue (json.Remove "InitFrom") "the key was there"
            File.WriteAllText(config, json.ToJsonString())
            let outcome = train quiet dir.Path { baseline with Stop = Stop.iterations 8 } t true ignoreLog
            Expect.equal outcome.Iterations 8 "resumed to 8"
            t.Dispose()
        }

        testSequenced <| test "memory stays flat: live tensors at step 2000 equal those at step 10" {
            use dir = new TempDir()
            let counts = Collections.Generic.Dictionary<int, int64>()
            let t = toy "toy" 8 1 None (fun iteration _ -> if iteration = 10 || iteration = 1999 then counts.[iteration] <- int64 Tensor.LiveCount)
            let outcome = train quiet dir.Path { baseline with Stop = Stop.iterations 2000; CheckpointEvery = 500; EvalEvery = 250 } t false ignoreLog
            Expect.equal outcome.Iterations 2000 "trained 2000 steps"
            Expect.equal counts.[1999] counts.[10] "live tensors at the same point of step 1999 and step 10"
            t.Dispose()
        }

        test "plain progress: lines through log, at most every ProgressSeconds, no terminal codes" {
            use dir = new TempDir()
            let t = toy "toy" 8 1 None (fun _ _ -> ())
            let lines = Collections.Generic.List<string>()
            train Plain dir.Path { baseline with Stop = Stop.iterations 10; ProgressSeconds = 0.0 } t false lines.Add |> ignore
            let progress = lines |> Seq.filter (fun l -> l.StartsWith "toy: iteration ") |> List.ofSeq
            Expect.equal progress.Length 10 "ProgressSeconds 0: one line per step"
            Expect.stringContains progress.[9] "iteration 10/10 (100%)" "the count"
            Expect.stringContains progress.[9] "it/s, ETA 0s, total " "speed, ETA and the main losses"
            Expect.all lines (fun l -> not (l.Contains '\u001b')) "no escape codes"
            use dir2 = new TempDir()
            let lines = Collections.Generic.List<string>()
            train Plain dir2.Path { baseline with Stop = Stop.iterations 10; ProgressSeconds = 600.0 } t false lines.Add |> ignore
            let progress = lines |> Seq.filter (fun l -> l.StartsWith "toy: iteration ") |> List.ofSeq
            Expect.equal (progress |> List.map (fun l -> l.Substring(0, 25))) [ "toy: iteration 1/10 (10%)"; "toy: iteration 10/10 (100" ] "the first line, then the last when the run ends"
            t.Dispose()
        }
    ]
