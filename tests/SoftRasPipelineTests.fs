/// The SoftRas pipeline: shapes and names, learning on a tiny batch, flat memory over steps.
module Reconstruct.Tests.SoftRasPipelineTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Stages
open Reconstruct.Pipelines
open Reconstruct.App
open Reconstruct.Tests.TestHelpers

/// Procedural chairs 0 .. n-1 of seed 7, object k seen from multi-views a.[k] and b.[k]: RGBA
/// images of `size`² pixels (RGB over white, as the dataset PNGs) and their cameras.
let private chairBatchOf (size: int) (viewsA: int[]) (viewsB: int[]) : SoftRas.Batch =
    let n = viewsA.Length
    let images =
        [ for k in 0 .. n - 1 ->
              use scope = DisposalScope.Open()
              use mesh = Procedural.mesh "chair" 7UL k
              let views = [| DatasetRender.multiViews.[viewsA.[k]]; DatasetRender.multiViews.[viewsB.[k]] |]
              let rgb, alpha = DatasetRender.render size mesh views (Tensor.ones [ 2; 3; size; size ])
              scope.MoveOut(Tensor.cat ([ rgb; alpha ], 1)) ]
    let pick v = Tensor.stack (images |> List.map (fun i -> i.[v]), 0)
    let views (indices: int[]) = Render.View.ofDataset (indices |> Array.map (fun k -> DatasetRender.multiViews.[k]))
    { ImagesA = pick 0; ImagesB = pick 1; ViewA = views viewsA; ViewB = views viewsB }

let private chairBatch = chairBatchOf 64

/// A model small enough for many steps in a test: 32 px images (σ 4× SoftRas' 1e-4, so the blur
/// covers as many pixels as at 64 px), SoftRas' layers otherwise.
let private small = { SoftRas.Config.Defaults with ImageSize = 32; Sigma = 4e-4 }

/// One training step in its own disposal scope: the loss values before the update.
let private step (model: SoftRas.Model) (optimizer: Optim.Optimizer) (batch: SoftRas.Batch) =
    use scope = DisposalScope.Open()
    optimizer.ZeroGrad()
    let terms = SoftRas.losses model model.Config.Sigma batch
    (terms |> List.find (fun (n, _) -> n = "total") |> snd).backward ()
    optimizer.Step()
    terms |> List.map (fun (n, t) -> n, t.ToScalar()) |> Map.ofList

[<Tests>]
let tests =
    testList "SoftRasPipeline" [
        test "predict, losses, names and the mesh of a default model" {
            use scope = DisposalScope.Open()
            use g = generator 1
            let model = SoftRas.create g SoftRas.Config.Defaults
            let names = SoftRas.parameters model |> List.map fst
            Expect.equal names.Head "encoder.conv1.weight" "first name"
            Expect.equal (List.last names) "decoder.fc_bias.bias" "last name"
            Expect.equal (List.distinct names).Length names.Length "unique names"
            Expect.isEmpty (SoftRas.buffers model) "no buffers without batch norm"
            let batch = chairBatch [| 3; 9 |] [| 20; 14 |]
            let vertices =
                use _ = Autograd.noGrad ()
                SoftRas.predict model batch.ImagesA
            Expect.equal vertices.Shape [| 2; 642; 3 |] "predicted vertices"
            Expect.isFalse vertices.RequiresGrad "no graph under noGrad"
            let terms = SoftRas.losses model 1e-4 batch
            Expect.equal (terms |> List.map fst) [ "iou"; "laplacian"; "flatten"; "total" ] "terms"
            let value name = (terms |> List.find (fun (n, _) -> n = name) |> snd).ToScalar()
            let c = SoftRas.Config.Defaults
            Expect.floatClose Accuracy.medium (value "total") (value "iou" + c.LaplacianWeight * value "laplacian" + c.FlattenWeight * value "flatten") "total"
            Expect.isTrue (value "iou" > 0.0 && value "iou" < 1.0) (sprintf "iou %g" (value "iou"))
            let mesh = SoftRas.mesh model (vertices.narrow (0, 1, 1))
            Expect.equal (Mesh.vertexCount mesh, Mesh.faceCount mesh) (642, 1280) "mesh"
            Expect.equal (SoftRas.faces model).Shape [| 1280; 3 |] "faces"
            Expect.throwsT<ArgumentException> (fun () -> SoftRas.predict model (Tensor.zeros [ 1; 3; 64; 64 ]) |> ignore) "RGB input"
        }

        test "a ResNet18 model predicts and trains a step" {
            use scope = DisposalScope.Open()
            use g = generator 2
            let model = SoftRas.create g { SoftRas.Config.Defaults with Encoder = SoftRas.ResNet18 8 }
            Expect.isNonEmpty (SoftRas.buffers model) "batch norm statistics"
            use optimizer = Optim.adam { Optim.Adam.Defaults with Lr = 1e-3 } (SoftRas.parameters model)
            let losses = step model optimizer (chairBatch [| 3 |] [| 20 |])
            Expect.isTrue (Double.IsFinite losses.["total"]) "finite loss"
        }

        test "a few dozen Adam steps on one chair seen from two views cut the IoU loss by a quarter" {
            use scope = DisposalScope.Open()
            use g = generator 3
            let model = SoftRas.create g small
            use optimizer = Optim.adam { Optim.Adam.Defaults with Lr = 1e-3 } (SoftRas.parameters model)
            let batch = chairBatchOf 32 [| 3 |] [| 20 |]
            let losses = Array.init 40 (fun _ -> step model optimizer batch)
            let first, last = losses.[0].["iou"], losses.[losses.Length - 1].["iou"]
            Expect.isTrue (last < 0.75 * first) (sprintf "iou loss %g -> %g: %A" first last (losses |> Array.map (fun l -> Math.Round(l.["iou"], 3))))
        }

        testSequenced <| test "30 training steps keep the live tensor count of 3" {
            use g = generator 4
            let model = SoftRas.create g { small with TemplateLevel = 2 }
            let optimizer = Optim.adam { Optim.Adam.Defaults with Lr = 1e-4 } (SoftRas.parameters model)
            let batch = chairBatchOf 32 [| 3 |] [| 20 |]
            for _ in 1..3 do step model optimizer batch |> ignore
            let after3 = settledLiveCount ()
            for _ in 4..30 do step model optimizer batch |> ignore
            let after30 = settledLiveCount ()
            (optimizer :> IDisposable).Dispose()
            SoftRas.dispose model
            for t in [ batch.ImagesA; batch.ImagesB ] do (t :> IDisposable).Dispose()
            Render.View.dispose batch.ViewA
            Render.View.dispose batch.ViewB
            Expect.equal after30 after3 "live tensors after 30 steps vs after 3"
        }

        test "Mixed data trains on the evaluated objects repeated and the others' together, and evaluates on the evaluated alone" {
            use dir = new TempDir()
            let cache = dir.File "cache"
            let experiment iterations data labelled =
                { Experiments.SoftRas.baseline with
                    Name = "mixed"
                    Method =
                        { Experiments.SoftRas.baseline.Method with
                            Data = data
                            Cache = cache
                            Labelled = labelled
                            Pipeline = { small with TemplateLevel = 2; ImageSize = 64; Sigma = 1e-4 }
                            ValidationInstances = 1
                            TestInstances = 1
                            EvalPoints = 200 }
                    BatchSize = 2
                    Stop = { Iterations = Some iterations; Minutes = None }
                    CheckpointEvery = iterations
                    EvalEvery = 100 }
            let chairs, cars = Experiments.Procedural("chair", 10), Experiments.Procedural("car", 10)
            let run name data labelled =
                let lines = Collections.Generic.List<string>()
                let out = dir.File name
                let summary = Experiments.SoftRas.run out (Some (dir.File "results")) (experiment 11 data labelled) false Threading.CancellationToken.None lines.Add
                summary, out, List.ofSeq lines
            // 7 chairs twice and 7 cars: 21 objects an epoch, 10 batches of 2; batch 11 is the
            // second epoch's first (7 chairs alone would be 3 batches an epoch, so epoch 3).
            let summary, out, lines = run "mixed" (Experiments.Mixed(chairs, 2, [ cars ])) None
            Expect.equal summary.TrainInstances 14 "the distinct training objects"
            let metadata = Checkpoint.readMetadata (IO.Path.Combine(out, "checkpoints", "last.safetensors"))
            Expect.equal (metadata.Extra.["epoch"], metadata.Extra.["batch"]) ("1", "1") "the data position after 11 batches of 21 objects an epoch"
            Expect.exists lines (fun l -> l.Contains "mixed data: 7 training objects" && l.Contains "2 times each, with 7 of") "the mix logged"
            let report = summary.Report.Value
            Expect.isTrue (report.Rows |> List.forall (fun r -> r.Category = "chair")) "evaluated on the chairs alone"
            let md = IO.File.ReadAllText(IO.Path.Combine(dir.File "results", "mixed.md"))
            Expect.stringContains md "trained on 2 times an epoch, validated and tested on), with the training splits of 10 procedural cars" "the data described"
            // Bad combinations are refused before training, naming the field.
            for data, labelled, fragment in
                [ Experiments.Mixed(chairs, 0, [ cars ]), None, "repeat must be at least 1"
                  Experiments.Mixed(chairs, 1, []), None, "at least one other source"
                  Experiments.Mixed(chairs, 1, [ Experiments.Mixed(cars, 1, [ chairs ]) ]), None, "Mixed or Photos is refused"
                  Experiments.Mixed(chairs, 1, [ cars ]), Some 2, "Method.Labelled" ] do
                let error = Expect.throwsC (fun () -> run "bad" data labelled |> ignore) id
                Expect.stringContains error.Message fragment "the message"
                Expect.isFalse (IO.Directory.Exists(dir.File "bad")) "no run folder"
        }
    ]
