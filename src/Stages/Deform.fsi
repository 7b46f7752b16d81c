/// A template mesh and the vertex positions a network predicts for it.
module Reconstruct.Stages.Deform

open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Geometry

/// The mesh every prediction deforms: one connectivity, vertex positions per image.
type Template =
    { /// (V, 3) float32, object frame.
      Vertices: Tensor
      /// (F, 3) int64, counter-clockwise seen from outside.
      Faces: Tensor
      Topology: Topology }

/// The unit icosphere of `level` subdivisions (level 3: 642 vertices, 1280 faces, SoftRas'
/// sphere_642 template; like that file it has coordinates that are exactly 0).
val sphere: level: int -> Template

/// Frees the template's tensors.
val disposeTemplate: template: Template -> unit

/// SoftRas' mesh decoder: FC featureSize → 1024 → 2048 (ReLU), then two heads: the centroid
/// (→ 3) and the per-vertex bias in logit space (→ V·3).
type SoftRasDecoder =
    { Fc1: Linear
      Fc2: Linear
      Centroid: Linear
      Bias: Linear }

/// A decoder for `template`, PyTorch's default initialisation (SoftRas' code). Untrained, the
/// heads output small values, so the prediction is near 0.25·template (see `applySoftRas`).
val softRasDecoder: generator: Generator -> featureSize: int -> template: Template -> SoftRasDecoder

/// SoftRas' logit-space deformation (NMR's decoder). With b = 0.5·template and the heads'
/// outputs bias (B, V, 3) and centroid (B, 3):
///   v = sigmoid(logit|b| + bias)·sign b            each coordinate in (−1, 1)
///   c = tanh(0.1·centroid)                         in (−1, 1)
///   v ← (relu(v)(1 − c) − relu(−v)(1 + c) + c)·0.5  in (−0.5, 0.5)
/// so every vertex stays inside [−0.5, 0.5]³ whatever the features; at bias = 0 and c = 0
/// the mesh is 0.25·template (the unit sphere becomes a sphere of radius 0.25). A template
/// coordinate that is exactly 0 stays at c/2 (sign 0, as in SoftRas).
/// features: (B, featureSize) -> vertices (B, V, 3), dtype of the features.
val applySoftRas: template: Template -> decoder: SoftRasDecoder -> features: Tensor -> Tensor

/// "fc1.weight", "fc1.bias", "fc2.*", "fc_centroid.*", "fc_bias.*" (SoftRas' names).
val parameters: decoder: SoftRasDecoder -> Named
