/// The library's slow references (Reference.fs) beyond what the kernel tests compare: the dense
/// textured render against the fused kernel in every rasterizer mode, outputs and gradients,
/// and the random-pose scenes the tests and the benchmarks draw.
module Reconstruct.Tests.ReferenceTests

open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Render
open Reconstruct.Tests.TestHelpers
open Reconstruct.Tests.RenderTests

/// Image, alpha and the gradients w.r.t. verts, uvImage and background of one textured render.
let private texturedWithGradients render (s: RasterSettings) (sigma: float) (verts: Tensor) (faces: Tensor) (uvs: Tensor) (uvImage: Tensor) (background: Tensor) (upImage: Tensor) (upAlpha: Tensor) =
    let out = ref None
    let _, grads =
        Autograd.fgrads
            (fun (xs: Tensor[]) ->
                let (image: Tensor), (alpha: Tensor) = render s sigma xs.[0] faces uvs xs.[1] xs.[2]
                out.Value <- Some(image.detach (), alpha.detach ())
                (image * upImage).sum () + (alpha * upAlpha).sum ())
            [| verts; uvImage; background |]
    let image, alpha = out.Value.Value
    image, alpha, grads

/// Camera-frame points of projected vertices (n, V, 3) [x_ndc, y_ndc, z_view], by inverting the
/// perspective division of a square image with the full field of view `fovDegrees`.
let private cameraPoints (fovDegrees: float) (projected: Tensor) =
    let tanHalf = tan (Rotation.radians fovDegrees / 2.0)
    let z = projected.select (2, 2)
    Tensor.stack ([ projected.select (2, 0) * z * tanHalf; projected.select (2, 1) * z * tanHalf; z ], 2)

[<Tests>]
let tests =
    testList "Reference" [
        test "dense textured reference equals the fused kernel with perspective, culling and any K, gradients included" {
            use scope = DisposalScope.Open()
            use g = generator 81
            let verts, faces, uvs, uvImage, background = texturedScene 82 2 1 16 14 Float64
            let upImage = Tensor.randn (background.Shape, g, Float64)
            let upAlpha = Tensor.randn ([ 2; 1; 16; 14 ], g, Float64)
            for k, sigma, persp, cull in [ 8, 1e-3, false, false; 3, 1e-3, true, false; 1, 1e-4, false, true; 5, 3e-3, true, true ] do
                let s = { RasterSettings.Defaults with Height = 16; Width = 14; FacesPerPixel = k; BlurRadius = Rasterizer.blurRadiusFor sigma 1e-4; PerspectiveCorrect = persp; CullBackfaces = cull }
                let what = sprintf "K=%d sigma=%g persp=%b cull=%b" k sigma persp cull
                let rImage, rAlpha, rGrads = texturedWithGradients Reference.textured s sigma verts faces uvs uvImage background upImage upAlpha
                let fImage, fAlpha, fGrads = texturedWithGradients Renderer.textured s sigma verts faces uvs uvImage background upImage upAlpha
                let a = rAlpha.ToFloat64s()
                Expect.isTrue (a |> Array.exists (fun x -> x > 0.0 && x < 1.0) && a |> Array.exists ((=) 1.0)) (what + ": trivial alpha")
                assertNear (what + " image") 1e-10 0.0 rImage fImage
                assertNear (what + " alpha") 1e-10 0.0 rAlpha fAlpha
                Expect.isTrue (rGrads.[0].abs().max().ToScalar() > 1e-3) (what + ": no vertex gradient")
                for i, name in [ 0, "d/dverts"; 1, "d/duvImage"; 2, "d/dbackground" ] do
                    assertNear (sprintf "%s %s" what name) 1e-9 1e-8 rGrads.[i] fGrads.[i]
        }

        test "dense textured reference gives the UV gradient of the composed renderer" {
            use scope = DisposalScope.Open()
            use g = generator 83
            let verts, faces, uvs, uvImage, background = texturedScene 84 2 1 12 12 Float64
            let s = { RasterSettings.Defaults with Height = 12; Width = 12; BlurRadius = Rasterizer.blurRadiusFor 1e-3 1e-4; PerspectiveCorrect = true }
            let up = Tensor.randn (background.Shape, g, Float64)
            let loss (render: RasterSettings -> float -> Tensor -> Tensor -> Tensor -> Tensor -> Tensor -> Tensor * Tensor) (u: Tensor) = ((fst (render s 1e-3 verts faces u uvImage background)) * up).sum ()
            let reference = Autograd.grad (loss Reference.textured) uvs
            let composed = Autograd.grad (loss Renderer.texturedComposed) uvs
            Expect.isTrue (reference.abs().max().ToScalar() > 1e-3) "no UV gradient"
            assertNear "d/duvs" 1e-9 1e-8 composed reference
        }

        test "random poses are rigid rotations of the scaled mesh in front of the camera, the same for a seed" {
            use scope = DisposalScope.Open()
            let v, _ = icosphere 1
            let scale, distance, fov = [| 0.4; 0.28; 0.28 |], 2.732, 30.0
            let n = 16
            let projected = Reference.projectRandomPoses 7 n scale distance fov v Float64
            Expect.equal projected.Shape [| n; v.Length; 3 |] "projected.Shape"
            assertSame "same seed" projected (Reference.projectRandomPoses 7 n scale distance fov v Float64)
            let other = Reference.projectRandomPoses 8 n scale distance fov v Float64
            Expect.isTrue ((other - projected).abs().max().ToScalar() > 0.1) "another seed gives the same poses"
            // object +y up, +z to the viewer: the camera sits at distance on +z, so the object centre
            // is at (0, 0, distance) in the camera frame, and each pose is a proper rotation of s ⊙ v
            let points = cameraPoints fov projected - (Tensor.ofArray [| 0.0; 0.0; distance |])
            let scaled = (Tensor.ofArray (Array.concat v, [ 1; v.Length; 3 ]) * Tensor.ofArray scale).expand [ n; v.Length; 3 ]
            let fit = Similarity.umeyama false scaled points
            assertNear "rotation fit" 1e-12 0.0 points (Similarity.apply fit scaled)
            assertNear "no translation" 1e-12 0.0 (Tensor.zeros ([ n; 3 ], Float64)) fit.Translation
            assertNear "proper rotation" 1e-12 0.0 (Tensor.ones ([ n ], Float64)) (fit.Rotation.det ())
            // in float32 too, the same poses
            assertNear "float32" 1e-5 1e-6 projected (Reference.projectRandomPoses 7 n scale distance fov v Float32)
        }

        test "random poses are uniform rotations: their mean is near zero" {
            use scope = DisposalScope.Open()
            // the unit axes in the camera frame, less the translation: the columns of F·R, F = diag(1, -1, -1)
            let axes = [| [| 1.0; 0.0; 0.0 |]; [| 0.0; 1.0; 0.0 |]; [| 0.0; 0.0; 1.0 |] |]
            let n, distance, fov = 4000, 10.0, 30.0
            let points = cameraPoints fov (Reference.projectRandomPoses 9 n [| 1.0; 1.0; 1.0 |] distance fov axes Float64) - (Tensor.ofArray [| 0.0; 0.0; distance |])
            // each entry of a uniform rotation has mean 0 and variance 1/3: the mean of 4000 has sd 0.009
            let mean = (points.mean 0).ToFloat64s()
            Expect.isTrue (mean |> Array.forall (fun m -> abs m < 0.05)) (sprintf "mean rotation %A" mean)
            // and every pose is a rotation: the axes stay orthonormal
            let gram = points.matmul points.mT
            assertNear "orthonormal" 1e-12 0.0 ((Tensor.eye (3, Float64)).expand [ n; 3; 3 ]) gram
        }
    ]
