/// UNICORN's network stages: the heads, the deformation field over the ellipsoid template,
/// the image generator, the pose candidates. At initialisation each must give the template,
/// scale 1, a grey image and the initial poses; gradients are checked against finite
/// differences in float64 on tiny sizes.
module Reconstruct.Tests.UnicornStagesTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Stages
open Reconstruct.Tests.TestHelpers

let private host (t: Tensor) = t.ToFloat64s()

let private maxAbs (t: Tensor) = host t |> Array.map abs |> Array.max

/// The last layer replaced by a random (PyTorch default) one, so a zero-initialised head
/// outputs something that depends on its input.
let private randomLast (g: Generator) (mlp: Mlp) =
    let last = List.last mlp.Layers
    let fresh = Linear.create g Init.Default (Linear.inFeatures last) (Linear.outFeatures last)
    { mlp with Layers = (List.take (mlp.Layers.Length - 1) mlp.Layers) @ [ fresh ] }

let private linear64 (l: Linear) : Linear =
    { Weight = l.Weight.cast Float64; Bias = l.Bias |> Option.map (fun b -> b.cast Float64) }

let private conv64 (c: Conv2d) : Conv2d =
    { c with Weight = c.Weight.cast Float64; Bias = c.Bias |> Option.map (fun b -> b.cast Float64) }

let private field64 (f: Deform.Field) : Deform.Field =
    { Point = linear64 f.Point
      Code = linear64 f.Code
      Layers = { f.Layers with Layers = f.Layers.Layers |> List.map linear64 } }

let private generator64 (g: Texture.ImageGenerator) : Texture.ImageGenerator =
    { Input = g.Input |> Option.map conv64
      Blocks = g.Blocks |> List.map conv64
      ToRgb = g.ToRgb |> List.map conv64 }

/// Fixed random weights of `shape` (System.Random, not the code under test): the gradient of
/// sum(f(x)·w) checks every output, where a plain sum could hide a permutation.
let private weights (seed: int) (shape: int[]) =
    let r = Random(seed)
    Tensor.ofArray (Array.init (Array.fold (*) 1 shape) (fun _ -> r.NextDouble() * 2.0 - 1.0), shape)

let private input64 (seed: int) (scale: float) (shape: int list) =
    let r = Random(seed)
    Tensor.ofArray (Array.init (List.reduce (*) shape) (fun _ -> (r.NextDouble() * 2.0 - 1.0) * scale), shape)

let private degrees (t: Tensor) = host t |> Array.map Rotation.degrees

[<Tests>]
let tests =
    testList "UnicornStages" [
        test "Encode.head is Linear-ReLU ×3 then Linear, Kaiming-normal weights, zero biases, a zero last layer on request" {
            use scope = DisposalScope.Open()
            use g = generator 1
            let zero = Encode.head g 128 512 7 true
            let kept = Encode.head g 128 512 7 false
            Expect.equal (zero.Layers |> List.map (fun l -> l.Weight.Shape)) [ [| 128; 512 |]; [| 128; 128 |]; [| 128; 128 |]; [| 7; 128 |] ] "widths"
            Expect.equal zero.Activation Activation.ReLU "ReLU between layers"
            for mlp in [ zero; kept ] do
                for l in mlp.Layers do
                    Expect.equal (maxAbs l.Bias.Value) 0.0 "biases start at zero"
            Expect.equal (maxAbs (List.last zero.Layers).Weight) 0.0 "zeroLast: last weight zero"
            Expect.isGreaterThan (maxAbs (List.last kept.Layers).Weight) 0.0 "not zeroLast: last weight drawn"
            // N(0, 2/fanIn): 65,536 draws give the standard deviation within a few percent.
            let std = (zero.Layers.Head.Weight.flatten ()).std(0).ToScalar()
            Expect.floatClose { absolute = 0.0; relative = 0.03 } std (sqrt (2.0 / 512.0)) "Kaiming normal, fan in"
            use features = Tensor.randn ([ 4; 512 ], g)
            Expect.equal (maxAbs (Mlp.apply zero features)) 0.0 "a zero-last head outputs exactly 0"
        }

        test "Deform.ellipsoid is UNICORN's template: 642 vertices, semi-axes scale·(1, 0.7, 0.7), its UVs" {
            use scope = DisposalScope.Open()
            let template = Deform.ellipsoid 0.4
            try
                Expect.equal template.Vertices.Shape [| 642; 3 |] "vertices"
                Expect.equal template.Faces.Shape [| 1280; 3 |] "faces"
                for axis, semi in [ 0, 0.4; 1, 0.28; 2, 0.28 ] do
                    Expect.floatClose Accuracy.medium (maxAbs (template.Vertices.select (1, axis))) semi (sprintf "semi-axis %d" axis)
                let uv = Deform.templateUVs template
                Expect.equal uv.Shape [| 642; 2 |] "per-vertex UVs"
                Expect.isTrue (host uv |> Array.forall (fun x -> x >= 0.0 && x <= 1.0)) "UVs in [0, 1]"
                let faceUVs = Deform.templateFaceUVs template
                Expect.equal faceUVs.Shape [| 1280; 3; 2 |] "per-face UVs"
                let mesh = Template.unicorn 0.4 // its tensors belong to the test's scope
                let expected = UVMap.faceCoords mesh.UVs.Value
                assertTensorClose expected faceUVs
                // Away from the seam the face UVs are the per-vertex ones.
                let perVertex = uv.index [| Some(template.Faces.flatten ()) |]
                let same = Array.map2 (fun a b -> abs (a - b) < 1e-6) (host perVertex) (host (faceUVs.reshape [ -1; 2 ]))
                Expect.isGreaterThan (same |> Array.filter id |> Array.length) (same.Length * 9 / 10) "most corners keep the vertex UV"
            finally
                Deform.disposeTemplate template
        }

        test "at initialisation the field is exactly 0 and the scale 1: the predicted mesh is the template" {
            use scope = DisposalScope.Open()
            use g = generator 2
            let template = Deform.ellipsoid 0.4
            try
                let field = Deform.field g 32 64
                let scaleHead = Encode.head g 128 512 3 true
                use features = Tensor.randn ([ 5; 512 ], g) * 10.0
                use codes = Tensor.randn ([ 5; 32 ], g) * 10.0
                let d = Deform.applyField field template.Vertices codes
                Expect.equal d.Shape [| 5; 642; 3 |] "displacements (B, V, 3)"
                Expect.equal (maxAbs d) 0.0 "displacements exactly 0"
                let s = Deform.scale scaleHead features
                Expect.equal s.Shape [| 5; 3 |] "scale (B, 3)"
                Expect.isTrue (host s |> Array.forall (fun x -> x = 1.0)) "scale exactly 1"
                let v = Deform.vertices template field codes s
                Expect.equal v.Shape [| 5; 642; 3 |] "vertices (B, V, 3)"
                let e = (template.Vertices.unsqueeze 0).expand [ 5; 642; 3 ]
                Expect.equal (host v) (host e) "the template, exactly"
                let names = Deform.fieldParameters field |> List.map fst
                Expect.equal names [ "point.weight"; "point.bias"; "code.weight"; "code.bias"
                                     "layers.layers.0.weight"; "layers.layers.0.bias"; "layers.layers.1.weight"; "layers.layers.1.bias"
                                     "layers.layers.2.weight"; "layers.layers.2.bias" ] "field parameter names"
            finally
                Deform.disposeTemplate template
        }

        test "the field is ReLU(Wx·p + Wz·z + b) through the MLP, per (image, point); vertices are s ⊙ (E + D)" {
            use scope = DisposalScope.Open()
            use g = generator 3
            let f = Deform.field g 4 16
            let f = { f with Layers = randomLast g f.Layers }
            use points = Tensor.randn ([ 7; 3 ], g)
            use codes = Tensor.randn ([ 3; 4 ], g)
            let d = Deform.applyField f points codes
            // Reference: one image at a time on the concatenated input [p, z] and the
            // concatenated first-layer weight.
            let w = Tensor.cat ([ f.Point.Weight; f.Code.Weight ], 1)
            let bias = f.Point.Bias.Value + f.Code.Bias.Value
            for b in 0 .. 2 do
                let z = (codes.[b].unsqueeze 0).expand [ 7; 4 ]
                let h = Functional.relu (Functional.linear w (Some bias) (Tensor.cat ([ points; z ], 1)))
                assertTensorClose (Mlp.apply f.Layers h) d.[b]
            let template: Deform.Template = { Vertices = points; Faces = Tensor.zeros ([ 0; 3 ], Int64); Topology = Unchecked.defaultof<_> }
            use s = Tensor.rand ([ 3; 3 ], g) + 0.5
            let v = Deform.vertices template f codes s
            assertTensorClose ((points.unsqueeze 0 + d) * s.unsqueeze 1) v
        }

        test "gradients of the field w.r.t. points and codes match finite differences (float64)" {
            use scope = DisposalScope.Open()
            use g = generator 4
            let f = Deform.field g 4 8
            let f = field64 { f with Layers = randomLast g f.Layers }
            let points = input64 11 0.5 [ 5; 3 ]
            let codes = input64 12 1.0 [ 2; 4 ]
            let w = weights 13 [| 2; 5; 3 |]
            gradcheck "field w.r.t. codes" (fun z -> (Deform.applyField f points z * w).sum ()) codes
            gradcheck "field w.r.t. points" (fun p -> (Deform.applyField f p codes * w).sum ()) points
        }

        test "the scale stays in (0.5, 1.5) per axis whatever the features" {
            use scope = DisposalScope.Open()
            use g = generator 5
            let head = randomLast g (Encode.head g 16 8 3 true)
            use features = Tensor.randn ([ 64; 8 ], g) * 1000.0
            let s = host (Deform.scale head features)
            Expect.isTrue (s |> Array.forall (fun x -> x >= 0.5 && x <= 1.5)) "1 + 0.5·tanh"
            Expect.isLessThan (s |> Array.min) 0.6 "saturates low"
            Expect.isGreaterThan (s |> Array.max) 1.4 "saturates high"
        }

        test "the generator makes (B, 3, S, S) images in (0, 1), grey for a zero code, channels halving to 16" {
            use scope = DisposalScope.Open()
            use g = generator 6
            let gen = Texture.create g 128 64 256
            Expect.equal (Texture.outputSize gen) 64 "output size"
            Expect.equal (gen.Blocks |> List.map (fun c -> c.Weight.Shape.[0], c.Weight.Shape.[1]))
                [ 128, 256; 64, 128; 32, 64; 16, 32; 16, 16; 16, 16 ] "6 blocks c(i) -> c(i+1)"
            Expect.equal (gen.ToRgb |> List.map (fun c -> c.Weight.Shape)) [ for c in [ 256; 128; 64; 32; 16; 16; 16 ] -> [| 3; c; 3; 3 |] ] "RGB branch"
            Expect.isSome gen.Input "1×1 input convolution 128 -> 256"
            Expect.isTrue (gen.Blocks @ gen.ToRgb |> List.forall (fun c -> c.Bias.IsNone)) "no biases"
            use codes = Tensor.randn ([ 3; 128 ], g)
            let images = Texture.apply gen codes
            Expect.equal images.Shape [| 3; 3; 64; 64 |] "shape"
            let values = host images
            Expect.isTrue (values |> Array.forall (fun x -> x > 0.0 && x < 1.0)) (sprintf "in (0, 1): %g .. %g" (Array.min values) (Array.max values))
            Expect.isGreaterThan ((images.flatten ()).std(0).ToScalar()) 0.01 "a random code gives a varied image"
            let grey = Texture.apply gen (Tensor.zeros [ 2; 128 ])
            Expect.isTrue (host grey |> Array.forall (fun x -> x = 0.5)) "zero code: sigmoid(0) everywhere"
            let bg = Background.create g 128 32 64
            Expect.equal (Background.apply bg codes).Shape [| 3; 3; 32; 32 |] "background at the image size"
            Expect.isNone (Texture.create g 64 8 64).Input "no input convolution when codeSize = maxChannels"
            let names = Texture.parameters gen |> List.map fst
            Expect.equal names.Head "input.weight" "names"
            Expect.contains names "to_rgb.6.weight" "names"
            Expect.isEmpty (Named.duplicates (Texture.parameters gen)) "unique"
        }

        test "the generator's gradient w.r.t. the codes matches finite differences (float64)" {
            use scope = DisposalScope.Open()
            use g = generator 7
            let gen = generator64 (Texture.create g 3 8 16)
            let codes = input64 21 1.0 [ 2; 3 ]
            let w = weights 22 [| 2; 3; 8; 8 |]
            gradcheck "generator w.r.t. codes" (fun z -> (Texture.apply gen z * w).sum ()) codes
        }

        test "meanColour is each image's mean colour everywhere" {
            use scope = DisposalScope.Open()
            use g = generator 8
            use images = Tensor.rand ([ 2; 3; 4; 5 ], g)
            let m = Texture.meanColour images
            Expect.equal m.Shape images.Shape "shape"
            let x = host images
            let y = host m
            for b in 0 .. 1 do
                for c in 0 .. 2 do
                    let block = Array.sub x ((b * 3 + c) * 20) 20
                    let mean = Array.average block
                    for k in 0 .. 19 do
                        Expect.floatClose Accuracy.medium y.[(b * 3 + c) * 20 + k] mean "per image and channel"
        }

        test "at initialisation the candidates are the initial poses, equal to the dataset's orbit cameras" {
            use scope = DisposalScope.Open()
            use g = generator 9
            let ranges = Pose.Ranges.Synthetic
            let candidates = Pose.create g 64 32 ranges
            use features = Tensor.randn ([ 4; 64 ], g) * 5.0
            let p = Pose.apply candidates ranges features
            for t in [ p.Azimuth; p.Elevation; p.Roll; p.Probabilities; p.Logits ] do
                Expect.equal t.Shape [| 4; 6 |] "(B, K)"
            Expect.equal p.Rotation.Shape [| 4; 6; 3; 3 |] "rotation"
            Expect.equal p.Translation.Shape [| 4; 6; 3 |] "translation"
            let az = degrees p.Azimuth
            for b in 0 .. 3 do
                for k in 0 .. 5 do
                    Expect.floatClose Accuracy.medium az.[b * 6 + k] (60.0 * float k) "initial azimuth"
            Expect.isTrue (degrees p.Elevation |> Array.forall (fun e -> abs (e - 30.0) < 1e-4)) "elevation 30°"
            Expect.isTrue (host p.Roll |> Array.forall (fun r -> r = 0.0)) "roll 0"
            Expect.equal (host p.Translation) (Array.init (4 * 6) (fun _ -> [| 0.0; 0.0; float (float32 2.732) |]) |> Array.concat) "T = (0, 0, 2.732)"
            for row in host (p.Probabilities.sum 1) do
                Expect.floatClose Accuracy.medium row 1.0 "probabilities sum to 1"
            Expect.isGreaterThan (maxAbs (p.Probabilities - 1.0 / 6.0)) 1e-3 "the probability head is not zero-initialised"
            // The dataset's multi-view camera at each candidate's azimuth.
            for k in 0 .. 5 do
                let view = DatasetRender.nmrView (60.0 * float k)
                let rad x = Tensor.ofArray [| Rotation.radians x |]
                let camera = Camera.orbit (rad view.Azimuth) (rad view.Elevation) (rad view.Roll) (Tensor.ofArray [| view.Distance |])
                assertTensorClose (camera.Rotation.[0].cast Float32) p.Rotation.[2].[k]
                assertTensorClose (camera.Translation.[0].cast Float32) p.Translation.[2].[k]
            let names = Pose.parameters candidates |> List.map fst
            Expect.isEmpty (Named.duplicates (Pose.parameters candidates)) "unique names"
            for prefix, count in [ "rotation.", 6 * 8; "translation.", 6 * 8; "probability.", 8 ] do
                Expect.equal (names |> List.filter (fun n -> n.StartsWith prefix) |> List.length) count prefix
            Expect.contains names "translation.5.layers.3.bias" "per-candidate names"
        }

        testPropertyWithConfig (propertyConfig 30) "any features keep every candidate inside its ranges" (fun (seed: int) (magnitude: int) ->
            use scope = DisposalScope.Open()
            use g = generator seed
            let ranges = Pose.Ranges.Photos
            let c = Pose.create g 8 16 ranges
            let c = { c with Rotation = c.Rotation |> List.map (randomLast g); Translation = c.Translation |> List.map (randomLast g) }
            let scale = 1.0 + float (abs (magnitude % 10000))
            use features = Tensor.randn ([ 16; 8 ], g) * scale
            let p = Pose.apply c ranges features
            let az, el, roll = host p.Azimuth, host p.Elevation, host p.Roll
            let slack = 1e-5
            for b in 0 .. 15 do
                for k in 0 .. 5 do
                    let i = b * 6 + k
                    Expect.isLessThanOrEqual (abs (az.[i] - ranges.AzimuthInits.[k])) (ranges.AzimuthRange + slack) "azimuth within init ± range"
                    Expect.isLessThanOrEqual (abs (el.[i] - ranges.ElevationInit)) (ranges.ElevationRange + slack) "elevation"
                    Expect.isLessThanOrEqual (abs roll.[i]) (ranges.RollRange + slack) "roll"
            let t = host p.Translation
            let tx, ty, tz = ranges.TranslationRange
            for i in 0 .. 16 * 6 - 1 do
                Expect.isLessThanOrEqual (abs t.[3 * i]) (tx + slack) "tx"
                Expect.isLessThanOrEqual (abs t.[3 * i + 1]) (ty + slack) "ty"
                Expect.isLessThanOrEqual (abs (t.[3 * i + 2] - ranges.Distance)) (tz + slack) "tz"
            Expect.isGreaterThan (maxAbs (p.Azimuth - (Tensor.ofArray ranges.AzimuthInits).cast Float32)) 1e-3 "the heads move the candidates")

        testSequenced <| test "each stage frees its intermediates: only its outputs stay alive, and a step returns to the live count" {
            use g = generator 11
            let template = Deform.ellipsoid 0.4
            let field = Deform.field g 8 16
            let gen = Texture.create g 8 16 32
            let ranges = Pose.Ranges.Synthetic
            let pose = Pose.create g 12 16 ranges
            let scaleHead = Encode.head g 16 12 3 true
            let step () =
                use scope = DisposalScope.Open()
                let features = (Tensor.randn ([ 4; 12 ], g)).RequireGrad()
                let codes = (Tensor.randn ([ 4; 8 ], g)).RequireGrad()
                let index = Tensor.zeros ([ 4 ], Int64)
                let outputs (name: string) (count: int) (f: unit -> 'T) =
                    let before = Tensor.LiveCount
                    let y = f ()
                    Expect.equal (Tensor.LiveCount - before) count (sprintf "%s leaves only its %d output(s)" name count)
                    y
                let s = outputs "Deform.scale" 1 (fun () -> Deform.scale scaleHead features)
                let d = outputs "Deform.applyField" 1 (fun () -> Deform.applyField field template.Vertices codes)
                let v = outputs "Deform.vertices" 1 (fun () -> Deform.vertices template field codes s)
                let image = outputs "Texture.apply" 1 (fun () -> Texture.apply gen codes)
                let mean = outputs "Texture.meanColour" 1 (fun () -> Texture.meanColour image)
                let p = outputs "Pose.apply" 7 (fun () -> Pose.apply pose ranges features)
                let r, t = outputs "Pose.select" 2 (fun () -> Pose.select p index)
                let loss = v.sum () + d.sum () + mean.sum () + r.sum () + t.sum () + p.Probabilities.sum ()
                Autograd.gradients [| loss |] None [| features; codes |] false |> ignore
            step ()
            let before = settledLiveCount ()
            step ()
            Expect.equal (settledLiveCount ()) before "live tensors after a step"
            Deform.disposeTemplate template
            for ps in [ Deform.fieldParameters field; Texture.parameters gen; Pose.parameters pose; Mlp.parameters scaleHead ] do
                Named.dispose ps
        }

        test "Pose.select picks each image's candidate" {
            use scope = DisposalScope.Open()
            use g = generator 10
            let ranges = Pose.Ranges.Photos
            let c = Pose.create g 8 16 ranges
            let c = { c with Rotation = c.Rotation |> List.map (randomLast g); Translation = c.Translation |> List.map (randomLast g) }
            use features = Tensor.randn ([ 4; 8 ], g)
            let p = Pose.apply c ranges features
            let chosen = [| 3L; 0L; 5L; 3L |]
            let r, t = Pose.select p (Tensor.ofArray chosen)
            Expect.equal r.Shape [| 4; 3; 3 |] "rotation (B, 3, 3)"
            Expect.equal t.Shape [| 4; 3 |] "translation (B, 3)"
            for b in 0 .. 3 do
                let k = int chosen.[b]
                Expect.equal (host r.[b]) (host p.Rotation.[b].[k]) (sprintf "rotation of image %d" b)
                Expect.equal (host t.[b]) (host p.Translation.[b].[k]) (sprintf "translation of image %d" b)
        }
    ]
