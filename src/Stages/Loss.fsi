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

/// UNICORN's pixel loss: mean squared error of each sample over its channels and pixels.
/// predicted, target: (B, C, H, W), same shape -> (B,), so the pose step can weight each
/// candidate's loss by its probability.
val mse: predicted: Tensor -> target: Tensor -> Tensor

/// UNICORN's normal consistency averaged over the batch: mean_b of the mean over interior
/// edges of 1 − cos between adjacent face normals (`Regularizers.normalConsistency`).
/// vertices: (B, V, 3) -> scalar.
val normalConsistency: topology: Topology -> vertices: Tensor -> Tensor

/// UNICORN's uniform Laplacian smoothing averaged over the batch: mean_b of the mean over
/// vertices of ‖vertex − mean of its neighbours‖ (`Regularizers.laplacianSmoothing`).
/// vertices: (B, V, 3) -> scalar.
val uniformLaplacian: topology: Topology -> vertices: Tensor -> Tensor

/// UNICORN's uniform pose prior: mean_k | mean_b p_kb − 1/K |, 0 when the batch uses the K
/// candidates equally often on average. probabilities: (B, K), rows summing to 1 -> scalar.
val posePrior: probabilities: Tensor -> Tensor
