namespace Reconstruct.Geometry

open Reconstruct.Torch

/// Points drawn on mesh surfaces.
type SurfaceSamples =
    { /// (B, N, 3) positions, differentiable in the vertices.
      Points: Tensor
      /// (B, N, 3) unit normals of the faces the points lie on.
      Normals: Tensor
      /// (B, N) int64 face of each point.
      FaceIndex: Tensor
      /// (B, N, 3) barycentric weights of the point in its face (non-negative, sum 1).
      Barycentric: Tensor }

module Sampling =

    /// `count` points per mesh, uniform over the surface area: faces are drawn with
    /// probability ∝ area (the choice is discrete and carries no gradient), then a uniform
    /// point in the face by the reparameterised barycentrics
    ///   w = (1 - √r1, √r1 (1 - r2), √r1 r2),  r1, r2 ~ U[0, 1),
    /// so the point Σ w_k v_k is differentiable in the vertices.
    /// vertices: (B, V, 3); faces: (F, 3) int64. Fails if a mesh has zero total area.
    val surfacePoints: generator: Generator -> count: int -> vertices: Tensor -> faces: Tensor -> SurfaceSamples
