/// Benchmarks of the tensor engine (issue: tensor engine). Each figure is printed beside the
/// reference it is compared against, measured in the same run.
module Reconstruct.Bench.TorchBench

open System.Diagnostics
open Reconstruct.Torch
open Reconstruct.Bench.Report

/// A tiny elementwise op called from F#, per call, next to the same loop in C++.
let opOverhead () =
    let iterations = 200_000
    use a = Tensor.ones [ 4 ]
    use b = Tensor.ones [ 4 ]
    let loop () =
        let sw = Stopwatch.StartNew()
        for _ in 1..iterations do
            use c = a + b
            ()
        sw.Elapsed.TotalMilliseconds * 1e6 / float iterations
    loop () |> ignore
    let fs = Array.init 5 (fun _ -> loop ()) |> median
    let cpp = Array.init 5 (fun _ -> Kernels.BenchLoops.addLoop (int64 iterations)) |> median
    [ figure "op_overhead_ns" fs "ns" (sprintf "F# a+b on float32[4]; same loop in C++: %.0f ns" cpp)
      figure "op_overhead_cpp_ns" cpp "ns" "reference: at::add loop in C++"
      figure "op_overhead_ratio_fs_vs_cpp" (fs / cpp) "x" "" ]

/// A 1024² float32 matmul: catches a missing or reference BLAS.
let matmulGflops () =
    use g = new Generator(1UL)
    use a = Tensor.randn ([ 1024; 1024 ], g)
    use b = Tensor.randn ([ 1024; 1024 ], g)
    let ms = medianMs 2 10 (fun () -> use c = a.matmul b in ())
    let gflops = 2.0 * 1024.0 ** 3.0 / (ms * 1e6)
    [ figure "matmul_gflops" gflops "GFLOP/s" (sprintf "1024^2 float32, median %.2f ms; BLAS: %s" ms (Runtime.info ())) ]

/// Forward + backward + Adam of the benchmark model (batch 32, 64×64), F# layers against the
/// same model written in C++ on libtorch (rc_bench.cpp), median of 50 steps each.
let trainStepRatio () =
    let batch, size = 32, 64
    use g = new Generator(7UL)
    let model = ConvNet.benchmarkModel g
    let parameters = ConvNet.parameters model
    use optimizer = Optim.adam { Optim.Adam.Defaults with Lr = 1e-3 } parameters
    use x = Tensor.rand ([ batch; 3; size; size ], g)
    use target = Tensor.rand ([ batch; 10 ], g)
    // Short alternating rounds so drifting machine load hits both sides alike; each round's
    // first step is a warm-up (the C++ side builds its model anew every round).
    let rounds, perRound = 10, 6
    let runFs () =
        Array.init perRound (fun _ ->
            let sw = Stopwatch.StartNew()
            ConvNet.trainStep model optimizer x target |> ignore
            sw.Elapsed.TotalMilliseconds)
        |> Array.skip 1
    let runCpp () =
        Kernels.BenchLoops.trainSteps batch size perRound 7UL |> Array.skip 1
    let samples = Array.init rounds (fun _ -> runFs (), runCpp ())
    let fs = samples |> Array.collect fst |> median
    let cpp = samples |> Array.collect snd |> median
    Layers.Named.dispose parameters
    [ figure "train_step_fs_ms" fs "ms" "4-conv encoder + MLP head, batch 32, 64x64, fwd+bwd+Adam, F# layers"
      figure "train_step_cpp_ms" cpp "ms" "the same model in C++ (torch::nn), same run"
      figure "train_step_ratio_fs_vs_cpp" (fs / cpp) "x" "target <= 1.10" ]
