/// Benchmarks of the renderer (issue: differentiable renderer). Each fast path is timed beside
/// its dense plain-tensor-op reference (`Reference`, every (pixel, face) pair), measured in the
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

/// The benchmark scene: n ellipsoids 0.4·[1, 0.7, 0.7] (icosphere level 3) at random rotations,
/// camera at distance 2.732 with a 30° field of view.
/// Returns verts (n, 642, 3) float32 [x_ndc, y_ndc, z_view], faces (1280, 3) int64, uvs (642, 2).
let scene (seed: int) (n: int) =
    let v, f = icosphere 3
    let uvs =
        v |> Array.collect (fun p -> [| float32 ((atan2 p.[0] p.[2] + Math.PI) / (2.0 * Math.PI)); float32 (acos (max -1.0 (min 1.0 p.[1])) / Math.PI) |])
    Reference.projectRandomPoses seed n [| 0.4; 0.28; 0.28 |] 2.732 30.0 v Float32,
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

// ------------------------------------------------------------------ timing

/// Median (wall, cpu) of forward and of backward of a silhouette renderer on fv.
let private silhouetteTimes (runs: int) (render: Tensor -> Tensor) (fv: Tensor) (upstream: Tensor) =
    let samples =
        Array.init (runs + 1) (fun _ ->
            use scope = DisposalScope.Open()
            let x = fv.detach().RequireGrad()
            let out = ref null
            let f = wallAndCpuMs (fun () -> out.Value <- render x)
            let b = wallAndCpuMs (fun () -> Autograd.gradients [| out.Value |] (Some [| upstream |]) [| x |] false |> ignore)
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
    let (rFwd, _), (rBwd, _) = silhouetteTimes 2 (Reference.silhouette s) (fv.narrow (0, 0, subset)) (upstream.narrow (0, 0, subset))
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
    let dense (v: Tensor) (tex: Tensor) (bg: Tensor) = fst (Reference.textured s sigma v faces uvs tex bg)
    let step render () = texturedStep render verts uvImage background target
    step fast () // warm-up
    let peak = peakRssIncreaseMb (step fast)
    let ms, cpu = medianWallAndCpuMs 1 7 (step fast)
    let cms, ccpu = medianWallAndCpuMs 0 2 (step composed)
    let narrow (t: Tensor) = t.narrow (0, 0, subset)
    let refMs, _ = medianWallAndCpuMs 0 2 (fun () -> texturedStep dense (narrow verts) (narrow uvImage) (narrow background) (narrow target))
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

/// unicorn_render_*: the stage `Stages.Render.textured` as the UNICORN pipeline calls it:
/// the template (icosphere level 3 ellipsoid 0.4·[1, 0.7, 0.7], seam-aware UVs) posed at random
/// rotations at distance 2.732, 30° camera, 64², σ = 1e-4, forward + backward of a pixel MSE
/// w.r.t. vertices, rotation, UV image and background, at N = 32 (one batch) and N = 192 (the
/// pose step's 32 × 6 candidates), K = 1, 2, 6 (and 3..5, 8, 25 at N = 192). The reference is
/// the dense (N, H, W, F) plain-tensor render of the same per-face-UV mesh, timed on one image
/// in the same run and scaled to N. Also how far the images of K = 1..6, 8, 12 are from K = 25's
/// (UNICORN's default): the share of pixel channels differing by more than one 8-bit step.
let unicornRender () =
    use scope = DisposalScope.Open()
    let template = Reconstruct.Geometry.Template.unicorn 0.4
    let faceUVs = Reconstruct.Geometry.UVMap.faceCoords template.UVs.Value
    let faces = template.Faces
    let sigma, size = 1e-4, 64
    use g = new Generator(5UL)
    let inputs (n: int) =
        let vertices = template.Vertices.expand([ n; template.Vertices.Size 1; 3 ]).contiguous ()
        let rotation = Reconstruct.Geometry.Rotation.random g n Float32
        let translation = Tensor.ofArray ([| for _ in 1..n do yield! [| 0.0f; 0.0f; 2.732f |] |], [ n; 3 ])
        vertices, rotation, translation, Tensor.rand ([ n; 3; 64; 64 ], g), Tensor.rand ([ n; 3; size; size ], g), Tensor.rand ([ n; 3; size; size ], g)
    let step (render: Tensor[] -> Tensor) (xs: Tensor[]) (target: Tensor) () =
        use scope = DisposalScope.Open()
        let leaves = xs |> Array.map (fun x -> x.detach().RequireGrad())
        let loss = (render leaves - target).square().mean ()
        Autograd.gradients [| loss |] None leaves false |> ignore
    let stage settings (x: Tensor[]) =
        let pose = Reconstruct.Geometry.Camera.pose x.[1] x.[2]
        fst (Reconstruct.Stages.Render.textured settings sigma pose x.[0] faces faceUVs x.[3] x.[4])
    let dense settings (x: Tensor[]) =
        let camera = Reconstruct.Geometry.Camera.square Reconstruct.Stages.Render.unicornFovDegrees size
        let ndc = Reconstruct.Geometry.Camera.projectNdc camera (Reconstruct.Geometry.Camera.pose x.[1] x.[2]) x.[0]
        let texture, uvs = Reconstruct.Stages.Render.periodicTexture x.[3] faceUVs
        let f = faces.Size 0
        let corners = (Rasterizer.faceAttributes ndc faces).reshape [ ndc.Size 0; 3 * f; 3 ]
        fst (Reference.textured settings sigma corners ((Tensor.arange (3 * f)).reshape [ f; 3 ]) (uvs.reshape [ 3 * f; 2 ]) texture x.[4])
    [ for n, ks in [ 32, [ 1; 2; 6 ]; 192, [ 1; 2; 3; 4; 5; 6; 8; 25 ] ] do
          let vertices, rotation, translation, uvImage, background, target = inputs n
          let xs = [| vertices; rotation; translation; uvImage; background |]
          let one = xs |> Array.map (fun t -> t.narrow (0, 0, 1))
          // the dense reference visits every (pixel, face) pair whatever K is: timed once per N
          let refMs, _ = medianWallAndCpuMs 0 1 (step (dense (Reconstruct.Stages.Render.texturedSettings size sigma 6)) one (target.narrow (0, 0, 1)))
          for k in ks do
              let settings = Reconstruct.Stages.Render.texturedSettings size sigma k
              let ms, cpu = medianWallAndCpuMs 1 5 (step (stage settings) xs target)
              yield figure (sprintf "unicorn_render_n%d_k%d_fwdbwd_ms" n k) ms "ms"
                        (sprintf "%dx64x64, K=%d, sigma 1e-4, template 1280 faces, Render.textured + MSE backward to vertices/rotation/translation/texture/background, %d threads, median of 5; process CPU %.0f ms" n k (Runtime.threads ()) cpu)
              yield figure (sprintf "unicorn_render_n%d_k%d_speedup_vs_reference" n k) (refMs * float n / ms) "x"
                        (sprintf "dense (N,H,W,F) plain-tensor reference (K=6): %.0f ms on 1 image, x%d = %.0f ms (same run)" refMs n (refMs * float n))
      let vertices, rotation, translation, uvImage, background, _ = inputs 32
      let image k =
          use _ = Autograd.noGrad ()
          stage (Reconstruct.Stages.Render.texturedSettings size sigma k) [| vertices; rotation; translation; uvImage; background |]
      // 25: the faces per pixel of UNICORN's public renderer
      let converged = image 25
      for k in [ 1; 2; 3; 4; 5; 6; 8; 12 ] do
          let difference = ((image k) - converged).abs ()
          let visible = (difference.gt (1.0 / 255.0)).cast(Float32).mean().ToScalar()
          yield figure (sprintf "unicorn_render_k%d_vs_k25_visible_share" k) (100.0 * visible) "%"
                    (sprintf "pixel channels whose value differs by more than 1/255 between K=%d and K=25 (32 images, random textures and backgrounds in [0,1], sigma 1e-4); largest difference %.3f, mean %.2e" k (difference.max().ToScalar()) (difference.mean().ToScalar())) ]
