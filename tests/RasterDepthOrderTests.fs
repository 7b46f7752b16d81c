/// The order of a pixel's K faces with a blur radius: a face just outside the pixel is taken at
/// its clipped barycentrics (clamped to >= 0, renormalised: PyTorch3D's
/// clip_barycentric_coords), so its depth is the depth of a point on the face, not of its
/// plane extended to the pixel. Without that, on a convex surface seen from outside the
/// neighbours' extended planes lie in front of the covering face, fill the K slots and the
/// object turns translucent. Brute-force loops, finite differences in float64, threads, and
/// blur 0 pinned to the renders before the change.
module Reconstruct.Tests.RasterDepthOrderTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Render
open Reconstruct.Tests.TestHelpers
open Reconstruct.Tests.RenderTests

/// Mean alpha of `Stages.Render.textured` at K over the pixels the hard render covers: the
/// template at 32 random rotations, 64², σ = 1e-4, random texture and background.
let private coveredAlpha (ks: int list) =
    use scope = DisposalScope.Open()
    let template = Template.unicorn 0.4
    let faceUVs = UVMap.faceCoords template.UVs.Value
    let n, size, sigma = 32, 64, 1e-4
    use g = generator 91
    let vertices = template.Vertices.expand([ n; template.Vertices.Size 1; 3 ]).contiguous ()
    let translation = Tensor.ofArray ([| for _ in 1..n do yield! [| 0.0f; 0.0f; 2.732f |] |], [ n; 3 ])
    let pose = Camera.pose (Rotation.random g n Float32) translation
    let uvImage = Tensor.rand ([ n; 3; 64; 64 ], g)
    let background = Tensor.rand ([ n; 3; size; size ], g)
    use _ = Autograd.noGrad ()
    let _, hardAlpha = Reconstruct.Stages.Render.hard size 1 pose vertices template.Faces faceUVs uvImage background
    let covered = hardAlpha.gt 0.5
    let count = covered.sum().ToScalar()
    [ for k in ks do
          let settings = Reconstruct.Stages.Render.texturedSettings size sigma k
          let _, alpha = Reconstruct.Stages.Render.textured settings sigma pose vertices template.Faces faceUVs uvImage background
          k, (alpha * covered.cast Float32).sum().ToScalar() / count ]

/// The top-K lists by loops over every (pixel, face) pair: candidates inside the face or
/// within `blur` squared NDC distance of it, with depth > znear; barycentrics clipped when
/// blur > 0; sorted by (depth, face). fv: (F, 3, 3) values of one image. Per pixel the kept
/// (face, depth, b0, b1, b2) nearest first.
let private bruteForce (h: int) (w: int) (k: int) (blur: float) (persp: bool) (znear: float) (fv: float[]) (f: int) =
    let at face v c = fv.[(face * 3 + v) * 3 + c]
    Array.init (h * w) (fun p ->
        let px = (2.0 * float (p % w) + 1.0) / float w - 1.0
        let py = (2.0 * float (p / w) + 1.0) / float h - 1.0
        [| for face in 0 .. f - 1 do
               let x v = at face v 0
               let y v = at face v 1
               let z v = at face v 2
               let area = (x 1 - x 0) * (y 2 - y 0) - (y 1 - y 0) * (x 2 - x 0)
               if [ 0..2 ] |> List.forall (fun v -> z v > znear) && abs area > 1e-10 then
                   // w_v: the signed area opposite vertex v over the face's
                   let opposite v =
                       let a, b = (v + 1) % 3, (v + 2) % 3
                       ((x b - x a) * (py - y a) - (y b - y a) * (px - x a)) / area
                   let wv = Array.init 3 opposite
                   let inside = wv |> Array.forall (fun b -> b > 0.0)
                   let segment a =
                       let b = (a + 1) % 3
                       let ex, ey = x b - x a, y b - y a
                       let t = max 0.0 (min 1.0 (((px - x a) * ex + (py - y a) * ey) / (ex * ex + ey * ey)))
                       let rx, ry = px - x a - t * ex, py - y a - t * ey
                       rx * rx + ry * ry
                   let d2 = List.min [ segment 0; segment 1; segment 2 ]
                   if inside || d2 < blur then
                       let wc =
                           if blur > 0.0 && wv |> Array.exists (fun b -> b < 0.0) then
                               let m = wv |> Array.map (max 0.0)
                               m |> Array.map (fun b -> b / Array.sum m)
                           else wv
                       let depth, bary =
                           if persp then
                               let q = Array.init 3 (fun v -> wc.[v] / z v)
                               let zc = 1.0 / Array.sum q
                               zc, q |> Array.map (fun b -> b * zc)
                           else Array.sum (Array.init 3 (fun v -> wc.[v] * z v)), wc
                       if depth > znear then yield face, depth, bary |]
        |> Array.sortBy (fun (face, depth, _) -> depth, face)
        |> Array.truncate k)

/// Convex closed meshes seen from outside, the case the order decides: an icosphere of
/// `level` scaled to an ellipsoid, at `n` random rotations -> verts (n, V, 3), faces (F, 3).
let private ellipsoidScene (seed: int) (n: int) (level: int) (dtype: Dtype) =
    let v, fcs = icosphere level
    projectRandomPoses seed n [| 0.6; 0.42; 0.42 |] 2.732 30.0 v dtype, facesTensor fcs

/// FNV-1a over the bits of every value of the tensors (as float64).
let private fingerprint (tensors: Tensor list) =
    let mutable h = 14695981039346656037UL
    for t in tensors do
        for v in t.ToFloat64s() do
            h <- (h ^^^ uint64 (BitConverter.DoubleToInt64Bits v)) * 1099511628211UL
    h

[<Tests>]
let tests =
    testList "RasterDepthOrder" [
        test "the template is opaque at K = 8 with UNICORN's blur radius" {
            // before clipping: 0.08, 0.16, 0.41, 0.88 at K = 1, 2, 4, 8 (1.00 took K = 25)
            let table = coveredAlpha [ 1; 2; 3; 4; 5; 6; 8 ]
            printfn "RasterDepthOrder: mean alpha over the hard render's covered pixels: %s"
                (table |> List.map (fun (k, a) -> sprintf "K=%d %.3f" k a) |> String.concat ", ")
            let alpha = dict table
            Expect.isGreaterThan alpha.[8] 0.99 "mean alpha at K = 8"
            Expect.isGreaterThan alpha.[4] 0.7 "mean alpha at K = 4"
            Expect.isGreaterThan alpha.[2] 0.4 "mean alpha at K = 2"
            for (k0, a0), (k1, a1) in List.pairwise table do
                Expect.isGreaterThanOrEqual a1 a0 (sprintf "K = %d covers no less than K = %d" k1 k0)
        }

        test "the lists are the brute-force order of clipped depths" {
            use scope = DisposalScope.Open()
            let soup = let fv = randomFaces 92 2 12 0.4 Float64 in soupMesh fv
            let closed = ellipsoidScene 93 2 1 Float64
            for name, (verts: Tensor, faces: Tensor) in [ "soup", soup; "ellipsoid", closed ] do
                let f = faces.Shape.[0]
                let fvAll = (faceVerticesOf verts faces).ToFloat64s()
                for k, blur, persp in [ 3, 0.01, false; 3, 0.01, true; 6, 0.004, true; 2, 0.0, true ] do
                    let s = { RasterSettings.Defaults with Height = 16; Width = 15; FacesPerPixel = k; BlurRadius = blur; PerspectiveCorrect = persp; ZNear = 0.1 }
                    let what = sprintf "%s K=%d blur=%g persp=%b" name k blur persp
                    let fr = Rasterizer.rasterize s verts faces
                    let p2f, zbuf, bary = fr.PixToFace.ToInt64s(), fr.Zbuf.ToFloat64s(), fr.Bary.ToFloat64s()
                    let mutable outside = 0
                    for b in 0..1 do
                        let lists = bruteForce 16 15 k blur persp 0.1 fvAll.[b * f * 9 .. (b + 1) * f * 9 - 1] f
                        lists |> Array.iteri (fun p list ->
                            for slot in 0 .. k - 1 do
                                let at = (b * 240 + p) * k + slot
                                if slot < list.Length then
                                    let face, depth, bc = list.[slot]
                                    if p2f.[at] <> int64 face then
                                        failwithf "%s: image %d pixel %d slot %d holds face %d, brute force %d" what b p slot p2f.[at] face
                                    if abs (zbuf.[at] - depth) > 1e-12 then failwithf "%s: zbuf %g, brute force %g" what zbuf.[at] depth
                                    for c in 0..2 do
                                        if abs (bary.[at * 3 + c] - bc.[c]) > 1e-12 then
                                            failwithf "%s: bary %g, brute force %g" what bary.[at * 3 + c] bc.[c]
                                    if bc |> Array.exists (fun x -> x = 0.0) then outside <- outside + 1
                                elif p2f.[at] <> -1L then failwithf "%s: image %d pixel %d slot %d holds face %d, brute force none" what b p slot p2f.[at])
                    if blur > 0.0 then Expect.isGreaterThan outside 20 (what + ": slots with clipped barycentrics")
                    // float32, portable and AVX2: the same lists up to rounding at the blur edge and depth ties
                    for simd in [ false; true ] do
                        let fr32 = Rasterizer.rasterize { s with Simd = simd } (verts.cast Float32) faces
                        let e, a = p2f, fr32.PixToFace.ToInt64s()
                        let differ = Array.map2 (<>) e a |> Array.filter id |> Array.length
                        Expect.isLessThanOrEqual differ (e.Length / 100) (sprintf "%s f32 simd=%b: slots differing" what simd)
                        let same = (fr.PixToFace.eq fr32.PixToFace).cast Float64
                        assertNear (sprintf "%s f32 simd=%b zbuf" what simd) 1e-5 1e-5 (fr.Zbuf * same) (fr32.Zbuf.cast Float64 * same)
                        assertNear (sprintf "%s f32 simd=%b bary" what simd) 1e-4 2e-5 (fr.Bary * same.unsqueeze 4) (fr32.Bary.cast Float64 * same.unsqueeze 4)
        }

        test "gradients through clipped barycentrics match finite differences in float64" {
            use scope = DisposalScope.Open()
            use g = generator 94
            let verts, faces = ellipsoidScene 95 1 0 Float64
            let h, w, f, blur = 10, 9, faces.Shape.[0], 0.03
            let gb, gz = Tensor.randn ([ 1; h; w; f; 3 ], g, Float64), Tensor.randn ([ 1; h; w; f ], g, Float64)
            for persp in [ false; true ] do
                let s = { RasterSettings.Defaults with Height = h; Width = w; FacesPerPixel = f; BlurRadius = blur; PerspectiveCorrect = persp }
                let fr = Rasterizer.rasterize s verts faces
                let clipped = (fr.Dists.gt 0.0).sum().ToScalar()
                Expect.isGreaterThan clipped 20.0 "outside slots"
                // weights per (pixel, face), so the loss does not depend on the slot order; the
                // factor (blur − dist) vanishes where a pair enters the radius, so it is continuous
                let loss (x: Tensor) =
                    let fr = Rasterizer.rasterize s x faces
                    let idx = fr.PixToFace.maskedFill (fr.PixToFace.lt 0.0, 0.0)
                    let valid = fr.PixToFace.ge(0.0).cast Float64 * (blur - fr.Dists)
                    let wb = gb.gather (3, idx.unsqueeze(4).expand [ 1; h; w; f; 3 ])
                    ((fr.Bary * wb).sum 4 * valid + fr.Zbuf * gz.gather (3, idx) * valid).sum ()
                gradcheck (sprintf "clipped top-K d/dverts persp=%b" persp) loss verts
            // the fused textured render: UVs read at the clipped barycentrics
            let uvs = Tensor.rand ([ verts.Shape.[1]; 2 ], g, Float64)
            let faceUvs = (uvs.indexSelect (0, faces.flatten ())).reshape [ f; 3; 2 ]
            let uvImage = Tensor.rand ([ 1; 3; 5; 4 ], g, Float64)
            let up, upA = Tensor.randn ([ 1; 3; h; w ], g, Float64), Tensor.randn ([ 1; 1; h; w ], g, Float64)
            let sigma = 1e-2
            let s = { RasterSettings.Defaults with Height = h; Width = w; FacesPerPixel = 8; BlurRadius = Rasterizer.blurRadiusFor sigma 1e-12 }
            let render x = let rgb, a = Rasterizer.texturedLayered s sigma [| 1.0; 0.5; 0.2 |] x faces faceUvs uvImage in (rgb * up).sum () + (a * upA).sum ()
            gradcheck "clipped layered d/dverts" render verts
        }

        testSequenced <| test "one and two threads give bitwise identical lists, renders and gradients" {
            use scope = DisposalScope.Open()
            use g = generator 96
            let verts, faces = ellipsoidScene 97 6 2 Float32
            let f = faces.Shape.[0]
            let uvs = Tensor.rand ([ verts.Shape.[1]; 2 ], g)
            let faceUvs = (uvs.indexSelect (0, faces.flatten ())).reshape [ f; 3; 2 ]
            let uvImage = Tensor.rand ([ 6; 3; 8; 8 ], g)
            let s = { Reconstruct.Stages.Render.texturedSettings 32 1e-4 4 with Height = 32; Width = 32 }
            let up = Tensor.randn ([ 6; 3; 32; 32 ], g)
            let run () =
                [ for simd in [ true; false ] do
                      let s = { s with Simd = simd }
                      let fr = Rasterizer.rasterize s verts faces
                      let grad = Autograd.grad (fun x -> let fr = Rasterizer.rasterize s x faces in (fr.Zbuf * fr.PixToFace.ge(0.0).cast Float32).sum () + fr.Bary.sum ()) verts
                      let rgb, alpha = Rasterizer.texturedLayered s 1e-4 [| 1.0; 1.0; 1.0 |] verts faces faceUvs uvImage
                      let gLayered = Autograd.grad (fun x -> (fst (Rasterizer.texturedLayered s 1e-4 [| 1.0; 1.0; 1.0 |] x faces faceUvs uvImage) * up).sum ()) verts
                      yield! [ fr.PixToFace.cast Float64; fr.Zbuf; fr.Bary; fr.Dists; grad; rgb; alpha; gLayered ] ]
            let one = withThreads 1 run
            let two = withThreads 2 run
            List.iteri2 (fun i a b -> assertSame (sprintf "output %d" i) a b) one two
        }

        test "blur 0 renders exactly what they rendered before clipping" {
            // Fingerprints of the kernels before the change (commit 7ec2422): 6045986292943718707
            // and 14639337558187521829 on the unsnapped scene, which the current kernels still
            // give when OpenBLAS uses its Sandybridge (no-FMA) dgemm. The scene's float64
            // vertices come from a BLAS matmul whose last bits depend on the CPU's kernel
            // (an FMA one gave other vertices, hence other outputs), so they are snapped to a
            // 2^-20 grid, which those bits never cross; the values below were taken so.
            use scope = DisposalScope.Open()
            use g = generator 98
            let snap (t: Tensor) = (t * 1048576.0).round () / 1048576.0
            let results =
                [ for dtype, simd in [ Float64, false; Float32, false ] do
                      let verts, faces = ellipsoidScene 99 3 2 dtype
                      let verts = snap verts
                      let f = faces.Shape.[0]
                      let s = { RasterSettings.Defaults with Height = 24; Width = 20; FacesPerPixel = 3; BlurRadius = 0.0; Simd = simd }
                      let fr = Rasterizer.rasterize s verts faces
                      let frP = Rasterizer.rasterize { s with PerspectiveCorrect = true } verts faces
                      let faceUvs = (Tensor.rand ([ f; 3; 2 ], g)).cast dtype
                      let uvImage = (Tensor.rand ([ 3; 3; 6; 6 ], g)).cast dtype
                      let rgb, alpha = Rasterizer.texturedLayered s 1e-4 [| 1.0; 1.0; 1.0 |] verts faces faceUvs uvImage
                      yield sprintf "%A" dtype, fingerprint [ fr.PixToFace.cast Float64; fr.Zbuf; fr.Bary; fr.Dists; frP.PixToFace.cast Float64; frP.Zbuf; frP.Bary; frP.Dists; rgb; alpha ] ]
            printfn "RasterDepthOrder blur-0 fingerprints: %A" results
            Expect.equal results [ "Float64", 2147079370081762187UL; "Float32", 10761524841158620965UL ] "fingerprints of the blur-0 outputs"
        }
    ]
