/// Mesh smoothness priors, one value per mesh of the batch so a loss can weight samples.
/// All are differentiable in the vertices; the topology is fixed. Each fails with one line
/// naming the function when vertices are not (B, V, 3) with V the topology's vertex count.
module Reconstruct.Geometry.Regularizers

open Reconstruct.Torch

/// Normal consistency (UNICORN, PyTorch3D): mean over interior edges of 1 - cos of the angle
/// between the two adjacent face normals. vertices: (B, V, 3) -> (B,); 0 on a plane.
val normalConsistency: topology: Topology -> vertices: Tensor -> Tensor

/// Laplacian smoothing (UNICORN, PyTorch3D "uniform"): mean over vertices of ‖L x_i‖, with
/// L x_i = x_i - mean of the neighbours. vertices: (B, V, 3) -> (B,).
val laplacianSmoothing: topology: Topology -> vertices: Tensor -> Tensor

/// SoftRas's LaplacianLoss: sum over vertices of ‖L x_i‖². vertices: (B, V, 3) -> (B,).
val laplacianSquared: topology: Topology -> vertices: Tensor -> Tensor

/// SoftRas's FlattenLoss: sum over interior edges of (cos θ + 1)², θ the angle between the
/// perpendiculars dropped from the two opposite vertices onto the shared edge (θ = π, loss 0,
/// when the two faces are coplanar and on opposite sides). vertices: (B, V, 3) -> (B,).
val flatten: topology: Topology -> vertices: Tensor -> Tensor
