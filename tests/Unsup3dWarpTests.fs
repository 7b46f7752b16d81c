/// Unsup3d's warping renderer: the grid mesh's faces, the rendered depth against a brute-force
/// ray cast in float64, the identity view, a known rotation traced back by hand, gradients
/// against finite differences, errors and flat memory.
module Reconstruct.Tests.Unsup3dWarpTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Stages
open Reconstruct.Stages.Unsup3dWarp
open Reconstruct.Tests.TestHelpers

let private host (t: Tensor) = t.ToFloat64s()

let private sub (a: float[]) (b: float[]) = Array.map2 (-) a b
let private cross (a: float[]) (b: float[]) = [| a.[1] * b.[2] - a.[2] * b.[1]; a.[2] * b.[0] - a.[0] * b.[2]; a.[0] * b.[1] - a.[1] * b.[0] |]
let private dot (a: float[]) (b: float[]) = Array.map2 (*) a b |> Array.sum

/// The test's own camera, from the spec: f = ((S − 1)/2)/tan 5°, c = (S − 1)/2, pixel centres
/// at integer (u, v).
let private focalOf (size: int) = (float (size - 1) / 2.0) / Math.Tan(5.0 * Math.PI / 180.0)
let private ray (size: int) (u: float) (v: float) =
    let f, c = focalOf size, float (size - 1) / 2.0
    [| (u - c) / f; (v - c) / f; 1.0 |]
let private project (size: int) (p: float[]) =
    let f, c = focalOf size, float (size - 1) / 2.0
    f * p.[0] / p.[2] + c, f * p.[1] / p.[2] + c

/// R = Rz·Ry·Rx written out, and the view's motion about (0, 0, 1) and its inverse.
let private rotationOf (x: float) (y: float) (z: float) =
    let mul (p: float[,]) (q: float[,]) = Array2D.init 3 3 (fun i j -> Seq.sum (seq { for k in 0 .. 2 -> p.[i, k] * q.[k, j] }))
    let rx = array2D [ [ 1.0; 0.0; 0.0 ]; [ 0.0; cos x; -sin x ]; [ 0.0; sin x; cos x ] ]
    let ry = array2D [ [ cos y; 0.0; sin y ]; [ 0.0; 1.0; 0.0 ]; [ -sin y; 0.0; cos y ] ]
    let rz = array2D [ [ cos z; -sin z; 0.0 ]; [ sin z; cos z; 0.0 ]; [ 0.0; 0.0; 1.0 ] ]
    mul rz (mul ry rx)
let private centre = [| 0.0; 0.0; 1.0 |]
let private apply (r: float[,]) (p: float[]) = Array.init 3 (fun i -> r.[i, 0] * p.[0] + r.[i, 1] * p.[1] + r.[i, 2] * p.[2])
let private applyT (r: float[,]) (p: float[]) = Array.init 3 (fun i -> r.[0, i] * p.[0] + r.[1, i] * p.[1] + r.[2, i] * p.[2])
let private moved (r: float[,]) (t: float[]) (p: float[]) = Array.map2 (+) (Array.map2 (+) (apply r (sub p centre)) centre) t
let private movedBack (r: float[,]) (t: float[]) (p: float[]) = Array.map2 (+) (applyT r (sub (sub p t) centre)) centre

/// One view (batch 1), float64.
let private viewOf (angles: float[]) (translation: float[]) : Unsup3d.View =
    { Angles = Tensor.ofArray (angles, [ 1; 3 ]); Translation = Tensor.ofArray (translation, [ 1; 3 ]) }

/// Depth maps (row-major S·S) from functions of (row, column).
let private depthMap (size: int) (at: int -> int -> float) = Array.init (size * size) (fun k -> at (k / size) (k % size))

/// The plane m·X = m_z through (0, 0, 1): its depth along the ray of (u, v).
let private tiltedPlane (size: int) =
    let m = [| 0.3; -0.2; 1.0 |]
    depthMap size (fun i j -> m.[2] / dot m (ray size (float j) (float i)))

/// A sphere of radius 0.06 at (0.01, −0.005, 1) where the ray meets it, the plane z = 1.05 elsewhere.
let private sphereCap (size: int) =
    let c, r = [| 0.01; -0.005; 1.0 |], 0.06
    depthMap size (fun i j ->
        let q = ray size (float j) (float i)
        let a, b, cc = dot q q, dot q c, dot c c - r * r
        let disc = b * b - a * cc
        if disc > 0.0 then (b - sqrt disc) / a else 1.05)

/// The canonical grid's points moved by the view, by hand: (S·S) points.
let private movedPoints (size: int) (depth: float[]) (r: float[,]) (t: float[]) =
    Array.init (size * size) (fun k ->
        let q = ray size (float (k % size)) (float (k / size))
        moved r t (Array.map (fun x -> x * depth.[k]) q))

/// Nearest hit t > 0 of the ray t·q with the triangles (Möller–Trumbore from the origin), or
/// None. q_z = 1, so t is the view depth.
let private rayCast (triangles: (float[] * float[] * float[])[]) (q: float[]) =
    let mutable best = None
    for a, b, c in triangles do
        let e1, e2 = sub b a, sub c a
        let p = cross q e2
        let det = dot e1 p
        if abs det > 1e-300 then
            let s = Array.map (fun x -> -x) a
            let u = dot s p / det
            let qq = cross s e1
            let v = dot q qq / det
            let t = dot e2 qq / det
            if u >= 0.0 && v >= 0.0 && u + v <= 1.0 && t > 0.0 then
                match best with
                | Some tb when tb <= t -> ()
                | _ -> best <- Some t
    best

let private trianglesOf (size: int) (points: float[][]) =
    let faces = Scoped.hostInt64 (gridFaces size)
    Array.init (faces.Length / 3) (fun f -> points.[int faces.[3 * f]], points.[int faces.[3 * f + 1]], points.[int faces.[3 * f + 2]])

/// The ray-cast depth at (S·s)² subpixel centres u′ = (2j′ + 1)/(2s) − 1/2 (None = miss).
let private castSubpixels (size: int) (s: int) (triangles: (float[] * float[] * float[])[]) =
    let side = size * s
    let at (k: int) = (2.0 * float k + 1.0) / (2.0 * float s) - 0.5
    Array.init (side * side) (fun p -> rayCast triangles (ray size (at (p % side)) (at (p / side))))

let private settingsFor (size: int) (s: int) = { Focal = focalOf size; Supersample = s; Near = 0.5; Far = 2.0 }

/// Points (1, S, S, 3) from host points.
let private pointsTensor (size: int) (points: float[][]) = Tensor.ofArray (Array.concat points, [ 1; size; size; 3 ])

[<Tests>]
let tests =
    testList "Unsup3dWarp" [
        test "gridFaces: 2(S−1)² faces in Unsup3d's order, indices in [0, S²), each cell exactly covered by its two triangles, all wound alike" {
            use scope = DisposalScope.Open()
            Expect.equal (gridFaces 64).Shape [| 7938; 3 |] "7,938 faces at S = 64"
            for size in [ 2; 3; 7 ] do
                let faces = gridFaces size
                Expect.equal faces.Dtype Int64 "int64"
                let n = size - 1
                Expect.equal faces.Shape [| 2 * n * n; 3 |] (sprintf "(2(S−1)², 3) at S = %d" size)
                let f = Scoped.hostInt64 faces |> Array.map int
                Expect.isTrue (f |> Array.forall (fun v -> v >= 0 && v < size * size)) "indices in [0, S²)"
                let corner (k: int) = (f.[3 * k] / size, f.[3 * k] % size)
                let uv (v: int) = float (v % size), float (v / size)
                let signedArea (k: int) =
                    let (u0, v0), (u1, v1), (u2, v2) = uv f.[3 * k], uv f.[3 * k + 1], uv f.[3 * k + 2]
                    ((u1 - u0) * (v2 - v0) - (v1 - v0) * (u2 - u0)) / 2.0
                for cell in 0 .. n * n - 1 do
                    let i, j = cell / n, cell % n
                    let v = i * size + j
                    Expect.equal (Array.sub f (3 * cell) 3) [| v; v + size; v + 1 |] (sprintf "cell (%d, %d): (i,j),(i+1,j),(i,j+1) in the first half" i j)
                    Expect.equal (Array.sub f (3 * (n * n + cell)) 3) [| v + 1; v + size; v + size + 1 |] (sprintf "cell (%d, %d): (i,j+1),(i+1,j),(i+1,j+1) in the second half" i j)
                    Expect.equal (corner cell) (i, j) "the first half is row-major"
                    // The two triangles share the diagonal and together hold the cell's corners.
                    let both = Set.ofArray (Array.append (Array.sub f (3 * cell) 3) (Array.sub f (3 * (n * n + cell)) 3))
                    Expect.equal both (set [ v; v + 1; v + size; v + size + 1 ]) "the cell's four corners"
                let areas = Array.init (2 * n * n) signedArea
                Expect.isTrue (areas |> Array.forall (fun a -> a = areas.[0])) "every face has the same signed area in the image (one winding)"
                Expect.floatClose Accuracy.veryHigh (Array.sum areas |> abs) (float (n * n)) "together they tile the (S−1)² square"
            Expect.throwsT<ArgumentException> (fun () -> gridFaces 1 |> ignore) "S >= 2"
        }

        test "renderDepth equals a float64 ray cast at every pixel (Supersample 1) and the mean of the ray cast at u = j ± 1/4 (Supersample 2), for a tilted plane and a sphere cap seen 15° about y" {
            use scope = DisposalScope.Open()
            let size = 16
            let r = rotationOf 0.02 (15.0 * Math.PI / 180.0) 0.0
            let t = [| 0.01; -0.006; 0.02 |]
            for name, depth in [ "tilted plane", tiltedPlane size; "sphere cap", sphereCap size ] do
                let points = movedPoints size depth r t
                let triangles = trianglesOf size points
                for s in [ 1; 2 ] do
                    let settings = settingsFor size s
                    let cast = castSubpixels size s triangles |> Array.map (fun h -> defaultArg h settings.Far)
                    let side = size * s
                    let expected =
                        Array.init (size * size) (fun p ->
                            let i, j = p / size, p % size
                            let sum = Seq.sum (seq { for a in 0 .. s - 1 do for b in 0 .. s - 1 -> cast.[(i * s + a) * side + j * s + b] })
                            sum / float (s * s))
                    let actual = host (renderDepth settings (pointsTensor size points))
                    let missed = expected |> Array.filter (fun d -> d = settings.Far) |> Array.length
                    Expect.isGreaterThan missed 0 (sprintf "%s: the view shows some background" name)
                    Expect.isLessThan missed (size * size / 3) (sprintf "%s: and mostly the surface" name)
                    // Both are exact in float64; the render's plane of 1/z and the ray cast
                    // only round differently.
                    assertClose 1e-10 0.0 expected actual
            // The plane's ray cast against its analytic depth: the moved plane n′·X = n′·X₀.
            let m = [| 0.3; -0.2; 1.0 |]
            let n' = apply r m
            let x0 = moved r t centre
            let triangles = trianglesOf size (movedPoints size (tiltedPlane size) r t)
            let mutable hits = 0
            for i in 0 .. size - 1 do
                for j in 0 .. size - 1 do
                    let q = ray size (float j) (float i)
                    match rayCast triangles q with
                    | Some d ->
                        hits <- hits + 1
                        Expect.floatClose Accuracy.high d (dot n' x0 / dot n' q) "the plane's depth along the ray"
                    | None -> ()
            Expect.isGreaterThan hits 150 "most rays hit the plane"
        }

        test "subpixelDepth agrees with the rasterizer's own perspective-correct zbuf, and pooledDepth averages s×s blocks then clamps" {
            use scope = DisposalScope.Open()
            let size = 16
            let settings = { settingsFor size 2 with Near = 0.99; Far = 1.02 }
            let points = pointsTensor size (movedPoints size (sphereCap size) (rotationOf 0.0 0.3 0.1) [| 0.0; 0.01; 0.0 |])
            let faces = faceIndex settings points
            Expect.equal faces.Shape [| 1; 32; 32 |] "(B, S·s, S·s)"
            let d = subpixelDepth settings points faces
            let raster =
                { Reconstruct.Render.RasterSettings.Defaults with
                    Height = 32; Width = 32; FacesPerPixel = 1; BlurRadius = 1e-8; PerspectiveCorrect = true; CullBackfaces = false; ZNear = 0.01 }
            let z = settings.Focal * 2.0 / float size
            let p = points.reshape [ 1; size * size; 3 ]
            let ndc = Tensor.stack ([ p.select (2, 0) / p.select (2, 2) * z; p.select (2, 1) / p.select (2, 2) * z; p.select (2, 2) ], 2)
            let fragments = Reconstruct.Render.Rasterizer.rasterize raster ndc (gridFaces size)
            Expect.equal (Scoped.hostInt64 faces) (Scoped.hostInt64 (fragments.PixToFace.squeeze 3)) "the same faces"
            let zbuf = host (fragments.Zbuf.squeeze 3) |> Array.map (fun v -> if v < 0.0 then settings.Far else v)
            // Exact inside a face; within its 1e-4 NDC slack the kernel's depth is at the
            // nearest point of the face and ours on its plane, 1e-4 NDC on at a slope below 1.
            let inside = host (fragments.Dists.squeeze 3) |> Array.map (fun v -> v <= 0.0)
            Array.iteri2 (fun k (z: float) (ours: float) ->
                Expect.floatClose { absolute = (if inside.[k] then 1e-10 else 1e-4); relative = 0.0 } ours z (sprintf "subpixel %d" k)) zbuf (host d)
            let values = host d
            let pooled = host (pooledDepth settings d)
            for i in 0 .. size - 1 do
                for j in 0 .. size - 1 do
                    let mean = (values.[(2 * i) * 32 + 2 * j] + values.[(2 * i) * 32 + 2 * j + 1] + values.[(2 * i + 1) * 32 + 2 * j] + values.[(2 * i + 1) * 32 + 2 * j + 1]) / 4.0
                    Expect.floatClose Accuracy.veryHigh pooled.[i * size + j] (max settings.Near (min settings.Far mean)) (sprintf "pixel (%d, %d)" i j)
            Expect.isTrue (pooled |> Array.exists (fun v -> v = settings.Near)) "some pixels clamped at Near"
        }

        test "the identity view maps every pixel onto itself: the grid is the pixel centres, the image is unchanged, the mask is 1, the depth is the canonical depth inside" {
            use scope = DisposalScope.Open()
            use g = generator 21
            let size = Unsup3d.ImageSize
            let settings = Settings.Faces
            let wavy = depthMap size (fun i j -> 1.0 + 0.05 * sin (float j / 9.0) * cos (float i / 13.0))
            let canonicalDepth = Tensor.ofArray (Array.append wavy (tiltedPlane size) |> Array.map float32, [ 2; size; size ])
            let image = Tensor.uniform ([ 2; 3; size; size ], -1.0, 1.0, g)
            let zero: Unsup3d.View = { Angles = Tensor.zeros [ 2; 3 ]; Translation = Tensor.zeros [ 2; 3 ] }
            let warped = warp settings 1.0 zero canonicalDepth image
            Expect.equal warped.Image.Shape [| 2; 3; size; size |] "(B, C, S, S)"
            let grid = host (samplingGrid settings 1.0 zero warped.ViewDepth)
            let expectedGrid = Array.init (2 * size * size * 2) (fun k -> let p = (k / 2) % (size * size) in float (if k % 2 = 0 then p % size else p / size) / float (size - 1) * 2.0 - 1.0)
            assertClose 1e-6 0.0 expectedGrid grid
            // float32 unprojection and reprojection of the depth leave the grid within 1e-6
            // (NDC), (S − 1)/2·1e-6 ≈ 3e-5 px, and neighbours in [−1, 1] differ by at most 2.
            assertClose (1e-6 * float (size - 1) / 2.0 * 2.0) 0.0 (host image) (host warped.Image)
            Expect.isTrue (host warped.Mask |> Array.forall ((=) 1.0)) "mask 1 everywhere: every pixel has a covered subpixel"
            // Every grid diagonal passes through subpixel centres here, on the edge of both its
            // faces: none may be a hole. Only the outer ring (u = −1/4 or S − 3/4) is background.
            let side = 2 * size
            let faces = Scoped.hostInt64 (faceIndex settings (Unsup3d.depthToPoints settings.Focal canonicalDepth))
            for k, face in Array.indexed faces do
                let i, j = (k / side) % side, k % side
                let ring = i = 0 || j = 0 || i = side - 1 || j = side - 1
                if ring <> (face < 0L) then failtestf "subpixel (%d, %d): face %d" i j face
            // On the plane, 1/z is affine in (u, v), so the faces render it exactly and each pixel
            // is the mean of the plane's depth at its four subpixels (u, v) = (j ± 1/4, i ± 1/4).
            let m = [| 0.3; -0.2; 1.0 |]
            let plane (u: float) (v: float) = m.[2] / dot m (ray size u v)
            let viewDepth = host warped.ViewDepth
            for i in 1 .. size - 2 do
                for j in 1 .. size - 2 do
                    let quarter = [ -0.25; 0.25 ]
                    let expected = List.average [ for a in quarter do for b in quarter -> plane (float j + a) (float i + b) ]
                    Expect.floatClose { absolute = 2e-6; relative = 0.0 } viewDepth.[size * size + i * size + j] expected (sprintf "plane depth at (%d, %d)" i j)
        }

        test "under a known rotation each pixel reads the canonical image where the ray-cast surface point projects when moved back by hand" {
            use scope = DisposalScope.Open()
            let size = 32
            let angles, t = [| 0.03; 15.0 * Math.PI / 180.0; -0.02 |], [| 0.008; -0.004; 0.0 |]
            let r = rotationOf angles.[0] angles.[1] angles.[2]
            let depth = tiltedPlane size
            // Channels u/(S − 1) and v/(S − 1): bilinear sampling of a linear image is exact, so
            // the reconstruction reads out the source position.
            let ramp = Array.init (2 * size * size) (fun k -> let p = k % (size * size) in float (if k < size * size then p % size else p / size) / float (size - 1))
            let triangles = trianglesOf size (movedPoints size depth r t)
            for s, tolerance in [ 1, 1e-9; 2, 2e-3 ] do
                let settings = settingsFor size s
                let warped = warp settings 1.0 (viewOf angles t) (Tensor.ofArray (depth, [ 1; size; size ])) (Tensor.ofArray (ramp, [ 1; 2; size; size ]))
                let image = host warped.Image
                let cast = castSubpixels size s triangles
                let side = size * s
                let mutable checkedPixels = 0
                for i in 0 .. size - 1 do
                    for j in 0 .. size - 1 do
                        // The whole pixel on the surface, and its own centre's ray cast.
                        let covered = seq { for a in 0 .. s - 1 do for b in 0 .. s - 1 -> cast.[(i * s + a) * side + j * s + b] } |> Seq.forall Option.isSome
                        match rayCast triangles (ray size (float j) (float i)) with
                        | Some d when covered ->
                            let u, v = project size (movedBack r t (Array.map (fun x -> x * d) (ray size (float j) (float i))))
                            if u >= 0.0 && u <= float (size - 1) && v >= 0.0 && v <= float (size - 1) then
                                checkedPixels <- checkedPixels + 1
                                let k = i * size + j
                                Expect.floatClose { absolute = tolerance; relative = 0.0 } (image.[k] * float (size - 1)) u (sprintf "s = %d: u read at (%d, %d)" s i j)
                                Expect.floatClose { absolute = tolerance; relative = 0.0 } (image.[size * size + k] * float (size - 1)) v (sprintf "s = %d: v read at (%d, %d)" s i j)
                        | _ -> ()
                Expect.isGreaterThan checkedPixels (size * size / 2) "most pixels checked"
                // The rotation moves the image: pixels read a few columns away.
                let shifts = Array.init (size * size) (fun k -> abs (image.[k] * float (size - 1) - float (k % size)))
                Expect.isGreaterThan (Array.max shifts) 2.0 "the warp moves pixels by more than 2 px somewhere"
        }

        test "gradients of the warp w.r.t. the canonical depth, image and view angles, and of renderDepth w.r.t. the points, match finite differences (float64)" {
            use scope = DisposalScope.Open()
            let size = 8
            let settings = { Settings.Faces with Focal = focalOf size }
            let r = Random(31)
            let depth = Tensor.ofArray (Array.init (size * size) (fun _ -> 1.0 + 0.04 * (r.NextDouble() * 2.0 - 1.0)), [ 1; size; size ])
            let angles, t = [| 0.04; 0.26; -0.03 |], [| 0.006; -0.004; 0.01 |]
            let view = viewOf angles t
            // A linear canonical image: bilinear sampling of it has no kinks between pixels.
            let ramp = Tensor.ofArray (Array.init (3 * size * size) (fun k -> let c, p = k / (size * size), k % (size * size) in 0.1 * float c + 0.07 * float (p % size) - 0.05 * float (p / size) * float (c - 1)), [ 1; 3; size; size ])
            // Weights only where the grid is well inside the image, away from the zero padding's kink.
            let grid = host (samplingGrid settings 1.0 view (warp settings 1.0 view depth ramp).ViewDepth)
            let inside = Array.init (size * size) (fun p -> if abs grid.[2 * p] < 0.9 && abs grid.[2 * p + 1] < 0.9 then 1.0 else 0.0)
            Expect.isGreaterThan (Array.sum inside) 20.0 "enough weighted pixels"
            let w = Tensor.ofArray (Array.init (3 * size * size) (fun k -> inside.[k % (size * size)] * (r.NextDouble() + 0.5)), [ 1; 3; size; size ])
            gradcheck "warp image w.r.t. canonical depth" (fun d -> ((warp settings 1.0 view d ramp).Image * w).sum ()) depth
            gradcheck "warp image w.r.t. canonical image" (fun im -> ((warp settings 1.0 view depth im).Image * w).sum ()) ramp
            gradcheck "warp image w.r.t. view angles" (fun a -> ((warp settings 1.0 { view with Angles = a } depth ramp).Image * w).sum ()) view.Angles
            let points = Unsup3d.transformPoints 1.0 view (Unsup3d.depthToPoints settings.Focal depth)
            let wd = Tensor.ofArray (Array.init (size * size) (fun _ -> r.NextDouble() + 0.5), [ 1; size; size ])
            gradcheck "renderDepth w.r.t. the points" (fun p -> (renderDepth settings p * wd).sum ()) (points.detach ())
        }

        test "bad shapes and settings raise ArgumentException naming the argument" {
            use scope = DisposalScope.Open()
            let s = settingsFor 8 2
            let depth = Tensor.ones ([ 1; 8; 8 ], Float64)
            let image = Tensor.zeros ([ 1; 3; 8; 8 ], Float64)
            let view = viewOf [| 0.0; 0.1; 0.0 |] [| 0.0; 0.0; 0.0 |]
            let points = Unsup3d.depthToPoints s.Focal depth
            let cases: (string * string * (unit -> unit)) list =
                [ "renderDepth (B, S, S, 2)", "points", (fun () -> renderDepth s (points.narrow (3, 0, 2)) |> ignore)
                  "renderDepth (B, S, S+1, 3)", "points", (fun () -> renderDepth s (Tensor.ones ([ 1; 8; 9; 3 ], Float64)) |> ignore)
                  "renderDepth Supersample 0", "settings", (fun () -> renderDepth { s with Supersample = 0 } points |> ignore)
                  "renderDepth Near >= Far", "settings", (fun () -> renderDepth { s with Near = 2.0; Far = 1.0 } points |> ignore)
                  "renderDepth Focal 0", "settings", (fun () -> renderDepth { s with Focal = 0.0 } points |> ignore)
                  "subpixelDepth faces at S", "faces", (fun () -> subpixelDepth s points (Tensor.zeros ([ 1; 8; 8 ], Int64)) |> ignore)
                  "pooledDepth odd side", "depth", (fun () -> pooledDepth s (Tensor.ones ([ 1; 15; 15 ], Float64)) |> ignore)
                  "samplingGrid (B, S)", "viewDepth", (fun () -> samplingGrid s 1.0 view (Tensor.ones ([ 1; 8 ], Float64)) |> ignore)
                  "samplingGrid view batch 2", "view", (fun () -> samplingGrid s 1.0 view (Tensor.ones ([ 2; 8; 8 ], Float64)) |> ignore)
                  "warp image of another size", "canonicalImage", (fun () -> warp s 1.0 view depth (Tensor.zeros ([ 1; 3; 16; 16 ], Float64)) |> ignore)
                  "warp image float32", "canonicalImage", (fun () -> warp s 1.0 view depth (Tensor.zeros [ 1; 3; 8; 8 ]) |> ignore)
                  "warp depth (B, 1, S, S)", "canonicalDepth", (fun () -> warp s 1.0 view (depth.unsqueeze 1) image |> ignore)
                  "warp depth int64", "canonicalDepth", (fun () -> warp s 1.0 view (Tensor.ones ([ 1; 8; 8 ], Int64)) image |> ignore) ]
            for name, argument, f in cases do
                let e = Expect.catchT<ArgumentException> f name
                Expect.equal e.ParamName argument (sprintf "%s: ParamName" name)
                Expect.stringContains e.Message "Unsup3dWarp." (sprintf "%s: the message names the function" name)
        }

        testSequenced <| test "the warp and its backward leave only their three outputs alive" {
            use scope = DisposalScope.Open()
            use g = generator 22
            let size = 16
            let settings = { Settings.Faces with Focal = focalOf size }
            let depth = (Tensor.rand ([ 2; size; size ], g) * 0.1 + 0.95).RequireGrad()
            let image = (Tensor.rand ([ 2; 3; size; size ], g)).RequireGrad()
            let view: Unsup3d.View = { Angles = Tensor.rand ([ 2; 3 ], g) * 0.3; Translation = Tensor.zeros [ 2; 3 ] }
            let run () =
                let warped = warp settings 1.0 view depth image
                use total = warped.Image.sum ()
                total.backward ()
                warped
            run () |> ignore
            let before = settledLiveCount ()
            run () |> ignore
            Expect.equal Tensor.LiveCount (before + 3L) "Image, ViewDepth and Mask"
        }
    ]
