module Reconstruct.Geometry.Regularizers

open Reconstruct.Torch

let private checkVertices (fn: string) (topology: Topology) (vertices: Tensor) =
    Shape.expect fn "vertices" vertices.Shape [ 3 ] [ 3 ]
    if vertices.Size 1 <> topology.VertexCount then
        invalidArg "vertices" (sprintf "%s: vertices have %d points, topology has %d" fn (vertices.Size 1) topology.VertexCount)

/// Interior edges as four (I,) index tensors: edge ends a, b and opposite vertices c (face 1), d (face 2).
let private interiorQuad (topology: Topology) =
    let e = topology.Edges.indexSelect (0, topology.Interior)
    let o = topology.EdgeOpposite.indexSelect (0, topology.Interior)
    e.select (1, 0), e.select (1, 1), o.select (1, 0), o.select (1, 1)

let normalConsistency (topology: Topology) (vertices: Tensor) =
    checkVertices "Regularizers.normalConsistency" topology vertices
    Scoped.run (fun () ->
        if topology.Interior.Size 0 = 0 then Tensor.zeros ([ vertices.Size 0 ], vertices.Dtype)
        else
            let n = Mesh.faceNormals vertices topology.Faces // (B, F, 3)
            let ef = topology.EdgeFaces.indexSelect (0, topology.Interior)
            let n1 = n.indexSelect (1, ef.select (1, 0))
            let n2 = n.indexSelect (1, ef.select (1, 1))
            (1.0 - (n1 * n2).sum (-1)).mean (-1))

let laplacianSmoothing (topology: Topology) (vertices: Tensor) =
    checkVertices "Regularizers.laplacianSmoothing" topology vertices
    Scoped.run (fun () -> ((Mesh.uniformLaplacian topology vertices).norm (2.0, -1)).mean (-1))

let laplacianSquared (topology: Topology) (vertices: Tensor) =
    checkVertices "Regularizers.laplacianSquared" topology vertices
    Scoped.run (fun () -> ((Mesh.uniformLaplacian topology vertices).square ()).sum ([| 1; 2 |]))

let flatten (topology: Topology) (vertices: Tensor) =
    checkVertices "Regularizers.flatten" topology vertices
    Scoped.run (fun () ->
        if topology.Interior.Size 0 = 0 then Tensor.zeros ([ vertices.Size 0 ], vertices.Dtype)
        else
            let ia, ib, ic, id = interiorQuad topology
            let a, b = vertices.indexSelect (1, ia), vertices.indexSelect (1, ib)
            let c, d = vertices.indexSelect (1, ic), vertices.indexSelect (1, id)
            let edge = b - a
            let len2 = ((edge.square ()).sum (-1, true)).clamp (min = 1e-12)
            // Component of (p - a) perpendicular to the edge.
            let perpendicular (p: Tensor) =
                let w = p - a
                w - edge * ((w * edge).sum (-1, true) / len2)
            let p1, p2 = perpendicular c, perpendicular d
            let cos = (p1 * p2).sum (-1) / ((p1.norm (2.0, -1) * p2.norm (2.0, -1)).clamp (min = 1e-12))
            ((cos + 1.0).square ()).sum (-1))
