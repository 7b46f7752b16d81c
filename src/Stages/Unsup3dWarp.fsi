/// Unsup3d's warping renderer (peers.md §A.4): the canonical depth grid as a triangle mesh,
/// moved by the viewpoint, rendered to a view-space depth map; that depth unprojected, moved
/// back to the canonical frame and projected gives, for every pixel of the view, where to read
/// the canonical image.
///
/// One pixel convention throughout (§A.4's choice): pixel centres at integer coordinates,
/// u = column, v = row, principal point (S − 1)/2, as `Unsup3d.depthToPoints` and
/// `grid_sample(align_corners = true)`. Neural Renderer's u = j + 0.5 in the original is not
/// reproduced; its half-pixel disagreement with the grid code is the thing §A.8 warns about.
module Reconstruct.Stages.Unsup3dWarp

open Reconstruct.Torch

/// The S×S depth grid's triangles, Unsup3d's `get_face_idx` order: first the triangle
/// (i,j),(i+1,j),(i,j+1) of every cell (i, j) row-major (row i, column j), then the triangle
/// (i,j+1),(i+1,j),(i+1,j+1) of every cell; vertex index i·S + j. 2·(S−1)² faces (7,938 at
/// S = 64), all wound the same way in the image. size S ≥ 2 -> (F, 3) int64.
val gridFaces: size: int -> Tensor

/// The renderer's camera and depth range.
type Settings =
    { /// focal length, pixels, of the S×S image (integer pixel centres, principal point (S−1)/2)
      Focal: float
      /// the depth render is this many times finer per side, then average-pooled (Unsup3d: 2)
      Supersample: int
      /// rendered depth is clamped to [Near, Far]; Far also marks background (Unsup3d faces:
      /// 0.8, 1.2 = min/max depth ∓ half their range)
      Near: float
      Far: float }

    /// Unsup3d's faces at 64 px: f = `Unsup3d.focalLength Unsup3d.FovDegrees 64` (≈ 360.1),
    /// supersample 2, depth clamped to [0.8, 1.2].
    static member Faces: Settings

/// The warp's outputs.
type Warped =
    { /// (B, C, S, S), the canonical image's dtype: the reconstruction seen from the view;
      /// zero where the grid leaves the canonical image
      Image: Tensor
      /// (B, S, S): the view-space depth `renderDepth` gives
      ViewDepth: Tensor
      /// (B, S, S) 0/1 in ViewDepth's dtype, no gradient: 1 where ViewDepth < Far (some
      /// subpixel sees the surface)
      Mask: Tensor }

/// The nearest face under each subpixel centre: `Rasterizer.rasterize` at S·Supersample per
/// side, K = 1, no culling (Unsup3d renders fill_back), faces with a vertex at depth ≤ Near/10
/// dropped, and a face still taken within 1e-4 NDC outside it (so a subpixel centre on a
/// shared edge is never a hole between both faces); no gradient. points: (B, S, S, 3) float32/float64 in the camera frame
/// -> (B, S·Supersample, S·Supersample) int64 index into `gridFaces S`, −1 = background.
val faceIndex: settings: Settings -> points: Tensor -> Tensor

/// Each subpixel's view depth on its face, differentiable in every coordinate of the points:
/// 1/Σ(λ_k/z_k) with λ the screen-space barycentrics of the subpixel centre (perspective-
/// correct depth), as Neural Renderer's depth backward differentiates it; Far where face = −1.
/// points: as `faceIndex`; faces: `faceIndex`'s output for them -> (B, S·s, S·s), points' dtype.
val subpixelDepth: settings: Settings -> points: Tensor -> faces: Tensor -> Tensor

/// Supersample×Supersample average pooling, then the clamp to [Near, Far].
/// depth: (B, S·s, S·s) float -> (B, S, S), depth's dtype.
val pooledDepth: settings: Settings -> depth: Tensor -> Tensor

/// View-space depth of the meshed grid (`gridFaces`) seen through the camera of `settings`:
/// `faceIndex`, `subpixelDepth`, `pooledDepth`. Differentiable in the points (gradients reach
/// x and y through the barycentrics as well as z).
/// points: (B, S, S, 3) float32/float64, the grid's points in the camera frame (after
/// `Unsup3d.transformPoints`), z > Near/10 -> (B, S, S) in [Near, Far], points' dtype.
val renderDepth: settings: Settings -> points: Tensor -> Tensor

/// Where each view pixel reads the canonical image: viewDepth unprojected with K
/// (`Unsup3d.depthToPoints`), `Unsup3d.inverseTransformPoints`, projected with K to (u, v) and
/// normalised as u/(S − 1)·2 − 1 (the align_corners = true convention).
/// view: Angles and Translation (B, 3) in viewDepth's dtype; viewDepth: (B, S, S) float
/// -> (B, S, S, 2) (x, y), viewDepth's dtype.
val samplingGrid: settings: Settings -> centreDepth: float -> view: Unsup3d.View -> viewDepth: Tensor -> Tensor

/// The whole warp: canonical depth -> `Unsup3d.depthToPoints` -> `Unsup3d.transformPoints`
/// -> `renderDepth` -> `samplingGrid` -> bilinear `gridSample` of the canonical image (zeros
/// outside, align corners). Differentiable in the depth, the image and the view.
/// canonicalDepth: (B, S, S) float; canonicalImage: (B, C, S, S) of the same dtype; view as
/// in `samplingGrid`.
val warp: settings: Settings -> centreDepth: float -> view: Unsup3d.View -> canonicalDepth: Tensor -> canonicalImage: Tensor -> Warped
