/// The "input | reconstruction | novel views" figure: its layout, that each method is drawn in
/// the input's camera (the true mesh covers the input's silhouette, the template does not),
/// that novel views are other views, and the shading of untextured meshes.
module Reconstruct.Tests.EvalFigureTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Eval
open Reconstruct.App
open Reconstruct.Tests.TestHelpers

let private size = 64

let private chairs (n: int) = Procedural.generate "chair" 11UL n

/// The ground truth rendered as the benchmark does: rgb (N, 3, S, S), alpha (N, 1, S, S).
let private inputOf (model: TexturedMesh) (views: DatasetRender.View[]) =
    DatasetRender.render size model views (Tensor.ones [ views.Length; 3; size; size ])

let private plainOf (model: TexturedMesh) : FigureMesh =
    { Vertices = model.Vertices; Faces = model.Faces; Appearance = Appearance.Plain }

let private templateMesh () = FigureMesh.plain (Template.unicorn 0.4)

/// A view with every field away from the multi-view default, so each must be honoured.
let private oddView: DatasetRender.View =
    { Azimuth = 200.0; Elevation = 12.0; Roll = 8.0; Distance = 2.5; Scale = 1.15; ShiftX = 0.08; ShiftY = -0.06 }

/// Silhouette IoU of two (1, 1, S, S) masks, bool or alpha (inside above 0.5).
let private maskIoU (a: Tensor) (b: Tensor) = ImageMetrics.maskIoU a b |> Array.exactlyOne

/// Pixels of an RGB cell (3, S, S) over white that are not white, what a reader sees as
/// object: (1, 1, S, S) bool.
let private nonWhite (cell: Tensor) = ((cell.min(0) |> fst).lt 0.97).reshape [ 1; 1; size; size ]

let private meanAbsDiff (a: Tensor) (b: Tensor) =
    use _ = DisposalScope.Open()
    ((a - b).abs ()).mean().ToScalar()

/// A prepared category as `reconstruct data` leaves it, from procedural chairs: the models as
/// OBJ and a manifest with every one in the test split (the command-line tests use it too).
let writeCache (root: string) (models: TexturedMesh list) =
    let manifest = Furniture.manifestPath root "chair"
    let dir = IO.Path.GetDirectoryName manifest
    IO.Directory.CreateDirectory dir |> ignore
    let entries =
        models
        |> List.mapi (fun k m ->
            let obj = IO.Path.Combine(dir, sprintf "m%d" k, "model.obj")
            IO.Directory.CreateDirectory(IO.Path.GetDirectoryName obj) |> ignore
            TexturedMesh.writeObj obj m
            let i = m.Info
            sprintf
                """{ "id": "%s", "name": "%s", "split": "test", "obj": "m%d/model.obj", "creator": "", "licence": "generated", "library": "procedural", "sourceCategory": "", "source": "", "sizeCm": [1, 1, 1], "licenceFiles": [], "licenceCopies": [], "vertices": %d, "faces": %d, "atlas": [%d, %d], "warnings": [] }"""
                i.Id i.Name k (m.Vertices.Size 0) (m.Faces.Size 0) (m.Atlas.Size 1) (m.Atlas.Size 2))
    IO.File.WriteAllText(manifest, sprintf """{ "category": "chair", "models": [ %s ], "failures": [] }""" (String.Join(", ", entries)))

[<Tests>]
let tests =
    testList "EvalFigure" [
        test "the figure has one row per input and 1 + methods x (1 + novel views) columns, laid out with padding and group gaps" {
            use scope = DisposalScope.Open()
            let models = chairs 2
            let views = [| DatasetRender.nmrView 45.0; oddView |]
            let inputs = Tensor.cat ([ for m, v in Array.zip (Array.ofList models) views -> fst (inputOf m [| v |]) ], 0)
            let options = { GridOptions.Defaults with Padding = 3; GroupGap = 5; NovelAzimuths = [ 90.0; 180.0; 270.0 ]; Background = 1.0; Missing = 0.5 }
            let truth = models |> List.map (plainOf >> Some) |> Array.ofList
            let template = [| Some(templateMesh ()); None |]
            let figure = ReconstructionGrid.figure options inputs views [ truth; template ]
            // 2 rows; 1 + 2 * 4 = 9 columns of 64 + 3 px, 3 px border, 5 px before each of 2 groups.
            Expect.equal figure.Shape [| 3; 3 + 2 * 67; 3 + 9 * 67 + 2 * 5 |] "figure.Shape"
            let cell (top: int) (left: int) = figure.narrow(1, top, size).narrow (2, left, size)
            // Row 1, column 0: the second input, unchanged.
            Expect.equal (meanAbsDiff (cell 70 3) inputs.[1]) 0.0 "meanAbsDiff (cell 70 3) inputs.[1]"
            // Row 0, column 1: the first true mesh in the first input's camera.
            let recon, _ = ReconstructionGrid.render size truth.[0].Value [| views.[0] |]
            Expect.equal (meanAbsDiff (cell 3 (3 + 67 + 5)) recon.[0]) 0.0 "meanAbsDiff (cell 3 (3 + 67 + 5)) recon.[0]"
            // Row 1, column 5: the template's reconstruction cell, missing for that instance.
            let missing = cell 70 (3 + 5 * 67 + 2 * 5)
            Expect.equalRounded 6 (missing.min().ToScalar()) 0.5 "missing.min().ToScalar()"
            Expect.equalRounded 6 (missing.max().ToScalar()) 0.5 "missing.max().ToScalar()"
            // Row 0, column 5: the template is there for the first instance.
            Expect.isTrue ((cell 3 (3 + 5 * 67 + 2 * 5)).min().ToScalar() < 0.9) "(cell 3 (3 + 5 * 67 + 2 * 5)).min().ToScalar() < 0.9"
            // The border and the group gap are background.
            Expect.equalRounded 6 ((figure.narrow(2, 0, 3)).min().ToScalar()) 1.0 "(figure.narrow(2, 0, 3)).min().ToScalar()"
            Expect.equalRounded 6 ((figure.narrow(2, 3 + 67, 5)).min().ToScalar()) 1.0 "(figure.narrow(2, 3 + 67, 5)).min().ToScalar()"
        }

        test "the true mesh is drawn in the input's camera and covers its silhouette, the template does not" {
            use scope = DisposalScope.Open()
            let options = GridOptions.Defaults
            for model, view in List.zip (chairs 2) [ DatasetRender.nmrView 45.0; oddView ] do
                let rgb, alpha = inputOf model [| view |]
                Expect.isTrue ((alpha.gt 0.5).sum().ToScalar() > 200.0) "the chair covers too few pixels to compare"
                let row = ReconstructionGrid.row options rgb.[0] view [ Some(plainOf model); Some(templateMesh ()) ]
                Expect.equal row.Shape [| 1 + 2 * 4; 3; size; size |] "row.Shape"
                // As a reader sees the figure: the object is what is not white, in each cell.
                let inputSeen = nonWhite row.[0]
                let truthIoU = maskIoU inputSeen (nonWhite row.[1])
                let templateIoU = maskIoU inputSeen (nonWhite row.[5])
                Expect.isTrue (truthIoU > 0.95) (sprintf "true mesh vs input silhouette IoU %.3f at %A" truthIoU view)
                Expect.isTrue (templateIoU < 0.75 && templateIoU < truthIoU - 0.2) (sprintf "template vs input IoU %.3f (truth %.3f) at %A" templateIoU truthIoU view)
                // The renderer's own alpha agrees with the input's.
                let _, reconAlpha = ReconstructionGrid.render size (plainOf model) [| view |]
                Expect.isTrue (maskIoU alpha reconAlpha > 0.95) "maskIoU alpha reconAlpha > 0.95"
        }

        test "novel views show other sides, relative to the input's azimuth" {
            use scope = DisposalScope.Open()
            let model = chairs 1 |> List.head
            let view = DatasetRender.nmrView 45.0
            let rgb, _ = inputOf model [| view |]
            let options = { GridOptions.Defaults with NovelAzimuths = [ 90.0; 180.0; 270.0; 360.0 ] }
            let row = ReconstructionGrid.row options rgb.[0] view [ Some(plainOf model) ]
            for k in 2..4 do
                let d = meanAbsDiff row.[k] row.[1]
                Expect.isTrue (d > 0.02) (sprintf "novel view %d differs from the input view by only %.4f" k d)
            // +360° is the input view again: the offsets are relative, not absolute azimuths.
            Expect.isTrue (meanAbsDiff row.[5] row.[1] < 1e-4) "meanAbsDiff row.[5] row.[1] < 1e-4"
            let views = ReconstructionGrid.views options view
            Expect.equal (views |> Array.map (fun v -> v.Azimuth)) [| 45.0; 135.0; 225.0; 315.0; 45.0 |] "views |> Array.map (fun v -> v.Azimuth)"
        }

        test "untextured meshes are grey and shaded per face, not flat" {
            use scope = DisposalScope.Open()
            let model = chairs 1 |> List.head
            let rgb, alpha = ReconstructionGrid.render size (plainOf model) [| DatasetRender.nmrView 45.0; oddView |]
            let a = alpha.ToFloat32s()
            for c in 0..2 do
                let channel = rgb.select(1, c).ToFloat32s()
                let inside = Array.zip a channel |> Array.filter (fun (x, _) -> x > 0.999f) |> Array.map (snd >> float)
                Expect.isTrue (inside.Length > 200) "inside.Length > 200"
                let mean = Array.average inside
                let std = sqrt (inside |> Array.averageBy (fun v -> (v - mean) ** 2.0))
                Expect.isTrue (std > 0.03) (sprintf "channel %d: grey shading is flat (std %.4f)" c std)
                // Ambient 0.45 to full light on grey 0.75.
                Expect.isInRange (Array.min inside) (0.45 * ReconstructionGrid.PlainGrey - 0.01) ReconstructionGrid.PlainGrey "Array.min inside"
                Expect.isInRange (Array.max inside) (0.45 * ReconstructionGrid.PlainGrey) (ReconstructionGrid.PlainGrey + 0.01) "Array.max inside"
            // Grey: the three channels agree.
            Expect.isTrue (meanAbsDiff rgb.[*, 0..0] rgb.[*, 1..1] < 1e-6) "meanAbsDiff rgb.[*, 0..0] rgb.[*, 1..1] < 1e-6"
        }

        test "textured meshes render as the dataset does, from a TexturedMesh or from a mesh with UVs and a texture" {
            use scope = DisposalScope.Open()
            let model = chairs 1 |> List.head
            let views = [| DatasetRender.nmrView 45.0; oddView |]
            let expected, expectedAlpha = inputOf model views
            let direct, _ = ReconstructionGrid.render size (FigureMesh.ofTextured model) views
            Expect.equal (meanAbsDiff direct expected) 0.0 "meanAbsDiff direct expected"
            let viaUVs, alpha = ReconstructionGrid.render size (FigureMesh.textured (TexturedMesh.toMesh model) model.Atlas) views
            Expect.isTrue (meanAbsDiff viaUVs expected < 1e-6) "meanAbsDiff viaUVs expected < 1e-6"
            Expect.isTrue (meanAbsDiff alpha expectedAlpha < 1e-6) "meanAbsDiff alpha expectedAlpha < 1e-6"
        }

        test "vertex colours are drawn lit" {
            use scope = DisposalScope.Open()
            let model = chairs 1 |> List.head
            let v = model.Vertices.Size 0
            let red = Tensor.cat ([ Tensor.ones [ v; 1 ]; Tensor.zeros [ v; 2 ] ], 1)
            let rgb, alpha = ReconstructionGrid.render size { plainOf model with Appearance = Appearance.VertexColours red } [| DatasetRender.nmrView 45.0 |]
            let a = alpha.ToFloat32s()
            let inside (c: int) = Array.zip a (rgb.select(1, c).ToFloat32s()) |> Array.filter (fun (x, _) -> x > 0.999f) |> Array.map snd
            Expect.isTrue (inside 0 |> Array.forall (fun r -> r >= 0.44f)) "inside 0 |> Array.forall (fun r -> r >= 0.44f)"
            Expect.isTrue (inside 1 |> Array.forall (fun g -> g < 0.01f)) "inside 1 |> Array.forall (fun g -> g < 0.01f)"
            Expect.isTrue (inside 2 |> Array.forall (fun b -> b < 0.01f)) "inside 2 |> Array.forall (fun b -> b < 0.01f)"
        }

        test "a point cloud is drawn as one outward-wound solid per point: points of the true surface cover its silhouette" {
            use _ = DisposalScope.Open()
            let model = (chairs 1).Head
            let truth = TexturedMesh.toMesh model
            use g = generator 3
            // As many points as the point-cloud method predicts.
            let cloud = Nearest.ofTensor (Sampling.surfacePoints g 1024 truth.Vertices truth.Faces).Points
            let drawn = FigureMesh.points Benchmark.CloudFigureRadius cloud
            Expect.equal drawn.Vertices.Shape [| 6 * 1024; 3 |] "six corners a point"
            Expect.equal drawn.Faces.Shape [| 8 * 1024; 3 |] "eight faces a point"
            // Every face of point 0's solid faces away from the point.
            let normals = (Mesh.faceNormals (drawn.Vertices.unsqueeze 0) drawn.Faces).[0].narrow(0, 0, 8).ToFloat32s()
            let centres = (drawn.Vertices.indexSelect (0, (drawn.Faces.narrow (0, 0, 8)).flatten ())).reshape([ 8; 3; 3 ]).mean(1).ToFloat32s()
            for k in 0 .. 7 do
                let outward = Array.init 3 (fun a -> normals.[3 * k + a] * (centres.[3 * k + a] - cloud.[a])) |> Array.sum
                Expect.isTrue (outward > 0.0f) (sprintf "face %d of the first point faces outwards (%g)" k outward)
            let view = [| DatasetRender.multiViews.[3] |]
            let _, cloudAlpha = ReconstructionGrid.render size drawn view
            let _, truthAlpha = ReconstructionGrid.render size (plainOf model) view
            let iou = maskIoU cloudAlpha truthAlpha
            Expect.isTrue (iou > 0.6) (sprintf "the cloud's silhouette against the mesh's: IoU %g" iou)
            Expect.throwsT<ArgumentException> (fun () -> FigureMesh.points 0.01 [||] |> ignore) "an empty cloud"
        }

        test "malformed meshes, inputs and rows are refused with the argument named" {
            use scope = DisposalScope.Open()
            let model = chairs 1 |> List.head
            let view = DatasetRender.nmrView 0.0
            let flat = { plainOf model with Vertices = model.Vertices.narrow (1, 0, 2) }
            let e = Expect.catchT<ArgumentException> (fun () -> ReconstructionGrid.render size flat [| view |] |> ignore) "ReconstructionGrid.render size flat [| view |]"
            Expect.stringContains e.Message "vertices must be (V, 3)" "e.Message"
            let wrongColours = { plainOf model with Appearance = Appearance.VertexColours(Tensor.ones [ 3; 3 ]) }
            let e = Expect.catchT<ArgumentException> (fun () -> ReconstructionGrid.render size wrongColours [| view |] |> ignore) "ReconstructionGrid.render size wrongColours [| view |]"
            Expect.stringContains e.Message "vertex colours" "e.Message"
            let e = Expect.catchT<ArgumentException> (fun () -> ReconstructionGrid.row GridOptions.Defaults (Tensor.ones [ 3; 32; 48 ]) view [] |> ignore) "ReconstructionGrid.row GridOptions.Defaults (Tensor.ones [ 3; 32; 48..."
            Expect.equal e.ParamName "input" "e.ParamName"
            let a = ReconstructionGrid.row GridOptions.Defaults (Tensor.ones [ 3; 16; 16 ]) view [ None ]
            let b = ReconstructionGrid.row GridOptions.Defaults (Tensor.ones [ 3; 16; 16 ]) view [ None; None ]
            let e = Expect.catchT<ArgumentException> (fun () -> ReconstructionGrid.assemble GridOptions.Defaults [ a; b ] |> ignore) "ReconstructionGrid.assemble GridOptions.Defaults [ a; b ]"
            Expect.equal e.ParamName "rows" "e.ParamName"
            let e = Expect.catchT<ArgumentException> (fun () -> ReconstructionGrid.figure GridOptions.Defaults (Tensor.ones [ 2; 3; 16; 16 ]) [| view |] [] |> ignore) "ReconstructionGrid.figure GridOptions.Defaults (Tensor.ones [ 2; 3; 1..."
            Expect.equal e.ParamName "views" "e.ParamName"
        }

        testSequenced <| test "eval draws each category's figure from its first instances: the prediction, the template and the noisy truth" {
            let root = IO.Path.Combine(IO.Path.GetTempPath(), "rc-grid-" + Guid.NewGuid().ToString("N"))
            try
                use scope = DisposalScope.Open()
                let models = chairs 3
                writeCache root models
                // A prediction for the first instance only: its true mesh.
                let predictions = IO.Path.Combine(root, "predictions")
                IO.Directory.CreateDirectory predictions |> ignore
                let first = models.Head
                MeshIO.writeObj (IO.Path.Combine(predictions, Benchmark.predictionStem first.Info.Id + ".obj")) { TexturedMesh.toMesh first with UVs = None }
                let options: Benchmark.Options =
                    { CacheDir = root; Categories = [ "chair" ]; Split = "test"; Predictions = Some predictions; MethodName = "pred"
                      Shape = { ShapeEvalOptions.Defaults with Points = 2000; Alignment = AlignmentMode.TrueCameraFrame }
                      Benchmarks = None; Seed = 0; NoiseSigma = ShapeEval.ReferenceNoise; Limit = 0; GridInstances = 2; GridView = 3; Grid = GridOptions.Defaults }
                let live = settledLiveCount ()
                let report, grids = Benchmark.run options Threading.CancellationToken.None ignore
                // Nothing but the figures outlives the run.
                Expect.equal Tensor.LiveCount (live + 1L) "Tensor.LiveCount"
                Expect.equal (report.Rows |> List.filter (fun r -> r.Method = EvalReport.TemplateReference) |> List.length) 3 "report.Rows |> List.filter (fun r -> r.Method = EvalReport.TemplateRe..."
                // The two instances without a prediction.
                Expect.equal [ for f in report.Failures -> f.Method, f.Instance ] [ for m in models.Tail -> "pred", m.Info.Id ] "report.Failures"
                let g = Expect.single grids "grids"
                try
                    Expect.equal g.Instances (models |> List.truncate 2 |> List.map (fun m -> m.Info.Id)) "g.Instances"
                    Expect.equal g.Methods [ "pred"; EvalReport.TemplateReference; EvalReport.NoisyTruthReference ] "g.Methods"
                    // 2 rows; 1 + 3 methods x 4 columns of 64 + 2 px; 6 px before each group.
                    Expect.equal g.Image.Shape [| 3; 2 + 2 * 66; 2 + 13 * 66 + 3 * 6 |] "g.Image.Shape"
                    let cell (row: int) (column: int) =
                        let group = if column = 0 then 0 else 1 + (column - 1) / 4
                        g.Image.narrow(1, 2 + row * 66, size).narrow (2, 2 + column * 66 + group * 6, size)
                    // The input: the ground truth (as stored) in multi-view view 3, as the dataset renders it.
                    let entries, _, _ = FurnitureManifest.read (Furniture.manifestPath root "chair")
                    let input, _ = inputOf (Furniture.load entries.Head) [| DatasetRender.multiViews.[3] |]
                    Expect.isTrue (meanAbsDiff (cell 0 0) input.[0] < 1e-6) "meanAbsDiff (cell 0 0) input.[0] < 1e-6"
                    let seen = nonWhite (cell 0 0)
                    // The prediction and the noisy truth cover the input's silhouette; the template does not.
                    Expect.isTrue (maskIoU seen (nonWhite (cell 0 1)) > 0.95) "maskIoU seen (nonWhite (cell 0 1)) > 0.95"
                    Expect.isTrue (maskIoU seen (nonWhite (cell 0 9)) > 0.9) "maskIoU seen (nonWhite (cell 0 9)) > 0.9"
                    Expect.isTrue (maskIoU seen (nonWhite (cell 0 5)) < 0.75) "maskIoU seen (nonWhite (cell 0 5)) < 0.75"
                    // The second instance has no prediction: its cells are the missing grey.
                    Expect.equalRounded 6 ((cell 1 1).max().ToScalar()) GridOptions.Defaults.Missing "(cell 1 1).max().ToScalar()"
                    let files = Benchmark.writeGrids (IO.Path.Combine(root, "report", "figures")) options.Grid grids
                    Expect.equal (files |> List.map IO.Path.GetFileName) [ "grid_chair.png"; "grid_chair.md" ] "files |> List.map IO.Path.GetFileName"
                    let png = Image.load files.[0]
                    Expect.equal png.Shape g.Image.Shape "png.Shape"
                    let legend = IO.File.ReadAllText files.[1]
                    for id in g.Instances @ g.Methods do Expect.stringContains legend id "legend"
                finally
                    (g.Image :> IDisposable).Dispose()
            finally
                if IO.Directory.Exists root then IO.Directory.Delete(root, true)
        }

        test "the noisy-truth mesh the figure draws is the one its reference row scores" {
            use scope = DisposalScope.Open()
            let truth = TexturedMesh.toMesh (chairs 1).Head
            let options = { ShapeEvalOptions.Defaults with Points = 2000; Alignment = AlignmentMode.TrueCameraFrame }
            use g1 = new Generator(5UL)
            use g2 = new Generator(5UL)
            let reference = ShapeEval.metrics (ShapeEval.noisyTruthReference g1 options 0.01 truth)
            let noisy = ShapeEval.noisyTruth g2 0.01 truth
            Expect.equal (ShapeEval.metrics (ShapeEval.evaluate g2 options noisy truth)) reference "ShapeEval.metrics (ShapeEval.evaluate g2 options noisy truth)"
            // Procedural shapes span 1 along their longest side, so the noise is 0.01 in object units.
            let d = (noisy.Vertices - truth.Vertices).ToFloat64s()
            let std = sqrt (d |> Array.averageBy (fun x -> x * x))
            Expect.isInRange std 0.009 0.011 "std"
        }
    ]
