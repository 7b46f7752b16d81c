/// Benchmark of dataset rendering: 64×64 NMR views of chairs, hard mode with 2× supersampling.
module Reconstruct.Bench.DataBench

open System.Diagnostics
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Bench.Report

/// Where `reconstruct data` leaves the prepared chairs by default; the real-chair figures are
/// measured only when they are there (the benchmark itself downloads nothing).
let realChairsManifest = Furniture.manifestPath Furniture.defaultCacheDir "chair"

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
