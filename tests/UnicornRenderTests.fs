/// UNICORN's render and loss stages: the textured render against the hard evaluation render,
/// its projection against `Camera.project`, the fused per-face-UV blend against the composed
/// reference (values and gradients), the periodic texture against a host bilinear lookup, the
/// render's gradients and the loss terms against finite differences.
module Reconstruct.Tests.UnicornRenderTests

open System
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Render
open Reconstruct.Stages
open Reconstruct.Tests.TestHelpers

/// Host values in [lo, hi), for lookups checked on the host.
let private hostValues (seed: int) (lo: float) (hi: float) (n: int) =
    let r = Random(seed)
    Array.init n (fun _ -> lo + (hi - lo) * r.NextDouble())

/// A float64 tensor uniform in [lo, hi), seeded.
let private tensor (seed: int) (lo: float) (hi: float) (shape: int list) =
    use g = generator seed
    Tensor.uniform (shape, lo, hi, g, Float64)

/// UNICORN's viewpoints: azimuths (degrees) at 30° elevation, distance 2.732, object scale
/// `scale` per axis; dtype of the result float64.
let private poses (azimuths: float[]) (scale: float[]) : Pose =
    let n = azimuths.Length
    let rad (xs: float[]) = Tensor.ofArray (xs |> Array.map Rotation.radians)
    let rotation = Rotation.fromEuler (rad azimuths) (rad (Array.create n 30.0)) (rad (Array.zeroCreate n))
    let translation = Tensor.ofArray ([| for _ in 1..n do yield! [| 0.0; 0.0; 2.732 |] |], [ n; 3 ])
    let s = Tensor.ofArray ([| for _ in 1..n do yield! scale |], [ n; 3 ])
    ({ Rotation = rotation; Translation = translation; Scale = Some s }: Pose)

let private template (level: int) =
    let mesh = Template.ellipsoid level (0.4, 0.28, 0.28)
    mesh.Vertices.cast Float64, mesh.Faces, (UVMap.faceCoords mesh.UVs.Value).cast Float64

let private batch (n: int) (t: Tensor) = t.expand([ n; t.Size 1; t.Size 2 ]).contiguous ()

let private maskIou (a: float[]) (b: float[]) =
    let inter = Array.map2 (fun x y -> if x > 0.5 && y > 0.5 then 1 else 0) a b |> Array.sum
    let union = Array.map2 (fun x y -> if x > 0.5 || y > 0.5 then 1 else 0) a b |> Array.sum
    float inter / float (max union 1)

/// grid_sample's bilinear lookup (align_corners = false), periodic in u, border-clamped in v,
/// on one channel of a (Ht, Wt) image held as a host array.
let private periodicLookup (image: float[]) (ht: int) (wt: int) (u: float) (v: float) =
    let x, y = u * float wt - 0.5, max 0.0 (min (float ht - 1.0) (v * float ht - 0.5))
    let x0, y0 = int (floor x), int (floor y)
    let fx, fy = x - float x0, y - float y0
    let at (i: int) (j: int) = image.[(min (ht - 1) i) * wt + ((j % wt) + wt) % wt]
    (1.0 - fy) * ((1.0 - fx) * at y0 x0 + fx * at y0 (x0 + 1)) + fy * ((1.0 - fx) * at (y0 + 1) x0 + fx * at (y0 + 1) (x0 + 1))

[<Tests>]
let tests =
    testList "UnicornRender" [
        test "textured at a small sigma agrees with the hard render: mask IoU > 0.95, colours close" {
            use scope = DisposalScope.Open()
            let vertices, faces, faceUVs = template 3
            let n = 4
            let pose = poses [| 0.0; 75.0; 160.0; 290.0 |] [| 1.2; 0.9; 1.0 |]
            let vertices = batch n vertices
            let uvImage = (Tensor.rand ([ n; 3; 8; 8 ], generator 3)).cast Float64
            let background = (Tensor.rand ([ n; 3; 64; 64 ], generator 4)).cast Float64
            // K = 8: near the silhouette, faces just outside a pixel but in front of the face
            // covering it take slots too; K = 2 loses the covering face on ~3% of mask pixels
            let soft, softAlpha = Render.textured (Render.texturedSettings 64 1e-6 8) 1e-6 pose vertices faces faceUVs uvImage background
            let hard, hardAlpha = Render.hard 64 2 pose vertices faces faceUVs uvImage background
            Expect.equal soft.Shape [| n; 3; 64; 64 |] "composite shape"
            Expect.equal hardAlpha.Shape [| n; 1; 64; 64 |] "alpha shape"
            for k in 0 .. n - 1 do
                let a, b = Scoped.host64 softAlpha.[k], Scoped.host64 hardAlpha.[k]
                let iou = maskIou a b
                Expect.isGreaterThan iou 0.95 (sprintf "mask IoU of image %d" k)
                Expect.isGreaterThan (Array.sum b) 300.0 (sprintf "image %d shows the object" k)
                // colours where both renders are fully covered (interior pixels)
                let inside = Array.map2 (fun x y -> x > 0.999 && y > 0.999) a b
                let s, h = Scoped.host64 soft.[k], Scoped.host64 hard.[k]
                let diffs = [| for c in 0..2 do for p in 0 .. 4095 do if inside.[p] then yield abs (s.[c * 4096 + p] - h.[c * 4096 + p]) |]
                Expect.isLessThan (Array.average diffs) 0.03 (sprintf "mean colour difference inside image %d" k)
        }

        test "the render puts a point where Camera.project does" {
            use scope = DisposalScope.Open()
            let points = tensor 11 -0.3 0.3 [ 5; 1; 3 ]
            let pose = poses [| 10.0; 100.0; 190.0; 250.0; 330.0 |] [| 0.8; 1.3; 1.1 |]
            // a triangle parallel to the image plane with its centroid at the point, so its
            // screen centroid is the point's projection
            let cam = Camera.objectToCamera pose points
            let offsets =
                Tensor.ofArray ([| for deg in [ 90.0; 210.0; 330.0 ] do yield! [| 0.12 * cos (Rotation.radians deg); 0.12 * sin (Rotation.radians deg); 0.0 |] |], [ 1; 3; 3 ])
            let triangle = Camera.cameraToObject pose (cam + offsets)
            let faces = Tensor.ofArray ([| 0L; 1L; 2L |], [ 1; 3 ])
            let faceUVs = Tensor.full ([ 1; 3; 2 ], 0.5, Float64)
            let _, alpha =
                Render.textured (Render.texturedSettings 64 1e-4 1) 1e-4 pose triangle faces faceUVs (Tensor.ones ([ 5; 3; 2; 2 ], Float64)) (Tensor.zeros ([ 5; 3; 64; 64 ], Float64))
            let expected = Scoped.host64 (Camera.project (Camera.square Render.unicornFovDegrees 64) pose points)
            for k in 0..4 do
                let a = Scoped.host64 alpha.[k]
                let total = Array.sum a
                let cx = (Array.mapi (fun p w -> w * (float (p % 64) + 0.5)) a |> Array.sum) / total
                let cy = (Array.mapi (fun p w -> w * (float (p / 64) + 0.5)) a |> Array.sum) / total
                Expect.isLessThan (abs (cx - expected.[3 * k])) 0.25 (sprintf "pixel x of point %d: %g vs %g" k cx expected.[3 * k])
                Expect.isLessThan (abs (cy - expected.[3 * k + 1])) 0.25 (sprintf "pixel y of point %d: %g vs %g" k cy expected.[3 * k + 1])
        }

        test "the fused per-face-UV render equals the composed reference in values and gradients (float64)" {
            use scope = DisposalScope.Open()
            let vertices, faces, faceUVs = template 2
            let n = 2
            let pose = poses [| 40.0; 220.0 |] [| 1.0; 1.0; 1.0 |]
            let ndc = Camera.projectNdc (Camera.square 30.0 32) pose (batch n vertices)
            let settings = Render.texturedSettings 32 1e-3 4
            let texture, uvs = Render.periodicTexture ((Tensor.rand ([ n; 3; 8; 8 ], generator 5)).cast Float64) faceUVs
            let background = (Tensor.rand ([ n; 3; 32; 32 ], generator 6)).cast Float64
            let weights = tensor 7 -1.0 1.0 [ n; 3; 32; 32 ]
            let run (render: RasterSettings -> float -> Tensor -> Tensor -> Tensor -> Tensor -> Tensor -> Tensor * Tensor) =
                let loss, grads =
                    Autograd.fgrads (fun xs -> let image, alpha = render settings 1e-3 xs.[0] faces uvs xs.[1] xs.[2] in (image * weights).sum () + alpha.sum ()) [| ndc; texture; background |]
                loss.ToScalar(), grads |> Array.map Scoped.host64
            let fusedLoss, fused = run Renderer.texturedPerFace
            let composedLoss, composed = run Renderer.texturedPerFaceComposed
            assertClose 1e-9 1e-9 [| composedLoss |] [| fusedLoss |]
            for k, what in List.indexed [ "vertices"; "uvImage"; "background" ] do
                try assertClose 1e-8 1e-6 composed.[k] fused.[k]
                with e -> failwithf "gradient of %s: %s" what e.Message
        }

        test "the periodic texture samples as u mod 1, v border-clamped" {
            use scope = DisposalScope.Open()
            let ht, wt = 5, 7
            let image = hostValues 13 0.0 1.0 (ht * wt)
            // corners reaching beyond u = 1 by up to 0.3, and a few exactly at the edges
            let us = Array.append (hostValues 14 0.0 1.3 60) [| 0.0; 1.0; 1.3; 0.01 |]
            let vs = Array.append (hostValues 15 0.0 1.0 60) [| 0.5; 0.0; 1.0; 0.99 |]
            let corner = Tensor.ofArray (Array.map2 (fun u v -> [| u; v |]) us vs |> Array.concat, [ 64; 1; 2 ])
            let faceUVs = Tensor.cat ([ corner; corner; corner ], 1)
            let texture, uvs = Render.periodicTexture (Tensor.ofArray (image, [ 1; 1; ht; wt ])) faceUVs
            let sampled = Scoped.host64 (Shading.sampleTexture texture (uvs.select(1, 0).reshape [ 1; 64; 1; 1; 2 ]))
            for p in 0..63 do
                let expected = periodicLookup image ht wt us.[p] vs.[p]
                Expect.floatClose Accuracy.high sampled.[p] expected (sprintf "u %g v %g" us.[p] vs.[p])
        }

        test "Render.textured's gradients match finite differences (float64)" {
            use scope = DisposalScope.Open()
            let vertices, faces, faceUVs = template 1
            let n = 2
            let vertices = batch n vertices
            let pose = poses [| 20.0; 200.0 |] [| 1.1; 0.9; 1.0 |]
            let settings = Render.texturedSettings 12 2e-3 8
            let uvImage = (Tensor.rand ([ n; 3; 4; 4 ], generator 8)).cast Float64
            let background = (Tensor.rand ([ n; 3; 12; 12 ], generator 9)).cast Float64
            let weights = tensor 10 -1.0 1.0 [ n; 3; 12; 12 ]
            let render (p: Pose) v tex bg =
                let image, alpha = Render.textured settings 2e-3 p v faces faceUVs tex bg
                (image * weights).sum () + alpha.sum ()
            gradcheck "vertices" (fun v -> render pose v uvImage background) vertices
            gradcheck "rotation" (fun r -> render ({ pose with Rotation = r }: Pose) vertices uvImage background) pose.Rotation
            gradcheck "translation" (fun t -> render ({ pose with Translation = t }: Pose) vertices uvImage background) pose.Translation
            gradcheck "scale" (fun s -> render ({ pose with Scale = Some s }: Pose) vertices uvImage background) pose.Scale.Value
            gradcheck "uvImage" (fun t -> render pose vertices t background) uvImage
            gradcheck "background" (fun b -> render pose vertices uvImage b) background
        }

        test "Loss.mse is the per-sample mean squared error" {
            use scope = DisposalScope.Open()
            let p, t = tensor 20 0.0 1.0 [ 3; 2; 4; 5 ], tensor 21 0.0 1.0 [ 3; 2; 4; 5 ]
            let loss = Loss.mse p t
            Expect.equal loss.Shape [| 3 |] "one value per sample"
            let pv, tv = p.ToFloat64s(), t.ToFloat64s()
            let expected = Array.init 3 (fun b -> Array.init 40 (fun k -> let d = pv.[b * 40 + k] - tv.[b * 40 + k] in d * d) |> Array.average)
            assertClose 1e-12 1e-12 expected (loss.ToFloat64s())
            gradcheck "mse" (fun x -> (Loss.mse x t * Tensor.ofArray [| 1.0; -2.0; 0.5 |]).sum ()) p
        }

        test "Loss.normalConsistency and uniformLaplacian are batch means of the regularisers, with their gradients" {
            use scope = DisposalScope.Open()
            let vertices, faces, _ = template 1
            let topology = Mesh.topology (vertices.Size 1) faces
            let v = batch 2 vertices + tensor 22 -0.05 0.05 [ 2; vertices.Size 1; 3 ]
            let check name loss regulariser =
                let expected = Scoped.host64 (regulariser topology v) |> Array.average
                assertClose 1e-12 1e-12 [| expected |] [| (loss topology v : Tensor).ToScalar() |]
                gradcheck name (loss topology) v
            check "normalConsistency" Loss.normalConsistency Regularizers.normalConsistency
            check "uniformLaplacian" Loss.uniformLaplacian Regularizers.laplacianSmoothing
        }

        test "Loss.posePrior is mean_k |mean_b p_kb - 1/K|" {
            use scope = DisposalScope.Open()
            let uniform = Tensor.full ([ 5; 4 ], 0.25, Float64)
            Expect.floatClose Accuracy.high ((Loss.posePrior uniform).ToScalar()) 0.0 "uniform use of the candidates"
            let oneHot = Tensor.ofArray ([| for _ in 1..3 do yield! [| 1.0; 0.0; 0.0; 0.0 |] |], [ 3; 4 ])
            Expect.floatClose Accuracy.high ((Loss.posePrior oneHot).ToScalar()) 0.375 "all on candidate 0: (0.75 + 3 x 0.25) / 4"
            let p = tensor 23 0.0 1.0 [ 6; 4 ]
            let p = p / p.sum (1, keepDim = true)
            let pv = p.ToFloat64s()
            let expected = Array.init 4 (fun k -> abs ((Array.init 6 (fun b -> pv.[b * 4 + k]) |> Array.average) - 0.25)) |> Array.average
            Expect.floatClose Accuracy.high ((Loss.posePrior p).ToScalar()) expected "random probabilities"
            gradcheck "posePrior" Loss.posePrior p
        }
    ]
