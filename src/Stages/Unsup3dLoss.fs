module Reconstruct.Stages.Unsup3dLoss

open Reconstruct.Torch

[<Literal>]
let Epsilon = 1e-7

let private requireImages (fn: string) (recon: Tensor) (target: Tensor) =
    if recon.Dim <> 4 || (recon.Dtype <> Float32 && recon.Dtype <> Float64) then
        invalidArg "recon" (sprintf "%s: recon must be (B, C, H, W) float32 or float64, received %s" fn (Shape.describe recon.Dtype recon.Shape))
    if target.Shape <> recon.Shape || target.Dtype <> recon.Dtype then
        invalidArg "target" (sprintf "%s: target must be %s like recon, received %s" fn (Shape.describe recon.Dtype recon.Shape) (Shape.describe target.Dtype target.Shape))

let private requireMask (fn: string) (recon: Tensor) (mask: Tensor) =
    let expected = [| recon.Size 0; recon.Size 2; recon.Size 3 |]
    if mask.Shape <> expected || mask.Dtype <> recon.Dtype then
        invalidArg "mask" (sprintf "%s: mask must be (B, H, W) %s, received %s" fn (Shape.describe recon.Dtype expected) (Shape.describe mask.Dtype mask.Shape))

let private requireSigma (fn: string) (dtype: Dtype) (expected: int[]) (sigma: Tensor option) =
    match sigma with
    | Some s when s.Shape <> expected || s.Dtype <> dtype ->
        invalidArg "sigma" (sprintf "%s: sigma must be (B, 1, h, w) %s, received %s" fn (Shape.describe dtype expected) (Shape.describe s.Dtype s.Shape))
    | _ -> ()

/// Σ(ℓ·M)/ΣM with the (B, h, w) weights broadcast over ℓ's channels, so ΣM counts each channel.
let private maskedMean (loss: Tensor) (weights: Tensor) =
    let m = (weights.detach ()).unsqueeze(1).expandAs loss
    (loss * m).sum () / m.sum ()

let photometric (recon: Tensor) (target: Tensor) (sigma: Tensor option) (mask: Tensor) =
    let fn = "Unsup3dLoss.photometric"
    requireImages fn recon target
    requireSigma fn recon.Dtype [| recon.Size 0; 1; recon.Size 2; recon.Size 3 |] sigma
    requireMask fn recon mask
    Scoped.run (fun () ->
        let error = (recon - target).abs ()
        let loss =
            match sigma with
            | Some s -> error * sqrt 2.0 / (s + Epsilon) + (s + Epsilon).log ()
            | None -> error
        maskedMean loss mask)

let poolMask (height: int) (width: int) (mask: Tensor) =
    let fn = "Unsup3dLoss.poolMask"
    if mask.Dim <> 3 then invalidArg "mask" (sprintf "%s: mask must be (B, H, W), received %s" fn (Shape.text mask.Shape))
    let h, w = mask.Size 1, mask.Size 2
    if height <= 0 || width <= 0 || h % height <> 0 || w % width <> 0 then
        invalidArg "mask" (sprintf "%s: a %d×%d mask does not pool to %d×%d: the factors %d/%d and %d/%d must be whole numbers" fn h w height width h height w width)
    // Non-overlapping windows: splitting each axis into (cells, factor) and averaging over the
    // factors is avg_pool2d with kernel = stride = factor, and allows a different factor per axis.
    Scoped.run (fun () -> (mask.reshape [ mask.Size 0; height; h / height; width; w / width ]).mean ([| 2; 4 |]))

let perceptual (network: Perceptual.Network) (recon: Tensor) (target: Tensor) (sigma: Tensor option) (mask: Tensor) =
    let fn = "Unsup3dLoss.perceptual"
    requireImages fn recon target
    if recon.Size 1 <> 3 then invalidArg "recon" (sprintf "%s: recon must be RGB (B, 3, H, W), received %s" fn (Shape.text recon.Shape))
    requireMask fn recon mask
    Scoped.run (fun () ->
        let toUnitRange (images: Tensor) = images / 2.0 + 0.5
        let features (images: Tensor) = Perceptual.features network [ Perceptual.Layer.Layer1 ] (toUnitRange images) |> List.exactlyOne
        let ofRecon = features recon
        let ofTarget =
            use _ = Autograd.noGrad ()
            features target
        let h, w = ofRecon.Size 2, ofRecon.Size 3
        if recon.Size 2 % h <> 0 || recon.Size 3 % w <> 0 then
            invalidArg "recon" (sprintf "%s: %d×%d images give %d×%d features, not a whole pooling factor for the mask (use sizes that are multiples of 4)" fn (recon.Size 2) (recon.Size 3) h w)
        requireSigma fn recon.Dtype [| recon.Size 0; 1; h; w |] sigma
        let squared = (ofRecon - ofTarget).square ()
        let loss =
            match sigma with
            | Some s -> squared / (2.0 * s.square () + Epsilon) + (s + Epsilon).log ()
            | None -> squared
        maskedMean loss (poolMask h w mask))

let smoothness (ranges: Unsup3d.Ranges) (depth: Tensor) =
    if depth.Dim <> 3 || depth.Size 1 < 2 || depth.Size 2 < 2 then
        invalidArg "depth" (sprintf "Unsup3dLoss.smoothness: depth must be (B, H, W) with H, W >= 2, received %s" (Shape.text depth.Shape))
    let h, w = depth.Size 1, depth.Size 2
    Scoped.run (fun () ->
        let alongRows = (depth.narrow (1, 1, h - 1) - depth.narrow (1, 0, h - 1)).abs().mean ()
        let alongColumns = (depth.narrow (2, 1, w - 1) - depth.narrow (2, 0, w - 1)).abs().mean ()
        (alongRows + alongColumns) / (ranges.MaxDepth - ranges.MinDepth))
