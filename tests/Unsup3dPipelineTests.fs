/// Unsup3d (issue 15) end to end: the symmetric renders' ground truth read back in the images'
/// order, the pipeline's two branches and its ablations, its loss as the sum it claims, a few
/// steps that learn, and a tiny experiment from rendering to the results file.
module Reconstruct.Tests.Unsup3dPipelineTests

open System
open System.IO
open System.Threading
open Expecto
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Stages
open Reconstruct.Geometry
open Reconstruct.Eval
open Reconstruct.App
open Reconstruct.App.Experiments
open Reconstruct.Tests.TestHelpers

module Pipeline = Reconstruct.Pipelines.Unsup3d

/// One cache for the file, removed at exit.
let private cache =
    lazy (processTempDir ())

/// 10 procedural cars, 3 symmetric views each (seed 42), rendered once for the file.
let private protocolDir =
    lazy (Path.Combine(Experiments.symmetricBenchmark cache.Value 42UL (Procedural("car", 10)) 3 CancellationToken.None ignore, "symmetric64"))

/// Narrow networks, so a step takes well under a second.
let private small =
    { Unsup3dExperiment.baseline.Method.Pipeline with
        DepthWidth = 16
        DepthCode = 32
        ConfidenceWidth = 16
        ConfidenceCode = 32
        EncoderWidth = 8
        PerceptualWeight = 0.0 }

let private images (g: Generator) (b: int) = Tensor.uniform ([ b; 3; 64; 64 ], -1.0, 1.0, g)

let private named (terms: (string * Tensor) list) (name: string) = (terms |> List.find (fun (n, _) -> n = name) |> snd).ToScalar()

[<Tests>]
let tests =
    testList "Unsup3dPipeline" [
        test "SymmetricTruth: each sample's depth is foreground where its image is fully covered and background where it is empty; lights as the index gives them" {
            use _ = DisposalScope.Open()
            let set = SingleView.load protocolDir.Value "train"
            let samples = [| set.Count - 1; 0; 3 |]
            let depth, mask = SymmetricTruth.depth set samples
            Expect.equal depth.Shape [| 3; 64; 64 |] "depth (N, H, W)"
            let m, d = mask.ToFloat32s(), depth.ToFloat32s()
            for k, sample in Array.indexed samples do
                // The image's alpha is not in the set (composited on white): read it back.
                let rgba = (Image.loadRgba (SingleView.imagePath set sample)).ToFloat32s()
                let alpha p = rgba.[3 * 4096 + p]
                let mutable covered = 0
                for p in 0 .. 4095 do
                    if alpha p >= 0.999f then
                        Expect.equal m.[k * 4096 + p] 1.0f (sprintf "sample %d pixel %d: covered, so foreground" sample p)
                        covered <- covered + 1
                    if alpha p = 0.0f then Expect.equal m.[k * 4096 + p] 0.0f (sprintf "sample %d pixel %d: empty, so background" sample p)
                    Expect.equal (d.[k * 4096 + p] > 0.0f) (m.[k * 4096 + p] = 1.0f) "the mask is where the depth is"
                Expect.isGreaterThan covered 200 "the car covers part of the image"
            let lights = SymmetricTruth.lights set samples
            for l in lights do
                let x, y, z = l.Direction
                Expect.floatClose Accuracy.medium (x * x + y * y + z * z) 1.0 "unit direction"
                Expect.isTrue (l.Ambient >= 0.2 && l.Ambient <= 0.6 && l.Diffuse >= 0.4 && l.Diffuse <= 0.8) "the protocol's ranges"
        }

        test "loadOver: the images over a grey where the renders are transparent, as over white elsewhere" {
            use _ = DisposalScope.Open()
            let white = SingleView.load protocolDir.Value "val"
            let grey = SingleView.loadOver 64uy protocolDir.Value "val"
            Expect.equal grey.Count white.Count "the same samples"
            for sample in [ 0; white.Count - 1 ] do
                let rgba = (Image.loadRgba (SingleView.imagePath white sample)).ToFloat32s()
                let w, g = (SingleView.image white sample).ToFloat32s(), (SingleView.image grey sample).ToFloat32s()
                let mutable empty, opaque = 0, 0
                for p in 0 .. 4095 do
                    let alpha = rgba.[3 * 4096 + p]
                    for c in 0..2 do
                        if alpha = 0.0f then Expect.floatClose Accuracy.high (float g.[c * 4096 + p]) (64.0 / 255.0) "background grey"
                        elif alpha = 1.0f then Expect.equal g.[c * 4096 + p] w.[c * 4096 + p] "foreground as over white"
                    if alpha = 0.0f then empty <- empty + 1 elif alpha = 1.0f then opaque <- opaque + 1
                Expect.isTrue (empty > 100 && opaque > 100) "both kinds of pixel seen"
        }

        test "SymmetricTruth: a split loaded from an index without depth fields is refused, naming the index" {
            let dir = tempDir ()
            try
                let source = protocolDir.Value
                let lines =
                    File.ReadAllLines(Path.Combine(source, "index.jsonl"))
                    |> Array.map (fun line ->
                        let node = Text.Json.Nodes.JsonNode.Parse(line).AsObject()
                        node.Remove "depth" |> ignore
                        node.["image"] <- Text.Json.Nodes.JsonValue.Create(Path.Combine(source, node.["image"].GetValue<string>()))
                        node.["mesh"] <- Text.Json.Nodes.JsonValue.Create(Path.GetFullPath(Path.Combine(source, node.["mesh"].GetValue<string>())))
                        node.ToJsonString())
                File.WriteAllLines(Path.Combine(dir, "index.jsonl"), lines)
                let set = SingleView.load dir "train"
                let e = Expect.catchT<IndexFileException> (fun () -> SymmetricTruth.depth set [| 0 |] |> ignore) "no depth"
                Expect.stringContains e.Message "index.jsonl" "names the index"
                Expect.stringContains e.Message "depth" "names the field"
            finally
                Directory.Delete(dir, true)
        }

        test "forward: without flips the mirrored branch is the first one; with them it differs; the mask is in {0, 1} and both halves are zero outside it" {
            use _ = DisposalScope.Open()
            use g = new Generator(11UL)
            let x = images g 2
            let model = Pipeline.create g { small with AlbedoFlip = false; DepthFlip = false }
            // Saturated view outputs (rotations near ±60°) uncover part of every image.
            do
                use _ = Autograd.noGrad ()
                model.View.Out.Weight.mul_ 1000.0 |> ignore
            let out = Pipeline.forward model x
            Expect.isLessThan (out.Mask.mean().ToScalar()) 0.95 "some pixels are uncovered"
            Expect.equal out.Reconstruction.Shape [| 4; 3; 64; 64 |] "(2B, 3, S, S)"
            let first, second = out.Reconstruction.narrow (0, 0, 2), out.Reconstruction.narrow (0, 2, 2)
            Expect.equal (first.ToFloat32s()) (second.ToFloat32s()) "no flip: the same reconstruction twice"
            let flipped = Pipeline.forward { model with Config = { model.Config with AlbedoFlip = true; DepthFlip = true } } x
            let f1, f2 = flipped.Reconstruction.narrow (0, 0, 2), flipped.Reconstruction.narrow (0, 2, 2)
            Expect.isGreaterThan ((f1 - f2).abs().max().ToScalar()) 1e-3 "the flips change the mirrored branch"
            let m = out.Mask.ToFloat32s()
            Expect.isTrue (m |> Array.forall (fun v -> v = 0.0f || v = 1.0f)) "mask 0/1"
            // With the flips, the branches cover different pixels: each is cut to where both do.
            for o in [ out; flipped ] do
                let outside = (o.Reconstruction * (1.0 - (Tensor.cat ([ o.Mask; o.Mask ], 0)).unsqueeze 1)).abs().max().ToScalar()
                Expect.equal outside 0.0 "zero outside the mask"
            Expect.isFalse out.Mask.RequiresGrad "the mask carries no gradient"
        }

        test "without lighting the canonical image is the albedo; without confidence the network's parameters are not trained" {
            use _ = DisposalScope.Open()
            use g = new Generator(12UL)
            let x = images g 2
            let model = Pipeline.create g { small with Lighting = false; Confidence = false }
            let out = Pipeline.forward model x
            Expect.equal (out.Factors.CanonicalImage.ToFloat32s()) (out.Factors.Albedo.ToFloat32s()) "albedo as the image"
            Expect.isNone out.Confidence "no confidence maps"
            let names = Pipeline.parameters model |> List.map fst
            Expect.isFalse (names |> List.exists (fun n -> n.StartsWith "confidence.")) "no confidence parameters"
            let withConfidence = Pipeline.parameters { model with Config = { model.Config with Confidence = true } } |> List.map fst
            Expect.isTrue (withConfidence |> List.exists (fun n -> n.StartsWith "confidence.")) "confidence parameters when used"
        }

        test "a fresh model's canonical depth is a plane at the range's middle inside the border columns, for any image; the other networks keep their draws" {
            use _ = DisposalScope.Open()
            use g = new Generator(13UL)
            let x = images g 3
            use g1 = new Generator(5UL)
            let model = Pipeline.create g1 small
            let depth = (Pipeline.forward model x).Factors.Depth
            let r = small.Ranges
            let inner = (depth.narrow (2, 2, 60)).ToFloat32s()
            for v in inner do Expect.floatClose Accuracy.high (float v) ((r.MinDepth + r.MaxDepth) / 2.0) "flat at the middle"
            // The same generator's draws with the default initialisation: only the depth's output differs.
            use g2 = new Generator(5UL)
            let drawn = Unsup3d.EDDeconv.create g2 1 small.DepthCode small.DepthWidth Layers.Activation.Identity
            let albedo = Unsup3d.EDDeconv.create g2 3 small.DepthCode small.DepthWidth Layers.Activation.Tanh
            Expect.isGreaterThan ((Layers.Conv2d.parameters drawn.Out |> List.head |> snd).abs().max().ToScalar()) 0.0 "the default draw is not zero"
            for (n, a), (_, b) in List.zip (Unsup3d.EDDeconv.parameters albedo) (Unsup3d.EDDeconv.parameters model.Albedo) do
                Expect.equal (b.ToFloat32s()) (a.ToFloat32s()) (sprintf "albedo %s as drawn after the depth's" n)
        }

        test "losses: total is photometric + λ_f·photometric_flip + λ_p·(perceptual + λ_f·perceptual_flip) + λ_sm·smoothness, all finite" {
            use _ = DisposalScope.Open()
            use g = new Generator(13UL)
            let x = images g 2
            let network = Perceptual.load (Perceptual.defaultPath ())
            let config = { small with PerceptualWeight = 0.7; FlipWeight = 0.4; SmoothnessWeight = 0.2 }
            let model = Pipeline.create g config
            let terms = Pipeline.losses model (Some network) x
            let v = named terms
            for name, t in terms do Expect.isTrue (Double.IsFinite(t.ToScalar())) (sprintf "%s finite" name)
            let expected = v "photometric" + 0.4 * v "photometric_flip" + 0.7 * (v "perceptual" + 0.4 * v "perceptual_flip") + 0.2 * v "smoothness"
            Expect.floatClose { absolute = 1e-5; relative = 1e-5 } (v "total") expected "the weighted sum"
            Expect.throwsT<ArgumentException> (fun () -> Pipeline.losses model None x |> ignore) "λ_p > 0 needs the network"
            Perceptual.dispose network
        }

        test "twelve Adam steps on one batch of renders lower the photometric loss" {
            use _ = DisposalScope.Open()
            use g = new Generator(14UL)
            let set = SingleView.load protocolDir.Value "train"
            let x = (Tensor.cat ([ for s in 0 .. 3 -> SingleView.image set s ], 0)) * 2.0 - 1.0
            let model = Pipeline.create g { small with Confidence = false }
            let optimiser = Optim.adam { Optim.Adam.Defaults with Lr = 1e-3 } (Pipeline.parameters model)
            let loss () =
                use _ = DisposalScope.Open()
                let terms = Pipeline.losses model None x
                let total = terms |> List.find (fun (n, _) -> n = "total") |> snd
                Optim.zeroGrad optimiser
                total.backward ()
                Optim.step optimiser
                named terms "photometric"
            let first = loss ()
            for _ in 1 .. 10 do loss () |> ignore
            let last = loss ()
            Expect.isLessThan last (0.9 * first) (sprintf "photometric loss %.4f -> %.4f" first last)
        }

        test "2.5D limit: from the view itself it is the true depth; from the front it scores far below a constant depth, and its MAD is below the constant's" {
            use _ = DisposalScope.Open()
            let set = SingleView.load protocolDir.Value "train"
            let samples = Array.init set.Count id
            let truth, truthMask = SymmetricTruth.depth set samples
            let mean (t: Tensor) = let v = Scoped.host64 t |> Array.filter Double.IsFinite in Array.average v
            // Seen from its own view, the grid's vertices sit on the true surface at the pixel
            // centres: the 2×-supersampled render gives the truth back but for its pooling.
            let same, sameMask = Unsup3dExperiment.limitDepth set samples id
            Expect.equal same.Shape truth.Shape "(N, H, W)"
            Expect.equal ((sameMask * truthMask).sum().ToScalar()) (truthMask.sum().ToScalar()) "every foreground pixel covered"
            let sameSide = mean (DepthMetrics.side (same + (1.0 - sameMask)) truth (DepthMetrics.erode truthMask))
            // Pooling mixes depths across the car's own steps (wheels, bumpers): about 0.7×10⁻².
            Expect.isLessThan sameSide 0.01 (sprintf "SIDE %.4f: the true depth back on the eroded foreground" sameSide)
            // From the front (views up to 60° away), the depth map's surface differs where the
            // object turns away, but a sign or axis mix-up would put it elsewhere entirely.
            let front, frontMask = Unsup3dExperiment.limitDepth set samples (Unsup3dExperiment.frontView Unsup3dExperiment.limitElevation)
            let mask = DepthMetrics.erode truthMask * DepthMetrics.erode frontMask
            let limitSide = mean (DepthMetrics.side (front + (1.0 - frontMask)) truth mask)
            let constantSide = mean (DepthMetrics.side (truth.onesLike ()) truth mask)
            Expect.isLessThan limitSide (0.5 * constantSide) (sprintf "SIDE of the limit %.4f against a constant depth's %.4f" limitSide constantSide)
            let f = Unsup3dExperiment.datasetFocal
            let limitMad = mean (Unsup3dEval.mad f (front + (1.0 - frontMask)) f truth mask)
            let constantMad = mean (Unsup3dEval.mad f (truth.onesLike ()) f truth mask)
            Expect.isLessThan limitMad constantMad (sprintf "MAD of the limit %.1f° against a constant depth's %.1f°" limitMad constantMad)
        }

        test "a tiny experiment renders its data, trains, scores the test split beside both reference rows and writes its results" {
            let dir = tempDir ()
            try
                let b = Unsup3dExperiment.baseline
                let experiment =
                    { b with
                        Name = "unsup3d_tiny"
                        Method = { b.Method with Data = Procedural("car", 10); Views = 3; Cache = cache.Value; Pipeline = small; ValidationImages = 4; TestImages = 4; ReferenceImages = 8 }
                        BatchSize = 4
                        Stop = { Iterations = Some 3; Minutes = None }
                        CheckpointEvery = 2
                        EvalEvery = 2 }
                let results = Path.Combine(dir, "results")
                let summary = Unsup3dExperiment.run (Path.Combine(dir, "run")) (Some results) experiment false CancellationToken.None ignore
                Expect.equal summary.Outcome.Iterations 3 "three iterations"
                let rows = summary.Scores.Value
                Expect.equal (rows |> List.map fst |> List.take 3) [ "unsup3d"; "constant null depth"; "mean ground-truth depth" ] "the rows"
                Expect.stringContains (rows |> List.last |> fst) "2.5D limit" "the last row: the 2.5D limit"
                for label, s in rows do
                    Expect.isTrue (Double.IsFinite s.Side.Mean && Double.IsFinite s.Mad.Mean && s.Side.Count > 0) (sprintf "%s scored" label)
                // A constant depth has every normal facing the camera: its MAD is the mean angle of
                // the true normals to the view axis, tens of degrees on a car.
                let constant = rows |> List.find (fun (l, _) -> l = "constant null depth") |> snd
                Expect.isGreaterThan constant.Mad.Mean 10.0 "the constant depth's MAD"
                for file in [ "unsup3d_tiny.md"; "unsup3d_tiny.json"; "unsup3d_tiny_factors.png" ] do
                    Expect.isTrue (File.Exists(Path.Combine(results, file))) (sprintf "%s written" file)
                let md = File.ReadAllText(Path.Combine(results, "unsup3d_tiny.md"))
                Expect.stringContains md "mean ground-truth depth" "the reference row"
                Expect.stringContains md "\"Seed\"" "the configuration"
                // reconstruct predict with the run folder: the canonical depth as a textured mesh.
                let test = SingleView.load protocolDir.Value "test"
                let out = Path.Combine(dir, "predictions")
                let options = { Predict.Options.Defaults with Model = Path.Combine(dir, "run"); Input = SingleView.imagePath test 0; Out = out }
                let predicted = Predict.run options CancellationToken.None ignore
                Expect.isTrue (predicted.Items |> List.forall (fun (_, o) -> match o with Predict.Done _ -> true | _ -> false)) "the image reconstructed"
                let name = Path.GetFileNameWithoutExtension(SingleView.imagePath test 0)
                for file in [ name + ".obj"; name + "_texture.png"; name + ".png"; name + ".view.json" ] do
                    Expect.isTrue (File.Exists(Path.Combine(out, file))) (sprintf "%s written" file)
                use _ = DisposalScope.Open()
                let mesh = MeshIO.read (Path.Combine(out, name + ".obj"))
                Expect.equal (mesh.Vertices.Size 1, mesh.Faces.Size 0) (4096, 7938) "the 64×64 grid"
                // The depth surface faces the viewer at +z. Its vector area (the sum of the faces'
                // cross products) depends only on its border, not on the untrained depth's noise,
                // and points along +z.
                let area = Scoped.host64 ((Mesh.faceCross mesh.Vertices mesh.Faces).sum [| 0; 1 |])
                Expect.isGreaterThan area.[2] (0.9 * sqrt (area |> Array.sumBy (fun a -> a * a))) "the vector area points to +z"
            finally
                Directory.Delete(dir, true)
        }
    ]
