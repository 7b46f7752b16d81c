/// Benchmark of dataset rendering (64×64 NMR views of chairs, hard mode with 2× supersampling)
/// and of training-batch assembly from the rendered images.
module Reconstruct.Bench.DataBench

open System.Diagnostics
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Bench.Report

/// Where `reconstruct data` leaves the prepared chairs by default; the real-chair figures are
/// measured only when they are there (the benchmark itself downloads nothing).
let realChairsManifest = Furniture.manifestPath Furniture.defaultCacheDir "chair"

/// UNICORN's batch of 32 single 64² images from the decoded split (`SingleView.batch`), against
/// the generic loader decoding the same PNG files for every batch (`Loader.epoch`), on the
/// multi-view renders of 4 procedural chairs written to a temporary folder.
let singleViewBatches () =
    let dir = System.IO.Directory.CreateTempSubdirectory("reconstruct-bench-").FullName
    try
        let root = System.IO.Path.Combine(dir, "chair")
        let options: DatasetRender.BenchmarkOptions = { Protocols = [ DatasetRender.MultiView ]; Seed = 1UL; WildViews = 0 }
        let instances = DatasetRender.proceduralInstances "chair" 1UL 10 |> Seq.filter (fun i -> i.Split = "train") |> Seq.truncate 4
        DatasetRender.writeBenchmark root options System.Threading.CancellationToken.None ignore instances |> ignore
        let protocol = System.IO.Path.Combine(root, "multiview")
        let clock = Stopwatch.StartNew()
        let set = SingleView.load protocol "train"
        let loadPerSecond = float set.Count / clock.Elapsed.TotalSeconds
        let batches = SingleView.batchesPerEpoch set 32
        let fromMemory = medianMs 3 31 (fun () -> for k in 0 .. batches - 1 do (SingleView.batch set 7UL 32 0 k :> System.IDisposable).Dispose()) / float batches
        let loader = Loader.create { LoaderOptions.Defaults with BatchSize = 32; DropLast = true } (Loader.ofIndex (System.IO.Path.Combine(protocol, "index.jsonl")))
        let decoding = medianMs 1 5 (fun () -> for b in Loader.epoch 0 loader do (b :> System.IDisposable).Dispose()) / float batches
        [ figure "singleview_batch_ms" fromMemory "ms" (sprintf "one batch of 32 RGB 64x64 images from the decoded split (SingleView.batch), median over epochs of %d batches" batches)
          figure "singleview_loader_batch_ms" decoding "ms" "the same batch size through Loader.epoch, decoding the PNG files every batch, same run"
          figure "singleview_batch_speedup_vs_loader" (decoding / fromMemory) "x" "decoded once in memory over decoded per batch"
          figure "singleview_load_images_per_s" loadPerSecond "images/s" (sprintf "SingleView.load: %d images decoded and composited on white, once per run" set.Count) ]
    finally
        try System.IO.Directory.Delete(dir, true) with _ -> ()

/// Procedural chairs (no download needed), 24 views each: the fused render alone, against the
/// composed tensor-op render in alternating rounds of the same run, and with PNG encoding;
/// then the real chairs of the prepared benchmark, if any, fused against composed.
let renders () =
    let chairs = Procedural.generate "chair" 11UL 8
    use white = Tensor.ones [ 24; 3; 64; 64 ]
    let renderAll (render: int -> TexturedMesh -> DatasetRender.View[] -> Tensor -> Tensor * Tensor) (encode: bool) (chairs: TexturedMesh list) =
        for m in chairs do
            use scope = DisposalScope.Open()
            let rgb, alpha = render 64 m DatasetRender.multiViews white
            if encode then
                for k in 0 .. 23 do
                    Image.encodePng (Tensor.cat ([ rgb.[k]; alpha.[k] ], 0)) |> ignore
    let time render encode (chairs: TexturedMesh list) =
        let sw = Stopwatch.StartNew()
        renderAll render encode chairs
        float (chairs.Length * 24) / sw.Elapsed.TotalSeconds
    // alternating rounds, so drifting machine load hits both sides alike
    let fusedAndComposed rounds chairs =
        renderAll DatasetRender.render false chairs
        renderAll DatasetRender.renderComposed false chairs
        let r = Array.init rounds (fun _ -> time DatasetRender.render false chairs, time DatasetRender.renderComposed false chairs)
        (r |> Array.map fst |> median), (r |> Array.map snd |> median)
    let fused, composed = fusedAndComposed 5 chairs
    let withPng = Array.init 3 (fun _ -> time DatasetRender.render true chairs) |> median
    let faces = chairs |> List.averageBy (fun m -> float (m.Faces.Size 0))
    for m in chairs do (m :> System.IDisposable).Dispose()
    [ figure "dataset_render_images_per_s" fused "images/s" (sprintf "64x64 chair views (procedural, %.0f faces on average), 2x supersampled, textured, lit, fused kernel; target >= 500" faces)
      figure "dataset_render_composed_images_per_s" composed "images/s" "the same through the composed tensor ops (DatasetRender.renderComposed), same run"
      figure "dataset_render_speedup_vs_composed" (fused / composed) "x" "fused over composed, medians of 5 alternating rounds"
      figure "dataset_render_png_images_per_s" withPng "images/s" "fused render with PNG encoding (RGBA)" ]
    @ singleViewBatches ()
    @ (if not (System.IO.File.Exists realChairsManifest) then
           printfn "bench dataset_render_real_chairs_images_per_s skipped: %s not found (run `reconstruct data`)" realChairsManifest
           []
       else
           let entries, _, _ = FurnitureManifest.read realChairsManifest
           let real = entries |> List.map Furniture.load
           let realFused, realComposed = fusedAndComposed 1 real
           let realFaces = real |> List.averageBy (fun m -> float (m.Faces.Size 0))
           for m in real do (m :> System.IDisposable).Dispose()
           [ figure "dataset_render_real_chairs_images_per_s" realFused "images/s"
                 (sprintf "64x64 views of the %d prepared real chairs (%.0f faces on average), fused kernel" real.Length realFaces)
             figure "dataset_render_real_chairs_speedup_vs_composed" (realFused / realComposed) "x"
                 (sprintf "fused over composed on the real chairs (composed %.0f images/s, same run)" realComposed) ])
