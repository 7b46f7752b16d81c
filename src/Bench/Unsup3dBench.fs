/// Unsup3d's costs: the warping renderer by part and as a whole, against a matmul timed in
/// the same run. Each part is timed alone from leaf inputs, so its figure is its own forward
/// and backward and nothing upstream.
module Reconstruct.Bench.Unsup3dBench

open Reconstruct.Torch
open Reconstruct.Stages
open Reconstruct.Bench.Report

let private batch = 64
let private size = Unsup3d.ImageSize
let private settings = Unsup3dWarp.Settings.Faces
let private centreDepth = Unsup3d.Ranges.Faces.RotationCentreDepth

/// A leaf that gradients accumulate into, cut from whatever made it.
let private leaf (t: Tensor) = (t.detach ()).RequireGrad()

/// Forward and backward of `f`, median milliseconds.
let private forwardBackward (g: Generator) (f: unit -> Tensor) =
    medianOf 5 (timed (fun () -> backwardOf g (f ())))

/// A batch as the networks would give it: a smooth canonical depth in [0.9, 1.1] (8×8 noise
/// upsampled, through `Unsup3d.depth`), an image in [−1, 1], views within ±30°.
let private warpFigures (referenceMs: float) =
    use scope = DisposalScope.Open()
    use g = new Generator(5UL)
    let coarse = Tensor.randn ([ batch; 1; 8; 8 ], g)
    let depth = leaf (Unsup3d.depth Unsup3d.Ranges.Faces (Functional.interpolate Interpolation.Bilinear false (Resize.Size(size, size)) coarse))
    let image = leaf (Tensor.uniform ([ batch; 3; size; size ], -1.0, 1.0, g))
    let view = Unsup3d.view Unsup3d.Ranges.Faces (Tensor.uniform ([ batch; 6 ], -0.5, 0.5, g))
    let view: Unsup3d.View = { Angles = leaf view.Angles; Translation = leaf view.Translation }
    let points = leaf (Unsup3d.transformPoints centreDepth view (Unsup3d.depthToPoints settings.Focal depth))
    let faces = Unsup3dWarp.faceIndex settings points
    let subpixels = leaf (Unsup3dWarp.subpixelDepth settings points faces)
    let viewDepth = leaf (Unsup3dWarp.pooledDepth settings subpixels)
    let grid = leaf (Unsup3dWarp.samplingGrid settings centreDepth view viewDepth)
    let rasterise = medianOf 5 (timed (fun () -> Unsup3dWarp.faceIndex settings points |> ignore))
    let recompute = forwardBackward g (fun () -> Unsup3dWarp.subpixelDepth settings points faces)
    let pooling = forwardBackward g (fun () -> Unsup3dWarp.pooledDepth settings subpixels)
    let sampling = forwardBackward g (fun () -> Unsup3dWarp.samplingGrid settings centreDepth view viewDepth)
    let gridSample = forwardBackward g (fun () -> Functional.gridSample Interpolation.Bilinear GridPadding.Zeros true grid image)
    let renderDepth = forwardBackward g (fun () -> Unsup3dWarp.renderDepth settings points)
    let warp = forwardBackward g (fun () -> (Unsup3dWarp.warp settings centreDepth view depth image).Image)
    let setting = sprintf "batch %d, %d px, supersample %d, float32, forward + backward" batch size settings.Supersample
    [ figure "unsup3d_render_depth_ms" renderDepth "ms" (sprintf "Unsup3dWarp.renderDepth, %s: rasterise %.1f ms (no backward), depth recompute %.1f ms, pooling %.1f ms" setting rasterise recompute pooling)
      figure "unsup3d_warp_ms" warp "ms" (sprintf "Unsup3dWarp.warp, %s, from canonical depth, image and view: renderDepth %.1f ms, sampling grid %.1f ms, grid_sample %.1f ms" setting renderDepth sampling gridSample)
      figure "unsup3d_warp_rasterise_ms" rasterise "ms" "Unsup3dWarp.faceIndex at 128², K = 1, no gradient"
      figure "unsup3d_warp_depth_recompute_ms" recompute "ms" "Unsup3dWarp.subpixelDepth forward + backward (per-face planes of 1/z, one gather per subpixel)"
      figure "unsup3d_warp_pooling_ms" pooling "ms" "Unsup3dWarp.pooledDepth forward + backward (2×2 average pool, clamp)"
      figure "unsup3d_warp_grid_ms" sampling "ms" "Unsup3dWarp.samplingGrid forward + backward (unproject, inverse view, project)"
      figure "unsup3d_warp_grid_sample_ms" gridSample "ms" "gridSample bilinear, zeros, align corners, forward + backward of a (64, 3, 64, 64) image"
      figure "unsup3d_warp_in_matmuls" (warp / referenceMs) "x" (sprintf "unsup3d_warp_ms over a 512x512 float32 matmul timed in the same run (%.2f ms)" referenceMs) ]

/// One training step of the experiment's baseline at batch 64 (forward, losses, backward,
/// Adam), and where its time goes: each network's forward + backward alone, the warp of both
/// branches (2B images), the perceptual terms; what is left is shading, flips, the confidence
/// losses, the optimiser and the graph's bookkeeping.
let private iterationFigures (referenceMs: float) =
    use scope = DisposalScope.Open()
    use g = new Generator(7UL)
    let config = Reconstruct.App.Unsup3dExperiment.baseline.Method.Pipeline
    let model = Reconstruct.Pipelines.Unsup3d.create g config
    let network = if config.PerceptualWeight > 0.0 then Some(Perceptual.load (Perceptual.defaultPath ())) else None
    try
        let images = Tensor.uniform ([ batch; 3; size; size ], -1.0, 1.0, g)
        let optimiser = Optim.adam { Optim.Adam.Defaults with Lr = 1e-4; WeightDecay = 5e-4 } (Reconstruct.Pipelines.Unsup3d.parameters model)
        let step () =
            let terms = Reconstruct.Pipelines.Unsup3d.losses model network images
            Optim.zeroGrad optimiser
            (terms |> List.find (fun (n, _) -> n = "total") |> snd).backward ()
            Optim.step optimiser
        let iteration = medianOf 3 (timed step)
        let net (f: Tensor -> Tensor) = forwardBackward g (fun () -> f images)
        let depthMs = net (Unsup3d.EDDeconv.apply model.Depth)
        let albedoMs = net (Unsup3d.EDDeconv.apply model.Albedo)
        let encodersMs = net (Unsup3d.Encoder.apply model.Light) + net (Unsup3d.Encoder.apply model.View)
        let confidenceMs = if config.Confidence then net (fun x -> (Unsup3d.ConfNet.apply model.Confidence x).Photometric) else 0.0
        let warpSettings = Reconstruct.Pipelines.Unsup3d.warpSettings config
        let both = Tensor.cat ([ images; images ], 0)
        let depth = leaf (Unsup3d.depth config.Ranges (Tensor.randn ([ 2 * batch; 1; size; size ], g) * 0.1))
        let view = Unsup3d.view config.Ranges (Tensor.uniform ([ 2 * batch; 6 ], -0.5, 0.5, g))
        let view: Unsup3d.View = { Angles = leaf view.Angles; Translation = leaf view.Translation }
        let image = leaf both
        let warpMs = forwardBackward g (fun () -> (Unsup3dWarp.warp warpSettings config.Ranges.RotationCentreDepth view depth image).Image)
        let perceptualMs =
            match network with
            | Some n ->
                let recon = leaf (Tensor.uniform ([ batch; 3; size; size ], -1.0, 1.0, g))
                let mask = Tensor.ones [ batch; size; size ]
                2.0 * medianOf 3 (timed (fun () -> (Unsup3dLoss.perceptual n recon images None mask).backward ()))
            | None -> 0.0
        let parts = depthMs + albedoMs + encodersMs + confidenceMs + warpMs + perceptualMs
        let setting = sprintf "Unsup3dExperiment.baseline's pipeline (depth/albedo nf %d, confidence nf %d, λ_p %g), batch %d, forward + losses + backward + Adam" config.DepthWidth config.ConfidenceWidth config.PerceptualWeight batch
        [ figure "unsup3d_iter_ms" iteration "ms" (sprintf "%s: depth net %.0f ms, albedo net %.0f, light+view %.0f, confidence %.0f, warp of 2B %.0f (%.0f%%), perceptual x2 %.0f, the rest %.0f (forward + backward each)" setting depthMs albedoMs encodersMs confidenceMs warpMs (100.0 * warpMs / iteration) perceptualMs (iteration - parts))
          figure "unsup3d_iter_warp_share" (warpMs / iteration) "" "the renderer's share of unsup3d_iter_ms (its warp of both branches, forward + backward)"
          figure "unsup3d_iter_in_matmuls" (iteration / referenceMs) "x" (sprintf "unsup3d_iter_ms over a 512x512 float32 matmul timed in the same run (%.2f ms)" referenceMs) ]
    finally
        network |> Option.iter Perceptual.dispose

let all () : Figure list =
    Runtime.initDefaults.Force()
    let referenceMs =
        use _ = DisposalScope.Open()
        use g = new Generator(1UL)
        let a, b = Tensor.rand ([ 512; 512 ], g), Tensor.rand ([ 512; 512 ], g)
        medianOf 7 (timed (fun () -> a.matmul b |> ignore))
    warpFigures referenceMs @ iterationFigures referenceMs
