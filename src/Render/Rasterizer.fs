namespace Reconstruct.Render

open System
open Reconstruct.Torch
open Reconstruct.Torch.Native

/// What the top-K rasterizer finds at each pixel: the K nearest faces within the blur radius,
/// nearest first. Empty slots hold face -1 and -1 in every other field.
type Fragments =
    { /// (B, H, W, K) int64: face index within the mesh, -1 = empty
      PixToFace: Tensor
      /// (B, H, W, K, 3): barycentrics of the pixel centre (screen-space or perspective-correct)
      Bary: Tensor
      /// (B, H, W, K): interpolated view depth
      Zbuf: Tensor
      /// (B, H, W, K): signed squared NDC distance to the face, negative inside
      Dists: Tensor
      /// (B) int64: pixels that had more than K candidates, so some faces were dropped
      Overflow: Tensor }

/// Settings of the top-K rasterizer; `Rasterizer.defaults` is UNICORN's at 64×64.
type RasterSettings =
    { Height: int
      Width: int
      /// K, the faces kept per pixel
      FacesPerPixel: int
      /// squared NDC distance within which an outside face still counts (see `blurRadiusFor`)
      BlurRadius: float
      PerspectiveCorrect: bool
      CullBackfaces: bool
      /// faces with a vertex at depth <= ZNear are dropped
      ZNear: float }

/// Settings of the fused SoftRas rasterizer.
type SoftSettings =
    { Height: int
      Width: int
      /// sharpness of D = sigmoid(±d²/σ), d in NDC units
      Sigma: float
      /// temperature of the depth softmax
      Gamma: float
      /// depth term of the background in the softmax
      EpsBackground: float
      /// outside pairs with D below this are skipped (SoftRas' dist_eps)
      DistEps: float
      ZNear: float
      ZFar: float
      /// back faces contribute colour too (alpha always counts both sides)
      DoubleSided: bool }

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

module Rasterizer =
    /// The squared NDC radius at which sigmoid(-d²/σ) falls to `eps`: ln(1/eps − 1)·σ.
    let blurRadiusFor (sigma: float) (eps: float) = log (1.0 / eps - 1.0) * sigma

    /// UNICORN's renderer at 64×64: K = 8, σ = 1e-4, screen-space barycentrics.
    let defaults: RasterSettings =
        { Height = 64
          Width = 64
          FacesPerPixel = 8
          BlurRadius = blurRadiusFor 1e-4 1e-4
          PerspectiveCorrect = false
          CullBackfaces = false
          ZNear = 0.1 }

    /// SoftRas' reconstruction recipe at 64×64 (σ = 1e-4, dist_eps = 1e-10).
    let softDefaults: SoftSettings =
        { Height = 64
          Width = 64
          Sigma = 1e-4
          Gamma = 1e-4
          EpsBackground = 1e-3
          DistEps = 1e-10
          ZNear = 1.0
          ZFar = 100.0
          DoubleSided = false }

    /// Top-K rasterization of projected meshes; differentiable in `verts` through Bary, Zbuf, Dists.
    /// verts: (B, V, 3) float32/float64 [x_ndc, y_ndc, z_view]; faces: (F, 3) int64.
    let rasterize (settings: RasterSettings) (verts: Tensor) (faces: Tensor) : Fragments =
        ensureLoaded ()
        let outs = Array.zeroCreate<nativeint> 5
        check (
            rc_raster_topk (
                verts.Ptr, faces.Ptr, int64 settings.Height, int64 settings.Width, int64 settings.FacesPerPixel,
                settings.BlurRadius, (if settings.PerspectiveCorrect then 1 else 0), (if settings.CullBackfaces then 1 else 0),
                settings.ZNear, outs))
        GC.KeepAlive verts
        GC.KeepAlive faces
        { PixToFace = Tensor.OfPtr outs.[0]
          Bary = Tensor.OfPtr outs.[1]
          Zbuf = Tensor.OfPtr outs.[2]
          Dists = Tensor.OfPtr outs.[3]
          Overflow = Tensor.OfPtr outs.[4] }

    /// SoftRas rasterization with fused aggregation.
    /// faceVertices: (N, F, 3, 3) [x_ndc, y_ndc, z_view] per face vertex;
    /// faceColors: (N, F, 3, C) per-vertex colours, or None for silhouettes only;
    /// background: C values (ignored for silhouettes).
    /// Returns (N, C+1, H, W): the colour channels, then alpha = 1 − Π(1 − D).
    let softRasterize (settings: SoftSettings) (faceVertices: Tensor) (faceColors: Tensor option) (background: float[]) =
        ensureLoaded ()
        let outs = Array.zeroCreate<nativeint> 1
        let colors = match faceColors with Some c -> c.Ptr | None -> 0n
        check (
            rc_raster_soft (
                faceVertices.Ptr, colors, int64 settings.Height, int64 settings.Width, settings.Sigma, settings.Gamma,
                settings.EpsBackground, settings.DistEps, settings.ZNear, settings.ZFar,
                (if settings.DoubleSided then 1 else 0), (if isNull background || background.Length = 0 then null else background), outs))
        GC.KeepAlive faceVertices
        GC.KeepAlive faceColors
        Tensor.OfPtr outs.[0]

    /// UNICORN's textured render as one kernel: the fragments of `rasterize` (kept inside the
    /// kernel, never written out), UVs interpolated with their barycentrics, bilinear texture
    /// sampling as `Shading.sampleTexture`, and `Blending.layered`'s front-to-back blend over a
    /// constant `background` (C values). Equal to composing those parts, without their 28 bytes
    /// per slot of fragments and the tensor ops' gradients of them.
    /// verts: (B, V, 3) [x_ndc, y_ndc, z_view]; faces: (F, 3) int64; faceUvs: (F, 3, 2) UVs per face
    /// corner (u right, v down, no gradient); uvImage: (B, C, Ht, Wt), dtype of verts
    /// -> rgb (B, C, H, W), alpha (B, 1, H, W); differentiable in verts and uvImage.
    let texturedLayered (settings: RasterSettings) (sigma: float) (background: float[]) (verts: Tensor) (faces: Tensor) (faceUvs: Tensor) (uvImage: Tensor) =
        ensureLoaded ()
        let outs = Array.zeroCreate<nativeint> 2
        check (
            rc_raster_layered (
                verts.Ptr, faces.Ptr, faceUvs.Ptr, uvImage.Ptr, int64 settings.Height, int64 settings.Width,
                int64 settings.FacesPerPixel, settings.BlurRadius, sigma, (if settings.PerspectiveCorrect then 1 else 0),
                (if settings.CullBackfaces then 1 else 0), settings.ZNear,
                (if isNull background || background.Length = 0 then null else background), outs))
        GC.KeepAlive verts
        GC.KeepAlive faces
        GC.KeepAlive faceUvs
        GC.KeepAlive uvImage
        Tensor.OfPtr outs.[0], Tensor.OfPtr outs.[1]

    /// Hard textured render for datasets and evaluation, one native pass per image, no gradient
    /// (the outputs are constants). Each of the (H·s, W·s) subpixels at supersample s gets the
    /// nearest face of `rasterize` with K = 1, blur 0, perspective-correct barycentrics and no
    /// culling; it samples the atlas at its interpolated UV as `Shading.sampleTexture`, is lit
    /// by `light` (the face normal from `points`) and clamped to [0, 1]. Each output pixel
    /// averages its s² subpixels as premultiplied colour (empty ones add 0) and coverage, then
    /// image = clamp(rgb + (1 − alpha)·background, 0, 1): what `Blending.nearest`, avgPool2d
    /// and the composite give, without their per-subpixel tensors.
    /// verts: (B, V, 3) float32/float64 [x_ndc, y_ndc, z_view]; points: (B, V, 3) the same
    /// vertices in the camera frame; faces: (F, 3) int64; faceUvs: (F, 3, 2) u right, v down;
    /// atlas: (C, Ht, Wt) shared by the batch; background: (B, C, H, W), sets the output size;
    /// float inputs in the dtype of verts -> image (B, C, H, W), alpha (B, 1, H, W).
    let hardTextured (supersample: int) (znear: float) (light: HardLight) (verts: Tensor) (points: Tensor) (faces: Tensor) (faceUvs: Tensor) (atlas: Tensor) (background: Tensor) =
        ensureLoaded ()
        let outs = Array.zeroCreate<nativeint> 2
        let dx, dy, dz = light.Direction
        check (
            rc_raster_hard_textured (
                verts.Ptr, points.Ptr, faces.Ptr, faceUvs.Ptr, atlas.Ptr, background.Ptr, int64 supersample, znear,
                light.Ambient, light.Diffuse, [| dx; dy; dz |], (if light.TwoSided then 1 else 0), outs))
        GC.KeepAlive verts
        GC.KeepAlive points
        GC.KeepAlive faces
        GC.KeepAlive faceUvs
        GC.KeepAlive atlas
        GC.KeepAlive background
        Tensor.OfPtr outs.[0], Tensor.OfPtr outs.[1]

    /// Per-face vertex attributes gathered from per-vertex ones, the layout the fused kernel takes.
    /// attrs: (B, V, D); faces: (F, 3) int64 -> (B, F, 3, D).
    let faceAttributes (attrs: Tensor) (faces: Tensor) =
        let b, d = attrs.Shape.[0], attrs.Shape.[2]
        use flat = faces.flatten ()
        use picked = attrs.indexSelect (1, flat)
        picked.reshape [ b; faces.Shape.[0]; 3; d ]

    /// Whether the AVX2 kernels are in use; switchable for tests and benchmarks.
    let simdAvailable () =
        ensureLoaded ()
        rc_raster_simd_available () = 1

    let setSimd (enabled: bool) =
        ensureLoaded ()
        rc_raster_set_simd (if enabled then 1 else 0) = 1
