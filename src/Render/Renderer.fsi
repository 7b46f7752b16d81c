/// Renderers composed from the parts: rasterize -> interpolate -> texture -> (shade) -> blend ->
/// composite. Inputs are meshes already projected by the camera: verts (B, V, 3) with
/// [x_ndc, y_ndc, z_view].
module Reconstruct.Render.Renderer

open Reconstruct.Torch

/// `textured` composed from the parts: rasterize -> interpolate -> sampleTexture -> layered ->
/// composite. The reference for the fused kernel, and the path when the UVs need a gradient.
/// Shapes as `textured`.
val texturedComposed:
    settings: RasterSettings ->
    sigma: float ->
    verts: Tensor ->
    faces: Tensor ->
    uvs: Tensor ->
    uvImage: Tensor ->
    background: Tensor ->
        Tensor * Tensor

/// UV-textured rendering with UNICORN's layered blend (no lighting: colour is the texel), over
/// white inside the layers, then composited over the background. Runs the fused kernel
/// (`Rasterizer.texturedLayered`); UVs that require a gradient take `texturedComposed`, which
/// computes the same image from the separate parts.
/// verts: (B, V, 3); faces: (F, 3) int64; uvs: (V, 2); uvImage: (B, C, Ht, Wt);
/// background: (B, C, H, W) -> composite (B, C, H, W), alpha (B, 1, H, W).
val textured:
    settings: RasterSettings ->
    sigma: float ->
    verts: Tensor ->
    faces: Tensor ->
    uvs: Tensor ->
    uvImage: Tensor ->
    background: Tensor ->
        Tensor * Tensor

/// `texturedComposed` with UVs per face corner: the mesh with each face given its own three
/// vertices (same triangles, same order, so the same fragments) and those vertices its corner
/// UVs. The reference of `texturedPerFace`; shapes as there, differentiable in verts (the
/// corner gradients summed back), uvImage and background.
val texturedPerFaceComposed:
    settings: RasterSettings ->
    sigma: float ->
    verts: Tensor ->
    faces: Tensor ->
    faceUvs: Tensor ->
    uvImage: Tensor ->
    background: Tensor ->
        Tensor * Tensor

/// `textured` with UVs per face corner, as seam-aware UV maps give them (`UVMap.faceCoords`):
/// the fused kernel takes them as they are (no gradient to the UVs; sampled with border
/// clamping, so UVs outside [0, 1] need a periodic texture first, see `Stages.Render`).
/// verts: (B, V, 3); faces: (F, 3) int64; faceUvs: (F, 3, 2) u right, v down;
/// uvImage: (B, C, Ht, Wt); background: (B, C, H, W) -> composite (B, C, H, W), alpha (B, 1, H, W);
/// differentiable in verts, uvImage and background. Equals `texturedComposed` on the mesh with
/// each face given its own three vertices (the tests check values and gradients).
val texturedPerFace:
    settings: RasterSettings ->
    sigma: float ->
    verts: Tensor ->
    faces: Tensor ->
    faceUvs: Tensor ->
    uvImage: Tensor ->
    background: Tensor ->
        Tensor * Tensor

/// Hard rendering for evaluation and datasets: one face per pixel, sharp edges, rendered at
/// `supersample`× and average-pooled. verts: (B, V, 3); faces: (F, 3) int64;
/// colorsPerVertex: (B, V, C); background: (B, C, H, W) -> (B, C, H, W), alpha (B, 1, H, W).
val hard:
    height: int ->
    width: int ->
    supersample: int ->
    verts: Tensor ->
    faces: Tensor ->
    colorsPerVertex: Tensor ->
    background: Tensor ->
        Tensor * Tensor

/// SoftRas silhouettes through the fused kernel. faceVertices: (N, F, 3, 3) -> (N, 1, H, W).
val silhouettes: settings: SoftSettings -> faceVertices: Tensor -> Tensor
