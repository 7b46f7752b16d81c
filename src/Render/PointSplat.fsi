namespace Reconstruct.Render

open Reconstruct.Torch

/// Settings of the point projection (`PointSplat`). Distances are in pixels.
type PointSplatSettings =
    { /// output rows H, pixels
      Height: int
      /// output columns W, pixels
      Width: int
      /// variance σ² of each point's Gaussian in the mask, px²
      Sigma2: float
      /// the Gaussian is cut off beyond Radius·σ from the point along either axis (a square
      /// window): only pixels whose centre lies within it are visited
      Radius: float
      /// numerator s of the z-buffer logit s / (depth + DepthOffset + 1e-5)
      Sharpness: float
      /// added to the depth in the logit (the paper's d = z + 1)
      DepthOffset: float }

    /// The paper's projection at 64×64: σ² = 0.4 px², cut off at 3σ (about ±1.9 px),
    /// Sharpness 100, DepthOffset 1.
    static member Defaults: PointSplatSettings

/// The differentiable point projection of Navaneet et al. (CVPR 2020) over already projected
/// points, as one fused native kernel with autograd (the dense reference is
/// `Reference.pointSplat`). Coordinates are PIXELS, not NDC: pixel (i, j), row i and column
/// j, has its centre at x = j + 0.5, y = i + 0.5, row 0 at the top. With
/// dx = x_n − (j + 0.5) and dy = y_n − (i + 0.5):
///  - mask(i, j) = tanh( Σ_n exp(−(dx² + dy²) / 2σ²) ) over the points with |dx|, |dy| <= Radius·σ;
///  - colour(i, j) = Σ_n w_n rgb_n over the points "in the well", |dx|, |dy| <= 1, with
///    w = softmax over those points of Sharpness / (depth_n + DepthOffset + 1e-5), so the
///    nearest point dominates; 0 where no point is in the well.
/// Inputs are float32 or float64 CPU tensors; outputs take the dtype of xy. Invalid shapes,
/// dtypes, settings, non-finite coordinates or depths with depth + DepthOffset + 1e-5 <= 0 raise
/// `NativeError` with one line naming the argument and what was received.
module PointSplat =

    /// The soft silhouette alone. xy: (B, N, 2) float32/float64 pixel coordinates [x, y]
    /// -> mask (B, 1, H, W) in [0, 1]; differentiable in xy.
    val mask: settings: PointSplatSettings -> xy: Tensor -> Tensor

    /// Mask and colour. xy: (B, N, 2) float32/float64 pixel coordinates [x, y]; depth: (B, N)
    /// positive view depth; rgb: (B, N, C) per-point colours; dtype of xy
    /// -> mask (B, 1, H, W) as `mask`, colour (B, C, H, W). The mask is differentiable in xy;
    /// the colour in depth and rgb only: which points are in a pixel's well is a hard selection,
    /// so the colour gives xy no gradient (as the paper's code).
    val render: settings: PointSplatSettings -> xy: Tensor -> depth: Tensor -> rgb: Tensor -> Tensor * Tensor
