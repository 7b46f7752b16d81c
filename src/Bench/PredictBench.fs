/// `reconstruct predict`'s cost: one image on 1 thread with where the time goes, and a folder
/// of 500 images on every core, end to end (decode, forward, re-render, files).
module Reconstruct.Bench.PredictBench

open System
open System.IO
open System.Threading
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.App
open Reconstruct.Bench.Report

module Unicorn = Reconstruct.Pipelines.Unicorn

/// The shipped chair model when the repository has it, else the default configuration's
/// random model saved as one (the cost is the architecture's, not the weights').
let private modelIn (dir: string) =
    try
        (Predict.load "unicorn-chair" :> IDisposable).Dispose()
        "unicorn-chair"
    with Predict.ModelError _ ->
        use g = new Generator(1UL)
        let model = Unicorn.create g { Unicorn.Config.Defaults with Perceptual = Unicorn.PerceptualKind.Off }
        let folder = Path.Combine(dir, "model")
        Directory.CreateDirectory folder |> ignore
        Predict.save model (Path.Combine(folder, Predict.ModelFile)) "random" 0L []
        Unicorn.dispose model
        folder

/// `n` PNG files of 256² smooth random colours: decoding and resizing cost what a photo's do.
let private images (dir: string) (n: int) =
    Directory.CreateDirectory dir |> ignore
    use g = new Generator(2UL)
    for k in 0 .. n - 1 do
        use _ = DisposalScope.Open()
        let small = Tensor.rand ([ 1; 3; 8; 8 ], g)
        Image.save (Path.Combine(dir, sprintf "image_%04d.png" k)) (Image.resizeWith ResizeMode.Bilinear (256, 256) small).[0]

let all () : Figure list =
    Runtime.initDefaults.Force()
    let threads = Runtime.threads ()
    let root = Directory.CreateTempSubdirectory("reconstruct-predict-bench-").FullName
    try
        let model = modelIn root
        let folder = Path.Combine(root, "images")
        images folder 500
        let first = Path.Combine(folder, "image_0000.png")
        let one = Path.Combine(root, "one")
        images one 20
        Runtime.setThreads 1
        let perImage, prepareMs, forwardMs, rerenderMs, referenceMs =
            try
                // The machine's speed in the same run: timings differ by 2x between machines of
                // one kind, so the ratio to a fixed float32 matmul is the comparable figure.
                let referenceMs =
                    use _ = DisposalScope.Open()
                    use g = new Generator(1UL)
                    let a, b = Tensor.rand ([ 512; 512 ], g), Tensor.rand ([ 512; 512 ], g)
                    medianOf 7 (timed (fun () -> a.matmul b |> ignore))
                use loaded = Predict.load model
                let size = loaded.Model.Config.ImageSize
                let prepareMs = medianOf 7 (timed (fun () -> Predict.prepare size first |> ignore))
                use input = (Predict.prepare size first).unsqueeze 0
                use _ = Autograd.noGrad ()
                let forwardMs = medianOf 7 (timed (fun () -> Unicorn.predict loaded.Model input |> ignore))
                let rerenderMs =
                    use _ = DisposalScope.Open()
                    let p = Unicorn.predict loaded.Model input
                    medianOf 7 (timed (fun () -> Unicorn.rerender loaded.Model p |> ignore))
                let options = { Predict.Options.Defaults with Model = model; Input = one; Out = Path.Combine(root, "out1"); BatchSize = 1 }
                let summary = Predict.run options CancellationToken.None ignore
                1000.0 * summary.SecondsPerImage, prepareMs, forwardMs, rerenderMs, referenceMs
            finally
                Runtime.setThreads threads
        let options = { Predict.Options.Defaults with Model = model; Input = folder; Out = Path.Combine(root, "out"); BatchSize = 16 }
        let clock = Diagnostics.Stopwatch.StartNew()
        let summary = Predict.run options CancellationToken.None ignore
        let rate = float summary.Items.Length / clock.Elapsed.TotalSeconds
        [ figure "predict_ms_per_image" perImage "ms" (sprintf "one image end to end on 1 thread (model %s): decode, encoder, deform, texture, pose, re-render, OBJ+MTL+texture PNG, figure, pose JSON; target <= 50" model)
          figure "predict_prepare_ms" prepareMs "ms" "decode a 256² PNG, composite, crop, resize to the model's size (1 thread)"
          figure "predict_forward_ms" forwardMs "ms" "Unicorn.predict on one image (1 thread)"
          figure "predict_rerender_ms" rerenderMs "ms" "the hard 2x supersampled re-render over the background (1 thread)"
          figure "predict_files_ms" (perImage - prepareMs - forwardMs - rerenderMs) "ms" "the rest: the figure's three novel views, PNG encoding, OBJ/MTL/JSON writing (1 thread)"
          figure "predict_per_image_in_matmuls" (perImage / referenceMs) "x" (sprintf "predict_ms_per_image over a 512x512 by 512x512 float32 matmul timed in the same run on 1 thread (%.2f ms)" referenceMs)
          figure "predict_images_per_s" rate "images/s" (sprintf "a folder of %d images, batches of 16, %d threads, model loading included" summary.Items.Length threads) ]
    finally
        try Directory.Delete(root, true) with _ -> ()
