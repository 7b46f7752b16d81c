/// The renderer against slow, obviously correct references. The raster kernels are compared
/// with dense plain-tensor implementations that evaluate every (pixel, face) pair at once,
/// (B, H, W, F) broadcasts, outputs and autograd gradients; with finite differences in
/// float64; with a brute-force z-buffer written as loops. The composed F# parts (interpolate,
/// blends, renderers) are compared with per-pixel loops of their formulas.
module Reconstruct.Tests.RenderTests

open System
open Expecto
open FsCheck.FSharp
open Reconstruct.Torch
open Reconstruct.Render
open Reconstruct.Tests.TestHelpers

// ------------------------------------------------------------------ small meshes and cameras

/// Octahedron of radius 1: 6 vertices, 8 faces counter-clockwise seen from outside.
let octahedron () =
    let v = [| [| 1.0; 0.0; 0.0 |]; [| -1.0; 0.0; 0.0 |]; [| 0.0; 1.0; 0.0 |]; [| 0.0; -1.0; 0.0 |]; [| 0.0; 0.0; 1.0 |]; [| 0.0; 0.0; -1.0 |] |]
    let faces =
        [| for a in [ 0; 1 ] do
               for b in [ 2; 3 ] do
                   for c in [ 4; 5 ] do
                       // orient so that the normal points away from the centre
                       let e1 = Array.init 3 (fun k -> v.[b].[k] - v.[a].[k])
                       let e2 = Array.init 3 (fun k -> v.[c].[k] - v.[a].[k])
                       let nrm = [| e1.[1] * e2.[2] - e1.[2] * e2.[1]; e1.[2] * e2.[0] - e1.[0] * e2.[2]; e1.[0] * e2.[1] - e1.[1] * e2.[0] |]
                       let outward = Array.init 3 (fun k -> nrm.[k] * (v.[a].[k] + v.[b].[k] + v.[c].[k])) |> Array.sum
                       if outward > 0.0 then [| a; b; c |] else [| a; c; b |] |]
    v, faces

/// Icosphere by midpoint subdivision of the icosahedron (level 0: 12 vertices, 20 faces).
let icosphere (level: int) = Reconstruct.Geometry.Mesh.icosphereArrays level

let facesTensor (faces: int[][]) =
    Tensor.ofArray (faces |> Array.concat |> Array.map int64, [ faces.Length; 3 ])

/// The library's random-pose projection (Reference.fs), which the benchmark uses too.
let projectRandomPoses = Reference.projectRandomPoses

/// N images of F independent random triangles, both orientations: (N, F, 3, 3) [x, y, z].
let randomFaces (seed: int) (n: int) (f: int) (size: float) (dtype: Dtype) =
    use g = generator seed
    use scope = DisposalScope.Open()
    let centre = Tensor.uniform ([ n; f; 1; 2 ], -0.7, 0.7, g, Float64)
    let offset = Tensor.uniform ([ n; f; 3; 2 ], -size, size, g, Float64)
    let z = Tensor.uniform ([ n; f; 3; 1 ], 2.0, 4.0, g, Float64)
    scope.MoveOut((Tensor.cat ([ centre + offset; z ], 3)).cast dtype)

/// The same triangle soup as a mesh: verts (N, 3F, 3) and faces (F, 3) = [0 1 2; 3 4 5; ...].
let soupMesh (faceVertices: Tensor) =
    let n, f = faceVertices.Shape.[0], faceVertices.Shape.[1]
    faceVertices.reshape [ n; 3 * f; 3 ], Tensor.ofArray (Array.init (3 * f) int64, [ f; 3 ])

let faceVerticesOf (verts: Tensor) (faces: Tensor) =
    let n, f = verts.Shape.[0], faces.Shape.[0]
    (verts.indexSelect (0 + 1, faces.flatten ())).reshape [ n; f; 3; 3 ]

// ------------------------------------------------------------------ assertions

/// Fails when |actual − expected| > atol + rtol·max|expected| anywhere, or NaN/inf differ.
let assertNear (what: string) (atol: float) (rtol: float) (expected: Tensor) (actual: Tensor) =
    Expect.equal actual.Shape expected.Shape "actual.Shape"
    let e, a = expected.ToFloat64s(), actual.ToFloat64s()
    let scale = e |> Array.fold (fun m v -> if Double.IsFinite v then max m (abs v) else m) 0.0
    let tol = atol + rtol * scale
    let bad = [| for k in 0 .. e.Length - 1 do if not (abs (e.[k] - a.[k]) <= tol) && e.[k] <> a.[k] then k |]
    if bad.Length > 0 then
        let k = bad |> Array.maxBy (fun k -> if Double.IsFinite(a.[k] - e.[k]) then abs (a.[k] - e.[k]) else infinity)
        failwithf "%s: %d of %d values differ by more than %.3g (max |expected| %.3g); worst at %d: expected %.12g, actual %.12g"
            what bad.Length e.Length tol scale k e.[k] a.[k]

/// Bitwise equality of two tensors' values.
let assertSame (what: string) (expected: Tensor) (actual: Tensor) =
    Expect.equal actual.Shape expected.Shape "actual.Shape"
    let e, a = expected.ToFloat64s(), actual.ToFloat64s()
    match Array.tryFindIndex id (Array.map2 (fun (x: float) y -> BitConverter.DoubleToInt64Bits x <> BitConverter.DoubleToInt64Bits y) e a) with
    | Some k -> failwithf "%s: not bitwise equal; first difference at %d of %d: %.17g vs %.17g" what k e.Length e.[k] a.[k]
    | None -> ()

let assertFinite (what: string) (t: Tensor) =
    let v = t.ToFloat64s()
    match Array.tryFindIndex (Double.IsFinite >> not) v with
    | Some k -> failwithf "%s: value %d of %d is %g" what k v.Length v.[k]
    | None -> ()

let withThreads (n: int) (action: unit -> 'a) =
    let before = Runtime.threads ()
    Runtime.setThreads n
    try action () finally Runtime.setThreads before

// ------------------------------------------------------------------ dense references

/// The library's dense references (Reference.fs), which the benchmark times too.
let softReference = Reference.soft
let topkReference = Reference.topK

// ------------------------------------------------------------------ brute-force loops

/// A z-buffer over pixel centres written as loops: for each pixel the nearest face (by
/// perspective-correct depth) whose interior strictly contains the centre, or -1; faces with a
/// vertex at z <= znear or without area are skipped. fv: values of an (F, 3, 3) face array.
let zbuffer (h: int) (w: int) (znear: float) (fv: float[]) (f: int) =
    let at face v c = fv.[(face * 3 + v) * 3 + c]
    Array.init (h * w) (fun p ->
        let px = (2.0 * float (p % w) + 1.0) / float w - 1.0
        let py = (2.0 * float (p / w) + 1.0) / float h - 1.0
        let mutable best, bestZ = -1, infinity
        for face in 0 .. f - 1 do
            let usable = [ 0..2 ] |> List.forall (fun v -> at face v 2 > znear)
            // twice the signed area of (a, b, p) for each edge
            let side a b = (at face b 0 - at face a 0) * (py - at face a 1) - (at face b 1 - at face a 1) * (px - at face a 0)
            let s0, s1, s2 = side 1 2, side 2 0, side 0 1
            let area = s0 + s1 + s2
            if usable && abs area > 1e-10 && ((s0 > 0.0 && s1 > 0.0 && s2 > 0.0) || (s0 < 0.0 && s1 < 0.0 && s2 < 0.0)) then
                let inv = s0 / area / at face 0 2 + s1 / area / at face 1 2 + s2 / area / at face 2 2
                let z = 1.0 / inv
                if z < bestZ then
                    best <- face
                    bestZ <- z
        best)

/// Distance from each pixel centre to the nearest edge of any usable face (loops).
let edgeDistance (h: int) (w: int) (znear: float) (fv: float[]) (f: int) =
    let at face v c = fv.[(face * 3 + v) * 3 + c]
    Array.init (h * w) (fun p ->
        let px = (2.0 * float (p % w) + 1.0) / float w - 1.0
        let py = (2.0 * float (p / w) + 1.0) / float h - 1.0
        let mutable best = infinity
        for face in 0 .. f - 1 do
            if [ 0..2 ] |> List.forall (fun v -> at face v 2 > znear) then
                for e in 0..2 do
                    let ax, ay = at face e 0, at face e 1
                    let bx, by = at face ((e + 1) % 3) 0, at face ((e + 1) % 3) 1
                    let l2 = (bx - ax) ** 2.0 + (by - ay) ** 2.0
                    let t = if l2 = 0.0 then 0.0 else max 0.0 (min 1.0 (((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / l2))
                    best <- min best (sqrt ((px - ax - t * (bx - ax)) ** 2.0 + (py - ay - t * (by - ay)) ** 2.0))
        best)

// ------------------------------------------------------------------ settings used below

let soft16 sigma =
    { SoftSettings.Defaults with Height = 16; Width = 16; Sigma = sigma; Gamma = 3e-3; DistEps = 1e-4; ZNear = 1.0; ZFar = 10.0 }

let raster16 k blur persp cull =
    { RasterSettings.Defaults with Height = 16; Width = 14; FacesPerPixel = k; BlurRadius = blur; PerspectiveCorrect = persp; CullBackfaces = cull; ZNear = 1.0 }

/// The fields of two Fragments: face indices exactly, values within tolerance. Barycentrics
/// of pixels in a face's blur band extrapolate and reach thousands on slivers, where float64's
/// spacing alone exceeds an absolute 1e-12: they also get 1e-14 of their largest magnitude.
let assertFragments (what: string) (atol: float) (expected: Fragments) (actual: Fragments) =
    Expect.equal (actual.PixToFace.ToInt64s()) (expected.PixToFace.ToInt64s()) "actual.PixToFace.ToInt64s()"
    assertNear (what + " bary") atol 1e-14 expected.Bary actual.Bary
    assertNear (what + " zbuf") atol 1e-12 expected.Zbuf actual.Zbuf
    assertNear (what + " dists") atol 0.0 expected.Dists actual.Dists
    Expect.equal (actual.Overflow.ToInt64s()) (expected.Overflow.ToInt64s()) "actual.Overflow.ToInt64s()"

/// Forward outputs and input gradients of both kernels for one batch (float32, AVX2 when present).
let kernelOutputs (fv: Tensor) (colors: Tensor) (ups: Tensor[]) =
    let n = fv.Shape.[0]
    let s = soft16 1e-4
    let verts, faces = soupMesh fv
    let rs = raster16 4 0.02 true false
    let _, gSil = Autograd.fgrad (fun x -> ((Rasterizer.softRasterize s x None [||]) * ups.[0].narrow (0, 0, n)).sum ()) fv
    let _, gRgb = Autograd.fgrads (fun xs -> ((Rasterizer.softRasterize s xs.[0] (Some xs.[1]) [| 0.0; 1.0; 0.5 |]) * ups.[1].narrow (0, 0, n)).sum ()) [| fv; colors |]
    let fr = Rasterizer.rasterize rs verts faces
    let gTop =
        Autograd.grad
            (fun v ->
                let fr = Rasterizer.rasterize rs v faces
                let valid = fr.PixToFace.ge(0.0).cast fv.Dtype
                ((fr.Bary.sum 4 * ups.[2].narrow (0, 0, n) + fr.Zbuf + fr.Dists * 30.0) * valid).sum ())
            verts
    // the fused textured kernel: image, alpha and the gradients w.r.t. vertices and texture
    let f = faces.Shape.[0]
    let faceUvs = Tensor.ofArray (Array.init (f * 6) (fun k -> float (k * 37 % 101) / 100.0), [ f; 3; 2 ]) |> fun t -> t.cast fv.Dtype
    let tex = ups.[3].narrow(0, 0, n).cast fv.Dtype
    let rgb, alpha = Rasterizer.texturedLayered rs 1e-3 [| 1.0; 0.5; 0.0 |] verts faces faceUvs tex
    let _, gLayered =
        Autograd.fgrads
            (fun xs ->
                let r, a = Rasterizer.texturedLayered rs 1e-3 [| 1.0; 0.5; 0.0 |] xs.[0] faces faceUvs xs.[1]
                (r * ups.[1].narrow(0, 0, n).narrow(1, 0, 3).narrow (3, 0, 14)).sum () + (a * ups.[0].narrow(0, 0, n).narrow (3, 0, 14)).sum ())
            [| verts; tex |]
    [ Rasterizer.softRasterize s fv None [||]; Rasterizer.softRasterize s fv (Some colors) [| 0.0; 1.0; 0.5 |]
      gSil; gRgb.[0]; gRgb.[1]; fr.PixToFace.cast Float64; fr.Bary; fr.Zbuf; fr.Dists; gTop
      rgb; alpha; gLayered.[0]; gLayered.[1] ]

let invarianceInputs () =
    use g = generator 33
    let fv = randomFaces 34 4 12 0.4 Float32
    let colors = Tensor.rand ([ 4; 12; 3; 3 ], g)
    // upstream gradients, and (last) a UV image for the textured kernel
    let ups = [| Tensor.randn ([ 4; 1; 16; 16 ], g); Tensor.randn ([ 4; 4; 16; 16 ], g); Tensor.randn ([ 4; 16; 14; 4 ], g); Tensor.rand ([ 4; 3; 5; 4 ], g) |]
    fv, colors, ups

// ================================================================== robustness

/// Faces that break naive rasterizers, one image: zero area, duplicate vertices, behind the
/// camera, crossing the near plane, off-screen, enormous, plus one ordinary face.
let awkwardFaces (dtype: Dtype) =
    let faces =
        [| [| -0.5; -0.5; 3.0; 0.5; -0.4; 3.0; 0.0; 0.6; 3.5 |] // ordinary
           [| -0.3; -0.3; 2.0; 0.1; 0.1; 2.0; 0.5; 0.5; 2.0 |] // collinear: zero area
           [| 0.2; 0.2; 2.0; 0.2; 0.2; 2.0; 0.6; -0.1; 2.0 |] // two equal vertices
           [| 0.1; 0.1; 2.0; 0.1; 0.1; 2.0; 0.1; 0.1; 2.0 |] // a point
           [| -0.5; -0.5; -2.0; 0.5; -0.5; -2.0; 0.0; 0.5; -2.0 |] // behind the camera
           [| -0.5; 0.5; 0.5; 0.5; 0.5; 3.0; 0.0; -0.5; 3.0 |] // crossing the near plane
           [| 5.0; 5.0; 2.0; 6.0; 5.0; 2.0; 5.0; 6.0; 2.0 |] // off-screen
           [| -1e6; -1e6; 50.0; 1e6; -1e6; 50.0; 0.0; 1e6; 50.0 |] // covers everything, far away
           [| 1e20; 0.0; 2.0; 0.0; 1e20; 2.0; 0.0; 0.0; 2.0 |] |] // beyond any sane coordinate
    (Tensor.ofArray (Array.concat faces, [ 1; faces.Length; 3; 3 ])).cast dtype

// ================================================================== composed parts

/// Random fragments with a fixed number of filled slots per pixel (front first), for the blends.
let randomFragments (g: Generator) (b: int) (h: int) (w: int) (k: int) (f: int) (dtype: Dtype) =
    let filled = Tensor.randint (0L, int64 k + 1L, [ b; h; w; 1 ], g)
    let slot = (Tensor.arange (k, Int64)).reshape [ 1; 1; 1; k ]
    let valid = slot.lt filled
    let face = Tensor.randint (0L, int64 f, [ b; h; w; k ], g)
    let keep (t: Tensor) = Tensor.where (valid, t, t.fullLike -1.0)
    let validF = valid.cast dtype
    let bary = Tensor.rand ([ b; h; w; k; 3 ], g, dtype)
    { PixToFace = keep face
      Bary = Tensor.where (valid.unsqueeze 4, bary / bary.sum (4, true), bary.fullLike -1.0)
      Zbuf = keep ((Tensor.rand ([ b; h; w; k ], g, dtype) + 2.0).cumsum 3)
      Dists = keep (Tensor.uniform ([ b; h; w; k ], -3e-3, 6e-3, g, dtype))
      Overflow = Tensor.zeros ([ b ], Int64) },
    validF

/// Renders with `Renderer.textured` and checks what every render must keep: finite outputs and
/// finite gradients for the vertices, the UV image and the background; alpha in [0, 1]; and no
/// empty face index under a covered pixel (alpha > 0, or a pixel centre inside a visible face
/// by a brute-force z-buffer, implies that slot 0 holds a face). Returns (image, alpha).
let renderChecked (name: string) (settings: RasterSettings) (sigma: float) (verts: Tensor) (faces: Tensor) (uvs: Tensor) (uvImage: Tensor) (background: Tensor) =
    use g = generator 99
    let b = verts.Shape.[0]
    let upImage = Tensor.randn (background.Shape, g, background.Dtype)
    let upAlpha = Tensor.randn ([ b; 1; settings.Height; settings.Width ], g, background.Dtype)
    let outs = ref None
    let _, grads =
        Autograd.fgrads
            (fun xs ->
                let image, alpha = Renderer.textured settings sigma xs.[0] faces uvs xs.[1] xs.[2]
                outs.Value <- Some(image.detach (), alpha.detach ())
                (image * upImage).sum () + (alpha * upAlpha).sum ())
            [| verts; uvImage; background |]
    let image, alpha = outs.Value.Value
    assertFinite (name + ": image") image
    assertFinite (name + ": alpha") alpha
    Array.iteri (fun k gr -> assertFinite (sprintf "%s: gradient %d" name k) gr) grads
    let a = alpha.ToFloat64s()
    match Array.tryFindIndex (fun v -> not (v >= 0.0 && v <= 1.0)) a with
    | Some p -> failwithf "%s: alpha %g at %d is outside [0, 1]" name a.[p] p
    | None -> ()
    let fr = Rasterizer.rasterize settings (verts.detach ()) faces
    let first = fr.PixToFace.select(3, 0).ToInt64s()
    let hw = settings.Height * settings.Width
    let fv = (faceVerticesOf (verts.detach ()) faces).ToFloat64s()
    let f = faces.Shape.[0]
    for n in 0 .. b - 1 do
        let cover = zbuffer settings.Height settings.Width settings.ZNear fv.[n * f * 9 .. (n + 1) * f * 9 - 1] f
        for p in 0 .. hw - 1 do
            if (a.[n * hw + p] > 0.0 || cover.[p] >= 0) && first.[n * hw + p] < 0L then
                failwithf "%s: image %d pixel %d is covered (alpha %g, z-buffer face %d) but slot 0 is empty" name n p a.[n * hw + p] cover.[p]
    image, alpha

/// Spherical UVs of unit-sphere vertices, as UNICORN maps its template: (V, 2).
let sphericalUvs (v: float[][]) =
    Tensor.ofArray (v |> Array.collect (fun p -> [| (atan2 p.[0] p.[2] + Math.PI) / (2.0 * Math.PI); acos (max -1.0 (min 1.0 p.[1])) / Math.PI |]), [ v.Length; 2 ])

/// Inputs of a textured render: a projected mesh, UVs, a UV image and a background.
let texturedScene (seed: int) (n: int) (level: int) (h: int) (w: int) (dtype: Dtype) =
    use g = generator seed
    let v, fcs = icosphere level
    let verts = projectRandomPoses (seed + 1) n [| 0.6; 0.42; 0.42 |] 2.732 30.0 v dtype
    let uvs = (sphericalUvs v).cast dtype
    let uvImage = Tensor.rand ([ n; 3; 8; 6 ], g, dtype)
    let background = Tensor.rand ([ n; 3; h; w ], g, dtype)
    verts, facesTensor fcs, uvs, uvImage, background

[<Tests>]
let tests =
    testList "Render" [
        // ================================================================== soft rasterizer

        test "soft silhouette equals the dense reference in float64 and float32" {
            use scope = DisposalScope.Open()
            for sigma in [ 1e-4; 1e-3; 1e-2 ] do
                let s = soft16 sigma
                let fv = randomFaces 11 2 12 0.35 Float64
                let expected = softReference s fv None [||]
                // the silhouette must not be trivial for the comparison to mean anything
                let a = expected.ToFloat64s()
                Expect.isTrue (a |> Array.exists (fun v -> v > 0.5) && a |> Array.exists (fun v -> v < 0.01)) "trivial silhouette"
                if sigma >= 1e-3 then Expect.isTrue (a |> Array.exists (fun v -> v > 0.01 && v < 0.99)) "no soft edge"
                assertNear (sprintf "f64 silhouette sigma=%g" sigma) 1e-12 0.0 expected (Rasterizer.softRasterize s fv None [||])
                for simd in [ true; false ] do
                        let actual = Rasterizer.softRasterize { s with Simd = simd } (fv.cast Float32) None [||]
                        assertNear (sprintf "f32 silhouette sigma=%g simd=%b" sigma simd) 2e-5 0.0 expected actual
        }

        test "soft colour equals the dense reference, single and double sided" {
            use scope = DisposalScope.Open()
            use g = generator 12
            let fv = randomFaces 13 2 10 0.4 Float64
            let colors = Tensor.rand ([ 2; 10; 3; 3 ], g, Float64)
            let bg = [| 0.2; 0.5; 0.9 |]
            for double in [ false; true ] do
                for sigma in [ 1e-4; 1e-3 ] do
                    let s = { soft16 sigma with DoubleSided = double }
                    let expected = softReference s fv (Some colors) bg
                    Expect.equal expected.Shape [| 2; 4; 16; 16 |] "expected.Shape"
                    assertNear (sprintf "f64 colour double=%b sigma=%g" double sigma) 1e-10 0.0 expected (Rasterizer.softRasterize s fv (Some colors) bg)
                    let actual = Rasterizer.softRasterize s (fv.cast Float32) (Some(colors.cast Float32)) bg
                    assertNear (sprintf "f32 colour double=%b sigma=%g" double sigma) 1e-4 0.0 expected actual
        }

        test "soft gradients equal autograd of the dense reference" {
            use scope = DisposalScope.Open()
            use g = generator 14
            let fv = randomFaces 15 2 8 0.4 Float64
            let colors = Tensor.rand ([ 2; 8; 3; 3 ], g, Float64)
            for sigma in [ 1e-3; 1e-2 ] do
                // a temperature wide enough that overlapping faces and the background share pixels
                let s = { soft16 sigma with Gamma = 0.2 }
                // silhouette: gradient w.r.t. the face vertices
                let up = Tensor.randn ([ 2; 1; 16; 16 ], g, Float64)
                let loss (op: Tensor -> Tensor) (x: Tensor) = ((op x) * up).sum ()
                let kernel = Autograd.grad (loss (fun x -> Rasterizer.softRasterize s x None [||])) fv
                let reference = Autograd.grad (loss (fun x -> softReference s x None [||])) fv
                Expect.isTrue (kernel.abs().max().ToScalar() > 1e-3) "silhouette gradient is zero"
                assertNear (sprintf "silhouette d/dfv sigma=%g" sigma) 1e-9 1e-8 reference kernel
                // colour: gradients w.r.t. xyz and colours, including the barycentric terms
                let upc = Tensor.randn ([ 2; 4; 16; 16 ], g, Float64)
                let lossc (op: Tensor -> Tensor -> Tensor) (xs: Tensor[]) = ((op xs.[0] xs.[1]) * upc).sum ()
                let bg = [| 1.0; 0.0; 0.5 |]
                let _, gk = Autograd.fgrads (lossc (fun x c -> Rasterizer.softRasterize s x (Some c) bg)) [| fv; colors |]
                let _, gr = Autograd.fgrads (lossc (fun x c -> softReference s x (Some c) bg)) [| fv; colors |]
                Expect.isTrue (gk.[0].narrow(3, 2, 1).abs().max().ToScalar() > 1e-6) "colour gradient has no z term"
                assertNear (sprintf "colour d/dfv sigma=%g" sigma) 1e-9 1e-8 gr.[0] gk.[0]
                assertNear (sprintf "colour d/dcolors sigma=%g" sigma) 1e-9 1e-8 gr.[1] gk.[1]
        }

        test "soft gradcheck in float64 with a wide sigma" {
            use scope = DisposalScope.Open()
            use g = generator 16
            let fv = randomFaces 17 1 3 0.5 Float64
            let colors = Tensor.rand ([ 1; 3; 3; 2 ], g, Float64)
            // dist_eps 1e-30: the cut-off jump (D = 1e-30) is far below what differences can see
            let s = { SoftSettings.Defaults with Height = 10; Width = 12; Sigma = 2e-2; Gamma = 5e-2; DistEps = 1e-30; ZNear = 1.0; ZFar = 10.0; DoubleSided = true }
            let up = Tensor.randn ([ 1; 1; 10; 12 ], g, Float64)
            gradcheck "soft silhouette d/dfv" (fun x -> ((Rasterizer.softRasterize s x None [||]) * up).sum ()) fv
            let upc = Tensor.randn ([ 1; 3; 10; 12 ], g, Float64)
            gradcheck "soft colour d/dfv" (fun x -> ((Rasterizer.softRasterize s x (Some colors) [| 0.3; 0.7 |]) * upc).sum ()) fv
            gradcheck "soft colour d/dcolors" (fun c -> ((Rasterizer.softRasterize s fv (Some c) [| 0.3; 0.7 |]) * upc).sum ()) colors
        }

        test "soft silhouette tends to the z-buffer coverage as sigma goes to 0" {
            use scope = DisposalScope.Open()
            let h, w, f = 16, 16, 12
            let fv = randomFaces 18 2 f 0.4 Float32
            let sigma = 1e-8
            let s = { soft16 sigma with Height = h; Width = w }
            let alpha = (Rasterizer.softRasterize s fv None [||]).ToFloat64s()
            let values = fv.ToFloat64s()
            let mutable compared = 0
            for b in 0..1 do
                let mine = values.[b * f * 9 .. (b + 1) * f * 9 - 1]
                let cover = zbuffer h w s.ZNear mine f
                let near = edgeDistance h w s.ZNear mine f
                for p in 0 .. h * w - 1 do
                    // within a few sqrt(sigma) of an edge the sigmoid is still in transition
                    if near.[p] > 5.0 * sqrt sigma then
                        compared <- compared + 1
                        let expected = if cover.[p] >= 0 then 1.0 else 0.0
                        if abs (alpha.[b * h * w + p] - expected) > 1e-6 then
                            failwithf "image %d pixel %d: alpha %g, z-buffer coverage %g" b p alpha.[b * h * w + p] expected
            Expect.isTrue (compared > 2 * h * w * 9 / 10) (sprintf "only %d pixels compared" compared)
        }

        // ================================================================== top-K rasterizer

        test "top-K fragments equal the dense reference in float64" {
            use scope = DisposalScope.Open()
            let fv = randomFaces 21 2 12 0.4 Float64
            let verts, faces = soupMesh fv
            for k, blur, persp, cull in [ 3, 0.02, false, false; 3, 0.02, true, false; 2, 0.0, true, true; 8, 0.05, false, true; 16, 0.01, true, false ] do
                let s = raster16 k blur persp cull
                let expected = topkReference s verts faces
                let actual = Rasterizer.rasterize s verts faces
                let filled = expected.PixToFace.ge(0.0).sum().ToScalar()
                Expect.isTrue (filled > 15.0) (sprintf "only %g filled slots" filled)
                assertFragments (sprintf "K=%d blur=%g persp=%b cull=%b" k blur persp cull) 1e-12 expected actual
        }

        test "top-K fragments in float32 agree with the float64 reference" {
            use scope = DisposalScope.Open()
            let fv = randomFaces 22 2 12 0.4 Float64
            let verts, faces = soupMesh fv
            for simd in [ true; false ] do
                    for persp in [ false; true ] do
                        let s = { raster16 4 0.02 persp false with Simd = simd }
                        let expected = topkReference s verts faces
                        let actual = Rasterizer.rasterize s (verts.cast Float32) faces
                        let e, a = expected.PixToFace.ToInt64s(), actual.PixToFace.ToInt64s()
                        // float32 may decide a pair on the blur radius or a depth tie differently
                        let differ = Array.map2 (<>) e a |> Array.filter id |> Array.length
                        Expect.isTrue (differ <= e.Length / 200) (sprintf "simd=%b persp=%b: %d of %d slots differ" simd persp differ e.Length)
                        let same = (expected.PixToFace.eq actual.PixToFace).cast Float64
                        let masked (t: Tensor) (m: Tensor) = t.cast Float64 * m
                        assertNear "f32 zbuf" 1e-5 1e-5 (masked expected.Zbuf same) (masked actual.Zbuf same)
                        assertNear "f32 dists" 1e-6 0.0 (masked expected.Dists same) (masked actual.Dists same)
                        assertNear "f32 bary" 1e-4 2e-5 (masked expected.Bary (same.unsqueeze 4)) (masked actual.Bary (same.unsqueeze 4))
        }

        test "top-K gradients equal autograd of the dense reference" {
            use scope = DisposalScope.Open()
            use g = generator 23
            let fv = randomFaces 24 2 10 0.4 Float64
            let verts, faces = soupMesh fv
            for persp in [ false; true ] do
                let s = raster16 3 0.03 persp false
                let shape = [ 2; 16; 14; 3 ]
                let gb, gz, gd = Tensor.randn (shape @ [ 3 ], g, Float64), Tensor.randn (shape, g, Float64), Tensor.randn (shape, g, Float64)
                let loss (fr: Fragments) =
                    let valid = fr.PixToFace.ge(0.0).cast Float64
                    ((fr.Bary * gb).sum 4 * valid + fr.Zbuf * gz * valid + fr.Dists * gd * valid).sum ()
                let kernel = Autograd.grad (fun v -> loss (Rasterizer.rasterize s v faces)) verts
                let reference = Autograd.grad (fun v -> loss (topkReference s v faces)) verts
                Expect.isTrue (kernel.abs().max().ToScalar() > 1e-3) "kernel.abs().max().ToScalar() > 1e-3"
                assertNear (sprintf "d/dverts persp=%b" persp) 1e-9 1e-9 reference kernel
        }

        test "top-K gradcheck in float64" {
            use scope = DisposalScope.Open()
            use g = generator 25
            let v, fcs = octahedron ()
            let verts = projectRandomPoses 26 1 [| 0.8; 0.6; 0.7 |] 2.732 30.0 v Float64
            let faces = facesTensor fcs
            let h, w, f = 10, 9, fcs.Length
            // weights per (pixel, face), not per slot: the loss must not depend on the slot order
            let gb, gz, gd = Tensor.randn ([ 1; h; w; f; 3 ], g, Float64), Tensor.randn ([ 1; h; w; f ], g, Float64), Tensor.randn ([ 1; h; w; f ], g, Float64)
            for persp in [ false; true ] do
                let blur = 0.04
                let s = { raster16 f blur persp false with Height = h; Width = w }
                let loss (x: Tensor) =
                    let fr = Rasterizer.rasterize s x faces
                    let idx = fr.PixToFace.maskedFill (fr.PixToFace.lt 0.0, 0.0)
                    // (blur − dist) vanishes where a pair enters the blur radius, so the loss is continuous
                    let valid = fr.PixToFace.ge(0.0).cast Float64 * (blur - fr.Dists)
                    let k = idx.Shape.[3]
                    let wb = gb.gather (3, idx.unsqueeze(4).expand [ 1; h; w; k; 3 ])
                    ((fr.Bary * wb).sum 4 * valid + fr.Zbuf * gz.gather (3, idx) * valid + fr.Dists * gd.gather (3, idx) * valid).sum ()
                gradcheck (sprintf "top-K d/dverts persp=%b" persp) loss verts
        }

        test "top-K with K = 1 and no blur is the brute-force z-buffer" {
            use scope = DisposalScope.Open()
            let f = 12
            let fv = randomFaces 27 2 f 0.45 Float64
            let verts, faces = soupMesh fv
            let s = { raster16 1 0.0 true false with Height = 16; Width = 16 }
            let p2f = (Rasterizer.rasterize s verts faces).PixToFace.ToInt64s()
            let values = fv.ToFloat64s()
            for b in 0..1 do
                let expected = zbuffer 16 16 s.ZNear values.[b * f * 9 .. (b + 1) * f * 9 - 1] f |> Array.map int64
                Expect.equal p2f.[b * 256 .. (b + 1) * 256 - 1] expected "p2f.[b * 256 .. (b + 1) * 256 - 1]"
                Expect.isTrue (expected |> Array.exists (fun x -> x >= 0L)) "expected |> Array.exists (fun x -> x >= 0L)"
        }

        test "top-K overflow counts the pixels that had more than K candidates" {
            use scope = DisposalScope.Open()
            let fv = randomFaces 28 2 12 0.6 Float64
            let verts, faces = soupMesh fv
            let s = raster16 2 0.05 false false
            let expected = topkReference s verts faces
            let actual = Rasterizer.rasterize s verts faces
            Expect.isTrue (expected.Overflow.sum().ToScalar() > 0.0) "the scene should overflow K = 2"
            Expect.equal (actual.Overflow.ToInt64s()) (expected.Overflow.ToInt64s()) "actual.Overflow.ToInt64s()"
        }

        // ================================================================== invariances

        test "permuting faces changes nothing" {
            use scope = DisposalScope.Open()
            use g = generator 31
            let f = 12
            let fv = randomFaces 32 2 f 0.4 Float32
            let colors = Tensor.rand ([ 2; f; 3; 3 ], g)
            let perm = Tensor.randperm (f, g)
            let permArr = perm.ToInt64s()
            let s = soft16 1e-4
            for c in [ None; Some colors ] do
                let a = Rasterizer.softRasterize s fv c [| 1.0; 1.0; 1.0 |]
                let b = Rasterizer.softRasterize s (fv.indexSelect (1, perm)) (c |> Option.map (fun c -> c.indexSelect (1, perm))) [| 1.0; 1.0; 1.0 |]
                assertNear "soft, permuted faces" 2e-6 0.0 a b
            let verts, faces = soupMesh fv
            let rs = raster16 4 0.02 true false
            let a = Rasterizer.rasterize rs verts faces
            let b = Rasterizer.rasterize rs verts (faces.indexSelect (0, perm))
            // face i of the permuted mesh is face perm[i] of the original
            let mapped = b.PixToFace.ToInt64s() |> Array.map (fun i -> if i < 0L then -1L else permArr.[int i])
            Expect.equal mapped (a.PixToFace.ToInt64s()) "mapped"
            assertSame "bary" a.Bary b.Bary
            assertSame "zbuf" a.Zbuf b.Zbuf
            assertSame "dists" a.Dists b.Dists
        }

        test "a batch equals its images rendered one by one, bitwise" {
            use scope = DisposalScope.Open()
            let fv, colors, ups = invarianceInputs ()
            let whole = kernelOutputs fv colors ups
            let parts =
                [ for b in 0..3 do
                      let upsB = ups |> Array.map (fun u -> u.narrow (0, b, 1))
                      kernelOutputs (fv.narrow (0, b, 1)) (colors.narrow (0, b, 1)) upsB ]
            whole
            |> List.iteri (fun k t ->
                assertSame (sprintf "output %d" k) t (Tensor.cat (parts |> List.map (fun p -> p.[k]), 0)))
        }

        testSequenced <| test "one and two threads give bitwise identical results" {
            use scope = DisposalScope.Open()
            let fv, colors, ups = invarianceInputs ()
            let one = withThreads 1 (fun () -> kernelOutputs fv colors ups)
            let two = withThreads 2 (fun () -> kernelOutputs fv colors ups)
            List.iteri2 (fun k a b -> assertSame (sprintf "output %d" k) a b) one two
            // float64 takes the scalar kernels
            let fv64, colors64 = fv.cast Float64, colors.cast Float64
            let ups64 = ups |> Array.map (fun u -> u.cast Float64)
            let one = withThreads 1 (fun () -> kernelOutputs fv64 colors64 ups64)
            let two = withThreads 2 (fun () -> kernelOutputs fv64 colors64 ups64)
            List.iteri2 (fun k a b -> assertSame (sprintf "float64 output %d" k) a b) one two
        }

        testPropertyWithConfig (propertyConfig 10) "face permutation invariance holds for random scenes (property)" (
            let property =
                Prop.forAll (Arb.fromGen (Gen.choose (0, 100000))) (fun seed ->
                    use scope = DisposalScope.Open()
                    use g = generator seed
                    let fv = randomFaces seed 1 10 0.45 Float64
                    let perm = Tensor.randperm (10, g)
                    let s = soft16 1e-3
                    let a = Rasterizer.softRasterize s fv None [||]
                    let b = Rasterizer.softRasterize s (fv.indexSelect (1, perm)) None [||]
                    assertNear (sprintf "seed %d" seed) 1e-12 0.0 a b
                    let verts, faces = soupMesh fv
                    let rs = raster16 10 0.02 false false
                    let expected = topkReference rs verts faces
                    assertFragments (sprintf "seed %d" seed) 1e-12 expected (Rasterizer.rasterize rs verts faces)
                    true)
            property)

        test "degenerate, hidden, off-screen and empty meshes give finite outputs and gradients" {
            use scope = DisposalScope.Open()
            use g = generator 41
            for dtype in [ Float32; Float64 ] do
                let awkward = awkwardFaces dtype
                let f = awkward.Shape.[1]
                let offscreen = awkward.narrow (1, 6, 1)
                let empty = Tensor.zeros ([ 2; 0; 3; 3 ], dtype)
                for name, fv in [ "awkward", awkward; "off-screen", offscreen; "empty", empty ] do
                    let n, f = fv.Shape.[0], fv.Shape.[1]
                    let colors = Tensor.rand ([ n; f; 3; 3 ], g, dtype)
                    for sigma in [ 1e-4; 1e-2 ] do
                        let s = { soft16 sigma with DoubleSided = true }
                        let out, grads =
                            Autograd.fgrads (fun xs -> (Rasterizer.softRasterize s xs.[0] (Some xs.[1]) [| 1.0; 1.0; 1.0 |]).sum ()) [| fv; colors |]
                        assertFinite (sprintf "%s %A soft colour" name dtype) out
                        grads |> Array.iter (assertFinite (sprintf "%s %A soft gradient" name dtype))
                        let sil = Rasterizer.softRasterize s fv None [||]
                        assertFinite (sprintf "%s %A silhouette" name dtype) sil
                        assertFinite (sprintf "%s %A silhouette gradient" name dtype) (Autograd.grad (fun x -> (Rasterizer.softRasterize s x None [||]).sum ()) fv)
                        let a = sil.ToFloat64s()
                        Expect.isTrue (a |> Array.forall (fun v -> v >= 0.0 && v <= 1.0)) "a |> Array.forall (fun v -> v >= 0.0 && v <= 1.0)"
                        if name <> "awkward" then Expect.isTrue (a |> Array.forall ((=) 0.0)) (sprintf "%s: nothing should be visible" name)
                    let verts, faces = soupMesh fv
                    for persp in [ false; true ] do
                        let rs = { raster16 4 0.02 persp false with ZNear = 1.0 }
                        let fr = Rasterizer.rasterize rs verts faces
                        for t in [ fr.Bary; fr.Zbuf; fr.Dists ] do assertFinite (sprintf "%s %A fragments" name dtype) t
                        let gv =
                            Autograd.grad (fun v -> let fr = Rasterizer.rasterize rs v faces in fr.Bary.sum () + fr.Zbuf.sum () + fr.Dists.sum ()) verts
                        assertFinite (sprintf "%s %A top-K gradient" name dtype) gv
                        let p2f = fr.PixToFace.ToInt64s()
                        // only the ordinary face (0) and the enormous far one (7) can be rasterized
                        Expect.isTrue (p2f |> Array.forall (fun i -> i = -1L || i = 0L || i = 7L)) (sprintf "%s: unexpected face in %A" name (p2f |> Array.distinct))
                        if name = "awkward" then Expect.isTrue (p2f |> Array.contains 0L && p2f |> Array.contains 7L) "p2f |> Array.contains 0L && p2f |> Array.contains 7L"
                        else Expect.isTrue (p2f |> Array.forall ((=) -1L)) "p2f |> Array.forall ((=) -1L)"
        }

        test "interpolate equals a per-pixel loop" {
            use scope = DisposalScope.Open()
            use g = generator 51
            let v, fcs = icosphere 1
            let verts = projectRandomPoses 52 2 [| 0.8; 0.5; 0.6 |] 2.732 30.0 v Float64
            let faces = facesTensor fcs
            let fr = Rasterizer.rasterize { raster16 3 0.02 true false with Height = 12; Width = 12 } verts faces
            let d = 4
            let attrs = Tensor.randn ([ 2; v.Length; d ], g, Float64)
            let actual = Shading.interpolate fr attrs faces
            Expect.equal actual.Shape [| 2; 12; 12; 3; d |] "actual.Shape"
            let p2f, bary, a = fr.PixToFace.ToInt64s(), fr.Bary.ToFloat64s(), attrs.ToFloat64s()
            let expected =
                Array.init (2 * 12 * 12 * 3 * d) (fun idx ->
                    let slot, c = idx / d, idx % d
                    let b = slot / (12 * 12 * 3)
                    let face = int p2f.[slot]
                    if face < 0 then 0.0
                    else List.sum [ for j in 0..2 -> bary.[slot * 3 + j] * a.[(b * v.Length + fcs.[face].[j]) * d + c] ])
            Expect.isTrue (p2f |> Array.exists (fun x -> x >= 0L)) "p2f |> Array.exists (fun x -> x >= 0L)"
            assertNear "interpolate" 1e-12 0.0 (Tensor.ofArray (expected, actual.Shape)) actual
            // gradients reach the vertices through the barycentrics and the attributes directly
            let up = Tensor.randn (actual.Shape, g, Float64)
            gradcheck "interpolate d/dattrs" (fun x -> ((Shading.interpolate fr x faces) * up).sum ()) attrs
            // through the barycentrics: nearest face only and no blur, so that the interpolated value
            // is continuous across interior edges (shared vertices) and differences see no jumps
            let ov, ofc = octahedron ()
            let oFaces = facesTensor ofc
            let oVerts = projectRandomPoses 55 1 [| 0.8; 0.6; 0.7 |] 2.732 30.0 ov Float64
            let oAttrs = Tensor.randn ([ 1; ov.Length; 2 ], g, Float64)
            let s = { raster16 1 0.0 true false with Height = 8; Width = 8 }
            let upo = Tensor.randn ([ 1; 8; 8; 1; 2 ], g, Float64)
            gradcheck "interpolate d/dverts" (fun x -> ((Shading.interpolate (Rasterizer.rasterize s x oFaces) oAttrs oFaces) * upo).sum ()) oVerts
        }

        test "layered blend equals UNICORN's front-to-back loop" {
            use scope = DisposalScope.Open()
            use g = generator 53
            let b, h, w, k, c, sigma, bgValue = 2, 5, 6, 4, 3, 1e-3, 0.8
            let fr, _ = randomFragments g b h w k 7 Float64
            let colors = Tensor.rand ([ b; h; w; k; c ], g, Float64)
            let rgb, alpha = Blending.layered sigma bgValue fr colors
            Expect.equal rgb.Shape [| b; c; h; w |] "rgb.Shape"
            Expect.equal alpha.Shape [| b; 1; h; w |] "alpha.Shape"
            let p2f, dists, col = fr.PixToFace.ToInt64s(), fr.Dists.ToFloat64s(), colors.ToFloat64s()
            let expRgb = Array.zeroCreate (b * c * h * w)
            let expA = Array.zeroCreate (b * h * w)
            for n in 0 .. b - 1 do
                for i in 0 .. h - 1 do
                    for j in 0 .. w - 1 do
                        let pix = (n * h + i) * w + j
                        let mutable t = 1.0
                        let acc = Array.zeroCreate c
                        for s in 0 .. k - 1 do
                            let slot = pix * k + s
                            let a = if p2f.[slot] >= 0L then exp (-(max dists.[slot] 0.0) / sigma) else 0.0
                            for ch in 0 .. c - 1 do acc.[ch] <- acc.[ch] + t * a * col.[slot * c + ch]
                            t <- t * (1.0 - a)
                        for ch in 0 .. c - 1 do expRgb.[((n * c + ch) * h + i) * w + j] <- acc.[ch] + t * bgValue
                        expA.[pix] <- 1.0 - t
            assertNear "layered rgb" 1e-12 0.0 (Tensor.ofArray (expRgb, rgb.Shape)) rgb
            assertNear "layered alpha" 1e-12 0.0 (Tensor.ofArray (expA, alpha.Shape)) alpha
            // gradients w.r.t. distances (outside slots) and colours
            let up = Tensor.randn ([ b; c; h; w ], g, Float64)
            let upA = Tensor.randn ([ b; 1; h; w ], g, Float64)
            let loss (fr: Fragments) cs = let r, a = Blending.layered sigma bgValue fr cs in (r * up).sum () + (a * upA).sum ()
            gradcheck "layered d/ddists" (fun d -> loss { fr with Dists = d } colors) fr.Dists
            gradcheck "layered d/dcolors" (fun cs -> loss fr cs) colors
        }

        test "softmax blend equals its formula" {
            use scope = DisposalScope.Open()
            use g = generator 54
            let b, h, w, k, c = 2, 4, 5, 3, 3
            let sigma, znear, zfar = 1e-3, 1.0, 10.0
            let bg = [| 0.1; 0.6; 1.0 |]
            let fr, _ = randomFragments g b h w k 5 Float64
            let colors = Tensor.rand ([ b; h; w; k; c ], g, Float64)
            // a wide temperature, and a sharp one where the background weight hits its 1e-10 floor
            for gamma in [ 1e-1; 1e-3 ] do
                let rgb, alpha = Blending.softmax sigma gamma znear zfar bg fr colors
                let p2f, dists, zs, col = fr.PixToFace.ToInt64s(), fr.Dists.ToFloat64s(), fr.Zbuf.ToFloat64s(), colors.ToFloat64s()
                let eps = 1e-10
                let rgbOut, aOut = rgb.ToFloat64s(), alpha.ToFloat64s()
                for pix in 0 .. b * h * w - 1 do
                    let n, ij = pix / (h * w), pix % (h * w)
                    let valid s = p2f.[pix * k + s] >= 0L
                    let prob = Array.init k (fun s -> if valid s then 1.0 / (1.0 + exp (dists.[pix * k + s] / sigma)) else 0.0)
                    let zInv = Array.init k (fun s -> if valid s then (zfar - zs.[pix * k + s]) / (zfar - znear) else 0.0)
                    let zMax = max eps (Array.max zInv)
                    let weight = Array.init k (fun s -> prob.[s] * exp ((zInv.[s] - zMax) / gamma))
                    let delta = max eps (exp ((eps - zMax) / gamma))
                    let denom = Array.sum weight + delta
                    let a = 1.0 - Array.fold (fun t p -> t * (1.0 - p)) 1.0 prob
                    assertClose 1e-12 0.0 [| a |] [| aOut.[pix] |]
                    for ch in 0 .. c - 1 do
                        let num = (Array.mapi (fun s wgt -> wgt * col.[(pix * k + s) * c + ch]) weight |> Array.sum) + delta * bg.[ch]
                        assertClose 1e-12 0.0 [| num / denom |] [| rgbOut.[(n * c + ch) * h * w + ij] |]
            let up = Tensor.randn ([ b; c; h; w ], g, Float64)
            gradcheck "softmax d/dzbuf" (fun z -> ((fst (Blending.softmax sigma 0.1 znear zfar bg { fr with Zbuf = z } colors)) * up).sum ()) fr.Zbuf
        }

        test "hard rendering covers a square with its analytic area" {
            use scope = DisposalScope.Open()
            // a square in NDC, slightly rotated so no edge lines up with the sample grid
            let h, w, ss = 16, 20, 4
            let cx, cy, half, angle = 0.07, -0.11, 0.55, 0.3
            let corner k =
                let a = angle + float k * Math.PI / 2.0
                [| cx + half * sqrt 2.0 * cos a; cy + half * sqrt 2.0 * sin a; 3.0 |]
            let verts = Tensor.ofArray (Array.init 4 corner |> Array.concat, [ 1; 4; 3 ])
            let faces = Tensor.ofArray ([| 0L; 1L; 2L; 0L; 2L; 3L |], [ 2; 3 ])
            let color = Tensor.ofArray ([| 0.9f; 0.4f; 0.1f |], [ 1; 1; 3 ]) |> fun c -> c.expand([ 1; 4; 3 ]).contiguous ()
            let background = Tensor.full ([ 1; 3; h; w ], 0.25)
            let image, alpha = Renderer.hard h w ss (verts.cast Float32) faces color background
            // the corners are half·√2 from the centre, so the side is 2·half NDC; NDC -> pixels scales by W/2, H/2
            let side = 2.0 * half
            let areaPx = side * side * (float w / 2.0) * (float h / 2.0)
            let covered = alpha.sum().ToScalar()
            // each boundary pixel is off by at most one sample row/column: perimeter / supersample
            let perimeterPx = 2.0 * side * (float w / 2.0 + float h / 2.0)
            Expect.isTrue (abs (covered - areaPx) <= perimeterPx / float ss) (sprintf "covered %g px, area %g px" covered areaPx)
            let a, img = alpha.ToFloat64s(), image.ToFloat64s()
            Expect.isTrue (a |> Array.forall (fun v -> v >= 0.0 && v <= 1.0)) "a |> Array.forall (fun v -> v >= 0.0 && v <= 1.0)"
            Expect.isTrue (a |> Array.exists ((=) 1.0) && a |> Array.exists ((=) 0.0)) "a |> Array.exists ((=) 1.0) && a |> Array.exists ((=) 0.0)"
            // premultiplied pooling: every pixel is colour·alpha + background·(1 − alpha)
            let cols = [| 0.9; 0.4; 0.1 |]
            for ch in 0..2 do
                for p in 0 .. h * w - 1 do
                    assertClose 1e-6 0.0 [| cols.[ch] * a.[p] + 0.25 * (1.0 - a.[p]) |] [| img.[ch * h * w + p] |]
        }

        test "textured render keeps its invariants on random poses and awkward meshes" {
            use scope = DisposalScope.Open()
            use g = generator 61
            let v, fcs = icosphere 1
            let faces = facesTensor fcs
            let settings = { RasterSettings.Defaults with Height = 16; Width = 16 }
            let sigma = 1e-4
            for dtype in [ Float32; Float64 ] do
                let verts = projectRandomPoses 62 3 [| 0.4; 0.28; 0.28 |] 2.732 30.0 v dtype
                let uvImage = Tensor.rand ([ 3; 3; 8; 8 ], g, dtype)
                let background = Tensor.rand ([ 3; 3; 16; 16 ], g, dtype)
                let image, alpha = renderChecked (sprintf "icosphere %A" dtype) settings sigma verts faces ((sphericalUvs v).cast dtype) uvImage background
                let a = alpha.ToFloat64s()
                Expect.isTrue (a |> Array.exists ((=) 1.0) && a |> Array.exists ((=) 0.0)) "a |> Array.exists ((=) 1.0) && a |> Array.exists ((=) 0.0)"
                // where alpha is 0 the composite is the background
                let img, bg = image.ToFloat64s(), background.ToFloat64s()
                for n in 0..2 do
                    for ch in 0..2 do
                        for p in 0..255 do
                            if a.[n * 256 + p] = 0.0 then Expect.equalRounded 6 img.[(n * 3 + ch) * 256 + p] bg.[(n * 3 + ch) * 256 + p] "img.[(n * 3 + ch) * 256 + p]"
                // the awkward faces as a mesh: finite everything, nothing behind the camera drawn
                let awkward = awkwardFaces dtype
                let av, af = soupMesh awkward
                let uvs = Tensor.rand ([ av.Shape.[1]; 2 ], g, dtype)
                renderChecked (sprintf "awkward %A" dtype) { settings with ZNear = 1.0 } sigma av af uvs (uvImage.narrow (0, 0, 1)) (background.narrow (0, 0, 1)) |> ignore
                // an empty mesh renders the background
                let ev, ef = Tensor.zeros ([ 1; 0; 3 ], dtype), Tensor.zeros ([ 0; 3 ], Int64)
                let image, alpha = renderChecked (sprintf "empty %A" dtype) settings sigma ev ef (Tensor.zeros ([ 0; 2 ], dtype)) (uvImage.narrow (0, 0, 1)) (background.narrow (0, 0, 1))
                Expect.isTrue (alpha.ToFloat64s() |> Array.forall ((=) 0.0)) "alpha.ToFloat64s() |> Array.forall ((=) 0.0)"
                assertNear "empty mesh shows the background" 1e-6 0.0 (background.narrow (0, 0, 1)) image
        }

        test "fused textured render equals the composed parts, outputs and gradients" {
            use scope = DisposalScope.Open()
            use g = generator 65
            for dtype in [ Float64; Float32 ] do
                let verts, faces, uvs, uvImage, background = texturedScene 66 3 1 16 14 dtype
                for k, sigma, persp, cull in [ 8, 1e-3, false, false; 3, 1e-3, true, false; 1, 1e-4, false, true; 5, 3e-3, true, true ] do
                    let s = { RasterSettings.Defaults with Height = 16; Width = 14; FacesPerPixel = k; BlurRadius = Rasterizer.blurRadiusFor sigma 1e-4; PerspectiveCorrect = persp; CullBackfaces = cull }
                    let what = sprintf "%A K=%d sigma=%g persp=%b cull=%b" dtype k sigma persp cull
                    let upImage = Tensor.randn (background.Shape, g, dtype)
                    let upAlpha = Tensor.randn ([ 3; 1; 16; 14 ], g, dtype)
                    let run (render: RasterSettings -> float -> Tensor -> Tensor -> Tensor -> Tensor -> Tensor -> Tensor * Tensor) =
                        let out = ref None
                        let _, grads =
                            Autograd.fgrads
                                (fun xs ->
                                    let image, alpha = render s sigma xs.[0] faces uvs xs.[1] xs.[2]
                                    out.Value <- Some(image.detach (), alpha.detach ())
                                    (image * upImage).sum () + (alpha * upAlpha).sum ())
                                [| verts; uvImage; background |]
                        let (image: Tensor), (alpha: Tensor) = out.Value.Value
                        image, alpha, grads
                    let fImage, fAlpha, fGrads = run Renderer.textured
                    let cImage, cAlpha, cGrads = run Renderer.texturedComposed
                    let a = cAlpha.ToFloat64s()
                    Expect.isTrue (a |> Array.exists (fun x -> x > 0.0 && x < 1.0) && a |> Array.exists ((=) 1.0)) (what + ": trivial alpha")
                    let atol = if dtype = Float64 then 1e-12 else 2e-6
                    assertNear (what + " image") atol 0.0 cImage fImage
                    assertNear (what + " alpha") atol 0.0 cAlpha fAlpha
                    Expect.isTrue (cGrads.[0].abs().max().ToScalar() > 1e-3) (what + ": no vertex gradient")
                    let names = [| "d/dverts"; "d/duvImage"; "d/dbackground" |]
                    for i in 0..2 do
                        assertNear (sprintf "%s %s" what names.[i]) atol (if dtype = Float64 then 1e-10 else 1e-4) cGrads.[i] fGrads.[i]
        }

        test "textured render with UVs that need a gradient takes the composed path" {
            use scope = DisposalScope.Open()
            let verts, faces, uvs, uvImage, background = texturedScene 67 2 1 12 12 Float64
            let s = { RasterSettings.Defaults with Height = 12; Width = 12; BlurRadius = Rasterizer.blurRadiusFor 1e-3 1e-4 }
            let plain, _ = Renderer.textured s 1e-3 verts faces uvs uvImage background
            let gUv = Autograd.grad (fun u -> (fst (Renderer.textured s 1e-3 verts faces u uvImage background)).sum ()) uvs
            Expect.isTrue (gUv.abs().max().ToScalar() > 1e-6) "no UV gradient"
            let withGrad, _ = Renderer.textured s 1e-3 verts faces (uvs.detach().RequireGrad()) uvImage background
            assertNear "same image either way" 1e-12 0.0 plain withGrad
            // the fused kernel itself refuses UVs with a gradient instead of silently dropping it
            let faceUvs = (uvs.indexSelect(0, faces.flatten ())).reshape([ faces.Shape.[0]; 3; 2 ]).detach().RequireGrad()
            let e = Expect.catchAnyT<exn> (fun () -> Rasterizer.texturedLayered s 1e-3 [| 1.0; 1.0; 1.0 |] verts faces faceUvs uvImage |> ignore) "Rasterizer.texturedLayered s 1e-3 [| 1.0; 1.0; 1.0 |] verts faces fac..."
            Expect.stringContains e.Message "face_uvs must not require grad" "e.Message"
        }

        test "textured render gradcheck in float64" {
            use scope = DisposalScope.Open()
            use g = generator 63
            let v, fcs = octahedron ()
            let faces = facesTensor fcs
            let verts = projectRandomPoses 64 1 [| 0.8; 0.6; 0.7 |] 2.732 30.0 v Float64
            let uvs = Tensor.rand ([ v.Length; 2 ], g, Float64)
            let uvImage = Tensor.rand ([ 1; 3; 4; 4 ], g, Float64)
            let background = Tensor.rand ([ 1; 3; 8; 8 ], g, Float64)
            let settings = { RasterSettings.Defaults with Height = 8; Width = 8; FacesPerPixel = 8; BlurRadius = Rasterizer.blurRadiusFor 2e-2 1e-12 }
            let up = Tensor.randn ([ 1; 3; 8; 8 ], g, Float64)
            let upA = Tensor.randn ([ 1; 1; 8; 8 ], g, Float64)
            for name, renderer in [ "fused", Renderer.textured; "composed", Renderer.texturedComposed ] do
                let render x tex = let image, alpha = renderer settings 2e-2 x faces uvs tex background in (image * up).sum () + (alpha * upA).sum ()
                gradcheck (name + " textured d/duvImage") (fun t -> render verts t) uvImage
                gradcheck (name + " textured d/dverts") (fun x -> render x uvImage) verts
        }

        test "the benchmark's dense references render what the kernels render" {
            // RenderBench times its fast paths against these; they must compute the same thing
            use scope = DisposalScope.Open()
            let verts, faces, uvs, uvImage, background = texturedScene 71 2 1 12 12 Float64
            let s = { RasterSettings.Defaults with Height = 12; Width = 12; BlurRadius = Rasterizer.blurRadiusFor 1e-3 1e-4 }
            let fast, fastAlpha = Renderer.textured s 1e-3 verts faces uvs uvImage background
            let dense, denseAlpha = Reference.textured s 1e-3 verts faces uvs uvImage background
            Expect.isTrue (fastAlpha.ToFloat64s() |> Array.exists (fun a -> a > 0.0 && a < 1.0)) "fastAlpha.ToFloat64s() |> Array.exists (fun a -> a > 0.0 && a < 1.0)"
            assertNear "dense textured image" 1e-10 0.0 fast dense
            assertNear "dense textured alpha" 1e-10 0.0 fastAlpha denseAlpha
            let soft = { SoftSettings.Defaults with Height = 12; Width = 12; Sigma = 1e-3; DistEps = 1e-4 }
            let fv = Rasterizer.faceAttributes verts faces
            assertNear "dense silhouette" 1e-10 0.0 (Rasterizer.softRasterize soft fv None [||]) (Reference.silhouette soft fv)
        }
    ]
