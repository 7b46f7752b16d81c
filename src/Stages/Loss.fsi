/// SoftRas' loss terms, each a scalar averaged over the batch.
module Reconstruct.Stages.Loss

open Reconstruct.Torch
open Reconstruct.Geometry

/// SoftRas' IoU loss: mean over images of 1 − Σpt / (Σ(p + t − pt) + 1e-6), sums over each
/// image's pixels. predicted, target: (B, 1, H, W) in [0, 1] -> scalar; 0 when they agree on
/// a binary mask, 1 when they do not overlap.
val iou: predicted: Tensor -> target: Tensor -> Tensor

/// SoftRas' Laplacian loss averaged over the batch: mean_b Σ_v ‖v − mean(N(v))‖²
/// (`Regularizers.laplacianSquared`). vertices: (B, V, 3) -> scalar.
val laplacian: topology: Topology -> vertices: Tensor -> Tensor

/// SoftRas' flatten loss averaged over the batch: mean_b Σ_edges (cos θ + 1)²
/// (`Regularizers.flatten`). vertices: (B, V, 3) -> scalar.
val flatten: topology: Topology -> vertices: Tensor -> Tensor
