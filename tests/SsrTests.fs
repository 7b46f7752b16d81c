/// SSR (issue 14): SiamVP's rotation and hard-mined pair loss against references by hand, the
/// pseudo-labelling round on a network whose answers are known, pseudo pairs, the unlabelled
/// objects' hidden cameras, and an exact resume with pseudo-labels in the checkpoint.
module Reconstruct.Tests.SsrTests

open System
open System.IO
open System.Threading
open Expecto
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Stages
open Reconstruct.App.Experiments
open Reconstruct.Tests.TestHelpers

module Pipeline = Reconstruct.Pipelines.Ssr

/// One training cache for the file: 10 procedural chairs (7 train), rendered once.
let private cache =
    lazy (processTempDir ())

/// A tiny SSR experiment on that cache: 2 labelled of 7, batches of 4 (2 pseudo-labelled), a
/// labelling round every 2 iterations that accepts every match.
let private tiny (name: string) (iterations: int) =
    { Ssr.baseline with
        Name = name
        Method =
            { Ssr.baseline.Method with
                Data = Procedural("chair", 10)
                Cache = cache.Value
                Pipeline =
                    { Ssr.baseline.Method.Pipeline with
                        SiamWidth = 8
                        PseudoBatch = 2
                        PseudoEvery = 2
                        PseudoAccuracy = -1.0
                        PseudoThreshold = 0.0
                        RotatedAgreement = false
                        PseudoObjectsPerRound = 3 }
                ValidationInstances = 1
                TestInstances = 1
                EvalPoints = 500 }
        BatchSize = 4
        Stop = { Iterations = Some iterations; Minutes = None }
        CheckpointEvery = 2
        EvalEvery = 100 }

/// The tiny experiment's training split, rendered by its first run if need be.
let private trainSet =
    lazy
        (let m = (tiny "x" 1).Method
         let root = Path.Combine(cache.Value, "procedural-10-seed42", "chair")
         if not (File.Exists(Path.Combine(root, "benchmark.json"))) then
             let options: DatasetRender.BenchmarkOptions = { Protocols = [ DatasetRender.MultiView ]; Seed = m.DataSeed; WildViews = 0 }
             DatasetRender.writeBenchmark root options CancellationToken.None ignore (DatasetRender.proceduralInstances "chair" m.DataSeed 10) |> ignore
         MultiView.load root "train")

let private bce (z: float) (y: float) = max z 0.0 - z * y + log (1.0 + exp (-(abs z)))

[<Tests>]
let tests =
    testList "SSR" [
        test "SiamVP.rotate: 0° is the identity, 90° moves pixel (c, S−1−r) to (r, c), 45° keeps the centre" {
            use _ = DisposalScope.Open()
            use g = new Generator(3UL)
            let s = 9
            let images = Tensor.uniform ([ 2; 3; s; s ], 0.0, 1.0, g)
            let x = images.ToFloat32s()
            let at (data: float32[]) b c r col = data.[((b * 3 + c) * s + r) * s + col]
            let near (a: float32[]) (b: float32[]) = Array.forall2 (fun (p: float32) q -> abs (p - q) < 1e-5f) a b
            Expect.isTrue (near ((SiamVP.rotate 0.0 images).ToFloat32s()) x) "0°"
            let r90 = (SiamVP.rotate 90.0 images).ToFloat32s()
            for b in 0 .. 1 do
                for c in 0 .. 2 do
                    for r in 0 .. s - 1 do
                        for col in 0 .. s - 1 do
                            Expect.isLessThan (abs (at r90 b c r col - at x b c col (s - 1 - r))) 1e-5f (sprintf "90°: pixel (%d, %d)" r col)
            let r45 = (SiamVP.rotate 45.0 images).ToFloat32s()
            Expect.isLessThan (abs (at r45 1 2 4 4 - at x 1 2 4 4)) 1e-6f "45°: the centre stays"
            Expect.equal (at r45 0 0 0 0) 0.0f "45°: a corner comes from outside, zero"
        }

        test "SiamVP.pairLoss equals the hard-mined loss worked out by hand from every pair's probability" {
            use _ = DisposalScope.Open()
            use g = new Generator(5UL)
            let net = SiamVP.create g 48 4
            let images = Tensor.uniform ([ 7; 3; 48; 48 ], 0.0, 1.0, g)
            let ids = [| 0; 1; 0; 2; 1; 3; 0 |]
            let r = SiamVP.pairLoss net (SplitMix64 9UL) 5 images ids
            // The reference: every pair's logit, then the loss by its definition.
            let f = SiamVP.embed net images
            let logit i j = (SiamVP.compare net f.[i] f.[j]).ToScalar()
            let pairs = [| for i in 0 .. 6 do for j in i + 1 .. 6 -> i, j |]
            let neg = pairs |> Array.filter (fun (i, j) -> ids.[i] <> ids.[j]) |> Array.map (fun (i, j) -> logit i j)
            let pos = pairs |> Array.filter (fun (i, j) -> ids.[i] = ids.[j]) |> Array.map (fun (i, j) -> logit i j)
            let rng = SplitMix64 9UL
            let side (z: float[]) (y: float) (hardest: float) =
                let drawn = Array.init 5 (fun _ -> z.[rng.Int(0, z.Length - 1)])
                bce hardest y / 5.0 + (drawn |> Array.averageBy (fun d -> bce d y))
            let expected = side neg 0.0 (Array.max neg) + side pos 1.0 (Array.min pos)
            Expect.floatClose { absolute = 1e-5; relative = 1e-5 } (r.Loss.ToScalar()) expected "the loss"
            Expect.equal (r.Positives, r.Negatives) (pos.Length, neg.Length) "pairs counted"
            let share (z: float[]) (hit: float -> bool) = float (z |> Array.filter hit |> Array.length) / float z.Length
            let sigmoid z = 1.0 / (1.0 + exp -z)
            Expect.floatClose Accuracy.high r.Accuracy ((share pos (fun z -> sigmoid z > 0.5) + share neg (fun z -> sigmoid z < 0.5)) / 2.0) "the accuracy"
        }

        test "a labelling round: copies of the reference views get their view, an unknown object none; nothing below the threshold" {
            use _ = DisposalScope.Open()
            use g = new Generator(7UL)
            let v = 24
            let config = { Pipeline.Config.Defaults with SiamWidth = 4 }
            let model = Pipeline.create g config 3 v
            // p(a, b) = σ(3 − 100·Σ|fa − fb|): 0.95 for the same image, about 0 for any other.
            do
                use _ = Autograd.noGrad ()
                model.Siam.Out.Weight.fill_ -100.0 |> ignore
                model.Siam.Out.Bias.Value.fill_ 3.0 |> ignore
            let views = Tensor.uniform ([ v; 4; 64; 64 ], 0.0, 1.0, g)
            let references: Pipeline.References = { Images = views; Cameras = Array.init v (fun k -> float k, 0.5, 2.7); Labelled = views; LabelledViewIds = Array.init v id }
            let shifted k = (k + 1) % v
            let unlabelled: Pipeline.Unlabelled =
                { Count = 3
                  Views = v
                  Images =
                    fun objects views ->
                        Tensor.cat (
                            [ for o, k in Array.zip objects views ->
                                  match o with
                                  | 0 -> references.Images.narrow (0, k, 1)
                                  | 1 -> references.Images.narrow (0, shifted k, 1)
                                  | _ -> Tensor.zeros [ 1; 4; 64; 64 ] ],
                            0
                        ) }
            let written = Pipeline.labelRound model references unlabelled [| 0; 1; 2 |]
            Expect.equal written 48 "two objects of 24 views labelled"
            let labels = model.PseudoLabels.ToInt64s() |> Array.map int
            Expect.equal labels.[0 .. v - 1] (Array.init v id) "object 0: its own views"
            Expect.equal labels.[v .. 2 * v - 1] (Array.init v shifted) "object 1: the views it shows"
            Expect.equal labels.[2 * v ..] (Array.create v -1) "object 2: no label"
            Expect.equal (Pipeline.pseudoCoverage model) (2.0 / 3.0, 0.5) "coverage 2/3, half of the labels right"
            let pairs = Pipeline.pseudoPairs model (SplitMix64 1UL) 5
            Expect.equal (pairs |> Array.map (fun (o, _, _, _, _) -> o) |> Array.sort) [| 0; 1 |] "each eligible object once"
            for o, a, b, la, lb in pairs do
                Expect.notEqual a b "two different views"
                Expect.equal (la, lb) (labels.[o * v + a], labels.[o * v + b]) "their labels"
            // The gate: 64 images drawn from the labelled views; equal ids are the same image here,
            // so every pair is answered right; with GateImages 0 the iteration's accuracy decides.
            Expect.equal (Pipeline.gateAccuracy model (SplitMix64 3UL) references 0.3) 1.0 "64 drawn labelled images, all pairs right"
            Expect.equal (Pipeline.gateAccuracy { model with Config = { config with GateImages = 0 } } (SplitMix64 3UL) references 0.3) 0.3 "GateImages 0: the batch's accuracy"
            // Below the threshold: σ(3) = 0.95 is not above 0.96.
            let strict = { model with Config = { config with PseudoThreshold = 0.96 } }
            strict.PseudoLabels.fill_ -1.0 |> ignore
            Expect.equal (Pipeline.labelRound strict references unlabelled [| 0; 1; 2 |]) 0 "no label above 0.96"
            Expect.isEmpty (Pipeline.pseudoPairs strict (SplitMix64 1UL) 5) "no pair without two labels"
            Pipeline.dispose model
        }

        test "a round matches PseudoObjectsPerRound unlabelled objects in turn" {
            use _ = DisposalScope.Open()
            use g = new Generator(1UL)
            let model = Pipeline.create g { Pipeline.Config.Defaults with SiamWidth = 4; PseudoEvery = 10; PseudoObjectsPerRound = 4 } 10 24
            Expect.equal (Pipeline.roundObjects model 10) [| 0; 1; 2; 3 |] "the first round"
            Expect.equal (Pipeline.roundObjects model 30) [| 8; 9; 0; 1 |] "the third, wrapping"
            let all = { model with Config = { model.Config with PseudoObjectsPerRound = 0 } }
            Expect.equal (Pipeline.roundObjects all 30) (Array.init 10 id) "0: every object"
            Pipeline.dispose model
        }

        test "the unlabelled objects' cameras never reach the loss: hidden as NaN, the loss finite, the pseudo cameras used" {
            use _ = DisposalScope.Open()
            let labelled, hidden = Ssr.split trainSet.Value 2
            Expect.equal (labelled.Count, hidden.Count) (2, trainSet.Value.Count - 2) "2 labelled, the rest unlabelled"
            Expect.equal (MultiView.camera labelled 1 4) (MultiView.camera trainSet.Value 1 4) "labelled cameras kept"
            for i in 0 .. hidden.Count - 1 do
                let az, _, _ = MultiView.camera hidden i 3
                Expect.isTrue (Double.IsNaN az) "unlabelled cameras hidden"
            use g = new Generator(2UL)
            let config = { Pipeline.Config.Defaults with SiamWidth = 4; PseudoBatch = 2; PseudoEvery = 1000 }
            let model = Pipeline.create g config hidden.Count hidden.Views
            model.PseudoLabels.copy_ (Tensor.ofArray (Array.init (hidden.Count * hidden.Views) (fun k -> int64 (k % hidden.Views)), [ hidden.Count; hidden.Views ])) |> ignore
            let batch = MultiView.drawnFrom labelled 3UL 4 1 0 0 |> Seq.exactlyOne
            let lossWith (references: Pipeline.References) =
                let terms = Pipeline.losses model 1e-4 5 0 (SplitMix64 4UL) (Ssr.labelledOf batch) (Ssr.unlabelledOf hidden) references
                terms |> List.map (fun (name, t) -> name, t.ToScalar())
            let references = Ssr.referencesOf labelled
            let terms = lossWith references
            Expect.isTrue (terms |> List.forall (snd >> Double.IsFinite)) (sprintf "every term finite: %A" terms)
            Expect.equal (terms |> List.find (fst >> (=) "pseudo_pairs") |> snd) 2.0 "two pseudo-labelled pairs in the batch"
            let turned = { references with Cameras = references.Cameras |> Array.map (fun (az, el, d) -> az + 1.0, el, d) }
            let iou (t: (string * float) list) = t |> List.find (fst >> (=) "iou") |> snd
            Expect.notEqual (iou (lossWith turned)) (iou terms) "the pseudo-labels' cameras are the ones rendered"
            Pipeline.dispose model
        }

        testSequenced <| test "a run with pseudo-labels stopped at 3 iterations and resumed to 5 equals a straight run of 5, bitwise" {
            trainSet.Force() |> ignore
            use dir = new TempDir()
            let run name iterations resume =
                Ssr.run (dir.File name) None (tiny name iterations) resume CancellationToken.None ignore
            let straight = run "straight" 5 false
            Expect.equal straight.Outcome.Iterations 5 "the straight run"
            run "split" 3 false |> ignore
            // Iteration 3 trains on the labels of the round at 2, which only the checkpoint holds.
            let resumed = Ssr.run (dir.File "split") None (tiny "split" 5) true CancellationToken.None ignore
            Expect.equal resumed.Outcome.Iterations 5 "resumed to 5"
            let losses = runLosses (dir.File "straight")
            Expect.isTrue (losses.[1].Contains "\"phase0.pseudo_pairs\":0") (sprintf "no pseudo pair before the first round: %s" losses.[1])
            Expect.isTrue (losses.[3].Contains "\"phase0.pseudo_pairs\":2") (sprintf "pseudo pairs trained on at iteration 3: %s" losses.[3])
            Expect.equal (runLosses (dir.File "split")) losses "every loss of every step"
            expectSameLastCheckpoint (dir.File "straight") (dir.File "split")
        }
    ]
