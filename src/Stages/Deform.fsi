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

// ---------------------------------------------------------------------- UNICORN

/// UNICORN's template as a `Template`: the level-3 icosphere (642 vertices, 1280 faces)
/// scaled by `scale`·(1, 0.7, 0.7), long axis x (`Geometry.Template.unicorn`; scale 0.4 for
/// synthetic renders, 0.6 for photographs). Vertices (V, 3) float32.
val ellipsoid: scale: float -> Template

/// UNICORN's per-vertex spherical UVs of the template's vertices, seam untreated
/// (`UVMap.sphericalPerVertex`): (V, 2) float32, u, v in [0, 1].
val templateUVs: template: Template -> Tensor

/// Seam- and pole-aware UVs of every face corner (`UVMap.spherical` then `faceCoords`):
/// (F, 3, 2) float32; u may exceed 1 on faces across the seam (sample at u mod 1).
val templateFaceUVs: template: Template -> Tensor

/// UNICORN's deformation field D(p, z): h = ReLU(Lx(p) + Lz(z)), then
/// Linear(hidden, hidden)-ReLU-Linear(hidden, hidden)-ReLU-Linear(hidden, 3).
type Field =
    { /// Lx: 3 -> hidden.
      Point: Linear
      /// Lz: codeSize -> hidden.
      Code: Linear
      /// hidden -> hidden -> hidden -> 3, the last layer zero at creation.
      Layers: Mlp }

/// A field for codes of `codeSize`, `hidden` units (512 in the paper). Weights Kaiming-normal,
/// biases zero, the last layer zero: displacements are exactly 0 until trained.
val field: generator: Generator -> codeSize: int -> hidden: int -> Field

/// Displacements D(p, z) of every point for every code. Lx(p) is computed once per point and
/// Lz(z) once per code, then broadcast-added. points: (V, 3); codes: (B, codeSize), same float
/// dtype as the field -> (B, V, 3).
val applyField: field: Field -> points: Tensor -> codes: Tensor -> Tensor

/// "point.weight", "point.bias", "code.*", "layers.layers.k.*".
val fieldParameters: field: Field -> Named

/// UNICORN's per-axis object scale s = 1 + 0.5·tanh(head(features)); 1 for a zero-last head.
/// head: features -> 3 (e.g. `Encode.head … 3 true`). features (B, F) -> (B, 3).
val scale: head: Mlp -> features: Tensor -> Tensor

/// The predicted vertices V = s ⊙ (E + D(E, z)), E the template's vertices.
/// codes: (B, codeSize); scale: (B, 3) -> (B, V, 3), the codes' dtype.
val vertices: template: Template -> field: Field -> codes: Tensor -> scale: Tensor -> Tensor
