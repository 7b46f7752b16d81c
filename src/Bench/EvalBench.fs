/// Benchmarks of the evaluation (issue: benchmark data and evaluation). Each figure is printed
/// beside its reference, the all-pairs nearest-neighbour search, measured in the same run.
module Reconstruct.Bench.EvalBench

open System.Diagnostics
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Eval
open Reconstruct.Bench.Report

/// A lopsided closed blob (level-3 icosphere pushed out radially), plus `ripple` times a
/// smooth bumpy term: ripple 0 is the "true" shape, ripple 0.1 a reconstruction of it with
/// Chamfer-L1 ≈ 0.19, about UNICORN's ShapeNet average (0.20).
let private blob (ripple: float) =
    let v, f = Mesh.icosphereArrays 3
    let moved =
        v |> Array.map (fun p ->
            let r =
                1.0 + 0.3 * p.[0] + 0.2 * p.[1] * p.[1] - 0.25 * p.[2] * p.[0] + 0.15 * p.[2]
                + ripple * sin (5.0 * p.[0] + 3.0 * p.[1]) * cos (4.0 * p.[2])
            [| 0.5 * r * p.[0]; 0.4 * r * p.[1]; 0.3 * r * p.[2] |])
    Mesh.ofArrays moved f

/// `count` points on `mesh`, normalised as the protocol does (box centred, max |x| = 0.5).
let private normalisedPoints (g: Generator) (count: int) (mesh: Mesh) =
    use _ = DisposalScope.Open()
    let pts = Nearest.ofTensor (Sampling.surfacePoints g count mesh.Vertices mesh.Faces).Points
    Transform.applyPoints (Alignment.normalisation pts) pts

/// Median milliseconds of `runs` calls after warming up for at least `warmupMs` (the thread
/// pool, the JIT and the GC settle over the first second or so of a fresh process).
let private settledMs (warmupMs: float) (runs: int) (action: unit -> unit) =
    let sw = Stopwatch.StartNew()
    let mutable n = 0
    while n < 2 || sw.Elapsed.TotalMilliseconds < warmupMs do
        action ()
        n <- n + 1
    medianMs 0 runs action

/// Milliseconds of the all-pairs search for `queries` queries against `reference`, timed on
/// the first `subset` queries and scaled linearly (its cost is exactly linear in queries).
let private bruteMs (reference: float32[]) (queries: float32[]) (subset: int) =
    let part = Array.sub queries 0 (3 * subset)
    Nearest.bruteForce reference part |> ignore
    let ms = medianMs 0 3 (fun () -> Nearest.bruteForce reference part |> ignore)
    ms * float (queries.Length / 3) / float subset

/// Chamfer between two 30k-point clouds: a typical reconstruction against its truth, and a
/// poor one (UNICORN's template ellipsoid against the same truth), both normalised.
let chamfer () =
    use g = new Generator(11UL)
    let n, subset = 30_000, 1000
    let truth = normalisedPoints g n (blob 0.0)
    let pred = normalisedPoints g n (blob 0.1)
    let poor = normalisedPoints g n (Template.unicorn 0.4)
    let l1 = Chamfer.l1 (Chamfer.distances pred truth)
    let l1Poor = Chamfer.l1 (Chamfer.distances poor truth)
    let ms = settledMs 2000.0 9 (fun () -> Chamfer.distances pred truth |> ignore)
    let msPoor = settledMs 1000.0 9 (fun () -> Chamfer.distances poor truth |> ignore)
    let brute = bruteMs truth pred subset + bruteMs pred truth subset
    [ figure "chamfer_30k_ms" ms "ms"
          (sprintf "k-d tree (F#, %d threads), two 30k clouds, both directions incl. tree builds, Chamfer-L1 %.3f; all-pairs reference %.0f ms; target <= 100 ms"
               System.Environment.ProcessorCount l1 brute)
      figure "chamfer_30k_bruteforce_ms" brute "ms" (sprintf "reference: all-pairs NN (1 thread), %d queries each way timed, scaled x%d to 60k queries" subset (n / subset))
      figure "chamfer_30k_speedup_vs_bruteforce" (brute / ms) "x" ""
      figure "chamfer_30k_poor_ms" msPoor "ms" (sprintf "as chamfer_30k_ms for a poor reconstruction (template ellipsoid, Chamfer-L1 %.3f): far queries cost more" l1Poor) ]

/// One gradient ICP as the protocol runs it: 30k points of a reconstruction, turned by 15°,
/// stretched and shifted, then normalised, onto 30k normalised points of the truth; Adam
/// lr 0.01, 100 iterations, keep the best.
let icp () =
    use g = new Generator(12UL)
    let n, subset = 30_000, 1000
    let truth = normalisedPoints g n (blob 0.0)
    let pred =
        let m = blob 0.1
        use _ = DisposalScope.Open()
        let r = Rotation.fromAxisAngle (Tensor.ofArray [| 0.0f; 0.26f; 0.05f |])
        let v = (m.Vertices * Tensor.ofArray [| 1.1f; 0.9f; 1.0f |]).matmul r.mT + Tensor.ofArray [| 0.05f; 0.0f; -0.03f |]
        normalisedPoints g n { m with Vertices = v }
    let mutable result = Unchecked.defaultof<IcpResult>
    let ms = medianMs 1 3 (fun () -> result <- Alignment.icp IcpOptions.Defaults pred truth)
    // The same 101 rounds of correspondences by the all-pairs search, both directions.
    let brute = 101.0 * (bruteMs truth pred subset + bruteMs pred truth subset)
    [ figure "icp_100it_ms" ms "ms"
          (sprintf "30k onto 30k, 100 Adam steps (lr 0.01) + 101 NN rounds both ways, %.1f ms/iteration; Chamfer-L2 %.5f -> %.5f (best at %d); all-pairs NN alone would take %.0f ms"
               (ms / 101.0) result.InitialLoss result.Loss result.BestIteration brute)
      figure "icp_100it_bruteforce_nn_ms" brute "ms" (sprintf "reference: 101 x all-pairs NN both ways (1 thread), %d queries timed, scaled to 30k" subset)
      figure "icp_100it_speedup_vs_bruteforce" (brute / ms) "x" "" ]

let all () : Figure list = chamfer () @ icp ()
