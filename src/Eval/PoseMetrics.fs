/// Viewpoint errors between predicted and true camera rotations, in degrees (the units of
/// reports): the geodesic angle, the azimuth error, and accuracy at 15° and 30°.
module Reconstruct.Eval.PoseMetrics

open System
open Reconstruct.Torch
open Reconstruct.Geometry

/// Per-sample pose errors, degrees.
type PoseErrors =
    { /// (B,) angle of R_predᵀ R_true, in [0, 180].
      GeodesicDeg: float[]
      /// (B,) |azimuth_pred - azimuth_true| wrapped to [0, 180] (azimuths from Rotation.toEuler).
      AzimuthDeg: float[] }

/// Summary over samples.
type PoseSummary =
    { Count: int
      MeanGeodesicDeg: float
      MedianGeodesicDeg: float
      MeanAzimuthDeg: float
      MedianAzimuthDeg: float
      /// Fraction of samples with geodesic error < 15°.
      Accuracy15: float
      /// Fraction with geodesic error < 30°.
      Accuracy30: float }

/// Absolute difference of two angles in degrees, wrapped to [0, 180].
let angleDifferenceDeg (a: float) (b: float) =
    let d = (a - b) % 360.0
    let d = if d < 0.0 then d + 360.0 else d
    if d > 180.0 then 360.0 - d else d

/// Errors of predicted rotations against the true ones, both (B, 3, 3) object-to-camera
/// (the `Pose` convention).
let errors (predicted: Tensor) (truth: Tensor) : PoseErrors =
    let ok (t: Tensor) = t.Dim = 3 && t.Size 1 = 3 && t.Size 2 = 3
    if not (ok predicted) then invalidArg "predicted" (sprintf "PoseMetrics.errors: predicted must be (B, 3, 3), received %s" (Shape.text predicted.Shape))
    if not (ok truth) || truth.Size 0 <> predicted.Size 0 then
        invalidArg "truth" (sprintf "PoseMetrics.errors: truth must be (%d, 3, 3) like predicted, received %s" (predicted.Size 0) (Shape.text truth.Shape))
    use _ = DisposalScope.Open()
    use _ = Autograd.noGrad ()
    let p, t = predicted.cast Float64, truth.cast Float64
    let geodesic = (Rotation.geodesicAngle p t).ToFloat64s() |> Array.map Rotation.degrees
    let azP, _, _ = Rotation.toEuler p
    let azT, _, _ = Rotation.toEuler t
    let azimuth = Array.map2 (fun a b -> angleDifferenceDeg (Rotation.degrees a) (Rotation.degrees b)) (azP.ToFloat64s()) (azT.ToFloat64s())
    { GeodesicDeg = geodesic; AzimuthDeg = azimuth }

/// Fraction of errors strictly below `thresholdDeg`.
let accuracy (thresholdDeg: float) (errorsDeg: float[]) =
    if errorsDeg.Length = 0 then nan
    else float (errorsDeg |> Array.filter (fun e -> e < thresholdDeg) |> Array.length) / float errorsDeg.Length

let private median (values: float[]) =
    if values.Length = 0 then nan
    else
        let v = Array.sort values
        let n = v.Length
        if n % 2 = 1 then v.[n / 2] else 0.5 * (v.[n / 2 - 1] + v.[n / 2])

let private mean (values: float[]) = if values.Length = 0 then nan else Array.average values

let summarize (e: PoseErrors) : PoseSummary =
    { Count = e.GeodesicDeg.Length
      MeanGeodesicDeg = mean e.GeodesicDeg
      MedianGeodesicDeg = median e.GeodesicDeg
      MeanAzimuthDeg = mean e.AzimuthDeg
      MedianAzimuthDeg = median e.AzimuthDeg
      Accuracy15 = accuracy 15.0 e.GeodesicDeg
      Accuracy30 = accuracy 30.0 e.GeodesicDeg }

/// The offset (degrees, from `offsets`) that aligns a learned canonical frame with the data's:
/// the largest share of azimuth errors below 30°, and among the offsets that tie on it, the
/// smallest mean of those errors. `errorsAt offset` gives the azimuth errors with the offset
/// applied. Ties are the rule, not the exception: azimuths right up to a constant score the
/// same within 30° for every offset of a 30°-wide span, and the first of them sits at the span's
/// edge, some 25° from the right one, which leaves nothing within 15°. 0 when no offset puts any
/// error below 30°.
let bestOffset (offsets: float list) (errorsAt: float -> float[]) =
    if offsets.IsEmpty then invalidArg "offsets" "PoseMetrics.bestOffset: no offsets to choose from"
    let scored = [ for o in offsets -> o, errorsAt o ]
    let best = scored |> List.map (snd >> accuracy 30.0) |> List.max
    if not (best > 0.0) then 0.0
    else
        scored
        |> List.filter (fun (_, e) -> accuracy 30.0 e = best)
        |> List.minBy (fun (_, e) -> e |> Array.filter (fun x -> x < 30.0) |> Array.average)
        |> fst

