module Reconstruct.Geometry.Template

let ellipsoid (level: int) (sx: float, sy: float, sz: float) : Mesh =
    let v, f = Mesh.icosphereArrays level
    let scaled = v |> Array.map (fun p -> [| p.[0] * sx; p.[1] * sy; p.[2] * sz |])
    Mesh.ofArrays scaled f |> Mesh.withUVs (UVMap.sphericalOfArrays scaled f)

let unicorn (scale: float) = ellipsoid 3 (scale, 0.7 * scale, 0.7 * scale)
