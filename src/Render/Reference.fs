module Reconstruct.Render.Reference

open Reconstruct.Torch
open Reconstruct.Geometry

let private centres (n: int) (dtype: Dtype) =
    Scoped.run (fun () -> (Tensor.ofArray (Array.init n (fun k -> (2.0 * float k + 1.0) / float n - 1.0))).cast dtype)

/// Every (pixel, face) pair at once. Shapes: (N, H, W, F) per pair, (N, 1, 1, F) per face.
type private Pairs =
    { /// squared distance from the pixel centre to the face boundary (min over 3 clamped segments)
      D2: Tensor
      /// pixel centre strictly inside a non-degenerate face
      Inside: Tensor
      /// screen barycentrics by Cramer's rule (finite but meaningless for degenerate faces)
      Bary: Tensor[]
      /// vertex depths, 1 where the face is unusable so that nothing divides by them
      Z: Tensor[]
      /// every vertex depth > znear
      Usable: Tensor
      /// |doubled area| <= 1e-10
      Degenerate: Tensor
      /// counter-clockwise seen from outside: negative doubled area in x-right/y-down NDC
      Front: Tensor }

/// The pairs of fv (N, F, 3, 3) [x_ndc, y_ndc, z_view] with the pixel centres of an H × W
/// image; the tensors land in the caller's disposal scope.
let private pairs (h: int) (w: int) (znear: float) (fv: Tensor) =
    let n, f, dt = fv.Shape.[0], fv.Shape.[1], fv.Dtype
    let coord v c = (fv.select(2, v).select (2, c)).reshape [ n; 1; 1; f ]
    let x = Array.init 3 (fun v -> coord v 0)
    let y = Array.init 3 (fun v -> coord v 1)
    let zRaw = Array.init 3 (fun v -> coord v 2)
    let usable = ((zRaw.[0].gt znear).logicalAnd (zRaw.[1].gt znear)).logicalAnd (zRaw.[2].gt znear)
    let z = zRaw |> Array.map (fun zk -> Tensor.where (usable, zk, zk.onesLike ()))
    let px = (centres w dt).reshape [ 1; 1; w; 1 ]
    let py = (centres h dt).reshape [ 1; h; 1; 1 ]
    let segment k =
        let m = (k + 1) % 3
        let ex, ey = x.[m] - x.[k], y.[m] - y.[k]
        let dx, dy = px - x.[k], py - y.[k]
        let l2 = ex * ex + ey * ey
        // a point edge (duplicate vertices) is its first vertex
        let t = ((dx * ex + dy * ey) / l2.clamp (min = 1e-30)).clamp(0.0, 1.0) * (l2.gt 1e-20).cast dt
        let rx, ry = dx - t * ex, dy - t * ey
        rx * rx + ry * ry, ex * dy - ey * dx
    let segs = Array.init 3 segment
    let d2, _ = (Tensor.stack (Array.map fst segs, 4)).min 4
    let cross = Array.map snd segs
    let det = (x.[1] - x.[0]) * (y.[2] - y.[0]) - (x.[2] - x.[0]) * (y.[1] - y.[0])
    let degenerate = det.abs().le 1e-10
    let sgn = det.sign () * degenerate.logicalNot().cast dt
    let inside =
        (((cross.[0] * sgn).gt 0.0).logicalAnd ((cross.[1] * sgn).gt 0.0)).logicalAnd ((cross.[2] * sgn).gt 0.0)
    let safe = Tensor.where (degenerate, det.onesLike (), det)
    let b0 = ((y.[1] - y.[2]) * (px - x.[2]) + (x.[2] - x.[1]) * (py - y.[2])) / safe
    let b1 = ((y.[2] - y.[0]) * (px - x.[2]) + (x.[0] - x.[2]) * (py - y.[2])) / safe
    { D2 = d2
      Inside = inside
      Bary = [| b0; b1; 1.0 - b0 - b1 |]
      Z = z
      Usable = usable
      Degenerate = degenerate
      Front = det.lt 0.0 }

let soft (settings: SoftSettings) (faceVertices: Tensor) (faceColors: Tensor option) (background: float[]) =
    use scope = DisposalScope.Open()
    let s = settings
    let dt = faceVertices.Dtype
    let p = pairs s.Height s.Width s.ZNear faceVertices
    let thr = log (1.0 / s.DistEps - 1.0) * s.Sigma
    let inRange = p.Usable.logicalAnd (p.Inside.logicalOr (p.D2.lt thr))
    let x = Tensor.where (p.Inside, p.D2, -p.D2) / s.Sigma
    // 1 − D = sigmoid(−x) without cancellation; the product runs over all F faces
    let oneMinusD = Tensor.where (inRange, (-x).sigmoid (), x.onesLike ())
    let alpha = (1.0 - oneMinusD.prod 3).unsqueeze 1 // (N,1,H,W)
    match faceColors with
    | None -> scope.MoveOut alpha
    | Some colors ->
        let c = colors.Shape.[3]
        let clamped = p.Bary |> Array.map (fun b -> b.clamp (0.0, 1.0))
        let total = clamped.[0] + clamped.[1] + clamped.[2]
        let wh = clamped |> Array.map (fun b -> b / total)
        let zp = 1.0 / (wh.[0] / p.Z.[0] + wh.[1] / p.Z.[1] + wh.[2] / p.Z.[2])
        let zbar = (s.ZFar - zp) / (s.ZFar - s.ZNear)
        let facing = if s.DoubleSided then p.Front.onesLike () else p.Front
        let ok =
            inRange.logicalAnd(p.Degenerate.logicalNot ()).logicalAnd(facing).logicalAnd(zp.ge s.ZNear).logicalAnd (zp.le s.ZFar)
        // the result does not depend on the shift m; it only keeps exp from overflowing
        let zmax, _ = (Tensor.where (ok, zbar, zbar.fullLike -1e30)).detach().max (3, true)
        let m = zmax.clamp (min = s.EpsBackground)
        let zbarOk = Tensor.where (ok, zbar, m.expandAs zbar)
        let weight = Tensor.where (ok, x.sigmoid (), x.zerosLike ()) * ((zbarOk - m) / s.Gamma).exp () // (N,H,W,F)
        let wbg = ((m * -1.0 + s.EpsBackground) / s.Gamma).exp () // (N,H,W,1)
        let vertexColor k = let ck = colors.select (2, k) in ck.reshape [ ck.Shape.[0]; 1; 1; ck.Shape.[1]; c ]
        let faceColor = Array.init 3 (fun k -> wh.[k].unsqueeze -1 * vertexColor k) |> Array.reduce (+) // (N,H,W,F,C)
        let bg = (Tensor.ofArray (if isNull background || background.Length = 0 then Array.zeroCreate c else background)).cast dt
        let numerator = (weight.unsqueeze -1 * faceColor).sum 3 + wbg * bg
        let rgb = numerator / (weight.sum (3, true) + wbg) // (N,H,W,C)
        scope.MoveOut(Tensor.cat ([ rgb.permute [ 0; 3; 1; 2 ]; alpha ], 1))

let silhouette (settings: SoftSettings) (faceVertices: Tensor) = soft settings faceVertices None [||]

let topK (settings: RasterSettings) (verts: Tensor) (faces: Tensor) : Fragments =
    use scope = DisposalScope.Open()
    let s = settings
    let n, f = verts.Shape.[0], faces.Shape.[0]
    let h, w, k = s.Height, s.Width, s.FacesPerPixel
    let p = pairs h w s.ZNear (Mesh.faceVertices verts faces)
    let near = p.Inside.logicalOr (p.D2.lt s.BlurRadius)
    let facing = if s.CullBackfaces then p.Front else p.Front.onesLike ()
    let candidate0 = near.logicalAnd(p.Usable).logicalAnd(p.Degenerate.logicalNot ()).logicalAnd facing
    // with a blur radius an outside pair is taken at its face's nearest point in barycentric
    // terms (PyTorch3D's clip_barycentric_coords): clamped to >= 0 and renormalised
    let screen =
        if s.BlurRadius > 0.0 then
            let negative = ((p.Bary.[0].lt 0.0).logicalOr (p.Bary.[1].lt 0.0)).logicalOr (p.Bary.[2].lt 0.0)
            let clamped = p.Bary |> Array.map (fun b -> b.clamp (min = 0.0))
            let total = clamped.[0] + clamped.[1] + clamped.[2]
            Array.map2 (fun (b: Tensor) (c: Tensor) -> Tensor.where (negative, c / total, b)) p.Bary clamped
        else p.Bary
    let candidate1, z, bary =
        if s.PerspectiveCorrect then
            let q = Array.init 3 (fun i -> screen.[i] / p.Z.[i])
            let u = q.[0] + q.[1] + q.[2]
            let c = candidate0.logicalAnd (u.gt 1e-12)
            let z = 1.0 / Tensor.where (c, u, u.onesLike ())
            c, z, q |> Array.map (fun qi -> qi * z)
        else
            candidate0, screen.[0] * p.Z.[0] + screen.[1] * p.Z.[1] + screen.[2] * p.Z.[2], screen
    let candidate = candidate1.logicalAnd (z.gt s.ZNear)
    // ties go to the smaller face index, as in the kernel: clipped barycentrics make them
    // common (every face clipped to a shared vertex has that vertex's depth). The factor
    // reorders only depths closer than 1e-13·F relative, which random inputs do not have.
    let tieBreak = 1.0 + 1e-13 * (Tensor.arange f).cast(Float64).reshape [ 1; 1; 1; f ]
    let key = Tensor.where (candidate, z.detach().cast Float64 * tieBreak, (z.fullLike infinity).cast Float64)
    let sorted, order = key.sort 3
    let kk = min k f
    let keys, idx = sorted.narrow (3, 0, kk), order.narrow (3, 0, kk)
    let valid = keys.lt infinity
    let signed = Tensor.where (p.Inside, -p.D2, p.D2)
    let orMinus1 (m: Tensor) (t: Tensor) = Tensor.where (m, t, t.fullLike -1.0)
    let pad (t: Tensor) =
        if kk = k then t
        else
            let shape = Array.copy t.Shape
            shape.[3] <- k - kk
            Tensor.cat ([ t; Tensor.full (shape, -1.0, t.Dtype) ], 3)
    let baryAll = Tensor.stack (bary, 4) // (N,H,W,F,3)
    let baryK = baryAll.gather (3, idx.unsqueeze(4).expand [ n; h; w; kk; 3 ])
    let count = candidate.sum 3 // (N,H,W) int64
    { PixToFace = scope.MoveOut(pad (orMinus1 valid idx))
      Bary = scope.MoveOut(pad (orMinus1 (valid.unsqueeze 4) baryK))
      Zbuf = scope.MoveOut(pad (orMinus1 valid (z.gather (3, idx))))
      Dists = scope.MoveOut(pad (orMinus1 valid (signed.gather (3, idx))))
      Overflow = scope.MoveOut((count.gt (float k)).sum [| 1; 2 |]) }

let textured (settings: RasterSettings) (sigma: float) (verts: Tensor) (faces: Tensor) (uvs: Tensor) (uvImage: Tensor) (background: Tensor) =
    use scope = DisposalScope.Open()
    let n, f, k = verts.Shape.[0], faces.Shape.[0], settings.FacesPerPixel
    let h, w, c = settings.Height, settings.Width, uvImage.Shape.[1]
    let fr = topK settings verts faces
    let valid = fr.PixToFace.ge 0.0
    // empty slots read face 0 and get weight 0 below
    let face = (fr.PixToFace.maskedFill (valid.logicalNot (), 0.0)).flatten ()
    let uvPerFace = ((uvs.cast verts.Dtype).indexSelect (0, faces.flatten ())).reshape [ f; 3; 2 ]
    let uvK = (uvPerFace.indexSelect (0, face)).reshape [ n; h; w; k; 3; 2 ]
    let uv = (fr.Bary.unsqueeze 5 * uvK).sum 4 // (N,H,W,K,2)
    let grid = (uv * 2.0 - 1.0).reshape [ n; h; w * k; 2 ]
    let texels = (Functional.gridSample Interpolation.Bilinear GridPadding.Border false grid uvImage).reshape [ n; c; h; w; k ]
    let alpha = (fr.Dists.clamp(min = 0.0) * (-1.0 / sigma)).exp () * valid.cast verts.Dtype // (N,H,W,K)
    let through = (1.0 - alpha).cumprod 3
    let before = Tensor.cat ([ through.narrow(3, 0, 1).onesLike (); through.narrow (3, 0, k - 1) ], 3)
    let weights = (before * alpha).unsqueeze 1 // (N,1,H,W,K)
    let last = through.narrow(3, k - 1, 1).permute [ 0; 3; 1; 2 ] // (N,1,H,W)
    // the layers blend over white; the image is then composited over the background
    let rgb = (weights * texels).sum 4 + last
    let a = 1.0 - last
    scope.MoveOut(rgb * a + (1.0 - a) * background), scope.MoveOut a

let pointSplat (settings: PointSplatSettings) (xy: Tensor) (depth: Tensor) (rgb: Tensor) =
    use scope = DisposalScope.Open()
    let s = settings
    let b, n, c = xy.Shape.[0], xy.Shape.[1], rgb.Shape.[2]
    let h, w, dt = s.Height, s.Width, xy.Dtype
    let pixelCentres k = (Tensor.ofArray (Array.init k (fun i -> float i + 0.5))).cast dt
    // every point's offset from every column centre (B, 1, W, N) and row centre (B, H, 1, N)
    let dx = (xy.select (2, 0)).reshape [ b; 1; 1; n ] - (pixelCentres w).reshape [ 1; 1; w; 1 ]
    let dy = (xy.select (2, 1)).reshape [ b; 1; 1; n ] - (pixelCentres h).reshape [ 1; h; 1; 1 ]
    let within (half: float) = (dx.abs().le half).logicalAnd (dy.abs().le half) // (B, H, W, N)
    let gauss = ((dx.square () + dy.square ()) / (-2.0 * s.Sigma2)).exp ()
    let window = within (s.Radius * sqrt s.Sigma2)
    let mask = ((Tensor.where (window, gauss, gauss.zerosLike ())).sum 3).tanh().unsqueeze 1
    let well = within 1.0
    let logit = (s.Sharpness / (depth + (s.DepthOffset + 1e-5))).reshape [ b; 1; 1; n ]
    // logits are positive (Sharpness > 0, positive denominators), so filling the points outside
    // the well with 0 leaves the well's largest logit as the maximum, and 0 where the well is empty
    let top, _ = (Tensor.where (well, logit, logit.zerosLike ())).detach().max (3, true)
    // outside the well the exponent is 0, not logit − top, which can overflow and poison the
    // gradient of the where with 0·inf
    let e = (Tensor.where (well, logit - top, top.zerosLike ())).exp () * well.cast dt
    let total = e.sum (3, true)
    let weights = e / Tensor.where (total.gt 0.0, total, total.onesLike ())
    let colour = (weights.reshape [ b; h * w; n ]).matmul rgb // (B, H·W, C)
    scope.MoveOut mask, scope.MoveOut((colour.permute [ 0; 2; 1 ]).reshape [ b; c; h; w ])

let projectRandomPoses (seed: int) (n: int) (scale: float[]) (distance: float) (fovDegrees: float) (verts: float[][]) (dtype: Dtype) =
    let random = Seed.stream (uint64 seed) "render/random-poses"
    // normalised Gaussian quaternions are uniform on SO(3)
    let quaternions = Array.init (4 * n) (fun _ -> random.Gaussian())
    Scoped.run (fun () ->
        let spin = Rotation.fromQuaternion (Tensor.ofArray (quaternions, [ n; 4 ]))
        // object +y up, +z towards the viewer -> camera y down, z forward
        let flip = Tensor.ofArray ([| 1.0; 0.0; 0.0; 0.0; -1.0; 0.0; 0.0; 0.0; -1.0 |], [ 3; 3 ])
        let pose =
            Camera.pose (flip.matmul spin) ((Tensor.ofArray [| 0.0; 0.0; distance |]).expand [ n; 3 ])
            |> Camera.withScale ((Tensor.ofArray scale).expand [ n; 3 ])
        let points = (Tensor.ofArray (Array.concat verts, [ 1; verts.Length; 3 ])).expand [ n; verts.Length; 3 ]
        // NDC depends on the aspect ratio only, not on the pixel count
        (Camera.projectNdc (Camera.square fovDegrees 1) pose points).cast dtype)
