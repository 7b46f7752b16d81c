/// Depth metrics against ground-truth depth maps, as Unsup3d evaluates (peers.md §A.6): the
/// scale-invariant depth error SIDE, the mean angle deviation of normal maps (MAD), the
/// eroded evaluation mask, the "mean ground-truth depth" reference map, and mean ± std over
/// images. Metrics only: nothing is differentiated, and values are computed in float64. What
/// needs Unsup3d's camera (normals from depth, Table 2's reference rows) is `Unsup3dEval`.
///
/// Depth maps are (B, H, W), positive inside the mask; pixels outside the mask may hold
/// anything (0, a background depth), they are never read. Masks are (B, H, W) weights,
/// normally 0/1 (`erode` gives 0/1); a soft mask weighs each pixel's term.
module Reconstruct.Eval.DepthMetrics

open Reconstruct.Torch

/// Unsup3d's 1-pixel erosion: a 3×3 average pool, stride 1, padding 1, > 0.99. The padding
/// counts as zeros in the average (avg_pool2d's count_include_pad, on in Unsup3d), so a mask
/// that reaches the image's edge loses its outermost row and column there too: with a 0/1
/// mask, a pixel survives when its whole 3×3 neighbourhood lies in the mask and in the image.
/// mask: (B, H, W) float in [0, 1] -> (B, H, W) 0/1, mask's dtype.
val erode: mask: Tensor -> Tensor

/// The scale-invariant depth error per image: Δ = ln D − ln d*, μ = Σ M·Δ / Σ M,
/// SIDE = sqrt(Σ M·(Δ − μ)² / Σ M) (the weighted standard deviation of the log ratio, so
/// SIDE(c·D, d*) = SIDE(D, d*)). The raw value: the paper prints SIDE ×10⁻², so a value of
/// 0.00793 appears there as 0.793. An image whose mask is empty gets NaN (`summary` skips it).
/// predicted, groundTruth, mask: (B, H, W) float, the same shape -> (B) float64.
val side: predicted: Tensor -> groundTruth: Tensor -> mask: Tensor -> Tensor

/// The mean angle deviation per image, degrees: Σ M·arccos(clamp(n₁ · n₂, −1, 1)) / Σ M. An
/// image whose mask is empty gets NaN. Normals come from the caller (`Unsup3dEval.mad` takes
/// them from depth maps with Unsup3d's camera, which this layer cannot name).
/// normals1, normals2: (B, H, W, 3) float, unit length, the same shape; mask: (B, H, W)
/// -> (B) float64.
val angleDeviation: normals1: Tensor -> normals2: Tensor -> mask: Tensor -> Tensor

/// The "mean ground-truth depth" reference map. SIDE ignores scale, so each map is first
/// brought to a common one: d̃_n = d_n / (Σ M_n·d_n / Σ M_n), its mean over its own mask
/// becoming 1. Then per pixel the M-weighted average over the maps, Σ_n M_n·d̃_n / Σ_n M_n;
/// a pixel no mask covers gets 1, and a map with an empty mask takes no part.
/// groundTruth, mask: (N, H, W) float, the same shape -> (H, W) float64.
val meanDepth: groundTruth: Tensor -> mask: Tensor -> Tensor

/// Mean ± standard deviation of per-image values, NaN values skipped (images with an empty
/// mask).
type Summary =
    { /// The mean of the values kept; NaN when none is.
      Mean: float
      /// The sample standard deviation (n − 1 in the denominator, as torch.std in Unsup3d's
      /// `save_scores`); NaN for fewer than two values.
      Std: float
      /// The number of values kept.
      Count: int
      /// The number of NaN values skipped.
      Skipped: int }

/// Summarises per-image values (`side`'s, `Unsup3dEval.mad`'s, read with ToFloat64s).
val summary: values: float[] -> Summary
