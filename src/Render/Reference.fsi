/// Slow, obviously correct references of the fused raster kernels, for tests and benchmarks
/// only. Each evaluates every (pixel, face) pair at once with plain tensor ops, (N, H, W, F)
/// broadcasts, so time and memory grow with N·H·W·F: a few small images (one 64×64 image of
/// 1280 faces holds about 5 M pairs per intermediate). Outputs and autograd gradients are
/// what the kernels must reproduce. Pixel centres, NDC and depth follow the rasterizer:
/// pixel (i, j) has its centre at x = (2j + 1)/W − 1, y = (2i + 1)/H − 1; faces with a vertex
/// at depth <= ZNear or with |doubled NDC area| <= 1e-10 are never drawn.
/// Also the random-pose scenes the tests and the benchmarks render.
module Reconstruct.Render.Reference

open Reconstruct.Torch

/// SoftRas with fused aggregation over all faces (`Rasterizer.softRasterize`): alpha =
/// 1 − Π_F (1 − D), D = sigmoid(±d²/σ) for pairs inside a face or with D above DistEps;
/// colours weighted by sigmoid and the depth softmax of temperature Gamma, with the background
/// term at EpsBackground. faceVertices: (N, F, 3, 3) [x_ndc, y_ndc, z_view];
/// faceColors: (N, F, 3, C) per-vertex colours, or None for the silhouette alone;
/// background: C values (empty = zeros) -> (N, C+1, H, W): the colours, then alpha (for None,
/// (N, 1, H, W)). Dtype of faceVertices; differentiable in faceVertices and faceColors.
val soft: settings: SoftSettings -> faceVertices: Tensor -> faceColors: Tensor option -> background: float[] -> Tensor

/// The silhouette of `soft`: faceVertices (N, F, 3, 3) -> alpha (N, 1, H, W).
val silhouette: settings: SoftSettings -> faceVertices: Tensor -> Tensor

/// Top-K fragments over all faces (`Rasterizer.rasterize`): every pair's candidacy (inside, or
/// within BlurRadius squared NDC distance; front-facing when CullBackfaces), depth,
/// barycentrics (perspective-correct when asked; with BlurRadius > 0 clipped, i.e. clamped to
/// >= 0 and renormalised, before depth and perspective) and signed squared distance, then a sort by
/// depth along F, nearest first, ties to the smaller face index (approximately: the sort key is
/// depth·(1 + 1e-13·face), exact unless two depths are closer than 1e-13·F relative). verts: (N, V, 3) float32/float64 [x_ndc, y_ndc, z_view]; faces: (F, 3) int64 ->
/// Fragments as the kernel's: (N, H, W, K) fields, -1 in empty slots; differentiable in verts.
val topK: settings: RasterSettings -> verts: Tensor -> faces: Tensor -> Fragments

/// UNICORN's textured render (`Renderer.textured`): the fragments of `topK`, UVs interpolated
/// with their barycentrics, bilinear texture (grid_sample, border), the layered blend
/// α_j = exp(−max(d_j, 0)/σ) as a cumulative product over the K slots, over white, then
/// composited over the background. verts: (N, V, 3); faces: (F, 3) int64 with F >= 1;
/// uvs: (V, 2) u right, v down in [0, 1]; uvImage: (N, C, Ht, Wt); background: (N, C, H, W);
/// float inputs in the dtype of verts -> composite (N, C, H, W), alpha (N, 1, H, W);
/// differentiable in verts, uvs, uvImage and background.
val textured:
    settings: RasterSettings ->
    sigma: float ->
    verts: Tensor ->
    faces: Tensor ->
    uvs: Tensor ->
    uvImage: Tensor ->
    background: Tensor ->
        Tensor * Tensor

/// The point projection (`PointSplat.render`) over every (pixel, point) pair at once,
/// (B, H, W, N) broadcasts: the Gaussian mask with its square cut-off at Radius·σ, and the
/// colour as a softmax of the depth logits masked to each pixel's well (|dx|, |dy| <= 1 px),
/// shifted by the largest logit in the well (which only keeps exp in range). Pixel (i, j) has
/// its centre at x = j + 0.5, y = i + 0.5. xy: (B, N, 2) float32/float64 pixel coordinates;
/// depth: (B, N); rgb: (B, N, C); dtype of xy -> mask (B, 1, H, W), colour (B, C, H, W);
/// differentiable in xy through the mask, and in depth and rgb through the colour.
val pointSplat: settings: PointSplatSettings -> xy: Tensor -> depth: Tensor -> rgb: Tensor -> Tensor * Tensor

/// `n` copies of the mesh `verts` (V vertex positions, object frame) scaled per axis by
/// `scale` (3 values), each under its own random rotation, uniform on SO(3) (normalised
/// Gaussian quaternions of `Seed.stream seed "render/random-poses"`), seen through
/// `Camera.projectNdc` by a camera at `distance` on the object's +z axis looking at its centre,
/// with the full field of view `fovDegrees` (degrees) and a square image.
/// Returns (n, V, 3) [x_ndc, y_ndc, z_view] in `dtype`. The same seed gives the same poses.
val projectRandomPoses:
    seed: int -> n: int -> scale: float[] -> distance: float -> fovDegrees: float -> verts: float[][] -> dtype: Dtype -> Tensor
