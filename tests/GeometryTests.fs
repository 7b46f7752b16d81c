/// Geometry: rotations, cameras, meshes, regularisers, UVs, sampling, voxels and mesh files,
/// checked by properties and against brute-force references written here.
module Reconstruct.Tests.GeometryTests

open System
open System.IO
open Expecto
open FsCheck
open FsCheck.FSharp
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Tests.TestHelpers

// ---------------------------------------------------------------------- helpers

let private seeds = Arb.fromGen (Gen.choose (0, 1_000_000))

let private maxDiff (a: Tensor) (b: Tensor) =
    use _ = DisposalScope.Open()
    ((a - b).abs ()).max().ToScalar()

let private t64 (data: float[]) (shape: int list) = Tensor.ofArray (data, shape)

/// Uniform in (-a, a).
let private symmetric (rng: Random) (a: float) = (rng.NextDouble() * 2.0 - 1.0) * a

let private randomArray (rng: Random) (n: int) (a: float) = Array.init n (fun _ -> symmetric rng a)

/// Fails unless every matrix in r (B, 3, 3) is orthonormal with determinant +1.
let private assertRotations (name: string) (r: Tensor) =
    use _ = DisposalScope.Open()
    let b = r.Size 0
    let eye = (Tensor.eye (3, r.Dtype)).expand [ b; 3; 3 ]
    let ortho = maxDiff (r.matmul r.mT) eye
    let det = maxDiff (r.det ()) (Tensor.ones ([ b ], r.Dtype))
    if ortho > 1e-9 || det > 1e-9 then failwithf "%s: not a rotation (|R Rᵀ - I| = %g, |det - 1| = %g)" name ortho det

let private assertTrue (what: string) (condition: bool) = if not condition then failwith what

/// 3×3 host matrix product and helpers for brute-force references.
let private mat3 (a: float[]) (b: float[]) =
    Array.init 9 (fun k ->
        let i, j = k / 3, k % 3
        a.[3 * i] * b.[j] + a.[3 * i + 1] * b.[3 + j] + a.[3 * i + 2] * b.[6 + j])

/// exp(K) of the skew matrix of v by its power series: an independent Rodrigues reference.
let private expSkew (v: float[]) =
    let k = [| 0.0; -v.[2]; v.[1]; v.[2]; 0.0; -v.[0]; -v.[1]; v.[0]; 0.0 |]
    let mutable term = [| 1.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 |]
    let sum = Array.copy term
    for n in 1 .. 60 do
        term <- mat3 term k |> Array.map (fun x -> x / float n)
        for i in 0 .. 8 do
            sum.[i] <- sum.[i] + term.[i]
    sum

let private faceArrays (faces: Tensor) =
    let f = faces.ToInt64s()
    Array.init (f.Length / 3) (fun i -> [| int f.[3 * i]; int f.[3 * i + 1]; int f.[3 * i + 2] |])

let private vertexArrays (vertices: Tensor) =
    let v = vertices.ToFloat64s()
    Array.init (v.Length / 3) (fun i -> [| v.[3 * i]; v.[3 * i + 1]; v.[3 * i + 2] |])

let private meshOf (vertices: float[][]) (faces: int[][]) (dtype: Dtype) =
    let m = Mesh.ofArrays vertices faces
    if dtype = Float64 then { m with Vertices = Tensor.ofArray (vertices |> Array.concat, [ 1; vertices.Length; 3 ]) } else m

/// A flat n×n grid in the z = 0 plane, every square split along the same diagonal, CCW from +z.
let private flatGrid (n: int) =
    let v = [| for i in 0 .. n - 1 do for j in 0 .. n - 1 do [| float j; float i; 0.0 |] |]
    let id i j = i * n + j
    let f =
        [| for i in 0 .. n - 2 do
               for j in 0 .. n - 2 do
                   [| id i j; id i (j + 1); id (i + 1) (j + 1) |]
                   [| id i j; id (i + 1) (j + 1); id (i + 1) j |] |]
    v, f

/// The cube [-h, h]³, 12 CCW-outward triangles (each square split along a diagonal).
let private cube (h: float) =
    let v = [| for x in [ -h; h ] do for y in [ -h; h ] do for z in [ -h; h ] do [| x; y; z |] |]
    // Vertex index = 4·ix + 2·iy + iz.
    let quads = [| [| 0; 1; 3; 2 |]; [| 4; 6; 7; 5 |]; [| 0; 4; 5; 1 |]; [| 2; 3; 7; 6 |]; [| 0; 2; 6; 4 |]; [| 1; 5; 7; 3 |] |]
    v, quads |> Array.collect (fun q -> [| [| q.[0]; q.[1]; q.[2] |]; [| q.[0]; q.[2]; q.[3] |] |])

let private octahedron (r: float) =
    let v = [| [| r; 0.0; 0.0 |]; [| -r; 0.0; 0.0 |]; [| 0.0; r; 0.0 |]; [| 0.0; -r; 0.0 |]; [| 0.0; 0.0; r |]; [| 0.0; 0.0; -r |] |]
    let f =
        [| [| 0; 2; 4 |]; [| 2; 1; 4 |]; [| 1; 3; 4 |]; [| 3; 0; 4 |]
           [| 2; 0; 5 |]; [| 1; 2; 5 |]; [| 3; 1; 5 |]; [| 0; 3; 5 |] |]
    v, f

let private sub (a: float[]) (b: float[]) = [| a.[0] - b.[0]; a.[1] - b.[1]; a.[2] - b.[2] |]
let private dot (a: float[]) (b: float[]) = a.[0] * b.[0] + a.[1] * b.[1] + a.[2] * b.[2]
let private crossH (a: float[]) (b: float[]) = [| a.[1] * b.[2] - a.[2] * b.[1]; a.[2] * b.[0] - a.[0] * b.[2]; a.[0] * b.[1] - a.[1] * b.[0] |]

/// Brute-force inside test for a closed convex mesh with outward faces: behind every face
/// plane. None when the point is within `margin` of a plane (ambiguous).
let private insideConvex (vertices: float[][]) (faces: int[][]) =
    let planes =
        faces
        |> Array.map (fun f ->
            let n = crossH (sub vertices.[f.[1]] vertices.[f.[0]]) (sub vertices.[f.[2]] vertices.[f.[0]])
            let len = sqrt (dot n n)
            let unit = n |> Array.map (fun x -> x / len)
            unit, dot unit vertices.[f.[0]])
    fun (margin: float) (p: float[]) ->
        let mutable ambiguous = false
        let mutable inside = true
        for n, d in planes do
            let s = dot n p - d
            if abs s < margin then ambiguous <- true
            if s >= 0.0 then inside <- false
        if ambiguous then None else Some inside

/// Compares a voxel grid with the brute-force convex inside test at every unambiguous centre.
let private assertConvexVoxels (name: string) (n: int) (lo: float) (hi: float) (vertices: float[][]) (faces: int[][]) (grid: bool[]) =
    let c = Voxels.centres n lo hi
    let test = insideConvex vertices faces
    let mutable bad = 0
    let mutable first = ""
    for i in 0 .. n - 1 do
        for j in 0 .. n - 1 do
            for k in 0 .. n - 1 do
                match test 1e-9 [| c.[i]; c.[j]; c.[k] |] with
                | Some expected when expected <> grid.[(i * n + j) * n + k] ->
                    bad <- bad + 1
                    if first = "" then first <- sprintf "[%d, %d, %d] expected %b" i j k expected
                | _ -> ()
    if bad > 0 then failwithf "%s: %d voxels differ from the brute-force inside test, first %s" name bad first

// ---------------------------------------------------------------------- camera

let private unicornCamera = Camera.square 30.0 64

let private orbitOne (az: float) (el: float) (roll: float) =
    let one x = t64 [| x |] [ 1 ]
    Camera.orbit (one az) (one el) (one roll) (one 2.732)

let private projectOne (pose: Pose) (p: float[]) =
    (Camera.project unicornCamera pose (t64 p [ 1; 1; 3 ])).ToFloat64s()

/// A closed slab |z| < 0.3 over the diamond A, C1, B, C2 (top and bottom split along AB).
let private diamondSlab (a: float[]) (b: float[]) (c1: float[]) (c2: float[]) =
    let top = [| a; c1; b; c2 |] |> Array.map (fun p -> [| p.[0]; p.[1]; 0.3 |])
    let bottom = [| a; c1; b; c2 |] |> Array.map (fun p -> [| p.[0]; p.[1]; -0.3 |])
    let v = Array.append top bottom
    // Top 0..3, bottom 4..7; diamond corners in order a, c1, b, c2 (counter-clockwise from +z).
    let f =
        [| [| 0; 1; 2 |]; [| 0; 2; 3 |]; [| 4; 6; 5 |]; [| 4; 7; 6 |]
           for k in 0 .. 3 do
               let k1 = (k + 1) % 4
               [| k; 4 + k; 4 + k1 |]
               [| k; 4 + k1; k1 |] |]
    v, f

// ---------------------------------------------------------------------- mesh files

let private assertSameMesh (name: string) (expected: Mesh) (actual: Mesh) =
    Expect.equal actual.Vertices.Shape expected.Vertices.Shape "actual.Vertices.Shape"
    Expect.equal (actual.Faces.ToInt64s()) (expected.Faces.ToInt64s()) "actual.Faces.ToInt64s()"
    assertTrue (name + ": vertices differ") (maxDiff (expected.Vertices.cast Float64) (actual.Vertices.cast Float64) = 0.0)

/// Runs `f`, expecting a MeshFileException whose one-line message starts with `prefix`.
let private expectFileError (prefix: string) (contains: string) (f: unit -> Mesh) =
    let e = Expect.catchT<MeshFileException> (fun () -> f () |> ignore) "f ()"
    assertTrue (sprintf "message %A should start with %A" e.Message prefix) (e.Message.StartsWith prefix)
    assertTrue (sprintf "message %A should mention %A" e.Message contains) (e.Message.Contains contains)
    assertTrue "one line" (not (e.Message.Contains "\n"))

[<Tests>]
let tests =
    testList "Geometry" [
        // ---------------------------------------------------------------------- rotations

        testPropertyWithConfig (propertyConfig 30) "rotation_every_parametrisation_is_orthonormal_with_det_1" (
            Prop.forAll seeds (fun seed ->
                use _ = DisposalScope.Open()
                let rng = Random seed
                let angles () = t64 (randomArray rng 8 4.0) [ 8 ]
                assertRotations "fromEuler" (Rotation.fromEuler (angles ()) (angles ()) (angles ()))
                assertRotations "from6d" (Rotation.from6d (t64 (randomArray rng 48 2.0) [ 8; 6 ]))
                assertRotations "fromQuaternion" (Rotation.fromQuaternion (t64 (randomArray rng 32 2.0) [ 8; 4 ]))
                assertRotations "fromAxisAngle" (Rotation.fromAxisAngle (t64 (randomArray rng 24 6.0) [ 8; 3 ]))
                use g = generator seed
                assertRotations "random" (Rotation.random g 8 Float64)))

        testPropertyWithConfig (propertyConfig 30) "convention_euler_roundtrip" (
            Prop.forAll seeds (fun seed ->
                use _ = DisposalScope.Open()
                let rng = Random seed
                let az = randomArray rng 16 (Math.PI - 1e-3)
                let el = randomArray rng 16 (Math.PI / 2.0 - 1e-2)
                let roll = randomArray rng 16 (Math.PI - 1e-3)
                let r = Rotation.fromEuler (t64 az [ 16 ]) (t64 el [ 16 ]) (t64 roll [ 16 ])
                let a2, e2, r2 = Rotation.toEuler r
                assertClose 1e-9 0.0 az (a2.ToFloat64s())
                assertClose 1e-9 0.0 el (e2.ToFloat64s())
                assertClose 1e-9 0.0 roll (r2.ToFloat64s())
                // And matrix -> angles -> matrix for arbitrary rotations.
                use g = generator seed
                let q = Rotation.random g 16 Float64
                let a, e, ro = Rotation.toEuler q
                assertTrue "euler matrix roundtrip" (maxDiff (Rotation.fromEuler a e ro) q < 1e-9)))

        testPropertyWithConfig (propertyConfig 20) "convention_euler_is_a_look_at_from_the_orbit_position" (
            Prop.forAll seeds (fun seed ->
                use _ = DisposalScope.Open()
                let rng = Random seed
                let az = t64 (randomArray rng 8 Math.PI) [ 8 ]
                let el = t64 (randomArray rng 8 1.5) [ 8 ]
                let d = t64 (Array.init 8 (fun _ -> 1.0 + 3.0 * rng.NextDouble())) [ 8 ]
                let eye = Rotation.cameraPosition az el d
                let up = (t64 [| 0.0; 1.0; 0.0 |] [ 3 ]).expand [ 8; 3 ]
                let r, t = Rotation.lookAt eye (eye.zerosLike ()) up
                assertTrue "rotation" (maxDiff r (Rotation.fromEuler az el (az.zerosLike ())) < 1e-9)
                // The object origin sits straight ahead at the orbit distance.
                let z = d.zerosLike ()
                assertTrue "translation" (maxDiff t (Tensor.stack ([ z; z; d ], -1)) < 1e-9)))

        test "convention_euler_named_rotations" {
            use _ = DisposalScope.Open()
            let one x = t64 [| x |] [ 1 ]
            // Identity viewpoint: camera on +z, OpenCV axes: x -> x, y -> -y, z -> -z.
            let r0 = Rotation.fromEuler (one 0.0) (one 0.0) (one 0.0)
            assertClose 1e-12 0.0 [| 1.0; 0.0; 0.0; 0.0; -1.0; 0.0; 0.0; 0.0; -1.0 |] (r0.ToFloat64s())
            // Elementary rotations are right-handed: Rz(90°) maps x to y.
            assertClose 1e-12 0.0 [| 0.0; 1.0; 0.0 |] (((Rotation.rotZ (one (Math.PI / 2.0))).matmul (t64 [| 1.0; 0.0; 0.0 |] [ 1; 3; 1 ])).ToFloat64s())
            assertClose 1e-12 0.0 [| 0.0; 0.0; 1.0 |] (((Rotation.rotX (one (Math.PI / 2.0))).matmul (t64 [| 0.0; 1.0; 0.0 |] [ 1; 3; 1 ])).ToFloat64s())
            assertClose 1e-12 0.0 [| 1.0; 0.0; 0.0 |] (((Rotation.rotY (one (Math.PI / 2.0))).matmul (t64 [| 0.0; 0.0; 1.0 |] [ 1; 3; 1 ])).ToFloat64s())
        }

        testPropertyWithConfig (propertyConfig 30) "rotation_6d_roundtrip" (
            Prop.forAll seeds (fun seed ->
                use _ = DisposalScope.Open()
                use g = generator seed
                let r = Rotation.random g 16 Float64
                assertTrue "from6d (to6d r) = r" (maxDiff (Rotation.from6d (Rotation.to6d r)) r < 1e-12)
                // Gram–Schmidt keeps the direction of the first vector.
                let x = t64 (randomArray (Random seed) 96 3.0) [ 16; 6 ]
                let first = (Rotation.from6d x).select (1, 0)
                let a1 = x.narrow (1, 0, 3)
                assertTrue "first row" (maxDiff first (a1 / a1.norm (2.0, -1, true)) < 1e-12)))

        testPropertyWithConfig (propertyConfig 30) "rotation_quaternion_roundtrip_and_reference" (
            Prop.forAll seeds (fun seed ->
                use _ = DisposalScope.Open()
                use g = generator seed
                let r = Rotation.random g 16 Float64
                let q = Rotation.toQuaternion r
                assertTrue "matrix roundtrip" (maxDiff (Rotation.fromQuaternion q) r < 1e-12)
                assertTrue "w >= 0" ((q.select (1, 0)).min().ToScalar() >= 0.0)
                // q -> R -> q is the identity on unit quaternions with w ≥ 0.
                let q0 = Tensor.randn ([ 16; 4 ], g, Float64)
                let q0 = q0 / q0.norm (2.0, -1, true)
                let q0 = q0 * (q0.select (1, 0)).sign().unsqueeze 1
                assertTrue "quaternion roundtrip" (maxDiff (Rotation.toQuaternion (Rotation.fromQuaternion q0)) q0 < 1e-12)
                // Reference: the matrix rotates p as q ⊗ (0, p) ⊗ q*.
                let p = Tensor.randn ([ 16; 3 ], g, Float64)
                let conj = q0 * (t64 [| 1.0; -1.0; -1.0; -1.0 |] [ 4 ])
                let pq = Tensor.cat ([ Tensor.zeros ([ 16; 1 ], Float64); p ], 1)
                let rotated = (Rotation.quaternionMultiply (Rotation.quaternionMultiply q0 pq) conj).narrow (1, 1, 3)
                let byMatrix = ((Rotation.fromQuaternion q0).matmul (p.unsqueeze 2)).squeeze 2
                assertTrue "q p q*" (maxDiff rotated byMatrix < 1e-12)))

        testPropertyWithConfig (propertyConfig 30) "rotation_axis_angle_roundtrip_and_matrix_exponential" (
            Prop.forAll seeds (fun seed ->
                use _ = DisposalScope.Open()
                let rng = Random seed
                // Angles in [0, π): v -> R -> v is exact; include tiny angles (Taylor branch).
                let vs =
                    Array.init 12 (fun k ->
                        let axis = randomArray rng 3 1.0
                        let n = sqrt (dot axis axis)
                        let angle = if k < 3 then 1e-5 * rng.NextDouble() else (Math.PI - 1e-3) * rng.NextDouble()
                        axis |> Array.map (fun a -> a / n * angle))
                let v = t64 (Array.concat vs) [ 12; 3 ]
                let r = Rotation.fromAxisAngle v
                assertClose 1e-9 0.0 (v.ToFloat64s()) ((Rotation.toAxisAngle r).ToFloat64s())
                // Brute force: exp of the skew matrix by its power series.
                assertClose 1e-12 0.0 (vs |> Array.collect expSkew) (r.ToFloat64s())
                use g = generator seed
                let q = Rotation.random g 12 Float64
                assertTrue "matrix roundtrip" (maxDiff (Rotation.fromAxisAngle (Rotation.toAxisAngle q)) q < 1e-9)))

        testPropertyWithConfig (propertyConfig 30) "rotation_geodesic_angle_recovers_the_relative_angle" (
            Prop.forAll seeds (fun seed ->
                use _ = DisposalScope.Open()
                let rng = Random seed
                use g = generator seed
                let r1 = Rotation.random g 10 Float64
                let angles = Array.init 10 (fun k -> if k = 0 then 0.0 else (Math.PI - 1e-4) * rng.NextDouble())
                let v =
                    Array.init 10 (fun k ->
                        let axis = randomArray rng 3 1.0
                        let n = sqrt (dot axis axis)
                        axis |> Array.map (fun a -> a / n * angles.[k]))
                let r2 = r1.matmul (Rotation.fromAxisAngle (t64 (Array.concat v) [ 10; 3 ]))
                assertClose 1e-7 0.0 angles ((Rotation.geodesicAngle r1 r2).ToFloat64s())
                assertClose 1e-7 0.0 angles ((Rotation.geodesicAngle r2 r1).ToFloat64s())))

        test "rotation_gradients_match_finite_differences" {
            use _ = DisposalScope.Open()
            let rng = Random 11
            let w = t64 (randomArray rng 18 1.0) [ 2; 3; 3 ]
            gradcheck "fromAxisAngle" (fun v -> (Rotation.fromAxisAngle v * w).sum ()) (t64 [| 0.3; -1.2; 0.5; 1e-4; -2e-4; 5e-5 |] [ 2; 3 ])
            gradcheck "from6d" (fun x -> (Rotation.from6d x * w).sum ()) (t64 (randomArray rng 12 1.0) [ 2; 6 ])
            gradcheck "fromEuler" (fun a -> (Rotation.fromEuler (a.select (1, 0)) (a.select (1, 1)) (a.select (1, 2)) * w).sum ()) (t64 (randomArray rng 6 1.0) [ 2; 3 ])
            let r0 = Rotation.fromAxisAngle (t64 [| 0.1; 0.2; 0.3; -0.5; 0.1; 0.9 |] [ 2; 3 ])
            gradcheck "geodesicAngle" (fun v -> (Rotation.geodesicAngle r0 (Rotation.fromAxisAngle v)).sum ()) (t64 [| 1.0; -0.5; 0.2; 0.3; 0.3; -0.7 |] [ 2; 3 ])
        }

        testPropertyWithConfig (propertyConfig 30) "similarity_umeyama_recovers_a_random_similarity" (
            Prop.forAll seeds (fun seed ->
                use _ = DisposalScope.Open()
                let rng = Random seed
                use g = generator seed
                let b, n = 4, 25
                let r = Rotation.random g b Float64
                let s = t64 (Array.init b (fun _ -> 0.5 + 1.5 * rng.NextDouble())) [ b ]
                let t = t64 (randomArray rng (3 * b) 2.0) [ b; 3 ]
                let truth = { Scale = s; Rotation = r; Translation = t }
                let x = Tensor.randn ([ b; n; 3 ], g, Float64)
                let y = Similarity.apply truth x
                let est = Similarity.umeyama true x y
                assertTrue "scale" (maxDiff est.Scale s < 1e-9)
                assertTrue "rotation" (maxDiff est.Rotation r < 1e-9)
                assertTrue "translation" (maxDiff est.Translation t < 1e-9)
                assertTrue "inverse" (maxDiff (Similarity.apply (Similarity.inverse est) y) x < 1e-9)
                // Rigid: scale stays 1, the rotation is still recovered.
                let rigid = Similarity.umeyama false x (Similarity.apply { truth with Scale = s.onesLike () } x)
                assertTrue "rigid rotation" (maxDiff rigid.Rotation r < 1e-9)
                assertTrue "rigid scale" (maxDiff rigid.Scale (s.onesLike ()) < 1e-12)
                // A mirrored target: the best map is a reflection; the answer must stay a rotation.
                let mirrored = x * (t64 [| -1.0; 1.0; 1.0 |] [ 3 ])
                assertRotations "reflection handled" (Similarity.umeyama true x mirrored).Rotation))

        test "convention_right_projects_right_and_up_projects_up" {
            use _ = DisposalScope.Open()
            let pose = orbitOne 0.0 0.0 0.0
            let centre = projectOne pose [| 0.0; 0.0; 0.0 |]
            assertClose 1e-9 0.0 [| 32.0; 32.0; 2.732 |] centre
            let right = projectOne pose [| 0.3; 0.0; 0.0 |]
            assertTrue (sprintf "object +x lands right of centre, got x = %g" right.[0]) (right.[0] > 32.5 && abs (right.[1] - 32.0) < 1e-9)
            let up = projectOne pose [| 0.0; 0.3; 0.0 |]
            assertTrue (sprintf "object +y lands above centre, got y = %g" up.[1]) (up.[1] < 31.5 && abs (up.[0] - 32.0) < 1e-9)
            let front = projectOne pose [| 0.0; 0.0; 0.3 |]
            assertTrue "object +z faces the viewer (nearer)" (front.[2] < 2.732)
            // Azimuth 90°: the camera is on +x, so the object's -z side is to the image's right.
            let side = projectOne (orbitOne (Math.PI / 2.0) 0.0 0.0) [| 0.0; 0.0; -0.3 |]
            assertTrue "azimuth turns the camera from +z towards +x" (side.[0] > 32.5)
            // Elevation 30°: the camera is above, so the top of the object is nearer than the bottom.
            let above = orbitOne (Math.PI / 6.0) (Math.PI / 6.0) 0.0
            assertTrue "elevation raises the camera" ((projectOne above [| 0.0; 0.3; 0.0 |]).[2] < (projectOne above [| 0.0; -0.3; 0.0 |]).[2])
            // Positive roll moves a point on the image's +x axis downwards.
            assertTrue "roll" ((projectOne (orbitOne 0.0 0.0 0.3) [| 0.3; 0.0; 0.0 |]).[1] > 32.5)
        }

        testPropertyWithConfig (propertyConfig 30) "convention_right_projects_right_property" (
            Prop.forAll seeds (fun seed ->
                use _ = DisposalScope.Open()
                let rng = Random seed
                let p = [| symmetric rng 0.9; symmetric rng 0.9; symmetric rng 0.9 |]
                let px = projectOne (orbitOne 0.0 0.0 0.0) p
                assertTrue "x sign" (sign (px.[0] - 32.0) = sign p.[0])
                assertTrue "y sign" (sign (px.[1] - 32.0) = -(sign p.[1]))))

        testPropertyWithConfig (propertyConfig 30) "camera_project_unproject_roundtrip" (
            Prop.forAll seeds (fun seed ->
                use _ = DisposalScope.Open()
                let rng = Random seed
                use g = generator seed
                let b, n = 3, 20
                let camera = Camera.perspective (20.0 + 40.0 * rng.NextDouble()) (32 + rng.Next 64) (32 + rng.Next 64)
                let t = t64 (Array.init (3 * b) (fun k -> if k % 3 = 2 then 3.0 + rng.NextDouble() else symmetric rng 0.2)) [ b; 3 ]
                let s = t64 (Array.init (3 * b) (fun _ -> 0.5 + rng.NextDouble())) [ b; 3 ]
                let pose = Camera.pose (Rotation.random g b Float64) t |> Camera.withScale s
                let points = Tensor.uniform ([ b; n; 3 ], -1.0, 1.0, g, Float64)
                let projected = Camera.project camera pose points
                assertTrue "roundtrip" (maxDiff (Camera.unproject camera pose projected) points < 1e-9)
                assertTrue "object/camera" (maxDiff (Camera.cameraToObject pose (Camera.objectToCamera pose points)) points < 1e-12)
                // The pixel intrinsics agree with the NDC path.
                let cam = Camera.objectToCamera pose points
                let k = Camera.intrinsics camera
                let homog = cam.matmul k.mT
                let viaK = homog.narrow (2, 0, 2) / homog.narrow (2, 2, 1)
                assertTrue "intrinsics" (maxDiff viaK (projected.narrow (2, 0, 2)) < 1e-9)))

        test "camera_pixel_centres_and_field_of_view_edges" {
            use _ = DisposalScope.Open()
            let camera = Camera.perspective 50.0 6 4
            let centres = Camera.ndcToPixel camera (Camera.pixelCentres camera Float64)
            let expected = [| for i in 0 .. 3 do for j in 0 .. 5 do yield float j + 0.5; yield float i + 0.5 |]
            assertClose 1e-12 0.0 expected (centres.ToFloat64s())
            assertClose 1e-12 0.0 [| -1.0; -1.0; 1.0; 1.0 |] ((Camera.pixelToNdc camera (t64 [| 0.0; 0.0; 6.0; 4.0 |] [ 2; 2 ])).ToFloat64s())
            // The horizontal field of view spans the image edges; pixels are square.
            let tanHalf = Math.Tan(Rotation.radians 25.0)
            let edge = Camera.ndcToPixel camera ((Camera.cameraToNdc camera (t64 [| tanHalf * 2.0; tanHalf * 2.0 * 4.0 / 6.0; 2.0 |] [ 1; 3 ])).narrow (1, 0, 2))
            assertClose 1e-9 0.0 [| 6.0; 4.0 |] (edge.ToFloat64s())
        }

        test "camera_projection_gradients_match_finite_differences" {
            use _ = DisposalScope.Open()
            let rng = Random 5
            let w = t64 (randomArray rng 12 1.0) [ 1; 4; 3 ]
            let pose = Camera.pose (Rotation.fromAxisAngle (t64 [| 0.2; 0.5; -0.1 |] [ 1; 3 ])) (t64 [| 0.1; -0.1; 3.0 |] [ 1; 3 ])
            gradcheck "projectNdc" (fun p -> (Camera.projectNdc unicornCamera pose p * w).sum ()) (t64 (randomArray rng 12 0.8) [ 1; 4; 3 ])
        }

        // ---------------------------------------------------------------------- meshes

        test "mesh_icosphere_counts_sphere_and_euler_characteristic" {
            for level in 0 .. 4 do
                use _ = DisposalScope.Open()
                let m = Mesh.icosphere level
                let nv, nf = 10 * pown 4 level + 2, 20 * pown 4 level
                Expect.equal m.Vertices.Shape [| 1; nv; 3 |] "m.Vertices.Shape"
                Expect.equal m.Faces.Shape [| nf; 3 |] "m.Faces.Shape"
                assertClose 1e-6 0.0 (Array.create nv 1.0) ((m.Vertices.norm (2.0, -1)).ToFloat64s())
                let topo = Mesh.topology nv m.Faces
                let ne = topo.Edges.Size 0
                Expect.equal (nv - ne + nf) 2 "nv - ne + nf"
                // Closed: every edge has two faces.
                Expect.equal (topo.Interior.Size 0) ne "topo.Interior.Size 0"
            let t = Mesh.icosphere 3
            Expect.equal t.Vertices.Shape [| 1; 642; 3 |] "t.Vertices.Shape"
            Expect.equal t.Faces.Shape [| 1280; 3 |] "t.Faces.Shape"
        }

        test "mesh_normals_point_outwards" {
            for level in 0 .. 3 do
                use _ = DisposalScope.Open()
                let m = Mesh.icosphere level
                let n = Mesh.faceNormals m.Vertices m.Faces
                let centroid = (Mesh.faceVertices m.Vertices m.Faces).mean 2
                let minDot = ((n * centroid).sum(-1)).min().ToScalar()
                assertTrue (sprintf "level %d: a face normal points inwards (min dot %g)" level minDot) (minDot > 0.0)
                assertClose 1e-5 0.0 (Array.create (n.Size 1) 1.0) ((n.norm (2.0, -1)).ToFloat64s())
                let vn = Mesh.vertexNormals m.Vertices m.Faces
                let minVertex = ((vn * m.Vertices).sum(-1)).min().ToScalar()
                assertTrue (sprintf "level %d: vertex normal far from radial (%g)" level minVertex) (minVertex > (if level = 0 then 0.9 else 0.99))
        }

        test "mesh_face_areas_match_heron" {
            use _ = DisposalScope.Open()
            let rng = Random 3
            let v, f = Mesh.icosphereArrays 1
            let v = v |> Array.map (Array.map (fun x -> x + symmetric rng 0.1))
            let m = meshOf v f Float64
            let heron (t: int[]) =
                let a, b, c = sqrt (dot (sub v.[t.[0]] v.[t.[1]]) (sub v.[t.[0]] v.[t.[1]])), sqrt (dot (sub v.[t.[1]] v.[t.[2]]) (sub v.[t.[1]] v.[t.[2]])), sqrt (dot (sub v.[t.[2]] v.[t.[0]]) (sub v.[t.[2]] v.[t.[0]]))
                let s = (a + b + c) / 2.0
                sqrt (s * (s - a) * (s - b) * (s - c))
            assertClose 1e-9 1e-7 (f |> Array.map heron) ((Mesh.faceAreas m.Vertices m.Faces).ToFloat64s())
            let s4 = Mesh.icosphere 4
            let total = ((Mesh.faceAreas s4.Vertices s4.Faces).sum ()).ToScalar()
            assertTrue (sprintf "level-4 icosphere area %g not within 1%% of 4π" total) (abs (total - 4.0 * Math.PI) < 0.01 * 4.0 * Math.PI)
        }

        test "mesh_laplacian_of_a_flat_grid_interior_is_zero" {
            use _ = DisposalScope.Open()
            let v, f = flatGrid 5
            let m = meshOf v f Float64
            let topo = Mesh.topology v.Length m.Faces
            let l = (Mesh.uniformLaplacian topo m.Vertices).ToFloat64s()
            for i in 0 .. 4 do
                for j in 0 .. 4 do
                    let k = i * 5 + j
                    let norm = sqrt (l.[3 * k] ** 2.0 + l.[3 * k + 1] ** 2.0 + l.[3 * k + 2] ** 2.0)
                    let interior = i > 0 && i < 4 && j > 0 && j < 4
                    if interior then assertTrue (sprintf "interior vertex (%d, %d) has |Lx| = %g" i j norm) (norm < 1e-12)
                    elif (i = 0 || i = 4) && (j = 0 || j = 4) then assertTrue "a corner has a non-zero Laplacian" (norm > 0.1)
        }

        test "mesh_laplacian_matches_the_dense_matrix" {
            use _ = DisposalScope.Open()
            use g = generator 4
            let m = Mesh.icosphere 2
            let topo = Mesh.topology (Mesh.vertexCount m) m.Faces
            let x = Tensor.randn ([ 2; Mesh.vertexCount m; 3 ], g, Float64)
            let dense = (Mesh.laplacianMatrix topo).matmul x
            assertTrue "uniformLaplacian = (I - D⁻¹A) x" (maxDiff (Mesh.uniformLaplacian topo x) dense < 1e-12)
            // Degrees: 5 at the 12 original vertices, 6 elsewhere.
            let deg = topo.Degree.ToInt64s()
            Expect.equal (deg |> Array.filter ((=) 5L) |> Array.length) 12 "deg |> Array.filter ((=) 5L) |> Array.length"
            Expect.equal (deg |> Array.filter ((=) 6L) |> Array.length) (deg.Length - 12) "deg |> Array.filter ((=) 6L) |> Array.length"
        }

        test "regularizers_vanish_on_a_plane_and_match_a_hinge" {
            use _ = DisposalScope.Open()
            let v, f = flatGrid 4
            let m = meshOf v f Float64
            let topo = Mesh.topology v.Length m.Faces
            assertClose 1e-12 0.0 [| 0.0 |] ((Regularizers.normalConsistency topo m.Vertices).ToFloat64s())
            assertClose 1e-12 0.0 [| 0.0 |] ((Regularizers.flatten topo m.Vertices).ToFloat64s())
            // Two triangles sharing the x axis, the second wing turned by α about it.
            for alpha in [ 0.0; 0.3; 1.0; 2.0 ] do
                let hv = [| [| 0.0; 0.0; 0.0 |]; [| 1.0; 0.0; 0.0 |]; [| 0.5; 1.0; 0.0 |]; [| 0.5; -cos alpha; sin alpha |] |]
                let hf = [| [| 0; 1; 2 |]; [| 1; 0; 3 |] |]
                let hm = meshOf hv hf Float64
                let ht = Mesh.topology 4 hm.Faces
                assertClose 1e-12 0.0 [| 1.0 - cos alpha |] ((Regularizers.normalConsistency ht hm.Vertices).ToFloat64s())
                assertClose 1e-12 0.0 [| (1.0 - cos alpha) ** 2.0 |] ((Regularizers.flatten ht hm.Vertices).ToFloat64s())
            // A bump makes them positive; per-mesh values follow the batch.
            let bumped = v |> Array.mapi (fun k p -> if k = 5 then [| p.[0]; p.[1]; 0.5 |] else p)
            let both = Tensor.cat ([ m.Vertices; (meshOf bumped f Float64).Vertices ], 0)
            let nc = (Regularizers.normalConsistency topo both).ToFloat64s()
            assertTrue "normal consistency" (nc.[0] < 1e-12 && nc.[1] > 1e-3)
            let lap = (Regularizers.laplacianSmoothing topo both).ToFloat64s()
            let lapSq = (Regularizers.laplacianSquared topo both).ToFloat64s()
            assertTrue "laplacian of the bump" (lap.[1] > lap.[0] && lapSq.[1] > lapSq.[0])
        }

        test "regularizers_gradients_match_finite_differences" {
            use _ = DisposalScope.Open()
            let rng = Random 9
            let v, f = Mesh.icosphereArrays 0
            let m = meshOf v f Float64
            let topo = Mesh.topology v.Length m.Faces
            let x = m.Vertices + t64 (randomArray rng (3 * v.Length) 0.1) [ 1; v.Length; 3 ]
            gradcheck "normalConsistency" (fun x -> (Regularizers.normalConsistency topo x).sum ()) x
            gradcheck "laplacianSmoothing" (fun x -> (Regularizers.laplacianSmoothing topo x).sum ()) x
            gradcheck "laplacianSquared" (fun x -> (Regularizers.laplacianSquared topo x).sum ()) x
            gradcheck "flatten" (fun x -> (Regularizers.flatten topo x).sum ()) x
            let w = t64 (randomArray rng (3 * v.Length) 1.0) [ 1; v.Length; 3 ]
            gradcheck "vertexNormals" (fun x -> (Mesh.vertexNormals x m.Faces * w).sum ()) x
        }

        test "mesh_topology_rejects_non_manifold_edges" {
            use _ = DisposalScope.Open()
            let faces = Tensor.ofArray ([| 0L; 1L; 2L; 1L; 0L; 3L; 0L; 1L; 4L |], [ 3; 3 ])
            let e = Expect.catchT<ArgumentException> (fun () -> Mesh.topology 5 faces |> ignore) "Mesh.topology 5 faces"
            assertTrue e.Message (e.Message.Contains "more than two faces")
        }

        // ---------------------------------------------------------------------- UV maps and template

        test "uv_spherical_per_vertex_matches_the_formula" {
            use _ = DisposalScope.Open()
            let rng = Random 2
            let pts = Array.init 50 (fun _ -> randomArray rng 3 2.0)
            let uv = (UVMap.sphericalPerVertex (t64 (Array.concat pts) [ 50; 3 ])).ToFloat64s()
            let expected =
                pts
                |> Array.collect (fun p ->
                    let r = sqrt (dot p p)
                    [| (Math.Atan2(p.[0], p.[2]) + Math.PI) / (2.0 * Math.PI); Math.Acos(p.[1] / r) / Math.PI |])
            assertClose 1e-12 0.0 expected uv
        }

        test "uv_template_has_unicorn_shape_and_no_face_spans_the_seam" {
            use _ = DisposalScope.Open()
            let t = Template.unicorn 0.4
            Expect.equal t.Vertices.Shape [| 1; 642; 3 |] "t.Vertices.Shape"
            Expect.equal t.Faces.Shape [| 1280; 3 |] "t.Faces.Shape"
            let extent = ((t.Vertices.abs ()).max (1)) |> fst
            assertClose 1e-6 0.0 [| 0.4; 0.28; 0.28 |] (extent.ToFloat64s())
            let uv = t.UVs.Value
            let coords = uv.Coords.ToFloat64s()
            let nv = 642
            Expect.isTrue (uv.Coords.Size 0 > nv) "uv.Coords.Size 0 > nv"
            // The first V coordinates are the per-vertex formula.
            let perVertex = (UVMap.sphericalPerVertex t.Vertices).ToFloat64s()
            assertClose 1e-6 0.0 perVertex coords.[.. 2 * nv - 1]
            let faces = faceArrays t.Faces
            let uvFaces = faceArrays uv.Faces
            let span (corners: int[]) (u: int -> float) =
                let us = corners |> Array.map u
                Array.max us - Array.min us
            // Untreated, some faces span almost the whole texture; treated, none does.
            let untreated = faces |> Array.filter (fun f -> span f (fun k -> perVertex.[2 * k]) > 0.5) |> Array.length
            assertTrue "the per-vertex map has seam faces" (untreated > 0)
            let treated = uvFaces |> Array.map (fun f -> span f (fun k -> coords.[2 * k])) |> Array.max
            assertTrue (sprintf "a treated face spans u by %g" treated) (treated < 0.25)
            for k in 0 .. coords.Length / 2 - 1 do
                assertTrue "u in [0, 1.25)" (coords.[2 * k] >= 0.0 && coords.[2 * k] < 1.25)
                assertTrue "v in [0, 1]" (coords.[2 * k + 1] >= 0.0 && coords.[2 * k + 1] <= 1.0)
            // Duplicated corners keep the vertex's v and move u by exactly one period (or sit on a pole).
            let positions = t.Vertices.ToFloat64s()
            for fi in 0 .. faces.Length - 1 do
                for k in 0 .. 2 do
                    let vtx, c = faces.[fi].[k], uvFaces.[fi].[k]
                    if c <> vtx then
                        Expect.equalRounded 6 coords.[2 * c + 1] perVertex.[2 * vtx + 1] "coords.[2 * c + 1]"
                        let du = coords.[2 * c] - perVertex.[2 * vtx]
                        let pole = abs positions.[3 * vtx] < 1e-9 && abs positions.[3 * vtx + 2] < 1e-9
                        assertTrue (sprintf "face %d corner %d moved u by %g" fi k du) (pole || abs (du - 1.0) < 1e-6)
        }

        // ---------------------------------------------------------------------- surface sampling

        test "sampling_points_lie_on_their_faces" {
            use _ = DisposalScope.Open()
            use g = generator 21
            let m = Mesh.icosphere 2
            let verts = m.Vertices.expand([ 2; Mesh.vertexCount m; 3 ]) * (t64 [| 1.0; 0.5 |] [ 2; 1; 1 ]).cast Float32 + Tensor.uniform ([ 2; Mesh.vertexCount m; 3 ], -0.05, 0.05, g)
            let s = Sampling.surfacePoints g 500 verts m.Faces
            Expect.equal s.Points.Shape [| 2; 500; 3 |] "s.Points.Shape"
            let w = s.Barycentric.ToFloat64s()
            assertTrue "barycentrics non-negative" (w |> Array.forall (fun x -> x >= 0.0))
            assertClose 1e-6 0.0 (Array.create 1000 1.0) ((s.Barycentric.sum 2).ToFloat64s())
            // Reference: Σ w_k v_k of the chosen face, on the host.
            let fv = (Mesh.faceVertices verts m.Faces).ToFloat64s()
            let nf = m.Faces.Size 0
            let idx = s.FaceIndex.ToInt64s()
            let expected =
                Array.init 1000 (fun k ->
                    let b, f = k / 500, int idx.[k]
                    Array.init 3 (fun c -> Array.sum (Array.init 3 (fun corner -> w.[3 * k + corner] * fv.[((b * nf + f) * 3 + corner) * 3 + c]))))
                |> Array.concat
            assertClose 1e-5 0.0 expected (s.Points.ToFloat64s())
            let normals = (Mesh.faceNormals verts m.Faces).gather (1, (s.FaceIndex.unsqueeze 2).expand [ 2; 500; 3 ])
            assertTrue "normals are the face normals" (maxDiff normals s.Normals < 1e-6)
        }

        test "sampling_is_uniform_over_area" {
            use _ = DisposalScope.Open()
            // A strip of eight triangles of very different areas.
            let xs = [| 0.0; 0.2; 1.0; 1.5; 4.0 |]
            let v = Array.append (xs |> Array.map (fun x -> [| x; 0.0; 0.0 |])) (xs |> Array.map (fun x -> [| x; 1.0 + x * 0.3; 0.0 |]))
            let f = [| for i in 0 .. 3 do [| i; i + 1; i + 6 |]; [| i; i + 6; i + 5 |] |]
            let m = meshOf v f Float64
            let areas = (Mesh.faceAreas m.Vertices m.Faces).ToFloat64s()
            let total = Array.sum areas
            use g = generator 8
            let n = 40000
            let s = Sampling.surfacePoints g n m.Vertices m.Faces
            let counts = Array.zeroCreate<float> f.Length
            for i in s.FaceIndex.ToInt64s() do
                counts.[int i] <- counts.[int i] + 1.0
            let chi2 = Array.map2 (fun c a -> let e = float n * a / total in (c - e) ** 2.0 / e) counts areas |> Array.sum
            // 7 degrees of freedom: P(χ² > 30) ≈ 1e-4.
            assertTrue (sprintf "face counts not proportional to area (χ² = %g)" chi2) (chi2 < 30.0)
            // Uniform inside a face: the corner sub-triangle w0 > 1/2 holds a quarter of the area.
            let w = s.Barycentric.ToFloat64s()
            let near0 = Array.init n (fun k -> if w.[3 * k] > 0.5 then 1.0 else 0.0) |> Array.average
            assertTrue (sprintf "fraction near corner 0 is %g, expected 0.25" near0) (abs (near0 - 0.25) < 0.01)
        }

        test "sampling_gradients_flow_to_vertices" {
            use _ = DisposalScope.Open()
            let m = Mesh.icosphere 1
            let verts = m.Vertices.cast Float64
            let draw (x: Tensor) =
                use g = generator 13
                Sampling.surfacePoints g 64 x m.Faces
            // d(Σ points)/d v = Σ over samples of the weight of v, per coordinate.
            let s = draw verts
            let grad = (Autograd.grad (fun x -> (draw x).Points.sum ()) verts).ToFloat64s()
            let expected = Array.zeroCreate<float> (3 * Mesh.vertexCount m)
            let faces = faceArrays m.Faces
            let idx, w = s.FaceIndex.ToInt64s(), s.Barycentric.ToFloat64s()
            for k in 0 .. idx.Length - 1 do
                for corner in 0 .. 2 do
                    let vtx = faces.[int idx.[k]].[corner]
                    for c in 0 .. 2 do
                        expected.[3 * vtx + c] <- expected.[3 * vtx + c] + w.[3 * k + corner]
            assertClose 1e-9 0.0 expected grad
            let wt = Tensor.randn ([ 1; 64; 3 ], generator 14, Float64)
            gradcheck "surfacePoints" (fun x -> ((draw x).Points * wt).sum ()) verts
        }

        // ---------------------------------------------------------------------- voxels

        test "voxels_sphere_volume_within_5_percent" {
            use _ = DisposalScope.Open()
            let s = Mesh.icosphere 4
            let r = 0.8
            for n in [ 32; 64 ] do
                let grid = Voxels.voxelize n -1.0 1.0 (s.Vertices * r) s.Faces
                Expect.equal grid.Shape [| n; n; n |] "grid.Shape"
                let volume = ((grid.cast Float64).sum ()).ToScalar() * (2.0 / float n) ** 3.0
                let exact = 4.0 / 3.0 * Math.PI * r ** 3.0
                assertTrue (sprintf "%d³ sphere volume %g vs %g" n volume exact) (abs (volume - exact) < 0.05 * exact)
        }

        testPropertyWithConfig (propertyConfig 8) "voxels_match_brute_force_on_convex_meshes" (
            Prop.forAll seeds (fun seed ->
                let rng = Random seed
                let v, f = Mesh.icosphereArrays 2
                let scale = [| 0.3 + 0.6 * rng.NextDouble(); 0.3 + 0.6 * rng.NextDouble(); 0.3 + 0.6 * rng.NextDouble() |]
                let shift = randomArray rng 3 0.1
                let v = v |> Array.map (fun p -> Array.init 3 (fun k -> p.[k] * scale.[k] + shift.[k]))
                for axis in 0 .. 2 do
                    assertConvexVoxels (sprintf "axis %d" axis) 20 -1.0 1.0 v f (Voxels.occupancyAlong axis 20 -1.0 1.0 v f)
                assertConvexVoxels "majority" 20 -1.0 1.0 v f (Voxels.occupancy 20 -1.0 1.0 v f)))

        test "voxels_rays_through_edges_and_vertices_count_once" {
            // Cube [-0.5, 0.5]³ on an 8³ grid of [-1, 1]: columns run exactly through the face
            // diagonals; 4³ centres are inside.
            let cv, cf = cube 0.5
            let cubeExpected = Array.init 512 (fun k -> let c = Voxels.centres 8 -1.0 1.0 in [ k / 64; (k / 8) % 8; k % 8 ] |> List.forall (fun i -> abs c.[i] < 0.5))
            // Octahedron |x|+|y|+|z| < 0.5 on a 5³ grid: the centre column passes through two vertices
            // and others lie along edges; 7 centres are inside.
            let ov, ofc = octahedron 0.5
            let octExpected = Array.init 125 (fun k -> let c = Voxels.centres 5 -1.0 1.0 in abs c.[k / 25] + abs c.[(k / 5) % 5] + abs c.[k % 5] < 0.5)
            Expect.equal (octExpected |> Array.filter id |> Array.length) 7 "octExpected |> Array.filter id |> Array.length"
            // The same cube with every face owning its corners (unwelded, as some files store it).
            let uv = cf |> Array.collect (fun t -> t |> Array.map (fun i -> cv.[i]))
            let uf = Array.init cf.Length (fun i -> [| 3 * i; 3 * i + 1; 3 * i + 2 |])
            for axis in 0 .. 2 do
                Expect.equal (Voxels.occupancyAlong axis 8 -1.0 1.0 cv cf) cubeExpected "Voxels.occupancyAlong axis 8 -1.0 1.0 cv cf"
                Expect.equal (Voxels.occupancyAlong axis 5 -1.0 1.0 ov ofc) octExpected "Voxels.occupancyAlong axis 5 -1.0 1.0 ov ofc"
                Expect.equal (Voxels.occupancyAlong axis 8 -1.0 1.0 uv uf) cubeExpected "Voxels.occupancyAlong axis 8 -1.0 1.0 uv uf"
                // Reversed orientation does not matter to parity.
                Expect.equal (Voxels.occupancyAlong axis 5 -1.0 1.0 ov (ofc |> Array.map Array.rev)) octExpected "Voxels.occupancyAlong axis 5 -1.0 1.0 ov (ofc |> Array.map Array.rev)"
        }

        test "voxels_column_through_a_shared_edge_with_inexact_coordinates_counts_once" {
            // The shared diagonal AB is aimed at a column centre p through rounded arithmetic, so the
            // column passes within an ulp of the edge; the two faces must still agree on who owns it.
            let n = 8
            let c = Voxels.centres n -1.0 1.0
            let mutable failures = 0
            for seed in 0 .. 1999 do
                let rng = Random seed
                let i, j = 2 + rng.Next 4, 2 + rng.Next 4
                let p = [| c.[i]; c.[j] |]
                let theta = rng.NextDouble() * 2.0 * Math.PI
                let r = 0.05 + 0.2 * rng.NextDouble()
                let a = [| p.[0] + r * cos theta; p.[1] + r * sin theta |]
                let s = 0.3 + rng.NextDouble()
                let b = [| p.[0] + (p.[0] - a.[0]) * s; p.[1] + (p.[1] - a.[1]) * s |]
                let side = [| -(b.[1] - a.[1]); b.[0] - a.[0] |]
                let mid = [| (a.[0] + b.[0]) / 2.0; (a.[1] + b.[1]) / 2.0 |]
                let c1 = [| mid.[0] - 0.5 * side.[0]; mid.[1] - 0.5 * side.[1] |]
                let c2 = [| mid.[0] + 0.5 * side.[0]; mid.[1] + 0.5 * side.[1] |]
                // Counter-clockwise seen from +z: a, c1, b, c2 with c1 on the right of a -> b.
                let v, f = diamondSlab a b c1 c2
                let grid = Voxels.occupancyAlong 2 n -1.0 1.0 v f
                // The voxel at (p, z = ±0.125) is inside the slab.
                if not grid.[(i * n + j) * n + n / 2] then failures <- failures + 1
            Expect.equal failures 0 "failures"
        }

        testPropertyWithConfig (propertyConfig 10) "voxels_rotated_cube_matches_brute_force" (
            Prop.forAll seeds (fun seed ->
                use _ = DisposalScope.Open()
                use g = generator seed
                let r = (Rotation.random g 1 Float64).ToFloat64s()
                let cv, cf = cube 0.45
                let v = cv |> Array.map (fun p -> Array.init 3 (fun i -> r.[3 * i] * p.[0] + r.[3 * i + 1] * p.[1] + r.[3 * i + 2] * p.[2]))
                let grid = Voxels.voxelize 24 -1.0 1.0 (t64 (Array.concat v) [ v.Length; 3 ]) (Tensor.ofArray (cf |> Array.concat |> Array.map int64, [ cf.Length; 3 ]))
                assertConvexVoxels "rotated cube" 24 -1.0 1.0 v cf (grid.ToArray<bool>())))

        test "meshio_obj_ply_off_roundtrip" {
            use _ = DisposalScope.Open()
            let dir = tempDir ()
            try
                let t = Template.unicorn 0.4
                let uvOf (m: Mesh) = UVMap.faceCoords m.UVs.Value
                let objPath = Path.Combine(dir, "t.obj")
                MeshIO.writeObj objPath t
                let obj = MeshIO.read objPath
                assertSameMesh "obj" t obj
                assertTrue "obj uv" (maxDiff (uvOf t) (uvOf obj) < 1e-6)
                for binary in [ false; true ] do
                    let plyPath = Path.Combine(dir, sprintf "t%b.ply" binary)
                    MeshIO.writePly plyPath binary t
                    let ply = MeshIO.read plyPath
                    assertSameMesh (sprintf "ply binary=%b" binary) t ply
                    assertTrue "ply uv" (maxDiff (uvOf t) (uvOf ply) < 1e-6)
                let offPath = Path.Combine(dir, "t.OFF")
                MeshIO.writeOff offPath t
                assertSameMesh "off" t (MeshIO.read offPath)
                // float64 meshes keep full precision.
                let s = Mesh.icosphere 1
                let s64 = { s with Vertices = s.Vertices.cast Float64 * (1.0 / 3.0) }
                MeshIO.writePly (Path.Combine(dir, "d.ply")) true s64
                let back = MeshIO.readPly (Path.Combine(dir, "d.ply"))
                assertTrue "double ply" (maxDiff (back.Vertices.cast Float64) ((s64.Vertices.cast Float32).cast Float64) = 0.0)
            finally
                Directory.Delete(dir, true)
        }

        test "meshio_textured_obj_writes_mtl_and_png_through_the_encoder" {
            use _ = DisposalScope.Open()
            let dir = tempDir ()
            try
                let t = Template.unicorn 0.4
                let texture = Tensor.full ([ 3; 8; 16 ], 0.5)
                let received = ref [||]
                let encode (img: Tensor) =
                    received.Value <- img.Shape
                    [| 137uy; 80uy; 78uy; 71uy |]
                MeshIO.writeObjTextured (Path.Combine(dir, "m.obj")) encode texture t
                Expect.equal received.Value [| 3; 8; 16 |] "received.Value"
                Expect.equal (File.ReadAllBytes(Path.Combine(dir, "m.png"))) [| 137uy; 80uy; 78uy; 71uy |] "File.ReadAllBytes(Path.Combine(dir, \"m.png\"))"
                let mtl = File.ReadAllText(Path.Combine(dir, "m.mtl"))
                assertTrue "mtl names the png" (mtl.Contains "map_Kd m.png")
                let obj = File.ReadAllText(Path.Combine(dir, "m.obj"))
                assertTrue "obj names the mtl" (obj.Contains "mtllib m.mtl" && obj.Contains "usemtl material0")
                assertSameMesh "textured obj" t (MeshIO.readObj (Path.Combine(dir, "m.obj")))
            finally
                Directory.Delete(dir, true)
        }

        test "meshio_obj_polygons_negative_indices_and_corner_forms" {
            use _ = DisposalScope.Open()
            let text =
                String.concat "\n"
                    [ "# a unit square and a triangle"
                      "mtllib x.mtl"
                      "v 0 0 0"
                      "v 1 0 0"
                      "v 1 1 0 # trailing comment"
                      "v 0 1 0"
                      "vt 0 0"
                      "vt 1 0"
                      "vt 1 1"
                      "vt 0 1"
                      "vn 0 0 1"
                      ""
                      "g square"
                      "usemtl m"
                      "f 1/1/1 2/2/1 3/3/1 4/4/1"
                      "v 2 0 0"
                      "vt 0.5 0.25"
                      "f -4/1 -1/-1 -3/2"
                      "s off" ]
            let m = MeshIO.parseObj "mem.obj" text
            Expect.equal (m.Faces.ToInt64s()) [| 0L; 1L; 2L; 0L; 2L; 3L; 1L; 4L; 2L |] "m.Faces.ToInt64s()"
            Expect.equal m.Vertices.Shape [| 1; 5; 3 |] "m.Vertices.Shape"
            let uv = m.UVs.Value
            Expect.equal (uv.Faces.ToInt64s()) [| 0L; 1L; 2L; 0L; 2L; 3L; 0L; 4L; 1L |] "uv.Faces.ToInt64s()"
            // v is flipped to this framework's top-row-first convention.
            assertClose 1e-7 0.0 [| 0.5; 0.75 |] ((uv.Coords.narrow (0, 4, 1)).ToFloat64s())
            // v//vn corners carry no UVs, so the mesh has none.
            let plain = MeshIO.parseObj "plain.obj" "v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//1 3//1\n"
            assertTrue "no uv" plain.UVs.IsNone
            Expect.equal (plain.Faces.ToInt64s()) [| 0L; 1L; 2L |] "plain.Faces.ToInt64s()"
        }

        test "meshio_off_and_ply_polygons_and_headers" {
            use _ = DisposalScope.Open()
            let off = MeshIO.parseOff "q.off" "OFF # a quad\n\n4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0 # last\n4 0 1 2 3 255 0 0\n"
            Expect.equal (off.Faces.ToInt64s()) [| 0L; 1L; 2L; 0L; 2L; 3L |] "off.Faces.ToInt64s()"
            let sameLine = MeshIO.parseOff "s.off" "OFF 3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 2\n"
            Expect.equal (sameLine.Faces.ToInt64s()) [| 0L; 1L; 2L |] "sameLine.Faces.ToInt64s()"
            let ply =
                "ply\nformat ascii 1.0\ncomment quad\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\nproperty uchar red\n"
                + "element face 1\nproperty list uchar int vertex_index\nelement edge 1\nproperty int a\nproperty int b\nend_header\n"
                + "0 0 0 1\n1 0 0 2\n1 1 0 3\n0 1 0 4\n4 0 1 2 3\n0 1\n"
            let p = MeshIO.parsePly "q.ply" (Text.Encoding.ASCII.GetBytes ply)
            Expect.equal (p.Faces.ToInt64s()) [| 0L; 1L; 2L; 0L; 2L; 3L |] "p.Faces.ToInt64s()"
            assertClose 0.0 0.0 [| 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 1.0; 1.0; 0.0; 0.0; 1.0; 0.0 |] (p.Vertices.ToFloat64s())
            // The same quad in big-endian binary, with double coordinates and short indices.
            let header =
                "ply\nformat binary_big_endian 1.0\nelement vertex 4\nproperty double x\nproperty double y\nproperty double z\n"
                + "element face 1\nproperty list uchar short vertex_indices\nend_header\n"
            let body = Collections.Generic.List<byte>(Text.Encoding.ASCII.GetBytes header)
            for x in [| 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 1.0; 1.0; 0.0; 0.0; 1.0; 0.0 |] do
                let b = Array.zeroCreate<byte> 8
                Buffers.Binary.BinaryPrimitives.WriteDoubleBigEndian(Span<byte>(b), x)
                body.AddRange b
            body.Add 4uy
            for i in [ 0s; 1s; 2s; 3s ] do
                let b = Array.zeroCreate<byte> 2
                Buffers.Binary.BinaryPrimitives.WriteInt16BigEndian(Span<byte>(b), i)
                body.AddRange b
            let be = MeshIO.parsePly "be.ply" (body.ToArray())
            Expect.equal (be.Faces.ToInt64s()) [| 0L; 1L; 2L; 0L; 2L; 3L |] "be.Faces.ToInt64s()"
            assertClose 0.0 0.0 (p.Vertices.ToFloat64s()) (be.Vertices.ToFloat64s())
        }

        test "meshio_malformed_lines_name_file_and_line" {
            use _ = DisposalScope.Open()
            expectFileError "bad.obj:3:" "vertex needs 3 numbers" (fun () -> MeshIO.parseObj "bad.obj" "v 0 0 0\nv 1 0 0\nv 1 2\nf 1 2 3\n")
            expectFileError "bad.obj:2:" "non-numeric" (fun () -> MeshIO.parseObj "bad.obj" "v 0 0 0\nv 1 x 0\n")
            expectFileError "bad.obj:4:" "vertex 7" (fun () -> MeshIO.parseObj "bad.obj" "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 7\n")
            expectFileError "bad.obj:4:" "index 0" (fun () -> MeshIO.parseObj "bad.obj" "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n")
            expectFileError "bad.obj:4:" "relative vertex index -4" (fun () -> MeshIO.parseObj "bad.obj" "v 0 0 0\nv 1 0 0\nv 0 1 0\nf -4 -2 -1\n")
            expectFileError "bad.obj:2:" "at least 3 corners" (fun () -> MeshIO.parseObj "bad.obj" "v 0 0 0\nf 1 1\n")
            expectFileError "bad.obj:5:" "some corners only" (fun () -> MeshIO.parseObj "bad.obj" "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2 3\n")
            expectFileError "bad.off:3:" "vertex needs 3 numbers" (fun () -> MeshIO.parseOff "bad.off" "OFF\n3 1 0\n0 0\n1 0 0\n0 1 0\n3 0 1 2\n")
            expectFileError "bad.off:6:" "vertex 5" (fun () -> MeshIO.parseOff "bad.off" "OFF\n3 1 0\n0 0 0\n1 0 0\n0 1 0\n3 0 1 5\n")
            expectFileError "bad.off:1:" "OFF header" (fun () -> MeshIO.parseOff "bad.off" "PLY\n3 1 0\n")
            let header = "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
            expectFileError "bad.ply:11:" "too few values" (fun () -> MeshIO.parsePly "bad.ply" (Text.Encoding.ASCII.GetBytes(header + "0 0 0\n1 0\n0 1 0\n3 0 1 2\n")))
            expectFileError "bad.ply:13:" "3 vertices" (fun () -> MeshIO.parsePly "bad.ply" (Text.Encoding.ASCII.GetBytes(header + "0 0 0\n1 0 0\n0 1 0\n3 0 1 3\n")))
            expectFileError "bad.ply:4:" "unknown PLY property type" (fun () -> MeshIO.parsePly "bad.ply" (Text.Encoding.ASCII.GetBytes "ply\nformat ascii 1.0\nelement vertex 1\nproperty flaot x\n"))
            let binary = Text.Encoding.ASCII.GetBytes(header.Replace("ascii", "binary_little_endian"))
            expectFileError "bad.ply: byte" "data ends inside vertex 1" (fun () -> MeshIO.parsePly "bad.ply" (Array.append binary (Array.zeroCreate 14)))
            let missing = Path.Combine(Path.GetTempPath(), "nowhere", "nowhere.obj")
            expectFileError (missing + ":") "file not found" (fun () -> MeshIO.read missing)
            expectFileError "x.stl:" "unknown mesh extension" (fun () -> MeshIO.read "x.stl")
        }

        // ---------------------------------------------------------------------- memory

        test "geometry_functions_free_their_intermediates" {
            // Each call may leave in the caller's scope only the tensors it returns.
            use outer = DisposalScope.Open()
            use g = generator 1
            let m = Mesh.icosphere 1
            let v = m.Vertices.expand [ 2; Mesh.vertexCount m; 3 ]
            let topo = Mesh.topology (Mesh.vertexCount m) m.Faces
            let angles = Tensor.uniform ([ 2 ], -1.0, 1.0, g)
            let r = Rotation.random g 2 Float32
            let pose = Camera.pose r (Tensor.ofArray ([| 0.0f; 0.0f; 3.0f; 0.0f; 0.0f; 3.0f |], [ 2; 3 ])) |> Camera.withScale (Tensor.ones [ 2; 3 ])
            let cam = Camera.square 30.0 16
            let points = Tensor.uniform ([ 2; 5; 3 ], -1.0, 1.0, g)
            let target = points * 2.0
            let sim = Similarity.umeyama true points target
            let uv = UVMap.spherical m.Vertices m.Faces
            let six, axisAngle, quaternion = Rotation.to6d r, Rotation.toAxisAngle r, Rotation.toQuaternion r
            let eye, at, up = points.[0], points.[1], points.[0] + 1.0
            let count (name: string) (outputs: int) (f: unit -> obj) =
                let before = outer.Count
                f () |> ignore
                let added = outer.Count - before
                if added <> outputs then failwithf "%s left %d tensors in the caller's scope, returns %d" name added outputs
            count "faceVertices" 1 (fun () -> box (Mesh.faceVertices v m.Faces))
            count "faceNormals" 1 (fun () -> box (Mesh.faceNormals v m.Faces))
            count "faceAreas" 1 (fun () -> box (Mesh.faceAreas v m.Faces))
            count "vertexNormals" 1 (fun () -> box (Mesh.vertexNormals v m.Faces))
            count "uniformLaplacian" 1 (fun () -> box (Mesh.uniformLaplacian topo v))
            count "scaleAxes" 1 (fun () -> box (Mesh.scaleAxes (1.0, 0.7, 0.7) v))
            count "topology" 6 (fun () -> box (Mesh.topology (Mesh.vertexCount m) m.Faces))
            count "normalConsistency" 1 (fun () -> box (Regularizers.normalConsistency topo v))
            count "laplacianSmoothing" 1 (fun () -> box (Regularizers.laplacianSmoothing topo v))
            count "laplacianSquared" 1 (fun () -> box (Regularizers.laplacianSquared topo v))
            count "flatten" 1 (fun () -> box (Regularizers.flatten topo v))
            count "fromEuler" 1 (fun () -> box (Rotation.fromEuler angles angles angles))
            count "toEuler" 3 (fun () -> box (Rotation.toEuler r))
            count "from6d" 1 (fun () -> box (Rotation.from6d six))
            count "to6d" 1 (fun () -> box (Rotation.to6d r))
            count "toQuaternion" 1 (fun () -> box (Rotation.toQuaternion r))
            count "fromAxisAngle" 1 (fun () -> box (Rotation.fromAxisAngle axisAngle))
            count "toAxisAngle" 1 (fun () -> box (Rotation.toAxisAngle r))
            count "fromQuaternion" 1 (fun () -> box (Rotation.fromQuaternion quaternion))
            count "geodesicAngle" 1 (fun () -> box (Rotation.geodesicAngle r r))
            count "lookAt" 2 (fun () -> box (Rotation.lookAt eye at up))
            count "umeyama" 3 (fun () -> box (Similarity.umeyama true points target))
            count "apply" 1 (fun () -> box (Similarity.apply sim points))
            count "inverse" 3 (fun () -> box (Similarity.inverse sim))
            count "project" 1 (fun () -> box (Camera.project cam pose points))
            count "unproject" 1 (fun () -> box (Camera.unproject cam pose points))
            count "pixelCentres" 1 (fun () -> box (Camera.pixelCentres cam Float32))
            count "orbit" 2 (fun () -> box (Camera.orbit angles angles angles angles))
            count "sphericalPerVertex" 1 (fun () -> box (UVMap.sphericalPerVertex v))
            count "spherical" 2 (fun () -> box (UVMap.spherical m.Vertices m.Faces))
            count "faceCoords" 1 (fun () -> box (UVMap.faceCoords uv))
            count "surfacePoints" 4 (fun () -> box (Sampling.surfacePoints g 10 v m.Faces))
            count "voxelize" 1 (fun () -> box (Voxels.voxelize 8 -1.0 1.0 m.Vertices m.Faces))
        }
    ]
