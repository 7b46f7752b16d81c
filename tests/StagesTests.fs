/// The stages of the pipelines: encoder and decoder shapes, the decoder's range, the loss
/// gradients against finite differences, and the render convention against the dataset renders.
module Reconstruct.Tests.StagesTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Stages
open Reconstruct.Tests.TestHelpers

/// Intersection over union of two masks thresholded at 0.5 (host arithmetic, not the loss).
let private maskIou (a: Tensor) (b: Tensor) =
    let a, b = a.ToFloat32s(), b.ToFloat32s()
    let mutable inter, union = 0, 0
    for k in 0 .. a.Length - 1 do
        let x, y = a.[k] > 0.5f, b.[k] > 0.5f
        if x && y then inter <- inter + 1
        if x || y then union <- union + 1
    float inter / float (max union 1)

/// Silhouettes of the procedural chair from `Render.silhouette` at small σ and the alpha of
/// `DatasetRender.render`, at `views`, with the azimuth of the soft render multiplied by `sign`.
let private renderAgreement (azimuthSign: float) (views: DatasetRender.View[]) =
    use scope = DisposalScope.Open()
    use mesh = Procedural.mesh "chair" 5UL 0
    let _, alpha = DatasetRender.render 64 mesh views (Tensor.ones [ views.Length; 3; 64; 64 ])
    let view =
        Render.View.ofDegrees (views |> Array.map (fun v -> azimuthSign * v.Azimuth)) (views |> Array.map (fun v -> v.Elevation)) (views |> Array.map (fun v -> v.Distance))
    let vertices = (mesh.Vertices.unsqueeze 0).expand([ views.Length; mesh.Vertices.Size 0; 3 ]).contiguous ()
    let soft = Render.silhouette (Render.settings 64 1e-6) view vertices mesh.Faces
    Expect.equal soft.Shape [| views.Length; 1; 64; 64 |] "silhouette shape"
    [ for k in 0 .. views.Length - 1 -> maskIou soft.[k] alpha.[k] ]

[<Tests>]
let tests =
    testList "Stages" [
        test "SoftRas' encoder maps (B, 4, 64, 64) to (B, 512) with unique parameter names" {
            use scope = DisposalScope.Open()
            use g = generator 1
            let encoder = Encode.create g Encode.Kind.SoftRas 4 64
            use images = Tensor.rand ([ 2; 4; 64; 64 ], g)
            let features = Encode.apply true encoder images
            Expect.equal features.Shape [| 2; 512 |] "features"
            Expect.equal (Encode.featureSize encoder) 512 "featureSize"
            let names = Encode.parameters encoder |> List.map fst
            Expect.equal names [ "conv1.weight"; "conv1.bias"; "conv2.weight"; "conv2.bias"; "conv3.weight"; "conv3.bias"
                                 "fc1.weight"; "fc1.bias"; "fc2.weight"; "fc2.bias"; "fc3.weight"; "fc3.bias" ] "names"
            Expect.equal ((Encode.parameters encoder |> List.find (fun (n, _) -> n = "fc1.weight") |> snd).Shape) [| 1024; 16384 |] "fc1 is 16384 -> 1024"
            Expect.isTrue ((features.min () |> fun t -> t.ToScalar()) >= 0.0) "ReLU output"
            Expect.isEmpty (Encode.buffers encoder) "no batch norm, no buffers"
        }

        test "the ResNet encoder maps (B, 4, 64, 64) to (B, 8·width), with buffers" {
            use scope = DisposalScope.Open()
            use g = generator 2
            let encoder = Encode.create g (Encode.Kind.Residual { ResNet.resnet18 with Width = 8 }) 4 64
            use images = Tensor.rand ([ 3; 4; 64; 64 ], g)
            Expect.equal (Encode.apply true encoder images).Shape [| 3; 64 |] "features"
            Expect.equal (Encode.featureSize encoder) 64 "featureSize"
            Expect.isNonEmpty (Encode.buffers encoder) "running statistics"
            Expect.throwsT<ArgumentException> (fun () -> Encode.apply true encoder (Tensor.zeros [ 1; 3; 64; 64 ]) |> ignore) "3 channels"
        }

        test "the level-3 sphere has 642 vertices and 1280 faces on the unit sphere" {
            use scope = DisposalScope.Open()
            let t = Deform.sphere 3
            Expect.equal t.Vertices.Shape [| 642; 3 |] "vertices"
            Expect.equal t.Faces.Shape [| 1280; 3 |] "faces"
            Expect.equal t.Topology.VertexCount 642 "topology"
            let radii = (t.Vertices.norm (2.0, 1)).ToFloat64s()
            Expect.isTrue (radii |> Array.forall (fun r -> abs (r - 1.0) < 1e-5)) "unit radius"
        }

        test "the untrained decoder gives 0.25·template up to a few hundredths" {
            use scope = DisposalScope.Open()
            use g = generator 3
            let t = Deform.sphere 3
            let encoder = Encode.create g Encode.Kind.SoftRas 4 64
            let decoder = Deform.softRasDecoder g 512 t
            let features = Encode.apply false encoder (Tensor.rand ([ 2; 4; 64; 64 ], g))
            let v = Deform.applySoftRas t decoder features
            Expect.equal v.Shape [| 2; 642; 3 |] "vertices"
            let deviation = (v - t.Vertices * 0.25).abs().max().ToScalar()
            Expect.isTrue (deviation < 0.02) (sprintf "largest deviation from the radius-0.25 sphere %g" deviation)
            Expect.equal (Deform.parameters decoder |> List.map fst)
                [ "fc1.weight"; "fc1.bias"; "fc2.weight"; "fc2.bias"; "fc_centroid.weight"; "fc_centroid.bias"; "fc_bias.weight"; "fc_bias.bias" ] "names"
        }

        testPropertyWithConfig (propertyConfig 25) "decoded vertices stay in [-0.5, 0.5]³ for any features" <| fun (seed: int) (scaleExponent: int) ->
            use scope = DisposalScope.Open()
            use g = generator seed
            let t = Deform.sphere 2
            let decoder = Deform.softRasDecoder g 16 t
            // features up to 10^4 drive both heads deep into saturation
            let scale = Math.Pow(10.0, float (abs scaleExponent % 5))
            let features = Tensor.normal ([ 4; 16 ], 0.0, scale, g)
            let v = Deform.applySoftRas t decoder features
            let lo, hi = v.min().ToScalar(), v.max().ToScalar()
            Expect.isTrue (lo >= -0.5 && hi <= 0.5 && Double.IsFinite lo && Double.IsFinite hi) (sprintf "vertices in [%g, %g] at feature scale %g" lo hi scale)

        test "iou loss: 0 on equal binary masks, 1 on disjoint ones, the mean over images" {
            use scope = DisposalScope.Open()
            let mask (cells: int list) =
                let a = Array.zeroCreate<float32> 16
                for c in cells do a.[c] <- 1.0f
                Tensor.ofArray (a, [ 1; 1; 4; 4 ])
            let a, b = mask [ 0; 1; 2 ], mask [ 8; 9 ]
            Expect.floatClose Accuracy.low (Loss.iou a a |> fun t -> t.ToScalar()) 0.0 "equal (up to the 1e-6 in the union)"
            Expect.floatClose Accuracy.low (Loss.iou a b |> fun t -> t.ToScalar()) 1.0 "disjoint"
            let half = mask [ 0; 1 ]
            // [a; a] against [a; half]: 0 and 1 - 2/3
            let loss = Loss.iou (Tensor.cat ([ a; a ], 0)) (Tensor.cat ([ a; half ], 0))
            Expect.floatClose Accuracy.medium (loss.ToScalar()) ((1.0 - 2.0 / 3.0) / 2.0) "mean over images"
        }

        test "iou loss gradient matches finite differences (float64)" {
            use scope = DisposalScope.Open()
            use g = generator 4
            let target = Tensor.rand ([ 2; 1; 3; 3 ], g, Float64)
            let predicted = Tensor.uniform ([ 2; 1; 3; 3 ], 0.05, 0.95, g, Float64)
            gradcheck "Loss.iou" (fun p -> Loss.iou p target) predicted
        }

        test "laplacian and flatten gradients match finite differences (float64)" {
            use scope = DisposalScope.Open()
            use g = generator 5
            let t = Deform.sphere 1
            let noise = Tensor.uniform ([ 2; t.Vertices.Size 0; 3 ], -0.1, 0.1, g, Float64)
            let vertices = (t.Vertices.cast Float64).unsqueeze 0 + noise
            gradcheck "Loss.laplacian" (fun v -> Loss.laplacian t.Topology v) vertices
            gradcheck "Loss.flatten" (fun v -> Loss.flatten t.Topology v) vertices
            // batch-averaged: two copies of one mesh give that mesh's value
            let one = vertices.narrow (0, 0, 1)
            let both = Tensor.cat ([ one; one ], 0)
            Expect.floatClose Accuracy.high ((Loss.laplacian t.Topology both).ToScalar()) ((Regularizers.laplacianSquared t.Topology one).ToScalar()) "laplacian mean"
            Expect.floatClose Accuracy.high ((Loss.flatten t.Topology both).ToScalar()) ((Regularizers.flatten t.Topology one).ToScalar()) "flatten mean"
        }

        test "silhouettes at the dataset camera match the dataset renders' alpha; a mirrored azimuth does not" {
            let views = [| 3; 5; 9; 20 |] |> Array.map (fun k -> DatasetRender.multiViews.[k])
            let right = renderAgreement 1.0 views
            Expect.isTrue (right |> List.forall (fun iou -> iou > 0.9)) (sprintf "mask IoU per view %A" right)
            let mirrored = renderAgreement -1.0 views
            Expect.isTrue (mirrored |> List.exists (fun iou -> iou < 0.9)) (sprintf "mirrored azimuth: mask IoU per view %A" mirrored)
        }
    ]
