/// Benchmark of dataset rendering: 64×64 NMR views of chairs, hard mode with 2× supersampling.
module Reconstruct.Bench.DataBench

open System.Diagnostics
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Bench.Report

/// Procedural chairs (no download needed), 24 views each, rendering alone and with PNG encoding.
let renders () =
    let chairs = Procedural.generate "chair" 11UL 8
    use white = Tensor.ones [ 24; 3; 64; 64 ]
    let renderAll (encode: bool) =
        for m in chairs do
            use scope = DisposalScope.Open()
            let rgb, alpha = DatasetRender.render 64 m DatasetRender.multiViews white
            if encode then
                for k in 0 .. 23 do
                    Image.encodePng (Tensor.cat ([ rgb.[k]; alpha.[k] ], 0)) |> ignore
    renderAll false
    let time encode =
        let sw = Stopwatch.StartNew()
        renderAll encode
        float (chairs.Length * 24) / sw.Elapsed.TotalSeconds
    let renderOnly = Array.init 3 (fun _ -> time false) |> median
    let withPng = Array.init 3 (fun _ -> time true) |> median
    let faces = chairs |> List.averageBy (fun m -> float (m.Faces.Size 0))
    for m in chairs do (m :> System.IDisposable).Dispose()
    [ figure "dataset_render_images_per_s" renderOnly "images/s" (sprintf "64x64 chair views (procedural, %.0f faces on average), 2x supersampled, textured, lit; target >= 500" faces)
      figure "dataset_render_png_images_per_s" withPng "images/s" "the same with PNG encoding (RGBA)" ]
