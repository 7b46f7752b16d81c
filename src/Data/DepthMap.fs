module Reconstruct.Data.DepthMap

open System
open Reconstruct.Torch

let maxDepth (scale: float) = 65535.0 * scale

let private checkScale (fn: string) (scale: float) =
    if not (scale > 0.0 && Double.IsFinite scale) then invalidArg "scale" (sprintf "%s: scale must be positive and finite, received %g" fn scale)

let encode (scale: float) (depth: Tensor) =
    checkScale "DepthMap.encode" scale
    if depth.Dim <> 2 then invalidArg "depth" (sprintf "DepthMap.encode: depth must be (H, W), received %s" (Shape.text depth.Shape))
    let values = depth.ToFloat64s()
    values
    |> Array.map (fun z ->
        if not (Double.IsFinite z) then invalidArg "depth" "DepthMap.encode: depth has NaN or infinite values"
        if z > maxDepth scale then
            invalidArg "depth" (sprintf "DepthMap.encode: depth %g exceeds %g, the largest a 16-bit map of scale %g holds" z (maxDepth scale) scale)
        if z <= 0.0 then 0us else uint16 (max 1.0 (Math.Round(z / scale))))

let save (path: string) (scale: float) (depth: Tensor) =
    let samples = encode scale depth
    Image.saveGrey16 path (depth.Size 0) (depth.Size 1) samples

let load (path: string) (scale: float) =
    checkScale "DepthMap.load" scale
    let info = Image.info path
    if info.Bits <> 16 || info.Channels <> 1 then
        raise (ImageFileException(path, sprintf "not a depth map: expected a 16-bit grey PNG, found %d-bit with %d channels" info.Bits info.Channels))
    use raw = Image.readRaw Image.defaultMaxPixels true path // (H, W, 1) float32 sample / 65535
    let h, w = raw.Size 0, raw.Size 1
    // sample/65535 in float32 is within half a unit of the sample, so rounding recovers it
    let depth = raw.ToFloat32s() |> Array.map (fun f -> float32 (Math.Round(float f * 65535.0) * scale))
    let mask = depth |> Array.map (fun z -> z > 0.0f)
    Tensor.ofArray (depth, [ h; w ]), Tensor.ofArray (mask, [ h; w ])
