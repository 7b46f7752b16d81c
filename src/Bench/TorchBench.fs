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
    let cpp = Array.init 5 (fun _ -> Native.rc_bench_add_loop (int64 iterations)) |> median
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
