/// Benchmarks of the renderer (issue: differentiable renderer). Each fast path is timed beside
/// a dense plain-tensor-op reference that evaluates every (pixel, face) pair, measured in the
/// same run on a subset of the batch and scaled to the full batch (the note says so).
module Reconstruct.Bench.RenderBench

open System
open System.Diagnostics
open System.IO
open System.Threading
open Reconstruct.Torch
open Reconstruct.Render
open Reconstruct.Bench.Report

// ------------------------------------------------------------------ workload

/// Icosphere by midpoint subdivision of the icosahedron: unit vertices and faces
/// counter-clockwise seen from outside. Level 3: 642 vertices, 1280 faces.
let icosphere (level: int) : float[][] * int[][] = Reconstruct.Geometry.Mesh.icosphereArrays level

/// n copies of `verts` scaled per axis by `scale`, each under a random rotation (uniform
/// quaternions from `seed`), seen by a camera at `dist` with the full field of view `fovDeg`.
/// Returns (n, V, 3) [x_ndc, y_ndc, z_view] in `dtype`; camera x right, y down, z forward.
let projectRandomPoses (seed: int) (n: int) (scale: float[]) (dist: float) (fovDeg: float) (verts: float[][]) (dtype: Dtype) =
    let rng = Random(seed)
    let gauss () = sqrt (-2.0 * log (1.0 - rng.NextDouble())) * cos (2.0 * Math.PI * rng.NextDouble())
    let tanHalf = tan (fovDeg * Math.PI / 360.0)
    let out =
        [| for _ in 1..n do
               let q = Array.init 4 (fun _ -> gauss ())
               let l = sqrt (Array.sumBy (fun x -> x * x) q)
               let w, x, y, z = q.[0] / l, q.[1] / l, q.[2] / l, q.[3] / l
               let r =
                   [| [| 1.0 - 2.0 * (y * y + z * z); 2.0 * (x * y - z * w); 2.0 * (x * z + y * w) |]
                      [| 2.0 * (x * y + z * w); 1.0 - 2.0 * (x * x + z * z); 2.0 * (y * z - x * w) |]
                      [| 2.0 * (x * z - y * w); 2.0 * (y * z + x * w); 1.0 - 2.0 * (x * x + y * y) |] |]
               for v in verts do
                   let s = Array.init 3 (fun k -> v.[k] * scale.[k])
                   let c = Array.init 3 (fun i -> r.[i].[0] * s.[0] + r.[i].[1] * s.[1] + r.[i].[2] * s.[2])
                   // object +y up, +z to the viewer -> camera y down, z forward
                   let xc, yc, zc = c.[0], -c.[1], dist - c.[2]
                   yield xc / (zc * tanHalf)
                   yield yc / (zc * tanHalf)
                   yield zc |]
    use projected = Tensor.ofArray (out, [ n; verts.Length; 3 ])
    projected.cast dtype

/// The benchmark scene: n ellipsoids 0.4·[1, 0.7, 0.7] (icosphere level 3) at random rotations,
/// camera at distance 2.732 with a 30° field of view.
/// Returns verts (n, 642, 3) float32 [x_ndc, y_ndc, z_view], faces (1280, 3) int64, uvs (642, 2).
let scene (seed: int) (n: int) =
    let v, f = icosphere 3
    let uvs =
        v |> Array.collect (fun p -> [| float32 ((atan2 p.[0] p.[2] + Math.PI) / (2.0 * Math.PI)); float32 (acos (max -1.0 (min 1.0 p.[1])) / Math.PI) |])
    projectRandomPoses seed n [| 0.4; 0.28; 0.28 |] 2.732 30.0 v Float32,
    Tensor.ofArray (f |> Array.concat |> Array.map int64, [ f.Length; 3 ]),
    Tensor.ofArray (uvs, [ v.Length; 2 ])

// ------------------------------------------------------------------ memory

/// glibc: hands freed heap memory back to the kernel, so a peak measured next starts clean.
[<System.Runtime.InteropServices.DllImport("libc.so.6")>]
extern int malloc_trim(unativeint pad)

let private statusKb (field: string) =
    File.ReadAllLines "/proc/self/status"
    |> Array.tryFind (fun l -> l.StartsWith(field + ":"))
    |> Option.map (fun l -> float (l.Substring(field.Length + 1).Trim().Split(' ').[0]))
    |> Option.defaultValue nan

/// Peak resident memory growth (MB) while `action` runs: the kernel's high-water mark, reset
/// first through /proc/self/clear_refs; where that is not allowed, RSS sampled every ms.
/// Freed heap memory is returned first (malloc_trim), so memory the action reuses from earlier
/// steps counts as growth: the figure is what one step needs, not what it adds to a warm process.
let peakRssIncreaseMb (action: unit -> unit) =
    GC.Collect()
    GC.WaitForPendingFinalizers()
    (try malloc_trim 0un |> ignore with _ -> ())
    let before = statusKb "VmRSS"
    let resetOk =
        try
            File.WriteAllText("/proc/self/clear_refs", "5")
            statusKb "VmHWM" <= before + 1024.0
        with _ -> false
    if resetOk then
        action ()
        (statusKb "VmHWM" - before) / 1024.0
    else
        let peak = ref before
        use stop = new ManualResetEventSlim(false)
        let sampler =
            Thread(
                (fun () ->
                    while not (stop.Wait 1) do
                        peak.Value <- max peak.Value (statusKb "VmRSS")),
                IsBackground = true)
        sampler.Start()
        action ()
        stop.Set()
        sampler.Join()
        (max peak.Value (statusKb "VmRSS") - before) / 1024.0

// ------------------------------------------------------------------ dense references

/// Pixel centres (2k + 1)/n − 1.
let private centres (n: int) (dtype: Dtype) =
    (Tensor.ofArray (Array.init n (fun k -> (2.0 * float k + 1.0) / float n - 1.0))).cast dtype

/// Every (pixel, face) pair of fv (N, F, 3, 3) as (N, H, W, F) tensors: the squared distance to
/// the boundary, the strict inside test, and the three screen barycentrics.
let private densePairs (h: int) (w: int) (fv: Tensor) =
    let n, f = fv.Shape.[0], fv.Shape.[1]
    let coord v c = (fv.select(2, v).select (2, c)).reshape [ n; 1; 1; f ]
    let x = Array.init 3 (fun v -> coord v 0)
    let y = Array.init 3 (fun v -> coord v 1)
    let px = (centres w fv.Dtype).reshape [ 1; 1; w; 1 ]
    let py = (centres h fv.Dtype).reshape [ 1; h; 1; 1 ]
    let segment k =
        let m = (k + 1) % 3
        let ex, ey = x.[m] - x.[k], y.[m] - y.[k]
        let dx, dy = px - x.[k], py - y.[k]
        let l2 = (ex * ex + ey * ey).clamp (min = 1e-20)
        let t = ((dx * ex + dy * ey) / l2).clamp (0.0, 1.0)
        let rx, ry = dx - t * ex, dy - t * ey
        rx * rx + ry * ry, ex * dy - ey * dx
    let segs = Array.init 3 segment
    let d2, _ = (Tensor.stack (Array.map fst segs, 4)).min 4
    let cr = Array.map snd segs
    let area = cr.[0] + cr.[1] + cr.[2] // doubled signed area, the same at every pixel
    let sgn = area.sign ()
    let inside = (((cr.[0] * sgn).gt 0.0).logicalAnd ((cr.[1] * sgn).gt 0.0)).logicalAnd ((cr.[2] * sgn).gt 0.0)
    let safe = Tensor.where (area.abs().gt 1e-10, area, area.onesLike ())
    d2, inside, [| cr.[1] / safe; cr.[2] / safe; cr.[0] / safe |]

/// SoftRas silhouettes over all pairs: alpha = 1 − Π_F (1 − D). fv: (N, F, 3, 3) -> (N, 1, H, W).
let denseSilhouette (s: SoftSettings) (fv: Tensor) =
    use scope = DisposalScope.Open()
    let d2, inside, _ = densePairs s.Height s.Width fv
    let thr = log (1.0 / s.DistEps - 1.0) * s.Sigma
    let x = Tensor.where (inside, d2, -d2) / s.Sigma
    let keep = inside.logicalOr (d2.lt thr)
    let oneMinusD = Tensor.where (keep, (-x).sigmoid (), x.onesLike ())
    scope.MoveOut((1.0 - oneMinusD.prod 3).unsqueeze 1)

/// UNICORN's textured render over all pairs: dense candidates, the K nearest by depth
/// (`topk` along F), barycentric UVs, bilinear texture, layered blend, composite.
/// verts: (N, V, 3); faces: (F, 3); uvs: (V, 2); uvImage, background: (N, 3, H, W).
let denseTextured (s: RasterSettings) (sigma: float) (verts: Tensor) (faces: Tensor) (uvs: Tensor) (uvImage: Tensor) (background: Tensor) =
    use scope = DisposalScope.Open()
    let n, f, k = verts.Shape.[0], faces.Shape.[0], s.FacesPerPixel
    let h, w = s.Height, s.Width
    let fv = (verts.indexSelect (1, faces.flatten ())).reshape [ n; f; 3; 3 ]
    let d2, inside, bary = densePairs h w fv
    let zOf v = (fv.select(2, v).select (2, 2)).reshape [ n; 1; 1; f ]
    let z = bary.[0] * zOf 0 + bary.[1] * zOf 1 + bary.[2] * zOf 2
    let candidate = (inside.logicalOr (d2.lt s.BlurRadius)).logicalAnd (z.gt s.ZNear)
    let key = Tensor.where (candidate, z.detach (), z.fullLike 1e30)
    let nearest, idx = key.topk (k, 3, false, true) // (N,H,W,K)
    let valid = (nearest.lt 1e29).cast verts.Dtype
    let dists = (Tensor.where (inside, -d2, d2)).gather (3, idx)
    let uvPerFace = (uvs.indexSelect (0, faces.flatten ())).reshape [ f; 3; 2 ]
    let uv =
        Array.init 3 (fun c ->
            let uvc = uvPerFace.select(1, c).reshape [ 1; 1; 1; f; 2 ]
            let uvk = uvc.expand([ n; h; w; f; 2 ]).gather (3, idx.unsqueeze(4).expand [ n; h; w; k; 2 ])
            (bary.[c].gather (3, idx)).unsqueeze (4) * uvk)
        |> Array.reduce (+)
    let grid = (uv * 2.0 - 1.0).reshape [ n; h; w * k; 2 ]
    let texels = (Functional.gridSample Interpolation.Bilinear GridPadding.Border false grid uvImage).reshape [ n; 3; h; w; k ]
    let alpha = (dists.clamp(min = 0.0) * (-1.0 / sigma)).exp () * valid
    let through = (1.0 - alpha).cumprod 3
    let before = Tensor.cat ([ through.narrow(3, 0, 1).onesLike (); through.narrow (3, 0, k - 1) ], 3)
    let weights = (before * alpha).unsqueeze 1 // (N,1,H,W,K)
    let last = through.narrow(3, k - 1, 1).permute [ 0; 3; 1; 2 ] // (N,1,H,W)
    let rgb = (weights * texels).sum 4 + last
    let a = 1.0 - last
    scope.MoveOut(rgb * a + (1.0 - a) * background), scope.MoveOut a

// ------------------------------------------------------------------ timing

/// Wall and process-CPU milliseconds of one call. On a shared machine the wall time also
/// measures the neighbours; CPU time / threads is what idle cores would take.
let private time (action: unit -> unit) =
    let cpu0 = Process.GetCurrentProcess().TotalProcessorTime
    let sw = Stopwatch.StartNew()
    action ()
    sw.Elapsed.TotalMilliseconds, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds

/// Medians (wall, cpu) of `runs` calls after `warmup` calls.
let private medians (warmup: int) (runs: int) (action: unit -> unit) =
    for _ in 1..warmup do action ()
    let samples = Array.init runs (fun _ -> time action)
    median (Array.map fst samples), median (Array.map snd samples)

/// Median (wall, cpu) of forward and of backward of a silhouette renderer on fv.
let private silhouetteTimes (runs: int) (render: Tensor -> Tensor) (fv: Tensor) (upstream: Tensor) =
    let samples =
        Array.init (runs + 1) (fun _ ->
            use scope = DisposalScope.Open()
            let x = fv.detach().RequireGrad()
            let out = ref null
            let f = time (fun () -> out.Value <- render x)
            let b = time (fun () -> Autograd.gradients [| out.Value |] (Some [| upstream |]) [| x |] false |> ignore)
            f, b)
        |> Array.skip 1 // the first run pays for first-touch page faults
    let pick sel = median (Array.map (sel >> fst) samples), median (Array.map (sel >> snd) samples)
    pick fst, pick snd

/// Forward + backward of the pixel loss through a textured renderer, one step.
let private texturedStep render (verts: Tensor) (uvImage: Tensor) (background: Tensor) (target: Tensor) =
    use scope = DisposalScope.Open()
    let inputs = [| verts.detach().RequireGrad(); uvImage.detach().RequireGrad(); background.detach().RequireGrad() |]
    let image: Tensor = render inputs.[0] inputs.[1] inputs.[2]
    let loss = (image - target).square().mean ()
    Autograd.gradients [| loss |] None inputs false |> ignore

// ------------------------------------------------------------------ figures

/// softras_sil_*: 256 silhouettes 64×64, σ = 1e-4, dist_eps = 1e-10, icosphere level 3
/// ellipsoids at random poses; forward and backward (gradient w.r.t. the face vertices).
let softSilhouettes () =
    use scope = DisposalScope.Open()
    let n, subset = 256, 1
    let verts, faces, _ = scene 1 n
    let fv = Rasterizer.faceAttributes verts faces
    let s = SoftSettings.Defaults
    use g = new Generator(2UL)
    let upstream = Tensor.rand ([ n; 1; s.Height; s.Width ], g)
    let (fwd, fwdCpu), (bwd, bwdCpu) = silhouetteTimes 7 (fun x -> Renderer.silhouettes s x) fv upstream
    // the dense reference holds (1, 64, 64, 1280) pairs per tensor: one image at a time
    let (rFwd, _), (rBwd, _) = silhouetteTimes 2 (denseSilhouette s) (fv.narrow (0, 0, subset)) (upstream.narrow (0, 0, subset))
    let scaleUp = float n / float subset
    let note cpu = sprintf "256x64x64, 1280 faces, sigma 1e-4, dist_eps 1e-10, %d threads, median of 7; process CPU %.0f ms" (Runtime.threads ()) cpu
    let refNote what ms = sprintf "dense (N,H,W,F) plain-tensor reference %s: %.0f ms on %d image, x%.0f = %.0f ms for 256 (same run)" what ms subset scaleUp (ms * scaleUp)
    [ figure "softras_sil_fwd_ms" fwd "ms" (note fwdCpu)
      figure "softras_sil_bwd_ms" bwd "ms" (note bwdCpu)
      figure "softras_sil_fwd_speedup_vs_reference" (rFwd * scaleUp / fwd) "x" (refNote "forward" rFwd)
      figure "softras_sil_bwd_speedup_vs_reference" (rBwd * scaleUp / bwd) "x" (refNote "backward" rBwd) ]

/// unicorn_raster_*: 192 images 64×64 (6 pose candidates × 32), top-K rasterize (K = 8,
/// σ = 1e-4) + UV interpolation + bilinear texture + layered blend + composite, forward and
/// backward of a pixel MSE loss w.r.t. vertices, UV image and background. The fast path is
/// `Renderer.textured` (the fused kernel); `texturedComposed` (the same parts as separate tensor
/// ops over the top-K Fragments) is measured too, and the dense reference on one image.
let unicornRaster () =
    use scope = DisposalScope.Open()
    let n, subset = 192, 1
    let verts, faces, uvs = scene 3 n
    use g = new Generator(4UL)
    let uvImage = Tensor.rand ([ n; 3; 64; 64 ], g)
    let background = Tensor.rand ([ n; 3; 64; 64 ], g)
    let target = Tensor.rand ([ n; 3; 64; 64 ], g)
    let sigma = 1e-4
    let s = RasterSettings.Defaults
    let fast (v: Tensor) (tex: Tensor) (bg: Tensor) = fst (Renderer.textured s sigma v faces uvs tex bg)
    let composed (v: Tensor) (tex: Tensor) (bg: Tensor) = fst (Renderer.texturedComposed s sigma v faces uvs tex bg)
    let dense (v: Tensor) (tex: Tensor) (bg: Tensor) = fst (denseTextured s sigma v faces uvs tex bg)
    let step render () = texturedStep render verts uvImage background target
    step fast () // warm-up
    let peak = peakRssIncreaseMb (step fast)
    let ms, cpu = medians 1 7 (step fast)
    let cms, ccpu = medians 0 2 (step composed)
    let narrow (t: Tensor) = t.narrow (0, 0, subset)
    let refMs, _ = medians 0 2 (fun () -> texturedStep dense (narrow verts) (narrow uvImage) (narrow background) (narrow target))
    let scaleUp = float n / float subset
    [ figure "unicorn_raster_fwdbwd_ms" ms "ms"
          (sprintf "192x64x64, K=8, sigma 1e-4, 1280 faces, fused kernel + composite + MSE, %d threads, median of 7; process CPU %.0f ms" (Runtime.threads ()) cpu)
      figure "unicorn_raster_peak_mb" peak "MB" "peak RSS growth during one forward+backward step, after malloc_trim (VmHWM after clear_refs)"
      figure "unicorn_raster_speedup_vs_reference" (refMs * scaleUp / ms) "x"
          (sprintf "dense (N,H,W,F) plain-tensor reference: %.0f ms on %d image, x%.0f = %.0f ms for 192 (same run)" refMs subset scaleUp (refMs * scaleUp))
      figure "unicorn_raster_composed_fwdbwd_ms" cms "ms"
          (sprintf "the same step through Fragments + interpolate + grid_sample + layered tensor ops, median of 2; process CPU %.0f ms" ccpu) ]

/// All renderer figures.
let all () : Figure list =
    Runtime.initDefaults.Force()
    softSilhouettes () @ unicornRaster ()
