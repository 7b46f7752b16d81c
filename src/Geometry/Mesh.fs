namespace Reconstruct.Geometry

open System
open System.Collections.Generic
open Reconstruct.Torch

type UVMap =
    { Coords: Tensor
      Faces: Tensor }

type Mesh =
    { Vertices: Tensor
      Faces: Tensor
      UVs: UVMap option }

type Topology =
    { VertexCount: int
      FaceCount: int
      Faces: Tensor
      Edges: Tensor
      EdgeFaces: Tensor
      EdgeOpposite: Tensor
      Interior: Tensor
      Degree: Tensor }

module Mesh =

    let validate (fn: string) (mesh: Mesh) =
        Shape.expect fn "vertices" mesh.Vertices.Shape [ 3 ] [ 3 ]
        Shape.expectFaces fn mesh.Faces.Dtype mesh.Faces.Shape
        use _ = DisposalScope.Open()
        use _ = Autograd.noGrad ()
        if mesh.Vertices.isfinite().all().ToScalar() = 0.0 then
            // Only on failure: find which vertex, on the host.
            let values = Scoped.host64 mesh.Vertices
            let bad = values |> Array.indexed |> Array.filter (fun (_, x) -> not (Double.IsFinite x)) |> Array.map fst
            let v = mesh.Vertices.Size 1
            let first = bad.[0] / 3
            invalidArg "vertices" (sprintf "%s: %d coordinates are NaN or infinite, the first in vertex %d of mesh %d" fn bad.Length (first % v) (first / v))
        if mesh.Faces.Size 0 > 0 then
            let lo, hi = mesh.Faces.min().ToScalar(), mesh.Faces.max().ToScalar()
            let v = mesh.Vertices.Size 1
            if lo < 0.0 || hi >= float v then
                invalidArg "faces" (sprintf "%s: faces index vertices %g to %g, but the mesh has %d vertices (0 to %d)" fn lo hi v (v - 1))

    let create (vertices: Tensor) (faces: Tensor) =
        let mesh = { Vertices = vertices; Faces = faces; UVs = None }
        validate "Mesh.create" mesh
        mesh

    let withUVs (uvs: UVMap) (mesh: Mesh) = { mesh with UVs = Some uvs }
    let batchSize (mesh: Mesh) = mesh.Vertices.Size 0
    let vertexCount (mesh: Mesh) = mesh.Vertices.Size 1
    let faceCount (mesh: Mesh) = mesh.Faces.Size 0

    let item (k: int) (mesh: Mesh) =
        let b = batchSize mesh
        if k < 0 || k >= b then invalidArg "k" (sprintf "Mesh.item: index %d out of range for a batch of %d" k b)
        { mesh with Vertices = mesh.Vertices.narrow (0, k, 1) }

    let expandBatch (b: int) (mesh: Mesh) =
        if batchSize mesh <> 1 then invalidArg "mesh" (sprintf "Mesh.expandBatch: needs a batch of 1, received %d" (batchSize mesh))
        { mesh with Vertices = mesh.Vertices.expand [ b; vertexCount mesh; 3 ] }

    let toArrays (mesh: Mesh) : float[][] * int[][] =
        if batchSize mesh <> 1 then invalidArg "mesh" (sprintf "Mesh.toArrays: needs a batch of 1, received %d" (batchSize mesh))
        let v = Scoped.host64 mesh.Vertices
        let f = Scoped.hostInt64 mesh.Faces
        Array.init (v.Length / 3) (fun i -> [| v.[3 * i]; v.[3 * i + 1]; v.[3 * i + 2] |]),
        Array.init (f.Length / 3) (fun i -> [| int f.[3 * i]; int f.[3 * i + 1]; int f.[3 * i + 2] |])

    let ofArrays (vertices: float[][]) (faces: int[][]) =
        let v = vertices |> Array.collect (fun p -> [| float32 p.[0]; float32 p.[1]; float32 p.[2] |])
        let f = faces |> Array.collect (fun t -> [| int64 t.[0]; int64 t.[1]; int64 t.[2] |])
        let mesh =
            { Vertices = Tensor.ofArray (v, [ 1; vertices.Length; 3 ])
              Faces = Tensor.ofArray (f, [ faces.Length; 3 ])
              UVs = None }
        try validate "Mesh.ofArrays" mesh
        with _ ->
            (mesh.Vertices :> IDisposable).Dispose()
            (mesh.Faces :> IDisposable).Dispose()
            reraise ()
        mesh

    // ------------------------------------------------------------------ icosphere

    let private icosahedron () =
        let t = (1.0 + sqrt 5.0) / 2.0
        let v =
            [| [| -1.0; t; 0.0 |]; [| 1.0; t; 0.0 |]; [| -1.0; -t; 0.0 |]; [| 1.0; -t; 0.0 |]
               [| 0.0; -1.0; t |]; [| 0.0; 1.0; t |]; [| 0.0; -1.0; -t |]; [| 0.0; 1.0; -t |]
               [| t; 0.0; -1.0 |]; [| t; 0.0; 1.0 |]; [| -t; 0.0; -1.0 |]; [| -t; 0.0; 1.0 |] |]
        let f =
            [| [| 0; 11; 5 |]; [| 0; 5; 1 |]; [| 0; 1; 7 |]; [| 0; 7; 10 |]; [| 0; 10; 11 |]
               [| 1; 5; 9 |]; [| 5; 11; 4 |]; [| 11; 10; 2 |]; [| 10; 7; 6 |]; [| 7; 1; 8 |]
               [| 3; 9; 4 |]; [| 3; 4; 2 |]; [| 3; 2; 6 |]; [| 3; 6; 8 |]; [| 3; 8; 9 |]
               [| 4; 9; 5 |]; [| 2; 4; 11 |]; [| 6; 2; 10 |]; [| 8; 6; 7 |]; [| 9; 8; 1 |] |]
        v, f

    let private normalized (p: float[]) =
        let n = sqrt (p.[0] * p.[0] + p.[1] * p.[1] + p.[2] * p.[2])
        [| p.[0] / n; p.[1] / n; p.[2] / n |]

    let icosphereArrays (level: int) : float[][] * int[][] =
        if level < 0 || level > 8 then invalidArg "level" (sprintf "icosphere: level must be in 0..8, received %d" level)
        let v0, f0 = icosahedron ()
        let verts = List<float[]>(v0 |> Array.map normalized)
        let mutable faces = f0
        for _ in 1 .. level do
            let midpoints = Dictionary<struct (int * int), int>()
            let mid a b =
                let key = struct (min a b, max a b)
                match midpoints.TryGetValue key with
                | true, m -> m
                | _ ->
                    let pa, pb = verts.[a], verts.[b]
                    verts.Add(normalized [| pa.[0] + pb.[0]; pa.[1] + pb.[1]; pa.[2] + pb.[2] |])
                    midpoints.[key] <- verts.Count - 1
                    verts.Count - 1
            faces <-
                faces
                |> Array.collect (fun f ->
                    let a, b, c = f.[0], f.[1], f.[2]
                    let ab, bc, ca = mid a b, mid b c, mid c a
                    [| [| a; ab; ca |]; [| b; bc; ab |]; [| c; ca; bc |]; [| ab; bc; ca |] |])
        verts.ToArray(), faces

    let icosphere (level: int) =
        let v, f = icosphereArrays level
        ofArrays v f

    let scaleAxes (sx: float, sy: float, sz: float) (vertices: Tensor) =
        Scoped.run (fun () ->
            use s = (Tensor.ofArray [| sx; sy; sz |]).cast vertices.Dtype
            vertices * s)

    // ------------------------------------------------------------------ per-face quantities

    let faceVertices (vertices: Tensor) (faces: Tensor) =
        Shape.expect "Mesh.faceVertices" "vertices" vertices.Shape [ 3 ] [ 3 ]
        Shape.expectFaces "Mesh.faceVertices" faces.Dtype faces.Shape
        Scoped.run (fun () ->
            let b = vertices.Size 0
            let flat = faces.reshape [ -1 ]
            (vertices.indexSelect (1, flat)).reshape [ b; faces.Size 0; 3; 3 ])

    let faceCross (vertices: Tensor) (faces: Tensor) =
        Scoped.run (fun () ->
            let fv = faceVertices vertices faces
            let v0, v1, v2 = fv.select (2, 0), fv.select (2, 1), fv.select (2, 2)
            (v1 - v0).cross (v2 - v0, -1))

    let faceNormals (vertices: Tensor) (faces: Tensor) =
        Scoped.run (fun () ->
            let c = faceCross vertices faces
            c / (c.norm (2.0, -1, true)).clamp (min = 1e-12))

    let faceAreas (vertices: Tensor) (faces: Tensor) =
        Scoped.run (fun () -> (faceCross vertices faces).norm (2.0, -1) * 0.5)

    let vertexNormals (vertices: Tensor) (faces: Tensor) =
        Scoped.run (fun () ->
            let b, v = vertices.Size 0, vertices.Size 1
            let c = faceCross vertices faces // (B, F, 3), length = 2 * area
            let nf = faces.Size 0
            // Each face adds its cross product to its three corners.
            let src = (c.unsqueeze 2).expand([ b; nf; 3; 3 ]).reshape [ b; nf * 3; 3 ]
            let idx = ((faces.reshape [ 1; nf * 3; 1 ]).expand [ b; nf * 3; 3 ]).contiguous ()
            let sum = (Tensor.zeros ([ b; v; 3 ], vertices.Dtype)).scatterAdd (1, idx, src)
            sum / (sum.norm (2.0, -1, true)).clamp (min = 1e-12))

    // ------------------------------------------------------------------ topology

    let topologyOfArrays (vertexCount: int) (faces: int[][]) =
        let index = Dictionary<struct (int * int), int>()
        let edges = List<int * int>()
        let edgeFaces = List<int[]>()
        let opposite = List<int[]>()
        for f in 0 .. faces.Length - 1 do
            let t = faces.[f]
            for k in 0 .. 2 do
                let a, b, c = t.[k], t.[(k + 1) % 3], t.[(k + 2) % 3]
                if a < 0 || a >= vertexCount then
                    invalidArg "faces" (sprintf "Mesh.topology: face %d uses vertex %d, out of range for %d vertices" f a vertexCount)
                let key = struct (min a b, max a b)
                match index.TryGetValue key with
                | true, e ->
                    if edgeFaces.[e].[1] >= 0 then
                        invalidArg "faces" (sprintf "Mesh.topology: edge (%d, %d) has more than two faces (%d, %d, %d); the mesh is not manifold" (min a b) (max a b) edgeFaces.[e].[0] edgeFaces.[e].[1] f)
                    edgeFaces.[e].[1] <- f
                    opposite.[e].[1] <- c
                | _ ->
                    index.[key] <- edges.Count
                    edges.Add((min a b, max a b))
                    edgeFaces.Add [| f; -1 |]
                    opposite.Add [| c; -1 |]
        let degree = Array.zeroCreate<int64> vertexCount
        for a, b in edges do
            degree.[a] <- degree.[a] + 1L
            degree.[b] <- degree.[b] + 1L
        let ne = edges.Count
        let interior = [| for e in 0 .. ne - 1 do if edgeFaces.[e].[1] >= 0 then int64 e |]
        { VertexCount = vertexCount
          FaceCount = faces.Length
          Faces = Tensor.ofArray (faces |> Array.collect (Array.map int64), [ faces.Length; 3 ])
          Edges = Tensor.ofArray (edges.ToArray() |> Array.collect (fun (a, b) -> [| int64 a; int64 b |]), [ ne; 2 ])
          EdgeFaces = Tensor.ofArray (edgeFaces.ToArray() |> Array.collect (Array.map int64), [ ne; 2 ])
          EdgeOpposite = Tensor.ofArray (opposite.ToArray() |> Array.collect (Array.map int64), [ ne; 2 ])
          Interior = Tensor.ofArray (interior, [ interior.Length ])
          Degree = Tensor.ofArray (degree, [ vertexCount ]) }

    let topology (vertexCount: int) (faces: Tensor) =
        Shape.expectFaces "Mesh.topology" faces.Dtype faces.Shape
        let f = faces.ToInt64s()
        topologyOfArrays vertexCount (Array.init (f.Length / 3) (fun i -> [| int f.[3 * i]; int f.[3 * i + 1]; int f.[3 * i + 2] |]))

    let edges (vertexCount: int) (faces: Tensor) = (topology vertexCount faces).Edges

    // ------------------------------------------------------------------ Laplacian

    let uniformLaplacian (topology: Topology) (vertices: Tensor) =
        Shape.expect "Mesh.uniformLaplacian" "vertices" vertices.Shape [ 3 ] [ 3 ]
        if vertices.Size 1 <> topology.VertexCount then
            invalidArg "vertices" (sprintf "Mesh.uniformLaplacian: vertices have %d points, topology has %d" (vertices.Size 1) topology.VertexCount)
        Scoped.run (fun () ->
            let b, v = vertices.Size 0, vertices.Size 1
            let e0, e1 = topology.Edges.select (1, 0), topology.Edges.select (1, 1)
            let src = Tensor.cat ([ e0; e1 ])
            let dst = Tensor.cat ([ e1; e0 ])
            let m = src.Size 0
            let gathered = vertices.indexSelect (1, src) // (B, 2E, 3)
            let idx = ((dst.reshape [ 1; m; 1 ]).expand [ b; m; 3 ]).contiguous ()
            let sum = (Tensor.zeros ([ b; v; 3 ], vertices.Dtype)).scatterAdd (1, idx, gathered)
            let deg = (topology.Degree.cast vertices.Dtype).reshape [ 1; v; 1 ]
            let hasNeighbours = deg.gt 0.0
            let mean = sum / deg.clamp (min = 1.0)
            Tensor.where (hasNeighbours, vertices - mean, vertices.zerosLike ()))

    let laplacianMatrix (topology: Topology) =
        let v = topology.VertexCount
        let e = topology.Edges.ToInt64s()
        let deg = topology.Degree.ToInt64s()
        let m = Array.zeroCreate<float> (v * v)
        for i in 0 .. v - 1 do
            if deg.[i] > 0L then m.[i * v + i] <- 1.0
        for k in 0 .. e.Length / 2 - 1 do
            let a, b = int e.[2 * k], int e.[2 * k + 1]
            m.[a * v + b] <- m.[a * v + b] - 1.0 / float deg.[a]
            m.[b * v + a] <- m.[b * v + a] - 1.0 / float deg.[b]
        Tensor.ofArray (m, [ v; v ])
