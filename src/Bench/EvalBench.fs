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

/// `count` true points as the paper takes them: farthest-point samples of a dense (10k)
/// normalised surface sample.
let private fpsPoints (g: Generator) (count: int) (mesh: Mesh) =
    PointCloudMetrics.farthestPointSample (normalisedPoints g 10_000 mesh) count

/// EMD between 1,024 predicted and 1,024 true points: a typical reconstruction and a poor one
/// (the template ellipsoid), beside the Chamfer distance of the same clouds, timed in the same
/// run (EMD's exact matching against CD's nearest neighbours). The notes give process CPU
/// time, what one idle core would take (EMD runs on one thread).
let emd () =
    use g = new Generator(13UL)
    let n = 1024
    let truth = fpsPoints g n (blob 0.0)
    let pred = fpsPoints g n (blob 0.1)
    let poor = fpsPoints g n (Template.unicorn 0.4)
    let value, valuePoor = PointCloudMetrics.emd pred truth, PointCloudMetrics.emd poor truth
    let ms, cpu = medianWallAndCpuMs 1 5 (fun () -> PointCloudMetrics.emd pred truth |> ignore)
    let msPoor, cpuPoor = medianWallAndCpuMs 0 5 (fun () -> PointCloudMetrics.emd poor truth |> ignore)
    let cdMs, cdCpu = medianWallAndCpuMs 3 9 (fun () -> PointCloudMetrics.chamferSquared pred truth |> ignore)
    [ figure "emd_1024_ms" ms "ms"
          (sprintf "exact EMD (Jonker-Volgenant, 1 thread), 1,024 vs 1,024 FPS points of a reconstruction and its truth (EMD %.5f, CD %.5f); median of 5; process CPU %.0f ms; target well under 2000 ms"
               value (PointCloudMetrics.chamferSquared pred truth) cpu)
      figure "emd_1024_poor_ms" msPoor "ms" (sprintf "as emd_1024_ms for a poor reconstruction (template ellipsoid, EMD %.5f); process CPU %.0f ms" valuePoor cpuPoor)
      figure "emd_1024_chamfer_ms" cdMs "ms" (sprintf "reference: chamferSquared of the same two clouds (k-d trees, both directions); median of 9; process CPU %.1f ms" cdCpu)
      figure "emd_1024_ratio_vs_chamfer" (ms / cdMs) "x" (sprintf "wall time; by process CPU time %.0fx" (cpu / cdCpu)) ]

/// Farthest-point sampling of 1,024 points from a 100k-point surface sample, beside the
/// all-pairs nearest-neighbour search of 1,024 queries in the same 100k points: the same
/// 1,024 × 100k distances.
let fps () =
    use g = new Generator(14UL)
    let dense = normalisedPoints g 100_000 (blob 0.0)
    let count = 1024
    let ms, cpu = medianWallAndCpuMs 1 3 (fun () -> PointCloudMetrics.farthestPointIndices dense count |> ignore)
    let queries = Array.sub dense 0 (3 * count)
    let brute, bruteCpu = medianWallAndCpuMs 1 3 (fun () -> Nearest.bruteForce dense queries |> ignore)
    [ figure "fps_100k_to_1024_ms" ms "ms" (sprintf "farthest-point sampling (1 thread), 1,024 of 100k surface points; median of 3; process CPU %.0f ms" cpu)
      figure "fps_100k_bruteforce_nn_ms" brute "ms" (sprintf "reference: all-pairs NN of 1,024 queries in the same 100k points (1 thread), as many distances; process CPU %.0f ms" bruteCpu)
      figure "fps_100k_ratio_vs_bruteforce" (ms / brute) "x" (sprintf "wall time; by process CPU time %.2fx" (cpu / bruteCpu)) ]

/// The global rotation of the evaluation fitted on 50 pairs of 1,024 points (blobs of varying
/// ripple, the predictions turned by a known rotation), beside one summed CD of the 50 pairs
/// timed in the same run: the fit costs that many CD evaluations.
let fitRotation () =
    use g = new Generator(15UL)
    let axisAngle = [| 0.9; 2.1; -0.7 |]
    let turn =
        use _ = DisposalScope.Open()
        (Rotation.fromAxisAngle (Tensor.ofArray axisAngle)).ToFloat64s()
    let back = Array.init 9 (fun k -> turn.[3 * (k % 3) + k / 3])
    let pairs =
        List.init 50 (fun k ->
            let ripple = 0.002 * float k
            PointCloudMetrics.applyRotation back (fpsPoints g 1024 (blob (ripple + 0.05))), fpsPoints g 1024 (blob ripple))
    let mutable fitted = [||]
    let ms, cpu = medianWallAndCpuMs 0 3 (fun () -> fitted <- PointCloudMetrics.fitGlobalRotation pairs)
    let error =
        use _ = DisposalScope.Open()
        Rotation.degrees ((Rotation.geodesicAngle (Tensor.ofArray (fitted, [ 3; 3 ])) (Tensor.ofArray (turn, [ 3; 3 ]))).ToScalar())
    let cd (r: float[]) = pairs |> List.sumBy (fun (p, t) -> PointCloudMetrics.chamferSquared (PointCloudMetrics.applyRotation r p) t)
    let identity = Transform.identity.Rotation
    let cdMs, cdCpu = medianWallAndCpuMs 1 3 (fun () -> cd identity |> ignore)
    [ figure "fit_rotation_50x1024_ms" ms "ms"
          (sprintf "fitGlobalRotation, 50 pairs of 1,024 points turned by %.0f deg: %.3f deg from the true rotation; summed CD %.4f -> %.4f; median of 3; process CPU %.0f ms; target a few seconds"
               (Rotation.degrees (sqrt (Array.sumBy (fun v -> v * v) axisAngle))) error (cd identity) (cd fitted) cpu)
      figure "fit_rotation_50x1024_cd_ms" cdMs "ms" (sprintf "reference: one summed CD of the 50 pairs (rotate + chamferSquared); process CPU %.0f ms" cdCpu)
      figure "fit_rotation_50x1024_ratio_vs_cd" (ms / cdMs) "x" (sprintf "the fit's cost in summed-CD evaluations, wall time; by process CPU time %.0fx" (cpu / cdCpu)) ]

let all () : Figure list = chamfer () @ icp () @ emd () @ fps () @ fitRotation ()
