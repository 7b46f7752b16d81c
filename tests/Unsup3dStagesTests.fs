/// Unsup3d's stages: the networks' shapes, ranges, parameter counts and initialisation; the
/// output mappings; the camera, normals, shading and viewpoint motion against hand-computed
/// geometry; the mirror symmetry the method relies on; gradients against finite differences in
/// float64.
module Reconstruct.Tests.Unsup3dStagesTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Stages
open Reconstruct.Stages.Unsup3d
open Reconstruct.Tests.TestHelpers

let private host (t: Tensor) = t.ToFloat64s()

let private maxAbs (t: Tensor) = host t |> Array.map abs |> Array.max

/// Values U(−scale, scale) from System.Random (not the code under test), float64.
let private input64 (seed: int) (scale: float) (shape: int list) =
    let r = Random(seed)
    Tensor.ofArray (Array.init (List.reduce (*) shape) (fun _ -> (r.NextDouble() * 2.0 - 1.0) * scale), shape)

let private images (g: Generator) (batch: int) = Tensor.uniform ([ batch; 3; ImageSize; ImageSize ], -1.0, 1.0, g)

/// Unsup3d's own camera at 64 px.
let private focal64 = focalLength FovDegrees ImageSize

/// The test's own camera, written from the spec: f = 31.5/tan 5° at S = 64, c = (S − 1)/2.
let private unproject (size: int) (u: float) (v: float) (d: float) =
    let f = (float (size - 1) / 2.0) / Math.Tan(5.0 * Math.PI / 180.0)
    let c = float (size - 1) / 2.0
    [| d * (u - c) / f; d * (v - c) / f; d |]

let private sub (a: float[]) (b: float[]) = Array.map2 (-) a b
let private cross (a: float[]) (b: float[]) = [| a.[1] * b.[2] - a.[2] * b.[1]; a.[2] * b.[0] - a.[0] * b.[2]; a.[0] * b.[1] - a.[1] * b.[0] |]
let private dot (a: float[]) (b: float[]) = Array.map2 (*) a b |> Array.sum
let private normalised (a: float[]) =
    let n = sqrt (dot a a)
    a |> Array.map (fun x -> x / n)

/// The 3-vector at (b, i, j) of a (B, H, W, 3) host array.
let private at (values: float[]) (h: int) (w: int) (b: int) (i: int) (j: int) =
    Array.sub values (((b * h + i) * w + j) * 3) 3

/// Each weight's fan in, as PyTorch's default initialisation reads it (Init.fans).
let private defaultBound (t: Tensor) = 1.0 / sqrt (float (fst (Init.fans t.Shape)))

let private isNorm (name: string) = name.Contains ".norm."

[<Tests>]
let tests =
    testList "Unsup3dStages" [
        test "at 64² the encoders give (B, cout) in [−1, 1], EDDeconv (B, cout, 64, 64) with its activation, ConfNet softplus maps (B, 2, 64, 64) and (B, 2, 16, 16) > 0" {
            use scope = DisposalScope.Open()
            use g = generator 1
            use x = images g 2
            for cout in [ 4; 6 ] do
                let encoder = Encoder.create g cout 32
                let y = Encoder.apply encoder x
                Expect.equal y.Shape [| 2; cout |] "encoder (B, cout)"
                // Bias-free convolutions and ReLU are positively homogeneous, so a large input
                // drives the pre-activation far past ±1: only the tanh keeps it in range.
                let saturated = Encoder.apply encoder (x * 1e4)
                Expect.isLessThanOrEqual (maxAbs saturated) 1.0 "tanh bounds the encoder"
                Expect.isGreaterThan (maxAbs saturated) 0.99 "and saturates on a large input"
            let depthNet = EDDeconv.create g 1 256 64 Activation.Identity
            let albedoNet = EDDeconv.create g 3 256 64 Activation.Tanh
            let d = EDDeconv.apply depthNet x
            Expect.equal d.Shape [| 2; 1; 64; 64 |] "depth network (B, 1, 64, 64)"
            let a = EDDeconv.apply albedoNet x
            Expect.equal a.Shape [| 2; 3; 64; 64 |] "albedo network (B, 3, 64, 64)"
            let linear = EDDeconv.apply { albedoNet with Activation = Activation.Identity } x
            assertTensorClose (linear.tanh ()) a
            Expect.isLessThanOrEqual (maxAbs a) 1.0 "albedo in [−1, 1]"
            let conf = ConfNet.apply (ConfNet.create g 128 64) x
            Expect.equal conf.Photometric.Shape [| 2; 2; 64; 64 |] "photometric confidence (B, 2, 64, 64)"
            Expect.equal conf.Perceptual.Shape [| 2; 2; 16; 16 |] "perceptual confidence (B, 2, 16, 16)"
            for t in [ conf.Photometric; conf.Perceptual ] do
                Expect.isGreaterThan (host t |> Array.min) 0.0 "softplus > 0"
            Expect.throwsT<ArgumentException> (fun () -> Encoder.apply (Encoder.create g 4 32) (Tensor.zeros [ 1; 3; 32; 32 ]) |> ignore) "64² only"
        }

        test "depth is tanh(raw − mean) mapped to [0.9, 1.1], the 2 leftmost and 2 rightmost columns exactly the border depth" {
            use scope = DisposalScope.Open()
            use g = generator 2
            let ranges = Ranges.Faces
            Expect.floatClose Accuracy.veryHigh ranges.BorderDepth 1.04 "0.7·1.1 + 0.3·0.9"
            let raw = EDDeconv.apply (EDDeconv.create g 1 256 64 Activation.Identity) (images g 2)
            for input in [ raw; Tensor.randn ([ 3; 1; 64; 64 ], g) * 100.0 ] do
                let d = depth ranges input
                Expect.equal d.Shape [| input.Size 0; 64; 64 |] "(B, H, W)"
                let values = host d
                Expect.isTrue (values |> Array.forall (fun v -> v >= 0.9 - 1e-6 && v <= 1.1 + 1e-6)) "in [0.9, 1.1]"
                for k, v in Array.indexed values do
                    let j = k % 64
                    if j < 2 || j >= 62 then Expect.equal v (float (float32 1.04)) (sprintf "column %d is the border depth" j)
            let big = host (depth ranges (Tensor.randn ([ 1; 1; 64; 64 ], g) * 100.0))
            Expect.isLessThan (Array.min big) 0.901 "a large raw map reaches the near end"
            Expect.isGreaterThan (Array.max big) 1.099 "and the far end"
            // The formula at every pixel, in float64, and its invariance to a constant offset.
            let raw64 = input64 3 2.0 [ 2; 1; 5; 7 ]
            let d = host (depth Ranges.SynCar raw64)
            let r = host raw64
            for b in 0 .. 1 do
                let mean = Array.sub r (b * 35) 35 |> Array.average
                for k in 0 .. 34 do
                    let j = k % 7
                    let expected = if j < 2 || j >= 5 then 1.08 else 0.9 + 0.2 * (1.0 + tanh (r.[b * 35 + k] - mean)) / 2.0
                    Expect.floatClose Accuracy.high d.[b * 35 + k] expected (sprintf "image %d pixel %d" b k)
            assertClose 1e-12 0.0 d (host (depth Ranges.SynCar (raw64 + 5.0)))
        }

        test "parameter counts equal the layer lists' arithmetic; names are unique; weights follow the layer list" {
            use scope = DisposalScope.Open()
            use g = generator 4
            // Encoder (nf = 32): 4×4 convolutions 3→32→64→128→256, 256→256, then 1×1 256→cout.
            let encoderConvs = 3 * 32 * 16 + 32 * 64 * 16 + 64 * 128 * 16 + 128 * 256 * 16 + 256 * 256 * 16
            for cout, expected in [ 4, encoderConvs + 256 * 4; 6, encoderConvs + 256 * 6 ] do
                let p = Encoder.parameters (Encoder.create g cout 32)
                Expect.equal (Named.count p) (int64 expected) (sprintf "Encoder(cout %d)" cout)
                Expect.equal (List.map fst p) [ "down.0.weight"; "down.1.weight"; "down.2.weight"; "down.3.weight"; "bottleneck.weight"; "out.weight" ] "Encoder names"
            Expect.equal (Named.count (Encoder.parameters (Encoder.create g 4 32))) 1_739_264L "light encoder"
            // The shared down path (nf = 64): 4×4 convolutions 3→64→128→256→512, GN weight and
            // bias at 64, 128, 256 channels, then 4×4 512→zdim.
            let downConvs = 3 * 64 * 16 + 64 * 128 * 16 + 128 * 256 * 16 + 256 * 512 * 16
            let downNorms = 2 * (64 + 128 + 256)
            // EDDeconv (zdim 256): ConvT 256→512 and 3×3 512→512; ConvT 4×4 and 3×3 at 256, 128,
            // 64 channels each with two GNs; 3×3 and 5×5 64→64 with GNs; 5×5 64→cout.
            let edUp =
                256 * 512 * 16 + 512 * 512 * 9
                + 512 * 256 * 16 + 256 * 256 * 9 + 2 * 2 * 256
                + 256 * 128 * 16 + 128 * 128 * 9 + 2 * 2 * 128
                + 128 * 64 * 16 + 64 * 64 * 9 + 2 * 2 * 64
                + 64 * 64 * 9 + 64 * 64 * 25 + 2 * 2 * 64
            for cout, activation in [ 1, Activation.Identity; 3, Activation.Tanh ] do
                let p = EDDeconv.parameters (EDDeconv.create g cout 256 64 activation)
                let expected = downConvs + downNorms + 512 * 256 * 16 + edUp + 64 * cout * 25
                Expect.equal (Named.count p) (int64 expected) (sprintf "EDDeconv(cout %d)" cout)
                Expect.isEmpty (Named.duplicates p) "EDDeconv names unique"
                Expect.equal p.Length (10 + 1 + 2 + 3 * 6 + 2 * 3 + 1) "EDDeconv tensors"
            Expect.equal (Named.count (EDDeconv.parameters (EDDeconv.create g 1 256 64 Activation.Identity))) 12_979_648L "depth network"
            let ed = EDDeconv.create g 3 256 64 Activation.Tanh
            let weights = EDDeconv.parameters ed |> List.filter (fun (n, _) -> not (isNorm n)) |> List.map (fun (_, t) -> t.Shape)
            Expect.equal weights
                [ [| 64; 3; 4; 4 |]; [| 128; 64; 4; 4 |]; [| 256; 128; 4; 4 |]; [| 512; 256; 4; 4 |]; [| 256; 512; 4; 4 |]
                  // transposed convolutions store (Cin, Cout, k, k)
                  [| 256; 512; 4; 4 |]; [| 512; 512; 3; 3 |]
                  [| 512; 256; 4; 4 |]; [| 256; 256; 3; 3 |]
                  [| 256; 128; 4; 4 |]; [| 128; 128; 3; 3 |]
                  [| 128; 64; 4; 4 |]; [| 64; 64; 3; 3 |]
                  [| 64; 64; 3; 3 |]; [| 64; 64; 5; 5 |]; [| 3; 64; 5; 5 |] ] "EDDeconv layer list"
            let groupCounts (network: EDDeconv) =
                [ for b in network.Down.Blocks -> b.Norm ] @ [ for u in network.Up do yield u.Deconv.Norm; yield u.Conv.Norm ] @ [ for r in network.Refine -> r.Norm ]
                |> List.map (Option.map (fun n -> n.Groups))
            Expect.equal (groupCounts ed) [ Some 16; Some 32; Some 64; None; None; None; Some 64; Some 64; Some 32; Some 32; Some 16; Some 16; Some 16; Some 16 ] "EDDeconv group counts"
            // Narrower, the groups keep their 4 channels: one channel per group would be instance
            // normalisation, which takes each image's colour out of the decoders.
            Expect.equal (groupCounts (EDDeconv.create g 3 256 16 Activation.Tanh)) [ Some 4; Some 8; Some 16; None; None; None; Some 16; Some 16; Some 8; Some 8; Some 4; Some 4; Some 4; Some 4 ] "EDDeconv group counts at nf 16"
            let narrowConf = ConfNet.create g 128 16
            Expect.equal ((narrowConf.Up @ narrowConf.Photometric) |> List.map (fun d -> d.Norm |> Option.map (fun n -> n.Groups))) [ None; Some 16; Some 8; Some 4; Some 4 ] "ConfNet group counts at nf 16"
            Expect.equal (EDDeconv.parameters ed |> List.map fst |> List.take 5) [ "down.0.weight"; "down.0.norm.weight"; "down.0.norm.bias"; "down.1.weight"; "down.1.norm.weight" ] "EDDeconv names"
            // ConfNet (zdim 128): ConvT 128→512, ConvT 512→256 + GN, ConvT 256→128 + GN; head 1
            // ConvT 128→64 + GN, ConvT 64→64 + GN, 5×5 64→2; head 2 3×3 128→2.
            let confUp = 128 * 512 * 16 + 512 * 256 * 16 + 2 * 256 + 256 * 128 * 16 + 2 * 128
            let confHeads = 128 * 64 * 16 + 2 * 64 + 64 * 64 * 16 + 2 * 64 + 64 * 2 * 25 + 128 * 2 * 9
            let conf = ConfNet.parameters (ConfNet.create g 128 64)
            Expect.equal (Named.count conf) (int64 (downConvs + downNorms + 512 * 128 * 16 + confUp + confHeads)) "ConfNet"
            Expect.equal (Named.count conf) 7_678_208L "ConfNet by hand"
            Expect.isEmpty (Named.duplicates conf) "ConfNet names unique"
            Expect.equal (List.last conf |> fst) "perceptual_out.weight" "ConfNet names"
            Expect.isTrue (conf |> List.forall (fun (n, _) -> not (n.EndsWith "bias") || isNorm n)) "no convolution has a bias"
        }

        test "weights are PyTorch's default draws from the generator in layer order; group norms start at 1 and 0" {
            use scope = DisposalScope.Open()
            let check (name: string) (make: Generator -> Named) =
                use g = generator 5
                let p = make g
                use replay = generator 5
                for n, t in p do
                    if isNorm n then
                        let expected = if n.EndsWith "weight" then 1.0 else 0.0
                        Expect.isTrue (host t |> Array.forall ((=) expected)) (sprintf "%s %s" name n)
                    else
                        let w, _ = Init.weightAndBias replay Init.Default t.Shape None
                        Expect.equal (host t) (host w) (sprintf "%s %s drawn in order" name n)
                        let bound = defaultBound t
                        Expect.isLessThanOrEqual (maxAbs t) bound (sprintf "%s %s within 1/sqrt(fan in)" name n)
                        Expect.isGreaterThan (maxAbs t) (0.9 * bound) (sprintf "%s %s fills its range" name n)
            check "Encoder" (fun g -> Encoder.parameters (Encoder.create g 6 32))
            check "EDDeconv" (fun g -> EDDeconv.parameters (EDDeconv.create g 1 256 64 Activation.Identity))
            check "ConfNet" (fun g -> ConfNet.parameters (ConfNet.create g 128 64))
        }

        test "light and view map tanh outputs to k_a, k_d, ℓ and to angles ±60° in radians, t = (0.1·x, 0.1·y, zRange·z)" {
            use scope = DisposalScope.Open()
            let raw = Tensor.ofArray ([| 0.2; -0.4; 0.5; -0.3; -1.0; 1.0; 0.0; 0.0 |], [ 2; 4 ])
            let l = light Ranges.Faces raw
            assertClose 1e-12 0.0 [| 0.6; 0.0 |] (host l.Ambient)
            assertClose 1e-12 0.0 [| 0.3; 1.0 |] (host l.Diffuse)
            assertClose 1e-12 0.0 (Array.append (normalised [| 0.5; -0.3; 1.0 |]) [| 0.0; 0.0; 1.0 |]) (host l.Direction)
            assertClose 1e-12 0.0 [| 0.5 + 0.5 * 0.3; 1.0 |] (host (light Ranges.SynCar raw).Diffuse)
            let v = view Ranges.Faces (Tensor.ofArray ([| 1.0; -0.5; 0.25; -1.0; 0.5; 1.0 |], [ 1; 6 ]))
            assertClose 1e-12 0.0 [| Math.PI / 3.0; -Math.PI / 6.0; Math.PI / 12.0 |] (host v.Angles)
            assertClose 1e-12 0.0 [| -0.1; 0.05; 0.0 |] (host v.Translation)
            let cats = view Ranges.Cats (Tensor.ofArray ([| 0.0; 0.0; 0.0; 0.0; 0.0; -0.5 |], [ 1; 6 ]))
            assertClose 1e-12 0.0 [| 0.0; 0.0; -0.05 |] (host cats.Translation)
        }

        test "flip reverses the last dimension and flipping twice is the identity" {
            use scope = DisposalScope.Open()
            use g = generator 6
            use x = Tensor.randn ([ 2; 3; 4; 5 ], g)
            let y = flip x
            let a, b = host x, host y
            for k in 0 .. a.Length - 1 do
                let j = k % 5
                Expect.equal b.[k] a.[k - j + (4 - j)] "out[..., j] = x[..., W − 1 − j]"
            Expect.equal (host (flip y)) a "an involution"
            Expect.equal (host (flip (flip (x.select (1, 0))))) (host (x.select (1, 0))) "on (B, H, W) depth too"
        }

        test "the flipped depth and albedo under the mirrored light shade to the flipped image; a symmetric face under frontal light shades symmetrically" {
            use scope = DisposalScope.Open()
            let size = 16
            let raw = input64 7 1.5 [ 2; 1; size; size ]
            let d = depth Ranges.Faces raw
            assertClose 1e-15 0.0 (host (flip d)) (host (depth Ranges.Faces (flip raw)))
            let n = normals (depthToPoints focal64 d)
            let nFlipped = normals (depthToPoints focal64 (flip d))
            // Mirroring x → −x maps a normal (nx, ny, nz) at column j to (−nx, ny, nz) at W−1−j.
            let mirror = Tensor.ofArray ([| -1.0; 1.0; 1.0 |], [ 3 ])
            assertClose 1e-12 1e-9 (host (n.flip [ 2 ] * mirror)) (host nFlipped)
            let albedo = input64 8 1.0 [ 2; 3; size; size ]
            let rawLight = Tensor.ofArray ([| 0.1; 0.4; 0.6; -0.2; -0.3; 0.2; -0.5; 0.7 |], [ 2; 4 ])
            let mirroredLight = rawLight * Tensor.ofArray ([| 1.0; 1.0; -1.0; 1.0 |], [ 1; 4 ])
            let image = shade albedo n (light Ranges.Faces rawLight)
            let imageFlipped = shade (flip albedo) nFlipped (light Ranges.Faces mirroredLight)
            assertClose 1e-12 1e-9 (host (flip image)) (host imageFlipped)
            let symmetricDepth = (d + flip d) / 2.0
            let symmetricAlbedo = (albedo + flip albedo) / 2.0
            let frontal = rawLight * Tensor.ofArray ([| 1.0; 1.0; 0.0; 1.0 |], [ 1; 4 ])
            let symmetric = shade symmetricAlbedo (normals (depthToPoints focal64 symmetricDepth)) (light Ranges.Faces frontal)
            assertClose 1e-12 1e-9 (host symmetric) (host (flip symmetric))
            Expect.isGreaterThan (maxAbs (image - flip image)) 0.01 "the asymmetric case is not trivially symmetric"
        }

        test "normals of a constant depth and of a tilted plane equal the plane's normal from three unprojected points" {
            use scope = DisposalScope.Open()
            let size = 16
            let check (name: string) (depthAt: int -> int -> float) =
                let values = Array.init (size * size) (fun k -> depthAt (k / size) (k % size))
                let n = host (normals (depthToPoints (focalLength FovDegrees size) (Tensor.ofArray (values, [ 1; size; size ]))))
                let point (i: int) (j: int) = unproject size (float j) (float i) (depthAt i j)
                let p0, p1, p2 = point 3 2, point 3 11, point 12 2
                let expected = normalised (cross (sub p1 p0) (sub p2 p0))
                for i in 0 .. size - 1 do
                    for j in 0 .. size - 1 do
                        let actual = at n size size 0 i j
                        if i = 0 || j = 0 || i = size - 1 || j = size - 1 then
                            Expect.equal actual [| 0.0; 0.0; 1.0 |] (sprintf "%s: border pixel (%d, %d)" name i j)
                        else assertClose 1e-9 0.0 expected actual
                expected
            let flat = check "constant depth" (fun _ _ -> 1.03)
            assertClose 1e-12 0.0 [| 0.0; 0.0; 1.0 |] flat
            // The plane m·X = m·(0, 0, 1): along the ray K⁻¹[u, v, 1] its depth is m_z / (m·ray).
            let m = [| 0.8; -0.5; -0.33 |]
            let tilted = check "tilted plane" (fun i j -> m.[2] / dot m (unproject size (float j) (float i) 1.0))
            Expect.floatClose Accuracy.high (abs (dot tilted (normalised m))) 1.0 "the brute-force normal is the plane's"
        }

        test "normals of a sphere's depth map are within 0.15° of the sphere's normals where the surface faces the camera within 45°" {
            use scope = DisposalScope.Open()
            let size = 64
            let centre, radius = [| 0.01; -0.005; 1.0 |], 0.07
            // Ray–sphere intersection per pixel: X = t·q, q = K⁻¹[u, v, 1], so t is the depth.
            let hit (i: int) (j: int) =
                let q = unproject size (float j) (float i) 1.0
                let a, b, c = dot q q, dot q centre, dot centre centre - radius * radius
                let disc = b * b - a * c
                if disc > 0.0 then Some((b - sqrt disc) / a) else None
            let values = Array.init (size * size) (fun k -> defaultArg (hit (k / size) (k % size)) 1.1)
            let n = host (normals (depthToPoints (focalLength FovDegrees size) (Tensor.ofArray (values, [ 1; size; size ]))))
            let mutable checkedPixels = 0
            let mutable worst = 0.0
            for i in 1 .. size - 2 do
                for j in 1 .. size - 2 do
                    let neighbourhood = [ for di in -1 .. 1 do for dj in -1 .. 1 -> hit (i + di) (j + dj) ]
                    match hit i j with
                    | Some t when neighbourhood |> List.forall Option.isSome ->
                        // Away from the camera, as the normals are: (C − X)/R.
                        let analytic = normalised (sub centre (unproject size (float j) (float i) t))
                        // Central differences err by O(h²) and the error grows towards the
                        // silhouette: about 0.11° at 45° from the camera, 0.46° at 60°.
                        if analytic.[2] > cos (Math.PI / 4.0) then
                            let cosine = dot analytic (at n size size 0 i j)
                            worst <- max worst (Math.Acos(min 1.0 cosine) * 180.0 / Math.PI)
                            checkedPixels <- checkedPixels + 1
                    | _ -> ()
            Expect.isGreaterThan checkedPixels 500 "enough of the sphere is checked"
            Expect.isLessThan worst 0.15 "largest angle to the analytic normal, degrees"
        }

        test "shade is ((a/2 + 0.5)(k_a + k_d·max(0, n·ℓ)))·2 − 1 at every pixel, a back-facing one included" {
            use scope = DisposalScope.Open()
            let normalsAt =
                [| [| 0.0; 0.0; 1.0 |]; normalised [| 1.0; 0.0; -1.0 |]; [| -1.0; 0.0; 0.0 |]
                   normalised [| 0.3; 0.4; 1.0 |]; normalised [| 0.0; -1.0; 0.2 |]; [| 0.0; 1.0; 0.0 |] |]
            let n = Tensor.ofArray (Array.concat normalsAt, [ 1; 2; 3; 3 ])
            let a = input64 9 1.0 [ 1; 3; 2; 3 ]
            let rawLight = [| 0.2; -0.4; 0.5; -0.3 |]
            let ka, kd, l = 0.6, 0.3, normalised [| 0.5; -0.3; 1.0 |]
            let image = host (shade a n (light Ranges.Faces (Tensor.ofArray (rawLight, [ 1; 4 ]))))
            let albedo = host a
            let mutable backFacing = 0
            for c in 0 .. 2 do
                for p in 0 .. 5 do
                    let cosine = dot normalsAt.[p] l
                    if cosine < 0.0 then backFacing <- backFacing + 1
                    let expected = (albedo.[c * 6 + p] / 2.0 + 0.5) * (ka + kd * max 0.0 cosine) * 2.0 - 1.0
                    Expect.floatClose Accuracy.high image.[c * 6 + p] expected (sprintf "channel %d pixel %d" c p)
            Expect.isGreaterThan backFacing 0 "a pixel faces away from the light"
        }

        test "rotation is Rz·Ry·Rx, orthonormal with det 1; the zero view is the identity; transform then inverse returns the points; the centre only moves by t" {
            use scope = DisposalScope.Open()
            let x, y, z = 0.3, -0.7, 1.1
            let mul (p: float[,]) (q: float[,]) = Array2D.init 3 3 (fun i j -> Seq.sum (seq { for k in 0 .. 2 -> p.[i, k] * q.[k, j] }))
            let rx = array2D [ [ 1.0; 0.0; 0.0 ]; [ 0.0; cos x; -sin x ]; [ 0.0; sin x; cos x ] ]
            let ry = array2D [ [ cos y; 0.0; sin y ]; [ 0.0; 1.0; 0.0 ]; [ -sin y; 0.0; cos y ] ]
            let rz = array2D [ [ cos z; -sin z; 0.0 ]; [ sin z; cos z; 0.0 ]; [ 0.0; 0.0; 1.0 ] ]
            let expected = mul rz (mul ry rx)
            let r = host (rotation (Tensor.ofArray ([| x; y; z |], [ 1; 3 ])))
            assertClose 1e-12 0.0 (Seq.cast<float> expected |> Array.ofSeq) r
            let angles = input64 10 Math.PI [ 8; 3 ]
            let rs = rotation angles
            assertClose 1e-12 0.0 (host ((Tensor.eye (3, Float64)).expand [ 8; 3; 3 ])) (host ((rs.transpose (1, 2)).matmul rs))
            assertClose 1e-12 0.0 (Array.create 8 1.0) (host (rs.det ()))
            let points = input64 11 1.0 [ 2; 5; 7; 3 ] + Tensor.ofArray ([| 0.0; 0.0; 1.0 |], [ 3 ])
            let zero = { Angles = Tensor.zeros ([ 2; 3 ], Float64); Translation = Tensor.zeros ([ 2; 3 ], Float64) }
            assertClose 1e-15 0.0 (host points) (host (transformPoints 1.0 zero points))
            let v = view Ranges.Cats (input64 12 1.0 [ 2; 6 ])
            let moved = transformPoints 1.0 v points
            Expect.equal moved.Shape points.Shape "(B, ..., 3) kept"
            Expect.isGreaterThan (maxAbs (moved - points)) 0.05 "the view moves the points"
            assertClose 1e-12 0.0 (host points) (host (inverseTransformPoints 1.0 v moved))
            let c = Tensor.ofArray ([| 0.0; 0.0; 1.0; 0.0; 0.0; 1.0 |], [ 2; 1; 3 ])
            assertClose 1e-12 0.0 (host (c + v.Translation.unsqueeze 1)) (host (transformPoints 1.0 v c))
        }

        test "orbitAngles turn the frontal orbit camera into the one at (azimuth, elevation): rotation of them = R_view·R_frontᵀ of Camera.orbit; the roll follows sin el·sin az" {
            use scope = DisposalScope.Open()
            let random = Random 5
            let orbit (a: float) (e: float) = Reconstruct.Geometry.Rotation.fromEuler (Tensor.ofArray [| a |]) (Tensor.ofArray [| e |]) (Tensor.ofArray [| 0.0 |])
            let front = orbit 0.0 0.0
            for _ in 1 .. 20 do
                let a, e = (random.NextDouble() - 0.5) * 2.8, (random.NextDouble() - 0.5) * 1.4
                let x, y, z = orbitAngles a e
                let expected = (orbit a e).matmul (front.transpose (1, 2))
                assertClose 1e-12 0.0 (host expected) (host (rotation (Tensor.ofArray ([| x; y; z |], [ 1; 3 ]))))
            let _, _, roll = orbitAngles (Math.PI / 3.0) (Math.PI / 6.0)
            Expect.floatClose Accuracy.high (roll * 180.0 / Math.PI) (atan2 (0.5 * sqrt 3.0 / 2.0) 0.5 * 180.0 / Math.PI) "41° of roll at azimuth 60°, elevation 30°"
            Expect.isGreaterThan (roll * 180.0 / Math.PI) 40.0 "the roll is large"
        }

        test "gradients of raw depth → depth → points → normals → shading, and of the light and view mappings, match finite differences (float64)" {
            use scope = DisposalScope.Open()
            let raw = input64 13 0.1 [ 2; 1; 6; 6 ]
            let albedo = input64 14 0.9 [ 2; 3; 6; 6 ]
            let rawLight = Tensor.ofArray ([| 0.1; 0.4; 0.2; -0.1; -0.3; 0.2; -0.15; 0.25 |], [ 2; 4 ])
            let w = input64 15 1.0 [ 2; 3; 6; 6 ]
            let render (r: Tensor) (l: Tensor) = shade albedo (normals (depthToPoints focal64 (depth Ranges.Faces r))) (light Ranges.Faces l)
            gradcheck "shading w.r.t. raw depth" (fun r -> (render r rawLight * w).sum ()) raw
            gradcheck "shading w.r.t. raw light" (fun l -> (render raw l * w).sum ()) rawLight
            let points = input64 16 0.2 [ 2; 4; 3 ] + Tensor.ofArray ([| 0.0; 0.0; 1.0 |], [ 3 ])
            let pw = input64 17 1.0 [ 2; 4; 3 ]
            let rawView = input64 18 0.8 [ 2; 6 ]
            gradcheck "points w.r.t. raw view" (fun v -> (transformPoints 1.0 (view Ranges.Cats v) points * pw).sum ()) rawView
            gradcheck "inverse w.r.t. raw view" (fun v -> (inverseTransformPoints 1.0 (view Ranges.Cats v) points * pw).sum ()) rawView
        }
    ]
