/// Benchmarks of the perceptual distance (issue 12): forward + backward to the predicted images
/// at UNICORN's batch (32 images, 64²) and at its 3D step's 192 renders (6 candidates × 32),
/// for the default layers and the alternatives, each timed alone in the same run beside pixel
/// MSE on the same images (the reference: the loss UNICORN adds the perceptual term to).
module Reconstruct.Bench.PerceptualBench

open System
open System.Diagnostics
open Reconstruct.Torch
open Reconstruct.Stages
open Reconstruct.Bench.Report

/// Median milliseconds of `f` (each in its own disposal scope), and the process CPU
/// milliseconds per call.
let private timed (runs: int) (f: unit -> unit) =
    let once () =
        use scope = DisposalScope.Open()
        let sw = Stopwatch.StartNew()
        f ()
        sw.Elapsed.TotalMilliseconds
    once () |> ignore
    let cpu0 = Process.GetCurrentProcess().TotalProcessorTime
    let times = Array.init runs (fun _ -> once ())
    median times, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / float runs

let private name (options: Perceptual.Options) =
    let layers =
        options.Layers
        |> List.map (function
            | Perceptual.Layer.Conv1 -> "conv1"
            | Perceptual.Layer.Layer1 -> "layer1"
            | Perceptual.Layer.Layer2 -> "layer2"
            | Perceptual.Layer.Layer3 -> "layer3"
            | Perceptual.Layer.Layer4 -> "layer4"
            | Perceptual.Layer.Pooled -> "pooled")
        |> String.concat "+"
    match options.Resize with
    | Some s -> sprintf "%s_at%d" layers s
    | None -> layers

/// perceptual_<layers>[_at<size>]_b<batch>_ms: fwd+bwd medians, with the forward, the
/// target's features alone and the backward in the note; ratios to pixel MSE.
let all () : Figure list =
    Runtime.initDefaults.Force()
    let threads = Runtime.threads ()
    let network = Perceptual.load (Perceptual.defaultPath ())
    let g = new Generator(12UL)
    let variants: Perceptual.Options list =
        [ Perceptual.Options.Defaults
          { Layers = [ Perceptual.Layer.Conv1 ]; Resize = None }
          { Layers = [ Perceptual.Layer.Conv1; Perceptual.Layer.Layer1 ]; Resize = None }
          { Layers = [ Perceptual.Layer.Layer2 ]; Resize = None }
          { Layers = [ Perceptual.Layer.Conv1; Perceptual.Layer.Layer1; Perceptual.Layer.Layer2; Perceptual.Layer.Layer3 ]; Resize = None }
          { Layers = [ Perceptual.Layer.Conv1; Perceptual.Layer.Layer1 ]; Resize = Some 128 }
          { Perceptual.Options.Defaults with Resize = Some 128 } ]
    let figures =
        [ for batch, runs in [ 32, 5; 192, 3 ] do
              let predicted = Tensor.rand ([ batch; 3; 64; 64 ], g)
              let target = Tensor.rand ([ batch; 3; 64; 64 ], g)
              let leaf () = predicted.detach().RequireGrad()
              let mseMs, _ = timed runs (fun () -> (Functional.mseLoss Reduction.Mean (leaf ()) target * 1.0).backward ())
              for options in variants do
                  let total, cpu = timed runs (fun () -> (Perceptual.distance network options (leaf ()) target).sum().backward ())
                  let forward, _ = timed runs (fun () -> Perceptual.distance network options (leaf ()) target |> ignore)
                  let targetOnly, _ =
                      timed runs (fun () ->
                          use _ = Autograd.noGrad ()
                          let resized =
                              match options.Resize with
                              | Some s -> Functional.interpolate Interpolation.Bilinear false (Resize.Size(s, s)) target
                              | None -> target
                          Perceptual.features network options.Layers resized |> ignore)
                  yield
                      figure (sprintf "perceptual_%s_b%d_ms" (name options) batch) total "ms"
                          (sprintf "%d images 64x64 fwd+bwd to the input, %d threads, median of %d: forward %.0f (target features alone %.0f), backward %.0f; process CPU %.0f ms/call; %.0fx pixel MSE fwd+bwd (%.2f ms)"
                               batch threads runs forward targetOnly (total - forward) cpu (total / mseMs) mseMs)
              let defaults = Perceptual.Options.Defaults
              if batch = 192 then
                  let peak =
                      RenderBench.peakRssIncreaseMb (fun () ->
                          use scope = DisposalScope.Open()
                          (Perceptual.distance network defaults (leaf ()) target).sum().backward ())
                  yield figure (sprintf "perceptual_%s_b%d_peak_mb" (name defaults) batch) peak "MB" "peak RSS growth during one fwd+bwd, after malloc_trim"
              for t in [ predicted; target ] do
                  (t :> IDisposable).Dispose() ]
    Perceptual.dispose network
    (g :> IDisposable).Dispose()
    figures
