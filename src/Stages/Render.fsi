/// A mesh's silhouette seen from the dataset camera, through the fused SoftRas kernel.
[<RequireQualifiedAccess>]
module Reconstruct.Stages.Render

open Reconstruct.Torch
open Reconstruct.Render

/// The cameras of a batch, one per image: the camera of the multi-view dataset renders
/// (`DatasetRender.nmrView`: orbiting the origin, looking at it, +y up, field of view
/// `DatasetRender.fovDegrees`), the same `Camera.orbit` pose `DatasetRender.cameraPoints` uses.
type View =
    { /// (B) float32, radians, as `DatasetRender.View.Azimuth` (there in degrees)
      Azimuth: Tensor
      /// (B) float32, radians
      Elevation: Tensor
      /// (B) float32, object units from the origin
      Distance: Tensor }

module View =
    /// Views from host values in degrees and object units (equal lengths).
    val ofDegrees: azimuths: float[] -> elevations: float[] -> distances: float[] -> View

    /// The views of dataset renders; fails naming the view if one has a roll, a scale other
    /// than 1 or a shift (the multi-view protocol has none; a `View` cannot express them).
    val ofDataset: views: Reconstruct.Data.DatasetRender.View[] -> View

    /// The views one after the other, as one batch.
    val cat: views: View list -> View

    /// B, the number of views.
    val count: view: View -> int

    /// Frees the three tensors.
    val dispose: view: View -> unit

/// The SoftRas settings of silhouettes of `size`² pixels with blur `sigma` (σ = γ; the rest as
/// `SoftSettings.Defaults`: dist_eps 1e-10, depth range [1, 100]).
val settings: size: int -> sigma: float -> SoftSettings

/// Soft silhouettes: alpha = 1 − Π_j(1 − sigmoid(±d_j²/σ)), both sides of every face counted.
/// vertices: (B, V, 3) float32 object frame; faces: (F, 3) int64; view: B cameras
/// -> (B, 1, H, W) float32 in [0, 1], row 0 the top of the image as in the dataset PNGs;
/// differentiable in the vertices.
val silhouette: settings: SoftSettings -> view: View -> vertices: Tensor -> faces: Tensor -> Tensor
