namespace Reconstruct.Geometry

open Reconstruct.Torch

type Similarity =
    { Scale: Tensor
      Rotation: Tensor
      Translation: Tensor }

module Similarity =

    let identity (b: int) (dtype: Dtype) =
        { Scale = Tensor.ones ([ b ], dtype)
          Rotation = Scoped.run (fun () -> (Tensor.eye (3, dtype)).expand([ b; 3; 3 ]).contiguous ())
          Translation = Tensor.zeros ([ b; 3 ], dtype) }

    let apply (sim: Similarity) (points: Tensor) =
        Shape.expect "Similarity.apply" "points" points.Shape [ 3 ] [ 3 ]
        Scoped.run (fun () ->
            let rotated = points.matmul sim.Rotation.mT
            rotated * sim.Scale.reshape [ -1; 1; 1 ] + sim.Translation.unsqueeze 1)

    let inverse (sim: Similarity) =
        use scope = DisposalScope.Open()
        let rt = sim.Rotation.mT.contiguous ()
        let inv = 1.0 / sim.Scale
        let t = -((rt.matmul (sim.Translation.unsqueeze(-1))).squeeze(-1) * inv.unsqueeze 1)
        { Scale = scope.MoveOut inv; Rotation = scope.MoveOut rt; Translation = scope.MoveOut t }

    let umeyama (withScale: bool) (source: Tensor) (target: Tensor) =
        Shape.expect "Similarity.umeyama" "source" source.Shape [ 3 ] [ 3 ]
        Shape.expect "Similarity.umeyama" "target" target.Shape [ 3 ] [ 3 ]
        if source.Shape <> target.Shape then
            invalidArg "target" (sprintf "Similarity.umeyama: source %s and target %s must have the same shape" (Shape.text source.Shape) (Shape.text target.Shape))
        if source.Size 1 < 3 then
            invalidArg "source" (sprintf "Similarity.umeyama: needs at least 3 points, received %d" (source.Size 1))
        use scope = DisposalScope.Open()
        let n = float (source.Size 1)
        let muX = source.mean (1, true)
        let muY = target.mean (1, true)
        let x0 = source - muX
        let y0 = target - muY
        let cov = (y0.mT.matmul x0) / n // (B, 3, 3) = E[(y - μy)(x - μx)ᵀ]
        let u, sv, vh = cov.svd ()
        let det = u.det () * vh.det ()
        let ones = det.onesLike ()
        let d = Tensor.where (det.lt 0.0, -ones, ones) // -1 when U Vᵀ would be a reflection
        let diag = Tensor.stack ([ ones; ones; d ], -1) // (B, 3)
        let r = (u * diag.unsqueeze 1).matmul vh
        let s =
            if withScale then
                let varX = (x0.square ()).sum ([| 1; 2 |]) / n
                (sv * diag).sum (-1) / varX.clamp (min = 1e-30)
            else ones
        let t = muY.squeeze 1 - s.unsqueeze 1 * (r.matmul (muX.squeeze(1).unsqueeze(-1))).squeeze(-1)
        { Scale = scope.MoveOut s; Rotation = scope.MoveOut r; Translation = scope.MoveOut t }
