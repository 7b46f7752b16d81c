/// The Torch layer's calls into the kernels: the rasterizers' SIMD choice is an argument of
/// each call (no process-wide switch for parallel tests to race on), Image.save writes through
/// the atomic writer, and the default records keep their values under their one spelling
/// `Type.Defaults`.
module Reconstruct.Tests.TorchLayerTests

open System
open System.IO
open System.Reflection
open System.Text.RegularExpressions
open System.Threading.Tasks
open Expecto
open Reconstruct.Torch
open Reconstruct.Render
open Reconstruct.Data
open Reconstruct.Tests.TestHelpers

/// Two images of random float32 triangles, both orientations: (2, 60, 3, 3) [x, y, z].
let private triangles () =
    use g = generator 41
    Scoped.run (fun () ->
        let centre = Tensor.uniform ([ 2; 60; 1; 2 ], -0.8, 0.8, g)
        let offset = Tensor.uniform ([ 2; 60; 3; 2 ], -0.3, 0.3, g)
        let z = Tensor.uniform ([ 2; 60; 3; 1 ], 2.0, 4.0, g)
        Tensor.cat ([ centre + offset; z ], 3))

[<Tests>]
let tests =
    testList "TorchLayer" [
        testSequenced <| test "the SIMD choice belongs to each call, so both paths run side by side" {
            use scope = DisposalScope.Open()
            let fv = triangles ()
            let settings = { SoftSettings.Defaults with Height = 32; Width = 29; Sigma = 1e-3; DistEps = 1e-4 }
            let silhouette simd =
                use _ = DisposalScope.Open()
                (Rasterizer.softRasterize { settings with Simd = simd } fv None [||]).ToFloat32s()
            let fast, portable = silhouette true, silhouette false
            Expect.isTrue (portable |> Array.exists (fun a -> a > 0.5f)) "empty silhouette"
            if Rasterizer.simdAvailable () then
                // the AVX2 kernel rounds differently (FMA), so the bits tell which path ran
                Expect.isFalse (fast = portable) "Simd = true and Simd = false gave bitwise equal silhouettes: the setting did not choose the path"
            // both settings at once on several threads: every call runs the path it asked for
            let runs = [| for k in 0..11 -> Task.Run(fun () -> let simd = k % 2 = 0 in simd, silhouette simd) |]
            Task.WaitAll(runs |> Array.map (fun t -> t :> Task))
            for t in runs do
                let simd, result = t.Result
                Expect.isTrue (result = (if simd then fast else portable)) (sprintf "a concurrent call with Simd = %b did not reproduce its path's result" simd)
        }

        test "Image.save writes the encoded bytes atomically and names the file when it cannot" {
            use scope = DisposalScope.Open()
            use g = generator 42
            let dir = Path.Combine(Path.GetTempPath(), "reconstruct-torch-refactor-" + Guid.NewGuid().ToString("N"))
            Directory.CreateDirectory dir |> ignore
            try
                let image = Tensor.rand ([ 3; 5; 7 ], g)
                let path = Path.Combine(dir, "a.png")
                Image.save path image
                Expect.equal (File.ReadAllBytes path) (Image.encode ImageFormat.Png image) "File.ReadAllBytes path"
                // a directory where the file should go: the write fails after the bytes went out
                let blocked = Path.Combine(dir, "b.png")
                Directory.CreateDirectory blocked |> ignore
                let e = Expect.catchT<ImageFileException> (fun () -> Image.save blocked image) "Image.save blocked image"
                Expect.equal e.File blocked "e.File"
                Expect.stringStarts e.Message (blocked + ": ") "e.Message"
                // no temporary file is left behind
                Expect.equal (Directory.GetFiles dir) [| path |] "Directory.GetFiles dir"
            finally
                Directory.Delete(dir, true)
        }

        test "the default records keep their values under Type.Defaults" {
            let raster: RasterSettings =
                { Height = 64; Width = 64; FacesPerPixel = 8; BlurRadius = Rasterizer.blurRadiusFor 1e-4 1e-4
                  PerspectiveCorrect = false; CullBackfaces = false; ZNear = 0.1; Simd = true }
            Expect.equal RasterSettings.Defaults raster "RasterSettings.Defaults"
            let soft: SoftSettings =
                { Height = 64; Width = 64; Sigma = 1e-4; Gamma = 1e-4; EpsBackground = 1e-3; DistEps = 1e-10
                  ZNear = 1.0; ZFar = 100.0; DoubleSided = false; Simd = true }
            Expect.equal SoftSettings.Defaults soft "SoftSettings.Defaults"
            let adam: Optim.Adam = { Lr = 1e-3; Beta1 = 0.9; Beta2 = 0.999; Eps = 1e-8; WeightDecay = 0.0; Amsgrad = false }
            Expect.equal Optim.Adam.Defaults adam "Optim.Adam.Defaults"
            Expect.equal Optim.AdamW.Defaults { adam with WeightDecay = 1e-2 } "Optim.AdamW.Defaults"
            let sgd: Optim.Sgd = { Lr = 1e-3; Momentum = 0.0; Dampening = 0.0; WeightDecay = 0.0; Nesterov = false }
            Expect.equal Optim.Sgd.Defaults sgd "Optim.Sgd.Defaults"
        }
    ]
