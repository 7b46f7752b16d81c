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
