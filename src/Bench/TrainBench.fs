/// Benchmarks of training (issue 11): one SoftRas iteration at the paper's batch (64 objects ×
/// 2 views, 256 silhouettes at 64²) and its parts, each timed alone in the same run.
module Reconstruct.Bench.TrainBench

open System
open System.Diagnostics
open Reconstruct.Torch
open Reconstruct.Stages
open Reconstruct.Pipelines
open Reconstruct.Bench.Report

/// A batch of `objects` random RGBA image pairs at random multi-view cameras. The images'
/// content does not change the cost of an iteration (the predicted meshes set the render's).
let private randomBatch (g: Generator) (objects: int) (size: int) : SoftRas.Batch =
    let rng = SplitMix64(uint64 objects)
    let views () =
        let azimuths = Array.init objects (fun _ -> 15.0 * float (rng.Int(0, 23)))
        Render.View.ofDegrees azimuths (Array.create objects 30.0) (Array.create objects 2.732)
    { ImagesA = Tensor.rand ([ objects; 4; size; size ], g)
      ImagesB = Tensor.rand ([ objects; 4; size; size ], g)
      ViewA = views ()
      ViewB = views () }

let private disposeBatch (batch: SoftRas.Batch) =
    for t in [ batch.ImagesA; batch.ImagesB ] do (t :> IDisposable).Dispose()
    Render.View.dispose batch.ViewA
    Render.View.dispose batch.ViewB

/// The parts of one iteration, milliseconds, timed inside the iteration.
type private Split = { Forward: float; Backward: float; Step: float; Total: float }

let private iteration (model: SoftRas.Model) (optimizer: Optim.Optimizer) (batch: SoftRas.Batch) =
    use scope = DisposalScope.Open()
    let sw = Stopwatch.StartNew()
    optimizer.ZeroGrad()
    let terms = SoftRas.losses model model.Config.Sigma batch
    let forward = sw.Elapsed.TotalMilliseconds
    (terms |> List.find (fun (n, _) -> n = "total") |> snd).backward ()
    let backward = sw.Elapsed.TotalMilliseconds
    optimizer.Step()
    let total = sw.Elapsed.TotalMilliseconds
    { Forward = forward; Backward = backward - forward; Step = total - backward; Total = total }

/// `runs` iterations: their splits and the process CPU milliseconds per iteration (on a
/// shared machine CPU / threads is what idle cores would take).
let private iterations (runs: int) (model: SoftRas.Model) (optimizer: Optim.Optimizer) (batch: SoftRas.Batch) =
    let cpu0 = Process.GetCurrentProcess().TotalProcessorTime
    let splits = Array.init runs (fun _ -> iteration model optimizer batch)
    splits, (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / float runs


let private setup (objects: int) =
    let g = new Generator(11UL)
    let model = SoftRas.create g SoftRas.Config.Defaults
    let optimizer = Optim.adam { Optim.Adam.Defaults with Lr = 1e-4 } (SoftRas.parameters model)
    let batch = randomBatch g objects model.Config.ImageSize
    g, model, optimizer, batch

let private teardown (g: Generator, model, optimizer: Optim.Optimizer, batch) =
    (optimizer :> IDisposable).Dispose()
    SoftRas.dispose model
    disposeBatch batch
    (g :> IDisposable).Dispose()

/// One full iteration (losses + backward + Adam) at `objects`: (median iteration, its split).
let private iterationMs (runs: int) (objects: int) =
    let (_, model, optimizer, batch) as state = setup objects
    iteration model optimizer batch |> ignore
    let splits, cpu = iterations runs model optimizer batch
    teardown state
    median (Array.map (fun s -> s.Total) splits), cpu

/// softras_train_iter_ms and its breakdown at the paper's batch; the iteration at 16 and 32.
let all () : Figure list =
    Runtime.initDefaults.Force()
    let threads = Runtime.threads ()
    let objects = 64
    let runs = 5
    let (g, model, optimizer, batch) as state = setup objects
    let images = Tensor.cat ([ batch.ImagesA; batch.ImagesB ], 0)
    let settings = Render.settings model.Config.ImageSize model.Config.Sigma
    let views = Render.View.cat [ batch.ViewA; batch.ViewA; batch.ViewB; batch.ViewB ]
    let features =
        use _ = Autograd.noGrad ()
        Encode.apply true model.Encoder images
    let meshes =
        use _ = Autograd.noGrad ()
        Deform.applySoftRas model.Template model.Decoder features
    let meshes4 = Tensor.cat ([ meshes; meshes ], 0)
    let silhouettes =
        use _ = Autograd.noGrad ()
        Render.silhouette settings views meshes4 model.Template.Faces
    let targets = Tensor.rand (silhouettes.Shape, g)
    let leaf (t: Tensor) = t.detach().RequireGrad()
    let encoderFwd () = Encode.apply true model.Encoder images |> ignore
    let encoderFwdBwd () = Encode.apply true model.Encoder images |> backwardOf g
    let decoderFwd () = Deform.applySoftRas model.Template model.Decoder (leaf features) |> ignore
    let decoderFwdBwd () = Deform.applySoftRas model.Template model.Decoder (leaf features) |> backwardOf g
    let renderFwd () = Render.silhouette settings views (leaf meshes4) model.Template.Faces |> ignore
    let renderFwdBwd () = Render.silhouette settings views (leaf meshes4) model.Template.Faces |> backwardOf g
    let lossTerms (s: Tensor) (m: Tensor) =
        Loss.iou s targets + Loss.laplacian model.Template.Topology m * 5e-3 + Loss.flatten model.Template.Topology m * 5e-4
    let lossesFwd () = lossTerms (leaf silhouettes) (leaf meshes) |> ignore
    let lossesFwdBwd () = (lossTerms (leaf silhouettes) (leaf meshes)).backward ()
    let stage f = medianOf runs (timed f)
    let eF, eFB = stage encoderFwd, stage encoderFwdBwd
    let dF, dFB = stage decoderFwd, stage decoderFwdBwd
    let rF, rFB = stage renderFwd, stage renderFwdBwd
    let lF, lFB = stage lossesFwd, stage lossesFwdBwd
    optimizer.ZeroGrad()
    let stepMs = stage (fun () -> optimizer.Step())
    iteration model optimizer batch |> ignore
    let peak = RenderBench.peakRssIncreaseMb (fun () -> iteration model optimizer batch |> ignore)
    let splits, cpu = iterations runs model optimizer batch
    let pick f = median (Array.map f splits)
    let total, forward, backward, step = pick (fun s -> s.Total), pick (fun s -> s.Forward), pick (fun s -> s.Backward), pick (fun s -> s.Step)
    for t in [ images; features; meshes; meshes4; silhouettes; targets ] do (t :> IDisposable).Dispose()
    Render.View.dispose views
    teardown state
    let t16, cpu16 = iterationMs runs 16
    let t32, cpu32 = iterationMs runs 32
    let note = sprintf "%d threads, median of %d" threads runs
    let cpuNote cpu = sprintf "process CPU %.0f ms per iteration (%.0f ms / %d threads)" cpu (cpu / float threads) threads
    let part name ms what = figure ("softras_train_" + name + "_ms") ms "ms" (sprintf "%s; %.0f%% of the iteration" what (100.0 * ms / total))
    [ figure "softras_train_iter_ms" total "ms"
          (sprintf "batch 64 objects x 2 views -> 256 silhouettes 64x64, losses + backward + Adam, SoftRasConv, %s; %s" note (cpuNote cpu))
      figure "softras_train_iter_b16_ms" t16 "ms" (sprintf "batch 16 (64 silhouettes), %s; %s" note (cpuNote cpu16))
      figure "softras_train_iter_b32_ms" t32 "ms" (sprintf "batch 32 (128 silhouettes), %s; %s" note (cpuNote cpu32))
      part "losses_fwd_total" forward "inside the iteration: SoftRas.losses (every forward)"
      part "backward_total" backward "inside the iteration: backward of the total"
      part "adam_step" step "inside the iteration: Adam over every parameter"
      part "encoder_fwd" eF "alone: encoder on 128 images"
      part "encoder_bwd" (eFB - eF) "alone: encoder fwd+bwd minus fwd"
      part "decoder_fwd" dF "alone: decoder on 128 feature vectors"
      part "decoder_bwd" (dFB - dF) "alone: decoder fwd+bwd minus fwd"
      part "render_fwd" rF "alone: 256 silhouettes"
      part "render_bwd" (rFB - rF) "alone: 256 silhouettes fwd+bwd minus fwd"
      part "loss_terms_fwd" lF "alone: iou + laplacian + flatten on fixed silhouettes and meshes"
      part "loss_terms_bwd" (lFB - lF) "alone: their fwd+bwd minus fwd"
      part "adam_step_alone" stepMs "alone: Adam step, zero gradients"
      figure "softras_train_iter_vs_render_fwd" (total / rF) "x" "iteration / render forward, same run"
      figure "softras_train_peak_mb" peak "MB" "peak RSS growth during one iteration at batch 64, after malloc_trim" ]
