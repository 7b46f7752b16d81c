module Reconstruct.Eval.DepthMetrics

open System
open Reconstruct.Torch

let private requireMaps (fn: string) (predicted: Tensor) (groundTruth: Tensor) (mask: Tensor) =
    if predicted.Dim <> 3 then
        invalidArg "predicted" (sprintf "%s: predicted must be (B, H, W), received %s" fn (Shape.text predicted.Shape))
    if groundTruth.Shape <> predicted.Shape then
        invalidArg "groundTruth" (sprintf "%s: groundTruth must be %s like predicted, received %s" fn (Shape.text predicted.Shape) (Shape.text groundTruth.Shape))
    if mask.Shape <> predicted.Shape then
        invalidArg "mask" (sprintf "%s: mask must be %s like predicted, received %s" fn (Shape.text predicted.Shape) (Shape.text mask.Shape))

let erode (mask: Tensor) =
    if mask.Dim <> 3 then invalidArg "mask" (sprintf "DepthMetrics.erode: mask must be (B, H, W), received %s" (Shape.text mask.Shape))
    Scoped.run (fun () ->
        use _ = Autograd.noGrad ()
        let average = (mask.unsqueeze 1 |> Functional.avgPool2d 3 1 1).squeeze 1
        (average.gt 0.99).cast mask.Dtype)

/// Σ M·x / Σ M per image over the last two dimensions: (B, H, W) -> (B). Pixels outside the
/// mask are zeroed first, so a NaN or ±∞ there (ln 0 of a background) does not leak in.
let private weightedMean (x: Tensor) (mask: Tensor) =
    let inside = Tensor.where (mask.gt 0.0, x, x.zerosLike ())
    (inside * mask).sum ([| 1; 2 |]) / mask.sum ([| 1; 2 |])

let side (predicted: Tensor) (groundTruth: Tensor) (mask: Tensor) =
    requireMaps "DepthMetrics.side" predicted groundTruth mask
    Scoped.run (fun () ->
        use _ = Autograd.noGrad ()
        let m = mask.cast Float64
        let delta = (predicted.cast Float64).log () - (groundTruth.cast Float64).log ()
        let mu = weightedMean delta m
        let spread = (delta - mu.reshape [ -1; 1; 1 ]).square ()
        (weightedMean spread m).sqrt ())

let angleDeviation (normals1: Tensor) (normals2: Tensor) (mask: Tensor) =
    let fn = "DepthMetrics.angleDeviation"
    if normals1.Dim <> 4 || normals1.Size 3 <> 3 then
        invalidArg "normals1" (sprintf "%s: normals1 must be (B, H, W, 3), received %s" fn (Shape.text normals1.Shape))
    if normals2.Shape <> normals1.Shape then
        invalidArg "normals2" (sprintf "%s: normals2 must be %s like normals1, received %s" fn (Shape.text normals1.Shape) (Shape.text normals2.Shape))
    if mask.Shape <> normals1.Shape.[0..2] then
        invalidArg "mask" (sprintf "%s: mask must be %s, received %s" fn (Shape.text normals1.Shape.[0..2]) (Shape.text mask.Shape))
    Scoped.run (fun () ->
        use _ = Autograd.noGrad ()
        let cosine = ((normals1.cast Float64) * (normals2.cast Float64)).sum (3)
        let degrees = cosine.clamp(-1.0, 1.0).acos () * (180.0 / Math.PI)
        weightedMean degrees (mask.cast Float64))

let meanDepth (groundTruth: Tensor) (mask: Tensor) =
    if groundTruth.Dim <> 3 then
        invalidArg "groundTruth" (sprintf "DepthMetrics.meanDepth: groundTruth must be (N, H, W), received %s" (Shape.text groundTruth.Shape))
    if mask.Shape <> groundTruth.Shape then
        invalidArg "mask" (sprintf "DepthMetrics.meanDepth: mask must be %s like groundTruth, received %s" (Shape.text groundTruth.Shape) (Shape.text mask.Shape))
    Scoped.run (fun () ->
        use _ = Autograd.noGrad ()
        let m = mask.cast Float64
        let d = groundTruth.cast Float64
        // A map with an empty mask has a NaN mean: where() drops it before it can multiply a 0.
        let normalised = d / (weightedMean d m).reshape [ -1; 1; 1 ]
        let weighted = Tensor.where (m.gt 0.0, normalised * m, m.zerosLike ())
        let cover = m.sum 0
        let covered = cover.gt 0.0
        Tensor.where (covered, weighted.sum 0 / Tensor.where (covered, cover, cover.onesLike ()), cover.onesLike ()))

type Summary =
    { Mean: float
      Std: float
      Count: int
      Skipped: int }

let summary (values: float[]) =
    let kept = values |> Array.filter (Double.IsNaN >> not)
    let n = kept.Length
    let mean = if n = 0 then nan else Array.average kept
    let std = if n < 2 then nan else sqrt ((kept |> Array.sumBy (fun v -> (v - mean) ** 2.0)) / float (n - 1))
    { Mean = mean; Std = std; Count = n; Skipped = values.Length - n }
