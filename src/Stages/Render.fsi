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

/// UNICORN's camera: a 30° field of view (at distance 2.732 = 1 + √3 the template fills the image).
val unicornFovDegrees: float

/// UNICORN's textured renderer at `size`² pixels: blur radius ln(1/1e-4 − 1)·σ (an outside face
/// counts until its alpha exp(−d/σ) would fall below 1e-4 of sigmoid's scale), `facesPerPixel`
/// = K faces kept per pixel, screen-space barycentrics, no culling, near plane 0.1. σ in NDC
/// units squared; UNICORN's 1e-4 is about one pixel at 64².
/// Choosing K: the rasterizer orders a blur candidate (a face just outside the pixel) by the
/// depth of its clipped barycentric point (PyTorch3D's clip_barycentric_coords), a point on the
/// face; neighbours whose nearest point lies up the surface's depth slope still come before the
/// face covering the pixel. Measured on the template (32 random poses, σ = 1e-4, 64²), the mean
/// alpha over the pixels the hard render covers is 0.20 at K = 1, 0.46 at K = 2, 0.75 at K = 4,
/// 0.91 at K = 5, 0.98 at K = 6 and 0.997 at K = 8 (before clipping, by the depth of the plane
/// extended to the pixel: 0.08, 0.16, 0.41 at K = 4, 0.88 at K = 8, 1.00 at K = 25, UNICORN's).
val texturedSettings: size: int -> sigma: float -> facesPerPixel: int -> RasterSettings

/// A texture periodic in u, for border-clamped bilinear sampling: columns wrapped around on
/// both sides (as many as the UVs reach beyond [0, 1], at least one) and u remapped into the
/// widened image, so sampling the result at the returned UVs equals sampling `uvImage` with
/// u taken mod 1 (v stays border-clamped). Seam-aware UVs (`UVMap.spherical`) reach up to one
/// face beyond u = 1. uvImage: (N, C, Ht, Wt); faceUVs: (F, 3, 2) -> (N, C, Ht, Wt + pads)
/// (differentiable in uvImage), (F, 3, 2) in the dtype of faceUVs.
val periodicTexture: uvImage: Tensor -> faceUVs: Tensor -> Tensor * Tensor

/// UNICORN's training render: the object posed into the camera (`Camera.objectToCamera`, then
/// NDC with `unicornFovDegrees`), the K nearest faces per pixel blended front to back over
/// white, alpha_j = exp(−max(d_j, 0)/σ), A = 1 − Π(1 − alpha_j), then composited over the
/// background: rec = C·A + (1 − A)·B. Colour is the texel (no lighting), sampled periodically
/// in u (`periodicTexture`).
/// pose: Rotation (N, 3, 3), Translation (N, 3), Scale (N, 3) option; vertices: (N, V, 3)
/// object frame; faces: (F, 3) int64; faceUVs: (F, 3, 2) u right, v down (`UVMap.faceCoords`);
/// uvImage: (N, 3, Ht, Wt); background: (N, 3, H, W), H = W = settings' size; all float in
/// one dtype (float32 or float64) -> composite (N, 3, H, W), alpha (N, 1, H, W).
/// Differentiable in vertices, uvImage, background and the pose's rotation, translation, scale.
val textured:
    settings: RasterSettings ->
    sigma: float ->
    pose: Reconstruct.Geometry.Pose ->
    vertices: Tensor ->
    faces: Tensor ->
    faceUVs: Tensor ->
    uvImage: Tensor ->
    background: Tensor ->
        Tensor * Tensor

/// The evaluation render: one face per pixel (the nearest), sharp edges, perspective-correct
/// UVs, rendered at `supersample`× and averaged (premultiplied colour and coverage), then
/// composited over the background; no gradient. Arguments as `textured`, the image `size`²
/// -> composite (N, 3, size, size) in [0, 1], alpha (N, 1, size, size).
val hard:
    size: int ->
    supersample: int ->
    pose: Reconstruct.Geometry.Pose ->
    vertices: Tensor ->
    faces: Tensor ->
    faceUVs: Tensor ->
    uvImage: Tensor ->
    background: Tensor ->
        Tensor * Tensor
