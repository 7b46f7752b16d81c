module Reconstruct.Bench.PointSplatBench

open Reconstruct.Torch
open Reconstruct.Render
open Reconstruct.Bench.Report

/// n clouds of `points` points on the ellipsoid 0.5·[1, 0.7, 0.7] (uniform directions, not
/// uniform area), each under its own random rotation, seen by the paper's camera: distance 2,
/// focal length 120 px, principal point (32, 32). Returns xy (n, points, 2) pixel coordinates,
/// depth (n, points), rgb (n, points, 3) in [0, 1], float32.
let private clouds (seed: int) (n: int) (points: int) =
    use g = new Generator(uint64 seed)
    use scope = DisposalScope.Open()
    let directions = Tensor.randn ([ n; points; 3 ], g)
    let surface = directions / directions.norm (2.0, 2, true) * Tensor.ofArray [| 0.5f; 0.35f; 0.35f |]
    let rotation = Reconstruct.Geometry.Rotation.random g n Float32
    let camera = surface.matmul (rotation.transpose (1, 2)) + Tensor.ofArray [| 0.0f; 0.0f; 2.0f |]
    let depth = camera.select (2, 2)
    let xy = camera.narrow (2, 0, 2) * 120.0 / depth.unsqueeze 2 + 32.0
    scope.MoveOut xy, scope.MoveOut depth, scope.MoveOut(Tensor.rand ([ n; points; 3 ], g))

type private Step = { Forward: float; Backward: float; Cpu: float }

/// One forward (mask and colour) and one backward of Σ mask·upMask + Σ colour·upColour to xy,
/// depth and rgb, timed apart.
let private step render (xy: Tensor, depth: Tensor, rgb: Tensor) (upMask: Tensor) (upColour: Tensor) =
    use scope = DisposalScope.Open()
    let inputs = [| xy.detach().RequireGrad(); depth.detach().RequireGrad(); rgb.detach().RequireGrad() |]
    let outputs = ref [||]
    let fwd, fwdCpu = wallAndCpuMs (fun () -> outputs.Value <- (let m, c = render inputs.[0] inputs.[1] inputs.[2] in [| m; c |]))
    let bwd, bwdCpu = wallAndCpuMs (fun () -> Autograd.gradients outputs.Value (Some [| upMask; upColour |]) inputs false |> ignore)
    { Forward = fwd; Backward = bwd; Cpu = fwdCpu + bwdCpu }

/// Medians of `runs` steps after one discarded (first-touch page faults, lazy loading).
let private medianStep (runs: int) (once: unit -> Step) =
    once () |> ignore
    let steps = Array.init runs (fun _ -> once ())
    let m sel = median (Array.map sel steps)
    { Forward = m _.Forward; Backward = m _.Backward; Cpu = m _.Cpu }

let all () =
    Runtime.initDefaults.Force()
    use scope = DisposalScope.Open()
    let n, points, subset = 32, 1024, 2
    let s = PointSplatSettings.Defaults
    let xy, depth, rgb = clouds 1 n points
    use g = new Generator(2UL)
    let upMask = Tensor.randn ([ n; 1; s.Height; s.Width ], g)
    let upColour = Tensor.randn ([ n; 3; s.Height; s.Width ], g)
    let kernel = medianStep 7 (fun () -> step (PointSplat.render s) (xy, depth, rgb) upMask upColour)
    let peak = RenderBench.peakRssIncreaseMb (fun () -> step (PointSplat.render s) (xy, depth, rgb) upMask upColour |> ignore)
    // the dense reference holds (1, 64, 64, 1024) pairs per intermediate for each image
    let part (t: Tensor) = t.narrow (0, 0, subset)
    let reference = medianStep 3 (fun () -> step (Reference.pointSplat s) (part xy, part depth, part rgb) (part upMask) (part upColour))
    let scale = float n / float subset
    let kernelMs = kernel.Forward + kernel.Backward
    let referenceMs = (reference.Forward + reference.Backward) * scale
    let setting = sprintf "32 clouds of 1024 points, 64x64, sigma2 0.4, cut at 3 sigma, 3 channels, float32, %d threads" (Runtime.threads ())
    let scaled what ms = sprintf "dense (B,H,W,N) reference %s: %.0f ms on %d images, x%.0f (same run)" what ms subset scale
    // on a loaded machine wall time also measures the neighbours; CPU time is the work done
    let cpuRatio = reference.Cpu * scale / kernel.Cpu
    [ figure "point_projection_fwdbwd_ms" kernelMs "ms" (sprintf "PointSplat.render forward + backward to xy, depth, rgb; %s; median of 7; process CPU %.1f ms" setting kernel.Cpu)
      figure "point_projection_fwd_ms" kernel.Forward "ms" "forward (mask and colour), median of 7"
      figure "point_projection_bwd_ms" kernel.Backward "ms" "backward, median of 7"
      figure "point_projection_peak_mb" peak "MB" "peak RSS growth during one forward + backward step, after malloc_trim"
      figure "point_projection_reference_fwdbwd_ms" referenceMs "ms" (sprintf "%s; process CPU %.0f ms x%.0f" (scaled "forward + backward" (reference.Forward + reference.Backward)) reference.Cpu scale)
      figure "point_projection_reference_fwd_ms" (reference.Forward * scale) "ms" (scaled "forward" reference.Forward)
      figure "point_projection_reference_bwd_ms" (reference.Backward * scale) "ms" (scaled "backward" reference.Backward)
      figure "point_projection_speedup_vs_reference" (referenceMs / kernelMs) "x" (sprintf "reference forward + backward over the kernel's, wall time, both for 32 clouds; by process CPU time %.0fx" cpuRatio) ]
