module Reconstruct.Torch.Kernels

open System
open System.Runtime.InteropServices
open Reconstruct.Torch.Native

let private flag (b: bool) = if b then 1 else 0

// The native side reads null as "zeros"; an empty array means the same to the callers.
let private valuesOrNull (values: float[]) = if isNull values || values.Length = 0 then null else values

module Raster =

    let simdAvailable () =
        ensureLoaded ()
        rc_raster_simd_available () = 1

    let soft (faceVertices: Tensor) (faceColors: Tensor option) (height: int) (width: int) (sigma: float) (gamma: float) (epsBackground: float) (distEps: float) (zNear: float) (zFar: float) (doubleSided: bool) (background: float[]) (simd: bool) =
        ensureLoaded ()
        let outs = Array.zeroCreate<nativeint> 1
        let colors = match faceColors with Some c -> c.Ptr | None -> 0n
        check (
            rc_raster_soft (
                faceVertices.Ptr, colors, int64 height, int64 width, sigma, gamma, epsBackground, distEps, zNear, zFar,
                flag doubleSided, valuesOrNull background, flag simd, outs))
        GC.KeepAlive faceVertices
        GC.KeepAlive faceColors
        Tensor.OfPtr outs.[0]

    let topk (verts: Tensor) (faces: Tensor) (height: int) (width: int) (facesPerPixel: int) (blurRadius: float) (perspectiveCorrect: bool) (cullBackfaces: bool) (zNear: float) (simd: bool) =
        ensureLoaded ()
        let outs = Array.zeroCreate<nativeint> 5
        check (
            rc_raster_topk (
                verts.Ptr, faces.Ptr, int64 height, int64 width, int64 facesPerPixel, blurRadius,
                flag perspectiveCorrect, flag cullBackfaces, zNear, flag simd, outs))
        GC.KeepAlive verts
        GC.KeepAlive faces
        Tensor.OfPtr outs.[0], Tensor.OfPtr outs.[1], Tensor.OfPtr outs.[2], Tensor.OfPtr outs.[3], Tensor.OfPtr outs.[4]

    let layered (verts: Tensor) (faces: Tensor) (faceUvs: Tensor) (uvImage: Tensor) (height: int) (width: int) (facesPerPixel: int) (blurRadius: float) (sigma: float) (perspectiveCorrect: bool) (cullBackfaces: bool) (zNear: float) (background: float[]) (simd: bool) =
        ensureLoaded ()
        let outs = Array.zeroCreate<nativeint> 2
        check (
            rc_raster_layered (
                verts.Ptr, faces.Ptr, faceUvs.Ptr, uvImage.Ptr, int64 height, int64 width, int64 facesPerPixel,
                blurRadius, sigma, flag perspectiveCorrect, flag cullBackfaces, zNear, valuesOrNull background,
                flag simd, outs))
        GC.KeepAlive verts
        GC.KeepAlive faces
        GC.KeepAlive faceUvs
        GC.KeepAlive uvImage
        Tensor.OfPtr outs.[0], Tensor.OfPtr outs.[1]

    let hardTextured (verts: Tensor) (points: Tensor) (faces: Tensor) (faceUvs: Tensor) (atlas: Tensor) (background: Tensor) (supersample: int) (zNear: float) (ambient: float) (diffuse: float) (lightDirection: float * float * float) (twoSided: bool) (simd: bool) =
        ensureLoaded ()
        let outs = Array.zeroCreate<nativeint> 2
        let dx, dy, dz = lightDirection
        check (
            rc_raster_hard_textured (
                verts.Ptr, points.Ptr, faces.Ptr, faceUvs.Ptr, atlas.Ptr, background.Ptr, int64 supersample, zNear,
                ambient, diffuse, [| dx; dy; dz |], flag twoSided, flag simd, outs))
        GC.KeepAlive verts
        GC.KeepAlive points
        GC.KeepAlive faces
        GC.KeepAlive faceUvs
        GC.KeepAlive atlas
        GC.KeepAlive background
        Tensor.OfPtr outs.[0], Tensor.OfPtr outs.[1]

    let points (xy: Tensor) (depthAndRgb: (Tensor * Tensor) option) (height: int) (width: int) (sigma2: float) (radius: float) (sharpness: float) (depthOffset: float) =
        ensureLoaded ()
        let outs = Array.zeroCreate<nativeint> 2
        let depth, rgb = match depthAndRgb with Some (d, c) -> d.Ptr, c.Ptr | None -> 0n, 0n
        check (rc_raster_points (xy.Ptr, depth, rgb, int64 height, int64 width, sigma2, radius, sharpness, depthOffset, outs))
        GC.KeepAlive xy
        GC.KeepAlive depthAndRgb
        Tensor.OfPtr outs.[0], (if outs.[1] = 0n then None else Some(Tensor.OfPtr outs.[1]))

module ImageCodec =

    let read (path: string) (maxPixels: int64) (keep16Bit: bool) =
        ensureLoaded ()
        Tensor.OfPtr(rc_image_read (path, maxPixels, flag keep16Bit))

    let decode (name: string) (bytes: byte[]) (maxPixels: int64) (keep16Bit: bool) =
        ensureLoaded ()
        let pin = GCHandle.Alloc(bytes, GCHandleType.Pinned)
        let p =
            try rc_image_decode (pin.AddrOfPinnedObject(), int64 bytes.Length, name, maxPixels, flag keep16Bit)
            finally pin.Free()
        Tensor.OfPtr p

    let info (name: string) (bytes: byte[]) =
        ensureLoaded ()
        let mutable w, h, c, bits = 0L, 0L, 0, 0
        let pin = GCHandle.Alloc(bytes, GCHandleType.Pinned)
        let status =
            try rc_image_info (pin.AddrOfPinnedObject(), int64 bytes.Length, name, &w, &h, &c, &bits)
            finally pin.Free()
        check status
        int w, int h, c, bits

    let encode (hwc: Tensor) (format: int) (quality: int) =
        ensureLoaded ()
        use bytes = Tensor.OfPtr(rc_image_encode (hwc.Ptr, format, quality))
        GC.KeepAlive hwc
        bytes.ToArray<byte>()

module BenchLoops =

    let addLoop (iterations: int64) =
        ensureLoaded ()
        rc_bench_add_loop iterations

    let trainSteps (batch: int) (size: int) (steps: int) (seed: uint64) =
        ensureLoaded ()
        let times = Array.zeroCreate<float> steps
        check (rc_bench_train_steps (batch, size, steps, seed, times))
        times
