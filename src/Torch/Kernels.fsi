/// Typed entry points to the native library's own kernels, those that are not ATen operators
/// (kernels/include/rc_raster.h, rc_image.h, rc_bench.h): the library outside src/Torch calls
/// these instead of the P/Invoke declarations. Each function loads the library, keeps its
/// tensor arguments alive for the call, raises `NativeError` (the native message, which starts
/// with the C function's name) on failure, and returns new tensors owned by the current
/// disposal scope. Shapes and dtypes are checked on the native side; messages name the argument.
module Reconstruct.Torch.Kernels

/// The rasterizer kernels (kernels/raster, documented in kernels/raster/README.md). Screen
/// conventions: pixel (i, j) has its centre at NDC x = (2j+1)/W − 1, y = (2i+1)/H − 1; faces
/// counter-clockwise seen from outside are front-facing. `simd`: true runs the AVX2+FMA kernels
/// where the op has them (float32) and the CPU supports them, false the portable path; the
/// choice holds for that call and its backward only.
module Raster =

    /// Whether the CPU supports the AVX2+FMA kernels (what `simd = true` asks for).
    val simdAvailable: unit -> bool

    /// SoftRas rasterization with fused aggregation (rc_raster_soft).
    /// faceVertices: (N, F, 3, 3) float32/float64 [x_ndc, y_ndc, z_view] per face vertex;
    /// faceColors: (N, F, 3, C) same dtype, or None for silhouettes; background: C values, or
    /// null/empty for zeros. sigma, gamma > 0; distEps in (0, 1); 0 <= zNear < zFar.
    /// Returns (N, C+1, H, W): the colour channels, then alpha; differentiable in both inputs.
    val soft:
        faceVertices: Tensor ->
        faceColors: Tensor option ->
        height: int ->
        width: int ->
        sigma: float ->
        gamma: float ->
        epsBackground: float ->
        distEps: float ->
        zNear: float ->
        zFar: float ->
        doubleSided: bool ->
        background: float[] ->
        simd: bool ->
            Tensor

    /// Top-K rasterization (rc_raster_topk). verts: (N, V, 3) float32/float64
    /// [x_ndc, y_ndc, z_view]; faces: (F, 3) int64. blurRadius is a squared NDC distance.
    /// Returns pixToFace (N, H, W, K) int64 (−1 = empty), bary (N, H, W, K, 3),
    /// zbuf (N, H, W, K), dists (N, H, W, K), overflow (N) int64; bary, zbuf and dists are
    /// differentiable in verts.
    val topk:
        verts: Tensor ->
        faces: Tensor ->
        height: int ->
        width: int ->
        facesPerPixel: int ->
        blurRadius: float ->
        perspectiveCorrect: bool ->
        cullBackfaces: bool ->
        zNear: float ->
        simd: bool ->
            Tensor * Tensor * Tensor * Tensor * Tensor

    /// UNICORN's textured render, fused (rc_raster_layered). verts, faces and the top-K
    /// settings as `topk`; faceUvs: (F, 3, 2) dtype of verts, no gradient; uvImage:
    /// (N, C, Ht, Wt) dtype of verts; sigma > 0; background: C values, or null/empty for zeros.
    /// Returns rgb (N, C, H, W), alpha (N, 1, H, W); differentiable in verts and uvImage.
    val layered:
        verts: Tensor ->
        faces: Tensor ->
        faceUvs: Tensor ->
        uvImage: Tensor ->
        height: int ->
        width: int ->
        facesPerPixel: int ->
        blurRadius: float ->
        sigma: float ->
        perspectiveCorrect: bool ->
        cullBackfaces: bool ->
        zNear: float ->
        background: float[] ->
        simd: bool ->
            Tensor * Tensor

    /// Hard textured render, no gradient (rc_raster_hard_textured). verts: (N, V, 3)
    /// float32/float64 [x_ndc, y_ndc, z_view]; points: (N, V, 3) the same vertices in the camera
    /// frame; faces: (F, 3) int64; faceUvs: (F, 3, 2); atlas: (C, Ht, Wt); background:
    /// (N, C, H, W), sets the output size; float inputs in the dtype of verts. lightDirection:
    /// towards the light, camera frame, non-zero. Returns image (N, C, H, W), alpha (N, 1, H, W).
    val hardTextured:
        verts: Tensor ->
        points: Tensor ->
        faces: Tensor ->
        faceUvs: Tensor ->
        atlas: Tensor ->
        background: Tensor ->
        supersample: int ->
        zNear: float ->
        ambient: float ->
        diffuse: float ->
        lightDirection: (float * float * float) ->
        twoSided: bool ->
        simd: bool ->
            Tensor * Tensor

    /// The point projection of Navaneet et al. (rc_raster_points), over points in PIXEL
    /// coordinates: pixel (i, j) has its centre at x = j + 0.5, y = i + 0.5.
    /// xy: (B, N, 2) float32/float64; depthAndRgb: depth (B, N) and rgb (B, N, C) in the dtype of
    /// xy, or None for the mask alone. sigma2 > 0 (px²); radius > 0 (in σ); sharpness > 0;
    /// depth + depthOffset + 1e-5 > 0. Returns mask (B, 1, H, W), differentiable in xy, and with
    /// colours colour (B, C, H, W), differentiable in depth and rgb.
    val points:
        xy: Tensor ->
        depthAndRgb: (Tensor * Tensor) option ->
        height: int ->
        width: int ->
        sigma2: float ->
        radius: float ->
        sharpness: float ->
        depthOffset: float ->
            Tensor * Tensor option

/// The image codec (stb inside the native library, kernels/include/rc_image.h). Decoded images
/// are (H, W, C) with the file's channel count C in 1..4: uint8, or float32 in [0, 1] for
/// 16-bit PNGs when `keep16Bit`. Images with more than `maxPixels` pixels are refused before
/// decoding. Failures raise `NativeError` with "rc_image_<verb>: <source>: <reason>".
module ImageCodec =

    /// Decodes the file at `path`.
    val read: path: string -> maxPixels: int64 -> keep16Bit: bool -> Tensor

    /// Decodes encoded `bytes`; `name` stands for the source in messages.
    val decode: name: string -> bytes: byte[] -> maxPixels: int64 -> keep16Bit: bool -> Tensor

    /// (width, height, channels, bits per channel: 8 or 16) from the header of encoded bytes.
    val info: name: string -> bytes: byte[] -> int * int * int * int

    /// The file bytes of hwc: (H, W, C) uint8, C in 1..4, as `format`: 0 PNG, 1 JPEG (`quality`
    /// 1..100, alpha dropped), 2 BMP, 3 TGA.
    val encode: hwc: Tensor -> format: int -> quality: int -> byte[]

/// The C++ halves of the tensor-engine benchmarks (kernels/src/rc_bench.cpp).
module BenchLoops =

    /// Nanoseconds per `at::add` of two float32[4] tensors, over `iterations` calls in C++.
    val addLoop: iterations: int64 -> float

    /// Milliseconds of each of `steps` training steps (forward, backward, Adam) of the benchmark
    /// model written in C++ (torch::nn), on (batch, 3, size, size) inputs seeded by `seed`.
    val trainSteps: batch: int -> size: int -> steps: int -> seed: uint64 -> float[]
