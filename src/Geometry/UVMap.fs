[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Reconstruct.Geometry.UVMap

open System
open System.Collections.Generic
open Reconstruct.Torch

let sphericalPerVertex (vertices: Tensor) =
    Shape.expect "UVMap.sphericalPerVertex" "vertices" vertices.Shape [ 1 .. 6 ] [ 3 ]
    Scoped.run (fun () ->
        let x, y, z = vertices.select (-1, 0), vertices.select (-1, 1), vertices.select (-1, 2)
        let r = (vertices.norm (2.0, -1)).clamp (min = 1e-12)
        let theta = ((y / r).clamp (-1.0, 1.0)).acos ()
        let phi = Tensor.atan2 (x, z)
        Tensor.stack ([ (phi + Math.PI) / (2.0 * Math.PI); theta / Math.PI ], -1))

/// Per-vertex (u, v) on the host, same formula; u of a pole vertex is 1/2.
let private vertexUV (p: float[]) =
    let r = sqrt (p.[0] * p.[0] + p.[1] * p.[1] + p.[2] * p.[2])
    if r = 0.0 then 0.5, 0.5
    else
        let theta = Math.Acos(Math.Clamp(p.[1] / r, -1.0, 1.0))
        let phi = Math.Atan2(p.[0], p.[2])
        (phi + Math.PI) / (2.0 * Math.PI), theta / Math.PI

let sphericalOfArrays (vertices: float[][]) (faces: int[][]) : UVMap =
    let nv = vertices.Length
    let baseUV = vertices |> Array.map vertexUV
    let isPole =
        vertices
        |> Array.map (fun p ->
            let r2 = p.[0] * p.[0] + p.[1] * p.[1] + p.[2] * p.[2]
            p.[0] * p.[0] + p.[2] * p.[2] <= 1e-12 * r2)
    let coords = List<float * float>(baseUV)
    let extra = Dictionary<struct (int * float), int>()
    let coordIndex (vertex: int) (u: float) =
        if u = fst baseUV.[vertex] then vertex
        else
            let key = struct (vertex, u)
            match extra.TryGetValue key with
            | true, k -> k
            | _ ->
                coords.Add((u, snd baseUV.[vertex]))
                extra.[key] <- coords.Count - 1
                coords.Count - 1
    let faceUV =
        faces
        |> Array.mapi (fun fi f ->
            if f.Length <> 3 then invalidArg "faces" (sprintf "UVMap.spherical: face %d has %d corners, expected 3" fi f.Length)
            for k in f do
                if k < 0 || k >= nv then invalidArg "faces" (sprintf "UVMap.spherical: face %d uses vertex %d, out of range for %d vertices" fi k nv)
            let regular = f |> Array.filter (fun k -> not isPole.[k]) |> Array.map (fun k -> fst baseUV.[k])
            let crosses = regular.Length > 1 && Array.max regular - Array.min regular > 0.5
            let adjust (u: float) = if crosses && u < 0.5 then u + 1.0 else u
            let poleU = if regular.Length = 0 then 0.5 else (regular |> Array.map adjust |> Array.average)
            f |> Array.map (fun k -> coordIndex k (if isPole.[k] then poleU else adjust (fst baseUV.[k]))))
    let c = coords.ToArray() |> Array.collect (fun (u, v) -> [| float32 u; float32 v |])
    { Coords = Tensor.ofArray (c, [ coords.Count; 2 ])
      Faces = Tensor.ofArray (faceUV |> Array.collect (Array.map int64), [ faces.Length; 3 ]) }

let spherical (vertices: Tensor) (faces: Tensor) : UVMap =
    Shape.expectFaces "UVMap.spherical" faces.Dtype faces.Shape
    let v =
        match vertices.Shape with
        | [| _; 3 |] -> Scoped.host64 vertices
        | [| 1; _; 3 |] -> Scoped.host64 vertices
        | s -> invalidArg "vertices" (sprintf "UVMap.spherical: vertices must be (V, 3) or (1, V, 3), received %s" (Shape.text s))
    let f = Scoped.hostInt64 faces
    sphericalOfArrays
        (Array.init (v.Length / 3) (fun i -> [| v.[3 * i]; v.[3 * i + 1]; v.[3 * i + 2] |]))
        (Array.init (f.Length / 3) (fun i -> [| int f.[3 * i]; int f.[3 * i + 1]; int f.[3 * i + 2] |]))

let ofPerVertex (uv: Tensor) (faces: Tensor) : UVMap = { Coords = uv; Faces = faces }

let faceCoords (uvs: UVMap) =
    Scoped.run (fun () ->
        let nf = uvs.Faces.Size 0
        (uvs.Coords.indexSelect (0, uvs.Faces.reshape [ -1 ])).reshape [ nf; 3; 2 ])
