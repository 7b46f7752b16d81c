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

/// `trainer_overhead_pct`: the ConvNet of the engine benchmark (batch 8, 32×32) for N and 2N
/// iterations, by the trainer (plain progress, metrics.jsonl, final checkpoint) and by a
/// bare loop (scope, lr, zero-grad, loss, backward, step); per-iteration cost = (T(2N) - T(N)) / N,
/// so setup and the final checkpoint cancel out (reported apart as trainer_fixed_ms).
let overhead () =
    let batchSize, size, batchesPerEpoch = 8, 32, 16
    use g = new Generator(11UL)
    let model = ConvNet.benchmarkModel g
    let parameters = ConvNet.parameters model
    use inputs = Tensor.rand ([ batchesPerEpoch * batchSize; 3; size; size ], g)
    use targets = Tensor.rand ([ batchesPerEpoch * batchSize; 10 ], g)
    let batch k = { X = inputs.narrow (0, k * batchSize, batchSize); Y = targets.narrow (0, k * batchSize, batchSize) }
    let loss (b: Batch) = Functional.mseLoss Reduction.Mean (ConvNet.forward model b.X) b.Y
    let learner: Learner<Batch> =
        { Pipeline = "convnet-bench"
          Parameters = parameters
          Buffers = []
          Generators = []
          Phases = 1
          Loss = fun _ _ b -> [ "total", loss b ]
          Validate = fun _ -> [] }
    let data = { BatchesPerEpoch = batchesPerEpoch; Epoch = fun _ -> Seq.init batchesPerEpoch batch }
    let adam = { Optim.Adam.Defaults with Lr = 1e-4 }
    let experiment n =
        { Name = "trainer-bench"; Seed = 1UL; Method = (); Optimiser = adam; LearningRate = Optim.Constant
          BatchSize = batchSize; Stop = Stop.iterations n; CheckpointEvery = 1_000_000; EvalEvery = 1_000_000
          ProgressSeconds = 1.0 }
    let root = Directory.CreateTempSubdirectory("reconstruct-trainer-bench-").FullName
    let mutable runs = 0
    let withTrainer n =
        runs <- runs + 1
        let dir = Path.Combine(root, string runs)
        let sw = Stopwatch.StartNew()
        Trainer.runWith Plain dir (experiment n) learner data false CancellationToken.None ignore |> ignore
        let ms = sw.Elapsed.TotalMilliseconds
        Directory.Delete(dir, true)
        ms
    let bare n =
        let sw = Stopwatch.StartNew()
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
        sw.Elapsed.TotalMilliseconds
    try
        let n = 30
        withTrainer 5 |> ignore
        bare 5 |> ignore
        // The machine's load drifts (2 shared cores): each round compares neighbours in time,
        // and the share is the median of the rounds' shares.
        let rounds =
            Array.init 6 (fun _ ->
                let t1 = withTrainer n
                let b1 = bare n
                let t2 = withTrainer (2 * n)
                let b2 = bare (2 * n)
                let trainer, bareMs = (t2 - t1) / float n, (b2 - b1) / float n
                trainer, bareMs, 100.0 * (trainer - bareMs) / bareMs, t1 - float n * trainer)
        let pick f = rounds |> Array.map f |> median
        let trainer = pick (fun (t, _, _, _) -> t)
        let bareMs = pick (fun (_, b, _, _) -> b)
        let pct = pick (fun (_, _, p, _) -> p)
        let fixedMs = pick (fun (_, _, _, f) -> f)
        [ figure "trainer_iter_ms" trainer "ms" "ConvNet batch 8, 32x32, one iteration run by Trainer.run (plain progress, metrics line)"
          figure "trainer_bare_iter_ms" bareMs "ms" "the same steps in a bare loop, same run"
          figure "trainer_overhead_pct" pct "%" "the trainer's own cost per iteration as a share of the bare step (median of 6 rounds)"
          figure "trainer_fixed_ms" fixedMs "ms" "per run: run directory, config.json, final checkpoint, curves.png" ]
    finally
        Layers.Named.dispose parameters
        try Directory.Delete(root, true) with _ -> ()
