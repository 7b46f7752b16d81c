/// Benchmarks of UNICORN (issue 12): one iteration (a pose step plus a 3D step) at batch 32,
/// 64², the default CPU configuration, its parts each timed alone in the same run, and one
/// image's prediction on 1 thread.
module Reconstruct.Bench.UnicornBench

open System
open System.Diagnostics
open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Geometry
open Reconstruct.Stages
open Reconstruct.Pipelines
open Reconstruct.Bench.Report


/// The parts of one iteration, milliseconds, timed inside it.
type private Split = { Pose: float; Shape: float; Total: float }

let private stepOf (optimizer: Optim.Optimizer) (loss: unit -> (string * Tensor) list) =
    use scope = DisposalScope.Open()
    optimizer.ZeroGrad()
    (loss () |> List.find (fun (n, _) -> n = "total") |> snd).backward ()
    optimizer.Step()

let private iteration (model: Unicorn.Model) (optimizer: Optim.Optimizer) (c: Unicorn.Conditioning) (g: Generator) (images: Tensor) =
    let sw = Stopwatch.StartNew()
    stepOf optimizer (fun () -> Unicorn.poseLoss model c images)
    let pose = sw.Elapsed.TotalMilliseconds
    stepOf optimizer (fun () -> Unicorn.shapeLoss model c g images)
    let total = sw.Elapsed.TotalMilliseconds
    { Pose = pose; Shape = total - pose; Total = total }

/// unicorn_iter_ms with its breakdown, peak memory, and unicorn_predict_ms.
let all () : Figure list =
    Runtime.initDefaults.Force()
    let threads = Runtime.threads ()
    let runs = 3
    let batch = 32
    use g = new Generator(21UL)
    let config = Unicorn.Config.Defaults
    let model = Unicorn.create g config
    use optimizer = Optim.adam { Optim.Adam.Defaults with Lr = 1e-4 } (Unicorn.parameters model)
    let s = config.ImageSize
    let k = config.Pose.Candidates
    // Stage 4 with the neighbours on: the most expensive iteration of the curriculum.
    let c = Unicorn.Curriculum.at (Unicorn.Curriculum.scaled 1000) 900
    let images = Tensor.rand ([ batch; 3; s; s ], g)
    for _ in 1 .. 2 do iteration model optimizer c g images |> ignore
    // Entries at random azimuths: the batch's own (one pose for one repeated batch) would never
    // fall in a viewpoint bin of the samples, and the swaps would not be rendered.
    do
        use _ = DisposalScope.Open()
        let n = config.MemorySize
        Neighbours.push
            model.Memory
            { ShapeCodes = Tensor.randn ([ n; config.ShapeCode ], g)
              TextureCodes = Tensor.randn ([ n; config.TextureCode ], g)
              Scales = Tensor.ones [ n; 3 ]
              Rotations = Rotation.fromEuler (Tensor.rand ([ n ], g) * 6.2832) (Tensor.full ([ n ], 0.5236)) (Tensor.zeros [ n ])
              Translations = Tensor.ofArray ([| for _ in 1 .. n do yield! [| 0.0f; 0.0f; 2.732f |] |], [ n; 3 ])
              Images = Tensor.rand ([ n; 3; s; s ], g) }
    let stage f = medianOf runs (timed f)
    let leaf (t: Tensor) = t.detach().RequireGrad()
    let encoderMs = stage (fun () -> Encode.apply true model.Encoder images |> backwardOf g)
    let features =
        use _ = Autograd.noGrad ()
        Encode.apply true model.Encoder images
    let codes (head: Mlp) =
        use _ = Autograd.noGrad ()
        Mlp.apply head features
    let shapeCodes, textureCodes = codes model.ShapeHead, codes model.TextureHead
    let fieldMs = stage (fun () -> Deform.applyField model.Field model.Template.Vertices (leaf shapeCodes) |> backwardOf g)
    let textureMs = stage (fun () -> Texture.apply model.Texture (leaf textureCodes) |> backwardOf g)
    let vertices = model.Template.Vertices.unsqueeze(0).expand([ batch * k; model.Template.Vertices.Size 0; 3 ]).contiguous ()
    // The 3D step compares the batch's reconstructions, and the two swaps' only when
    // PerceptualInSwaps; the pose step's candidates only when PerceptualInPoseStep.
    let perceptualImages =
        batch * (if config.PerceptualInSwaps then 3 else 1) + (if config.PerceptualInPoseStep then batch * k else 0)
    let rows = max (batch * k) perceptualImages
    let uv = Tensor.rand ([ rows; 3; config.TextureSize; config.TextureSize ], g)
    let white = Tensor.ones [ rows; 3; s; s ]
    let rotations = Rotation.fromEuler (Tensor.rand ([ batch * k ], g) * 6.28) (Tensor.full ([ batch * k ], 0.5236)) (Tensor.zeros [ batch * k ])
    let translations = Tensor.ofArray ([| for _ in 1 .. batch * k do yield! [| 0.0f; 0.0f; 2.732f |] |], [ batch * k; 3 ])
    let settings = Render.texturedSettings s config.Sigma config.FacesPerPixel
    let renderMs (n: int) =
        stage (fun () ->
            let pose = Camera.pose (rotations.narrow (0, 0, n)) (translations.narrow (0, 0, n))
            Render.textured settings config.Sigma pose (leaf (vertices.narrow (0, 0, n))) model.Template.Faces model.FaceUVs (leaf (uv.narrow (0, 0, n))) (white.narrow (0, 0, n))
            |> fst
            |> backwardOf g)
    let renderPose, render3d = renderMs (batch * k), renderMs (batch * 3)
    let perceptualMs (n: int) =
        match model.Perceptual, config.Perceptual with
        | Some network, Unicorn.PerceptualKind.ResNet18 options ->
            stage (fun () -> Perceptual.distance network options (leaf (((uv.narrow (0, 0, n)).narrow (2, 0, s)).narrow (3, 0, s))) (white.narrow (0, 0, n)) |> backwardOf g)
        | _ -> 0.0
    let perceptual3d = perceptualMs perceptualImages
    let neighboursMs =
        stage (fun () ->
            let rotation = rotations.narrow (0, 0, batch)
            Neighbours.select model.Memory g rotation shapeCodes textureCodes |> ignore)
    optimizer.ZeroGrad()
    stepOf optimizer (fun () -> Unicorn.shapeLoss model c g images)
    let adamMs = stage (fun () -> optimizer.Step())
    let peak = RenderBench.peakRssIncreaseMb (fun () -> iteration model optimizer c g images |> ignore)
    let cpu0 = Process.GetCurrentProcess().TotalProcessorTime
    let splits = Array.init runs (fun _ -> iteration model optimizer c g images)
    let cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu0).TotalMilliseconds / float runs
    let pick f = median (Array.map f splits)
    let total = pick (fun s -> s.Total)
    for t in [ images; features; shapeCodes; textureCodes; vertices; uv; white; rotations; translations ] do (t :> IDisposable).Dispose()
    // One image to mesh + texture + pose on one thread, as `reconstruct predict` runs it.
    let predictMs =
        Runtime.setThreads 1
        try
            use one = Tensor.rand ([ 1; 3; s; s ], g)
            stage (fun () -> Unicorn.predict model one |> Unicorn.disposePrediction)
        finally
            Runtime.setThreads threads
    Unicorn.dispose model
    let note = sprintf "%d threads, median of %d, batch %d at %d², K = %d candidates, stage 4 with neighbours" threads runs batch s k
    let part name ms what = figure ("unicorn_" + name + "_ms") ms "ms" (sprintf "%s; %.0f%% of the iteration" what (100.0 * ms / total))
    [ figure "unicorn_iter_ms" total "ms" (sprintf "one pose step + one 3D step (%s); process CPU %.0f ms per iteration" note cpu)
      part "pose_step" (pick (fun s -> s.Pose)) "the pose step: encoder, K·B renders, losses, backward, Adam"
      part "shape_step" (pick (fun s -> s.Shape)) "the 3D step: encoder, heads, field, generators, B + 2B renders, perceptual, backward, Adam"
      part "encoder_fwd_bwd" encoderMs "encoder forward + backward, once per step"
      part "field_fwd_bwd" fieldMs "deformation field forward + backward"
      part "texture_fwd_bwd" textureMs "texture generator forward + backward"
      part "render_pose_fwd_bwd" renderPose (sprintf "textured render of %d candidates, forward + backward" (batch * k))
      part "render_3d_fwd_bwd" render3d (sprintf "textured render of %d images (the batch and two swaps), forward + backward" (batch * 3))
      part "perceptual_fwd_bwd" perceptual3d (sprintf "perceptual distance of %d images, as the two steps apply it, forward + backward to the input" perceptualImages)
      part "neighbours_select" neighboursMs "neighbour choice over the memory"
      part "adam" adamMs "one Adam update of every parameter"
      figure "unicorn_iter_peak_mb" peak "MB" "peak resident memory increase during one iteration"
      figure "unicorn_predict_ms" predictMs "ms" "one image to mesh + texture + pose, 1 thread" ]
