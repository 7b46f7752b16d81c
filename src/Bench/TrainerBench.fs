/// The trainer's own cost: the same learner stepped by `Trainer.run` and by a bare loop of the
/// same steps, in the same process.
module Reconstruct.Bench.TrainerBench

open System
open System.Diagnostics
open System.IO
open System.Threading
open Reconstruct.Torch
open Reconstruct.Train
open Reconstruct.Bench.Report

/// A batch of the benchmark: views into tensors made once, so the data side costs only the
/// hand-off the trainer adds.
type private Batch =
    { X: Tensor
      Y: Tensor }

    interface IDisposable with
        member b.Dispose() =
            (b.X :> IDisposable).Dispose()
            (b.Y :> IDisposable).Dispose()

/// `trainer_overhead_pct`: the ConvNet of the engine benchmark (batch 8, 32×32) stepped by
/// the trainer (plain progress, metrics.jsonl) and by a bare loop of the same steps (scope, lr,
/// batch, zero-grad, loss, backward, step). An iteration's time is the interval between two
/// consecutive loss calls, so it holds everything done per iteration and nothing done once per
/// run (setup, final checkpoint, curves: reported apart as `trainer_fixed_ms`). Short runs of
/// each alternate, so the drifting load of the shared machine hits both alike; medians of the
/// pooled intervals.
let overhead () =
    let batchSize, size, batchesPerEpoch = 8, 32, 16
    use g = new Generator(11UL)
    let model = ConvNet.benchmarkModel g
    let parameters = ConvNet.parameters model
    use inputs = Tensor.rand ([ batchesPerEpoch * batchSize; 3; size; size ], g)
    use targets = Tensor.rand ([ batchesPerEpoch * batchSize; 10 ], g)
    let batch k = { X = inputs.narrow (0, k * batchSize, batchSize); Y = targets.narrow (0, k * batchSize, batchSize) }
    let stamps = Collections.Generic.List<int64>()
    let loss (b: Batch) =
        stamps.Add(Stopwatch.GetTimestamp())
        Functional.mseLoss Reduction.Mean (ConvNet.forward model b.X) b.Y
    let learner: Learner<Batch> =
        { Pipeline = "convnet-bench"
          Parameters = parameters
          Buffers = []
          Generators = []
          Phases = 1
          Loss = fun _ _ b -> [ "total", loss b ]
          Validate = fun _ -> [] }
    let data = { BatchesPerEpoch = batchesPerEpoch; Epoch = fun _ start -> Seq.init (batchesPerEpoch - start) (fun k -> batch (start + k)) }
    let adam = { Optim.Adam.Defaults with Lr = 1e-4 }
    let experiment n =
        { Name = "trainer-bench"; Seed = 1UL; Method = (); Optimiser = adam; LearningRate = Optim.Constant
          BatchSize = batchSize; Stop = Stop.iterations n; CheckpointEvery = 1_000_000; EvalEvery = 1_000_000
          ProgressSeconds = 1.0
          InitFrom = None
          KeepBest = None }
    let root = Directory.CreateTempSubdirectory("reconstruct-trainer-bench-").FullName
    let mutable runs = 0
    /// Milliseconds between consecutive loss calls, and the run's wall-clock milliseconds.
    let intervals () =
        let ms = Seq.pairwise stamps |> Seq.map (fun (a, b) -> float (b - a) * 1000.0 / float Stopwatch.Frequency) |> Array.ofSeq
        stamps.Clear()
        ms
    let withTrainer n =
        runs <- runs + 1
        let dir = Path.Combine(root, string runs)
        let sw = Stopwatch.StartNew()
        Trainer.runWith Plain dir (experiment n) learner data false CancellationToken.None ignore |> ignore
        let wall = sw.Elapsed.TotalMilliseconds
        Directory.Delete(dir, true)
        intervals (), wall
    let bare n =
        use optimizer = Optim.adam adam parameters
        for i in 0 .. n - 1 do
            use _ = DisposalScope.Open()
            Optim.applySchedule optimizer Optim.Constant adam.Lr i |> ignore
            use b = batch (i % batchesPerEpoch)
            optimizer.ZeroGrad()
            let l = loss b
            if not (Double.IsFinite(l.ToScalar())) then failwith "TrainerBench: non-finite loss"
            l.backward ()
            optimizer.Step()
        intervals ()
    try
        let n = 30
        withTrainer 5 |> ignore
        bare 5 |> ignore
        let rounds = Array.init 8 (fun _ -> withTrainer n, bare n)
        let trainer = rounds |> Array.collect (fst >> fst) |> median
        let bareMs = rounds |> Array.collect snd |> median
        let fixedMs = rounds |> Array.map (fun ((_, wall), _) -> wall - float n * trainer) |> median
        [ figure "trainer_iter_ms" trainer "ms" "ConvNet batch 8, 32x32, one iteration run by Trainer.run (plain progress, metrics line)"
          figure "trainer_bare_iter_ms" bareMs "ms" "the same steps in a bare loop, same run"
          figure "trainer_overhead_pct" (100.0 * (trainer - bareMs) / bareMs) "%" "the trainer's own cost per iteration as a share of the bare iteration"
          figure "trainer_fixed_ms" fixedMs "ms" "once per run: run directory, config.json, final checkpoint, curves.png" ]
    finally
        Layers.Named.dispose parameters
        try Directory.Delete(root, true) with _ -> ()
