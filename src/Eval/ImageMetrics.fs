/// Scores of rendered images against the true ones, one value per sample: mask IoU, PSNR
/// and SSIM. Pure functions of tensors; no gradient is recorded.
module Reconstruct.Eval.ImageMetrics

open System
open Reconstruct.Torch


let private expectImages (fn: string) (channels: int) (pred: Tensor) (truth: Tensor) =
    let ok (t: Tensor) = t.Dim = 4 && t.Size 1 = channels
    if not (ok pred) then invalidArg "pred" (sprintf "%s: pred must be (B, %d, H, W), received %s" fn channels (Shape.text pred.Shape))
    if not (ok truth) then invalidArg "truth" (sprintf "%s: truth must be (B, %d, H, W), received %s" fn channels (Shape.text truth.Shape))
    if pred.Shape <> truth.Shape then
        invalidArg "truth" (sprintf "%s: pred %s and truth %s must have the same shape" fn (Shape.text pred.Shape) (Shape.text truth.Shape))

/// Intersection over union of silhouettes, per sample. pred, truth: (B, 1, H, W), float in
/// [0, 1] (a pixel is inside when > 0.5) or bool. Two empty masks agree perfectly: IoU 1.
let maskIoU (pred: Tensor) (truth: Tensor) : float[] =
    expectImages "ImageMetrics.maskIoU" 1 pred truth
    use _ = DisposalScope.Open()
    use _ = Autograd.noGrad ()
    let inside (t: Tensor) = if t.Dtype = Bool then t else t.gt 0.5
    let a, b = inside pred, inside truth
    let inter = ((a.logicalAnd b).cast Float64).sum([| 1; 2; 3 |]).ToFloat64s()
    let union = ((a.logicalOr b).cast Float64).sum([| 1; 2; 3 |]).ToFloat64s()
    Array.map2 (fun i u -> if u = 0.0 then 1.0 else i / u) inter union

/// Peak signal-to-noise ratio in dB for images in [0, 1]: 10 log10(1 / MSE) per sample (MSE
/// over channels and pixels, in float64); +∞ for identical images. pred, truth: (B, C, H, W).
let psnr (pred: Tensor) (truth: Tensor) : float[] =
    expectImages "ImageMetrics.psnr" (pred.Size 1) pred truth
    use _ = DisposalScope.Open()
    use _ = Autograd.noGrad ()
    let mse = ((pred.cast Float64 - truth.cast Float64).square ()).mean([| 1; 2; 3 |]).ToFloat64s()
    mse |> Array.map (fun m -> if m = 0.0 then Double.PositiveInfinity else -10.0 * Math.Log10 m)

/// SSIM window: 11 × 11 Gaussian, σ = 1.5 (Wang et al. 2004).
[<Literal>]
let SsimWindow = 11

[<Literal>]
let SsimSigma = 1.5

/// The normalised 1-D Gaussian of `size` taps, float64.
let gaussian (size: int) (sigma: float) =
    let c = float (size - 1) / 2.0
    let w = Array.init size (fun i -> exp (-((float i - c) ** 2.0) / (2.0 * sigma * sigma)))
    let s = Array.sum w
    w |> Array.map (fun v -> v / s)

/// Structural similarity per sample (Wang et al. 2004), for images in [0, 1] (dynamic range
/// L = 1): local statistics under the 11×11 Gaussian window (σ = 1.5) over the valid region
/// (no padding), C1 = (0.01 L)², C2 = (0.03 L)², computed per channel in float64 and averaged
/// over channels and positions. pred, truth: (B, C, H, W) with H, W ≥ 11.
let ssim (pred: Tensor) (truth: Tensor) : float[] =
    expectImages "ImageMetrics.ssim" (pred.Size 1) pred truth
    if pred.Size 2 < SsimWindow || pred.Size 3 < SsimWindow then
        invalidArg "pred" (sprintf "ImageMetrics.ssim: images must be at least %d×%d, received %s" SsimWindow SsimWindow (Shape.text pred.Shape))
    use _ = DisposalScope.Open()
    use _ = Autograd.noGrad ()
    let b, c = pred.Size 0, pred.Size 1
    let g = gaussian SsimWindow SsimSigma
    let w2 = Array.init (SsimWindow * SsimWindow) (fun k -> g.[k / SsimWindow] * g.[k % SsimWindow])
    let window = (Tensor.ofArray (w2, [ 1; 1; SsimWindow; SsimWindow ])).expand([ c; 1; SsimWindow; SsimWindow ]).contiguous ()
    let blur (t: Tensor) = Functional.conv2d { Conv2dOptions.Defaults with Groups = c } window None t
    let x, y = pred.cast Float64, truth.cast Float64
    let mx, my = blur x, blur y
    let sxx = blur (x * x) - mx * mx
    let syy = blur (y * y) - my * my
    let sxy = blur (x * y) - mx * my
    let c1, c2 = 0.01 ** 2.0, 0.03 ** 2.0
    let map = ((2.0 * mx * my + c1) * (2.0 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    (map.reshape [ b; -1 ]).mean(1).ToFloat64s()
