namespace Reconstruct.Geometry

open Reconstruct.Torch

type SurfaceSamples =
    { Points: Tensor
      Normals: Tensor
      FaceIndex: Tensor
      Barycentric: Tensor }

module Sampling =

    let private multinomial = Op("aten::multinomial")

    let surfacePoints (generator: Generator) (count: int) (vertices: Tensor) (faces: Tensor) =
        Shape.expect "Sampling.surfacePoints" "vertices" vertices.Shape [ 3 ] [ 3 ]
        Shape.expectFaces "Sampling.surfacePoints" faces.Dtype faces.Shape
        if count <= 0 then invalidArg "count" (sprintf "Sampling.surfacePoints: count must be positive, received %d" count)
        use scope = DisposalScope.Open()
        let b, nf = vertices.Size 0, faces.Size 0
        let cross = Mesh.faceCross vertices faces // (B, F, 3)
        let areas = (cross.detach ()).norm (2.0, -1) // (B, F), twice the areas
        let total = (areas.sum (-1)).ToFloat64s()
        total
        |> Array.iteri (fun k a ->
            if not (a > 0.0) then invalidArg "vertices" (sprintf "Sampling.surfacePoints: mesh %d has total area %g; cannot sample" k a))
        let faceIndex =
            Tensor.Call(
                multinomial,
                Arg.T(areas.cast Float64),
                Arg.I(int64 count),
                Arg.B true,
                Arg.Named("generator", Arg.G generator))
        let corners = (Mesh.faceVertices vertices faces).reshape [ b; nf; 9 ]
        let picked = (corners.gather (1, (faceIndex.unsqueeze 2).expand [ b; count; 9 ])).reshape [ b; count; 3; 3 ]
        let r = Tensor.rand ([ b; count; 2 ], generator, vertices.Dtype)
        let s1 = (r.select (-1, 0)).sqrt ()
        let r2 = r.select (-1, 1)
        let w = Tensor.stack ([ 1.0 - s1; s1 * (1.0 - r2); s1 * r2 ], -1) // (B, N, 3)
        let points = (picked * w.unsqueeze 3).sum 2
        let nrm = cross / (cross.norm (2.0, -1, true)).clamp (min = 1e-12)
        let normals = nrm.gather (1, (faceIndex.unsqueeze 2).expand [ b; count; 3 ])
        { Points = scope.MoveOut points
          Normals = scope.MoveOut normals
          FaceIndex = scope.MoveOut faceIndex
          Barycentric = scope.MoveOut w }
