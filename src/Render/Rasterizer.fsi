namespace Reconstruct.Render

open Reconstruct.Torch

/// What the top-K rasterizer finds at each pixel: the K nearest faces within the blur radius,
/// nearest first. Empty slots hold face -1 and -1 in every other field.
type Fragments =
    { /// (B, H, W, K) int64: face index within the mesh, -1 = empty
      PixToFace: Tensor
      /// (B, H, W, K, 3): barycentrics of the pixel centre (screen-space or perspective-correct).
      /// With BlurRadius > 0 they are clipped as PyTorch3D's clip_barycentric_coords: clamped to
      /// >= 0 and renormalised, so a pixel outside its face reads the face's nearest point in
      /// barycentric terms (inside a face they are unchanged)
      Bary: Tensor
      /// (B, H, W, K): view depth at Bary, the sort key: with BlurRadius > 0 an outside face's
      /// depth is on the face, not on its plane extended to the pixel
      Zbuf: Tensor
      /// (B, H, W, K): signed squared NDC distance to the face, negative inside
      Dists: Tensor
      /// (B) int64: pixels that had more than K candidates, so some faces were dropped
      Overflow: Tensor }

/// Settings of the top-K rasterizer (and of the fused textured render that contains it).
type RasterSettings =
    { /// output rows H, pixels
      Height: int
      /// output columns W, pixels
      Width: int
      /// K, the faces kept per pixel
      FacesPerPixel: int
      /// squared NDC distance within which an outside face still counts (see `blurRadiusFor`)
      BlurRadius: float
      PerspectiveCorrect: bool
      CullBackfaces: bool
      /// faces with a vertex at depth <= ZNear are dropped
      ZNear: float
      /// true: the AVX2 kernels when the CPU has them (`Rasterizer.simdAvailable`), for float32
      /// inputs; false: the portable path. The two agree within float32 rounding. The choice
      /// belongs to the call (and its backward), so comparing both paths races nothing.
      Simd: bool }

    /// UNICORN's renderer at 64×64: K = 8, σ = 1e-4 (BlurRadius = `blurRadiusFor 1e-4 1e-4`),
    /// screen-space barycentrics, no culling, ZNear 0.1, Simd.
    static member Defaults: RasterSettings

/// Settings of the fused SoftRas rasterizer.
type SoftSettings =
    { /// output rows H, pixels
      Height: int
      /// output columns W, pixels
      Width: int
      /// sharpness of D = sigmoid(±d²/σ), d in NDC units
      Sigma: float
      /// temperature of the depth softmax
      Gamma: float
      /// depth term of the background in the softmax
      EpsBackground: float
      /// outside pairs with D below this are skipped (SoftRas' dist_eps)
      DistEps: float
      /// view depth of the near plane: faces with a vertex at or before it are dropped
      ZNear: float
      /// view depth of the far plane (normalises depth for the colour softmax)
      ZFar: float
      /// back faces contribute colour too (alpha always counts both sides)
      DoubleSided: bool
      /// true: the AVX2 silhouette kernel when the CPU has it, for float32 silhouettes; false:
      /// the portable path. Per call, as `RasterSettings.Simd`.
      Simd: bool }

    /// SoftRas' reconstruction recipe at 64×64: σ = γ = 1e-4, EpsBackground 1e-3,
    /// DistEps 1e-10, depth range [1, 100], single-sided, Simd.
    static member Defaults: SoftSettings

/// Ambient + directional light of the hard textured render (`Rasterizer.hardTextured`): a
/// texel t becomes t·(Ambient + Diffuse·max(cos θ, 0)), θ the angle between the face normal
/// (p1 − p0) × (p2 − p0) and Direction, both in the camera frame.
type HardLight =
    { Ambient: float
      Diffuse: float
      /// towards the light, camera frame (x right, y down, z forward); need not be unit
      Direction: float * float * float
      /// each channel the larger of the light with the normal and with its flip: for models
      /// whose winding (so the sign of their normals) is not trusted
      TwoSided: bool }

/// The rasterizers over projected vertices [x_ndc, y_ndc, z_view] (x right, y down, pixel
/// (i, j) centred at NDC ((2j+1)/W − 1, (2i+1)/H − 1)), as fused native kernels with autograd.
/// Inputs are float32 or float64 CPU tensors; outputs take the dtype of the vertices. Invalid
/// shapes, dtypes or settings raise `NativeError` naming the argument and what was received.
module Rasterizer =

    /// The squared NDC radius at which sigmoid(-d²/σ) falls to `eps`: ln(1/eps − 1)·σ.
    val blurRadiusFor: sigma: float -> eps: float -> float

    /// Top-K rasterization of projected meshes; differentiable in `verts` through Bary, Zbuf, Dists.
    /// verts: (B, V, 3) float32/float64 [x_ndc, y_ndc, z_view]; faces: (F, 3) int64
    /// -> Fragments with H, W, K of `settings`.
    val rasterize: settings: RasterSettings -> verts: Tensor -> faces: Tensor -> Fragments

    /// SoftRas rasterization with fused aggregation.
    /// faceVertices: (N, F, 3, 3) [x_ndc, y_ndc, z_view] per face vertex;
    /// faceColors: (N, F, 3, C) per-vertex colours, or None for silhouettes only;
    /// background: C values (ignored for silhouettes; null or empty = zeros).
    /// Returns (N, C+1, H, W): the colour channels, then alpha = 1 − Π(1 − D); differentiable
    /// in faceVertices and faceColors.
    val softRasterize: settings: SoftSettings -> faceVertices: Tensor -> faceColors: Tensor option -> background: float[] -> Tensor

    /// UNICORN's textured render as one kernel: the fragments of `rasterize` (kept inside the
    /// kernel, never written out), UVs interpolated with their barycentrics, bilinear texture
    /// sampling as `Shading.sampleTexture`, and `Blending.layered`'s front-to-back blend over a
    /// constant `background` (C values). Equal to composing those parts, without their 28 bytes
    /// per slot of fragments and the tensor ops' gradients of them.
    /// verts: (B, V, 3) [x_ndc, y_ndc, z_view]; faces: (F, 3) int64; faceUvs: (F, 3, 2) UVs per face
    /// corner (u right, v down, no gradient); uvImage: (B, C, Ht, Wt), dtype of verts
    /// -> rgb (B, C, H, W), alpha (B, 1, H, W); differentiable in verts and uvImage.
    val texturedLayered:
        settings: RasterSettings ->
        sigma: float ->
        background: float[] ->
        verts: Tensor ->
        faces: Tensor ->
        faceUvs: Tensor ->
        uvImage: Tensor ->
            Tensor * Tensor

    /// Hard textured render for datasets and evaluation, one native pass per image, no gradient
    /// (the outputs are constants). Each of the (H·s, W·s) subpixels at supersample s gets the
    /// nearest face of `rasterize` with K = 1, blur 0, perspective-correct barycentrics and no
    /// culling; it samples the atlas at its interpolated UV as `Shading.sampleTexture`, is lit
    /// by `light` (the face normal from `points`) and clamped to [0, 1]. Each output pixel
    /// averages its s² subpixels as premultiplied colour (empty ones add 0) and coverage, then
    /// image = clamp(rgb + (1 − alpha)·background, 0, 1): what `Blending.nearest`, avgPool2d
    /// and the composite give, without their per-subpixel tensors. Uses the AVX2 traversal
    /// when the CPU has it (the GoogleTests compare it with the portable one).
    /// verts: (B, V, 3) float32/float64 [x_ndc, y_ndc, z_view]; points: (B, V, 3) the same
    /// vertices in the camera frame; faces: (F, 3) int64; faceUvs: (F, 3, 2) u right, v down;
    /// atlas: (C, Ht, Wt) shared by the batch; background: (B, C, H, W), sets the output size;
    /// float inputs in the dtype of verts; znear: view depth -> image (B, C, H, W), alpha (B, 1, H, W).
    val hardTextured:
        supersample: int ->
        znear: float ->
        light: HardLight ->
        verts: Tensor ->
        points: Tensor ->
        faces: Tensor ->
        faceUvs: Tensor ->
        atlas: Tensor ->
        background: Tensor ->
            Tensor * Tensor

    /// Per-face vertex attributes gathered from per-vertex ones, the layout the fused kernel takes.
    /// attrs: (B, V, D); faces: (F, 3) int64 -> (B, F, 3, D).
    val faceAttributes: attrs: Tensor -> faces: Tensor -> Tensor

    /// Whether the CPU has the AVX2 kernels that `Simd = true` asks for.
    val simdAvailable: unit -> bool
