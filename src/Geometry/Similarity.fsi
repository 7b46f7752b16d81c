namespace Reconstruct.Geometry

open Reconstruct.Torch

/// A batch of similarity transforms y = s · R x + t (isotropic scale, proper rotation).
type Similarity =
    { /// (B,) scale.
      Scale: Tensor
      /// (B, 3, 3) rotation, det +1.
      Rotation: Tensor
      /// (B, 3) translation.
      Translation: Tensor }

module Similarity =

    /// The identity for a batch of `b`, in `dtype`.
    val identity: b: int -> dtype: Dtype -> Similarity

    /// s R x + t for points (B, N, 3) -> (B, N, 3).
    val apply: sim: Similarity -> points: Tensor -> Tensor

    /// The inverse transform x = (1/s) Rᵀ (y - t).
    val inverse: sim: Similarity -> Similarity

    /// Least-squares similarity (Umeyama 1991) taking `source` onto `target`, both (B, N, 3)
    /// with corresponding rows: minimises Σ‖s R x_i + t - y_i‖². With `withScale = false`
    /// s = 1 (rigid Procrustes). The rotation is always proper: when the best orthogonal
    /// map is a reflection, the singular direction of least variance is flipped instead.
    /// Differentiable where the cross-covariance has distinct singular values.
    val umeyama: withScale: bool -> source: Tensor -> target: Tensor -> Similarity
