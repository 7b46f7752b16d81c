/// The point-cloud pipeline of Navaneet et al. (issue 16): its networks' shapes, its camera
/// against the datasets' renderer, its losses against brute force and finite differences in
/// float64, and which network each loss term trains.
module Reconstruct.Tests.PointCloudPipelineTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Render
open Reconstruct.Eval
open Reconstruct.Pipelines
open Reconstruct.Tests.TestHelpers

module Networks = Reconstruct.Stages.PointCloud

let private small =
    { PointCloud.Config.Defaults with Points = 64; RandomPoses = 2 }

/// Brute force on host values: the 2D Chamfer of points (N, 2) against the centres of the
/// pixels of a mask (H, W) that are set.
let private silhouetteBrute (xy: float[]) (mask: float[]) (h: int) (w: int) =
    let n = xy.Length / 2
    let pixels = [| for i in 0 .. h - 1 do for j in 0 .. w - 1 do if mask.[i * w + j] > 0.5 then yield float j + 0.5, float i + 0.5 |]
    let d2 (px, py) k = (xy.[2 * k] - px) ** 2.0 + (xy.[2 * k + 1] - py) ** 2.0
    let forward = Array.init n (fun k -> pixels |> Array.map (fun p -> d2 p k) |> Array.min) |> Array.average
    let backward = pixels |> Array.map (fun p -> Array.init n (d2 p) |> Array.min) |> Array.average
    forward + backward

let private chamferBrute (a: float[]) (b: float[]) =
    let d2 (x: float[]) i (y: float[]) j = Seq.sum (seq { for c in 0 .. 2 -> (x.[3 * i + c] - y.[3 * j + c]) ** 2.0 })
    let one (x: float[]) (y: float[]) = Array.init (x.Length / 3) (fun i -> Array.init (y.Length / 3) (d2 x i y) |> Array.min) |> Array.average
    one a b + one b a

/// A random mask (h, w) with about a third of the pixels set, and at least one.
let private randomMask (g: Generator) (h: int) (w: int) =
    let m = (Tensor.uniform ([ 1; 1; h; w ], 0.0, 1.0, g, Float64)).lt(0.33).cast Float64
    let v = m.ToFloat64s()
    v.[0] <- 1.0
    Tensor.ofArray (v, [ 1; 1; h; w ])

/// The gradient of every parameter, or None, after back-propagating `term`.
let private gradients (model: PointCloud.Model) (term: Tensor) =
    for _, p in PointCloud.parameters model do p.ZeroGrad()
    term.backward (retainGraph = true)
    PointCloud.parameters model |> List.map (fun (n, p) -> n, (match p.Grad with Some g -> g.abs().sum().ToScalar() > 0.0 | None -> false))

/// `size` random 64² images with random masks (30% foreground), poses 0.
let private randomBatch (g: Generator) (size: int) (neighbour: PointCloud.Batch option) : PointCloud.Batch =
    { Images = Tensor.uniform ([ size; 3; 64; 64 ], 0.0, 1.0, g)
      Masks = (Tensor.uniform ([ size; 1; 64; 64 ], 0.0, 1.0, g)).gt(0.7).cast Float32
      Azimuth = Tensor.zeros [ size ]
      Elevation = Tensor.zeros [ size ]
      Neighbour = neighbour }

[<Tests>]
let tests =
    testList "PointCloudPipeline" [
        test "the networks give N points in [0, 1] colours and angles in (−π, π)" {
            use scope = DisposalScope.Open()
            use g = generator 1
            let model = PointCloud.create g small
            let images = Tensor.uniform ([ 3; 3; 64; 64 ], 0.0, 1.0, g)
            let p = PointCloud.predict model images
            Expect.equal p.Xyz.Shape [| 3; 64; 3 |] "xyz (B, N, 3)"
            Expect.equal p.Rgb.Shape [| 3; 64; 3 |] "rgb (B, N, 3)"
            Expect.equal p.Azimuth.Shape [| 3 |] "azimuth (B,)"
            Expect.isTrue (p.Rgb.gt(0.0).all().ToScalar() > 0.0 && p.Rgb.lt(1.0).all().ToScalar() > 0.0) "colours inside (0, 1)"
            Expect.isTrue ((p.Azimuth.abs ()).lt(Math.PI).all().ToScalar() > 0.0) "azimuth inside (−π, π)"
            let names = PointCloud.parameters model |> List.map fst
            Expect.equal (List.distinct names).Length names.Length "unique parameter names"
            Expect.isTrue (names |> List.exists (fun n -> n.StartsWith "shape.colour.")) "the colour branch is a parameter group"
            let e = Expect.catchT<ArgumentException> (fun () -> PointCloud.predict model (Tensor.zeros [ 1; 3; 32; 32 ]) |> ignore) "wrong image size"
            Expect.stringContains e.Message "images" "the error names the argument"
        }

        test "the camera is the datasets': samples of a chair's surface land on its rendered silhouette and cover it" {
            use scope = DisposalScope.Open()
            use g = generator 2
            use mesh = Procedural.mesh "chair" 7UL 0
            let count = 20_000
            let points = (Sampling.surfacePoints g count (mesh.Vertices.unsqueeze 0) mesh.Faces).Points
            // (share of the points on a pixel the render touches, share of the rendered pixels
            // (alpha > 0.5) holding a point); the splat's own blur is left out on purpose.
            let agreement (view: DatasetRender.View) (sign: float) =
                use inner = DisposalScope.Open()
                let _, alpha = DatasetRender.render 64 mesh [| view |] (Tensor.ones [ 1; 3; 64; 64 ])
                let alpha = alpha.ToFloat32s()
                let az = Tensor.ofArray [| float32 (sign * Rotation.radians view.Azimuth) |]
                let el = Tensor.ofArray [| float32 (Rotation.radians view.Elevation) |]
                let xy = (fst (PointCloud.project PointCloud.Config.Defaults az el points)).ToFloat32s()
                let holds = Array.zeroCreate 4096
                let mutable onRender = 0
                for k in 0 .. count - 1 do
                    let j, i = int (floor xy.[2 * k]), int (floor xy.[2 * k + 1])
                    if i >= 0 && i < 64 && j >= 0 && j < 64 then
                        holds.[i * 64 + j] <- true
                        if alpha.[i * 64 + j] > 0.0f then onRender <- onRender + 1
                let inside = [| 0 .. 4095 |] |> Array.filter (fun q -> alpha.[q] > 0.5f)
                float onRender / float count, float (inside |> Array.filter (fun q -> holds.[q]) |> Array.length) / float inside.Length
            for v in [ 1; 5; 9 ] do
                let view = DatasetRender.multiViews.[v]
                let onRender, covered = agreement view 1.0
                Expect.isGreaterThan onRender 0.97 (sprintf "view %d: the points land where the render is (%.3f)" v onRender)
                Expect.isGreaterThan covered 0.99 (sprintf "view %d: the points cover the silhouette (%.3f)" v covered)
                let mirroredOn, mirroredCovered = agreement view -1.0
                Expect.isLessThan (min mirroredOn mirroredCovered) 0.9 (sprintf "view %d: the mirrored azimuth does not fit" v)
        }

        test "the Circle head gives atan2 of two outputs, continuous across ±π; the Interval head π·tanh of one" {
            use scope = DisposalScope.Open()
            use g = generator 3
            let images = Tensor.uniform ([ 2; 3; 64; 64 ], 0.0, 1.0, g)
            // Zero weights, so the outputs are the bias, whatever the image.
            let azimuthFor (head: Networks.AzimuthOutput) (bias: float32[]) =
                use _ = Autograd.noGrad ()
                let net = Networks.createPose g 64 head
                net.Out.Weight.copy_ (net.Out.Weight.zerosLike ())
                net.Out.Bias.Value.copy_ (Tensor.ofArray bias)
                let azimuth, elevation = Networks.applyPose net images
                (azimuth.ToFloat64s()).[1], (elevation.ToFloat64s()).[1]
            for degrees in [ -179.0; -90.0; 0.0; 45.0; 179.0 ] do
                let t = Rotation.radians degrees
                let azimuth, elevation = azimuthFor Networks.Circle [| float32 (3.0 * cos t); float32 (3.0 * sin t); 0.5f |]
                Expect.floatClose Accuracy.medium azimuth t (sprintf "Circle: the azimuth is the direction of the outputs (%.0f°)" degrees)
                Expect.floatClose Accuracy.medium elevation (Math.PI * tanh 0.5) "Circle: the elevation is π·tanh of the third output"
            // Either side of the cut: 2° apart on the circle, 2° apart in the output.
            let before, _ = azimuthFor Networks.Circle [| float32 (cos (Rotation.radians 179.0)); float32 (sin (Rotation.radians 179.0)); 0.0f |]
            let after, _ = azimuthFor Networks.Circle [| float32 (cos (Rotation.radians 181.0)); float32 (sin (Rotation.radians 181.0)); 0.0f |]
            Expect.floatClose Accuracy.medium (PoseMetrics.angleDifferenceDeg (Rotation.degrees before) (Rotation.degrees after)) 2.0 "Circle: no cut at ±π"
            let far, _ = azimuthFor Networks.Interval [| 3.0f; 0.0f |]
            Expect.floatClose Accuracy.medium far (Math.PI * tanh 3.0) "Interval: π·tanh of the first output"
        }

        test "maskBce is the binary cross-entropy" {
            use scope = DisposalScope.Open()
            let p = Tensor.ofArray ([| 0.9; 0.2; 0.0; 1.0 |], [ 1; 1; 2; 2 ])
            let t = Tensor.ofArray ([| 1.0; 0.0; 0.0; 1.0 |], [ 1; 1; 2; 2 ])
            let expected = -(log 0.9 + log 0.8 + log (1.0 - 1e-6) + log (1.0 - 1e-6)) / 4.0
            Expect.floatClose Accuracy.high ((PointCloud.maskBce p t).ToScalar()) expected "the mean of −t log p − (1 − t) log(1 − p)"
        }

        testProperty "silhouetteChamfer equals the brute-force 2D Chamfer" <| fun (seed: int) ->
            use scope = DisposalScope.Open()
            use g = generator (abs seed % 10_000)
            let h, w = 9, 11
            let xy = Tensor.uniform ([ 1; 13; 2 ], -1.0, 12.0, g, Float64)
            let mask = randomMask g h w
            let actual = (PointCloud.silhouetteChamfer xy mask).ToScalar()
            let expected = silhouetteBrute (xy.ToFloat64s()) (mask.ToFloat64s()) h w
            Expect.floatClose Accuracy.high actual expected "the 2D Chamfer"

        test "silhouetteChamfer's gradient matches finite differences (float64) and an empty mask counts for nothing" {
            use scope = DisposalScope.Open()
            use g = generator 3
            let xy = Tensor.uniform ([ 2; 7; 2 ], 0.0, 8.0, g, Float64)
            let mask = Tensor.cat ([ randomMask g 8 8; Tensor.zeros ([ 1; 1; 8; 8 ], Float64) ], 0)
            gradcheck "silhouetteChamfer" (fun x -> PointCloud.silhouetteChamfer x mask) xy
            let first = PointCloud.silhouetteChamfer (xy.narrow (0, 0, 1)) (mask.narrow (0, 0, 1))
            Expect.floatClose Accuracy.high ((PointCloud.silhouetteChamfer xy mask).ToScalar()) (first.ToScalar()) "the image without foreground is left out of the mean"
        }

        testProperty "chamferSquared equals the brute-force squared Chamfer" <| fun (seed: int) ->
            use scope = DisposalScope.Open()
            use g = generator (abs seed % 10_000)
            let a = Tensor.uniform ([ 2; 17; 3 ], -1.0, 1.0, g, Float64)
            let b = Tensor.uniform ([ 2; 11; 3 ], -1.0, 1.0, g, Float64)
            let actual = (PointCloud.chamferSquared a b).ToFloat64s()
            for k in 0 .. 1 do
                let expected = chamferBrute ((a.select (0, k)).ToFloat64s()) ((b.select (0, k)).ToFloat64s())
                Expect.floatClose Accuracy.high actual.[k] expected (sprintf "pair %d" k)

        test "chamferSquared's gradient matches finite differences (float64) in both clouds" {
            use scope = DisposalScope.Open()
            use g = generator 4
            let a = Tensor.uniform ([ 2; 9; 3 ], -1.0, 1.0, g, Float64)
            let b = Tensor.uniform ([ 2; 6; 3 ], -1.0, 1.0, g, Float64)
            gradcheck "chamferSquared in a" (fun x -> (PointCloud.chamferSquared x b).sum ()) a
            gradcheck "chamferSquared in b" (fun y -> (PointCloud.chamferSquared a y).sum ()) b
        }

        test "each term trains its own network: the shape terms reach only the shape net, the pose terms only the pose net" {
            use scope = DisposalScope.Open()
            use g = generator 5
            let model = PointCloud.create g { small with Neighbours = Some PointCloud.Config.NeighbourDefaults }
            use batch = randomBatch g 2 (Some (randomBatch g 2 None))
            let terms = PointCloud.losses model g batch
            Expect.equal (terms |> List.map fst)
                [ "image"; "mask"; "silhouette"; "neighbour_mask"; "neighbour_silhouette"; "pose_image"; "pose_mask"; "geometric_cycle"; "pose_cycle"; "total" ]
                "every term of the defaults, and OURS-NN's"
            for name, term in terms do
                if name <> "total" then
                    use inner = DisposalScope.Open()
                    let reached = gradients model term |> List.filter snd |> List.map fst
                    let shape, pose = reached |> List.partition (fun n -> n.StartsWith "shape.")
                    if name.StartsWith "pose_" then
                        Expect.isEmpty shape (sprintf "%s gives the shape net no gradient" name)
                        Expect.isNonEmpty pose (sprintf "%s trains the pose net" name)
                    else
                        Expect.isEmpty pose (sprintf "%s gives the pose net no gradient" name)
                        Expect.isNonEmpty shape (sprintf "%s trains the shape net" name)
        }

        test "pose-supervised: the true pose is used, no pose term, and a zero weight drops its term" {
            use scope = DisposalScope.Open()
            use g = generator 6
            let config = { small with PoseSupervised = true; Weights = { small.Weights with GeometricCycle = 0.0 } }
            let model = PointCloud.create g config
            let images = Tensor.uniform ([ 2; 3; 64; 64 ], 0.0, 1.0, g)
            let masks = (Tensor.uniform ([ 2; 1; 64; 64 ], 0.0, 1.0, g)).gt(0.7).cast Float32
            let batchAt (az: float32) : PointCloud.Batch =
                { Images = images; Masks = masks; Azimuth = Tensor.ofArray [| az; az |]; Elevation = Tensor.zeros [ 2 ]; Neighbour = None }
            let terms = PointCloud.losses model g (batchAt 0.0f)
            Expect.equal (terms |> List.map fst) [ "image"; "mask"; "silhouette"; "total" ] "shape terms only"
            let image (terms: (string * Tensor) list) = (terms |> List.find (fun (n, _) -> n = "image") |> snd).ToScalar()
            let turned = PointCloud.losses model g (batchAt 1.0f)
            Expect.notEqual (image turned) (image terms) "the image term depends on the given azimuth"
        }

        test "bestTurn finds the turn of the azimuth at which a cloud was drawn; the prediction wins ties" {
            use scope = DisposalScope.Open()
            use g = generator 8
            let config = small
            // An asymmetric cloud: a blob with a long arm along +x and a short one along +z.
            let blob = Tensor.normal ([ 1; 256; 3 ], 0.0, 0.1, g)
            let arm = Tensor.ofArray (Array.init (64 * 3) (fun k -> if k % 3 = 0 then float32 (k / 3) / 64.0f * 0.5f else 0.0f), [ 1; 64; 3 ])
            let stub = Tensor.ofArray (Array.init (32 * 3) (fun k -> if k % 3 = 2 then float32 (k / 3) / 32.0f * 0.25f else 0.0f), [ 1; 32; 3 ])
            let xyz = (Tensor.cat ([ blob; arm; stub ], 1)).repeat [ 4; 1; 1 ]
            let rgb = Tensor.uniform ([ 4; 352; 3 ], 0.0, 1.0, g)
            let predicted = Tensor.ofArray [| 0.3f; -1.2f; 2.5f; 0.0f |]
            let elevation = Tensor.ofArray [| 0.4f; 0.2f; 0.5f; 0.1f |]
            let turns = [| Math.PI; 0.0; Math.PI / 2.0; 3.0 * Math.PI / 2.0 |]
            let mask, colour = PointCloud.render config (predicted + Tensor.ofArray (Array.map float32 turns)) elevation xyz rgb
            let masks = mask.gt(0.5).cast Float32
            let found = PointCloud.bestTurn config 4 1.0 1.0 xyz rgb predicted elevation colour masks
            Expect.sequenceEqual (found.ToFloat64s() |> Array.map (fun t -> Math.Round(t, 5))) (turns |> Array.map (fun t -> Math.Round(t, 5))) "the turns the images were drawn at"
            let one = PointCloud.bestTurn config 1 1.0 1.0 xyz rgb predicted elevation colour masks
            Expect.sequenceEqual (one.ToFloat64s()) [| 0.0; 0.0; 0.0; 0.0 |] "one candidate: the prediction"
        }

        test "pose search: the term is the mean wrapped turn bestTurn chose, and trains the pose net only" {
            use scope = DisposalScope.Open()
            use g = generator 9
            let config = { small with PoseSearch = Some { Candidates = 4; Weight = 1.0 }; RandomPoses = 0 }
            let model = PointCloud.create g config
            use batch = randomBatch g 4 None
            let terms = PointCloud.losses model g batch
            Expect.equal (terms |> List.map fst) [ "image"; "mask"; "silhouette"; "pose_image"; "pose_mask"; "pose_search"; "total" ] "the term, after the pose net's image terms"
            let term = terms |> List.find (fst >> (=) "pose_search") |> snd
            let xyz, rgb = Reconstruct.Stages.PointCloud.applyShape model.Shape batch.Images
            let azimuth, elevation = Reconstruct.Stages.PointCloud.applyPose model.Pose batch.Images
            let turn = PointCloud.bestTurn config 4 1.0 1.0 xyz rgb azimuth elevation batch.Images batch.Masks
            let expected = turn.ToFloat64s() |> Array.averageBy (fun t -> Math.Abs(Math.Atan2(Math.Sin -t, Math.Cos -t)))
            Expect.floatClose Accuracy.medium (term.ToScalar()) expected "the mean wrapped turn"
            Expect.isGreaterThan expected 0.0 "this seed's predictions are beaten by a turn (else no gradient to check)"
            let reached = gradients model term |> List.filter snd |> List.map fst
            Expect.isTrue (reached |> List.forall (fun n -> n.StartsWith "pose.")) "no gradient to the shape net"
            Expect.isNonEmpty reached "the pose net is pulled"
            let supervised = PointCloud.create g { config with PoseSupervised = true }
            Expect.isFalse (PointCloud.losses supervised g batch |> List.exists (fst >> (=) "pose_search")) "no search with the true poses"
            // Towards the chosen turn, not away from it: a small step down the term's gradient
            // brings the azimuths nearer the turned poses (a quarter turn tells the directions apart).
            let targets = (azimuth + turn).detach ()
            let quarter = turn.ToFloat64s() |> Array.map (fun t -> abs (t - Math.PI / 2.0) < 1e-6 || abs (t - 3.0 * Math.PI / 2.0) < 1e-6)
            let distance () =
                let az = Reconstruct.Stages.PointCloud.applyPose model.Pose batch.Images |> fst
                let d = (Tensor.atan2 ((az - targets).sin (), (az - targets).cos ())).abs().ToFloat64s()
                Array.zip d quarter |> Array.sumBy (fun (d, q) -> if q then d else 0.0)
            let before = distance ()
            use _ = Autograd.noGrad ()
            for _, p in PointCloud.parameters model do
                p.Grad |> Option.iter (fun grad -> p.add_ (grad, alpha = -1e-3) |> ignore)
            Expect.isTrue (Array.contains true quarter) "this seed has a quarter turn"
            Expect.isLessThan (distance ()) before "the quarter-turned images moved towards their turned poses"
        }

        test "OURS-NN: an image that is its own neighbour gives its own mask and silhouette terms; another neighbour other ones; none is refused" {
            use scope = DisposalScope.Open()
            use g = generator 7
            let config = { small with Neighbours = Some { PointCloud.Config.NeighbourDefaults with Silhouette = 2.0 } }
            let model = PointCloud.create g config
            let images = Tensor.uniform ([ 2; 3; 64; 64 ], 0.0, 1.0, g)
            let masks = (Tensor.uniform ([ 2; 1; 64; 64 ], 0.0, 1.0, g)).gt(0.7).cast Float32
            let batchOf (images: Tensor) (masks: Tensor) neighbour : PointCloud.Batch =
                { Images = images; Masks = masks; Azimuth = Tensor.zeros [ 2 ]; Elevation = Tensor.zeros [ 2 ]; Neighbour = neighbour }
            let term name (terms: (string * Tensor) list) = (terms |> List.find (fun (n, _) -> n = name) |> snd).ToScalar()
            let itself = PointCloud.losses model g (batchOf images masks (Some (batchOf images masks None)))
            Expect.floatClose Accuracy.high (term "neighbour_mask" itself) (term "mask" itself) "mask term at its own pose"
            Expect.floatClose Accuracy.high (term "neighbour_silhouette" itself) (term "silhouette" itself) "silhouette term at its own pose"
            // Swapping the two images makes each the other's neighbour: its cloud drawn at the
            // other's predicted pose, against the other's silhouette.
            let swap (t: Tensor) = t.flip [ 0 ]
            let other = PointCloud.losses model g (batchOf images masks (Some (batchOf (swap images) (swap masks) None)))
            let xyz, rgb = Reconstruct.Stages.PointCloud.applyShape model.Shape images
            let azimuth, elevation = Reconstruct.Stages.PointCloud.applyPose model.Pose (swap images)
            let mask, _ = PointCloud.render config azimuth elevation xyz rgb
            let xy, _ = PointCloud.project config azimuth elevation xyz
            Expect.floatClose Accuracy.high (term "neighbour_mask" other) ((PointCloud.maskBce mask (swap masks)).ToScalar()) "mask term at the neighbour's pose, against its mask"
            Expect.floatClose Accuracy.high (term "neighbour_silhouette" other) ((PointCloud.silhouetteChamfer xy (swap masks)).ToScalar()) "silhouette term there"
            Expect.throwsT<System.ArgumentException> (fun () -> PointCloud.losses model g (batchOf images masks None) |> ignore) "no neighbour"
        }
    ]
