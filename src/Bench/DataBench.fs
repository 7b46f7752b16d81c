/// Benchmark of dataset rendering: 64×64 NMR views of chairs, hard mode with 2× supersampling.
module Reconstruct.Bench.DataBench

open System.Diagnostics
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Bench.Report

/// Procedural chairs (no download needed), 24 views each: the fused render alone, against the
/// composed tensor-op render in alternating rounds of the same run, and with PNG encoding.
let renders () =
    let chairs = Procedural.generate "chair" 11UL 8
    use white = Tensor.ones [ 24; 3; 64; 64 ]
    let renderAll (render: int -> TexturedMesh -> DatasetRender.View[] -> Tensor -> Tensor * Tensor) (encode: bool) =
        for m in chairs do
            use scope = DisposalScope.Open()
            let rgb, alpha = render 64 m DatasetRender.multiViews white
            if encode then
                for k in 0 .. 23 do
                    Image.encodePng (Tensor.cat ([ rgb.[k]; alpha.[k] ], 0)) |> ignore
    let time render encode =
        let sw = Stopwatch.StartNew()
        renderAll render encode
        float (chairs.Length * 24) / sw.Elapsed.TotalSeconds
    renderAll DatasetRender.render false
    renderAll DatasetRender.renderComposed false
    // alternating rounds, so drifting machine load hits both sides alike
    let rounds = Array.init 5 (fun _ -> time DatasetRender.render false, time DatasetRender.renderComposed false)
    let fused = rounds |> Array.map fst |> median
    let composed = rounds |> Array.map snd |> median
    let withPng = Array.init 3 (fun _ -> time DatasetRender.render true) |> median
    let faces = chairs |> List.averageBy (fun m -> float (m.Faces.Size 0))
    for m in chairs do (m :> System.IDisposable).Dispose()
    [ figure "dataset_render_images_per_s" fused "images/s" (sprintf "64x64 chair views (procedural, %.0f faces on average), 2x supersampled, textured, lit, fused kernel; target >= 500" faces)
      figure "dataset_render_composed_images_per_s" composed "images/s" "the same through the composed tensor ops (DatasetRender.renderComposed), same run"
      figure "dataset_render_speedup_vs_composed" (fused / composed) "x" "fused over composed, medians of 5 alternating rounds"
      figure "dataset_render_png_images_per_s" withPng "images/s" "fused render with PNG encoding (RGBA)" ]
