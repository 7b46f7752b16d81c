/// SSR's costs (issue 14): SiamVP's training update in pairs per second, pseudo-labelling in
/// images per second (each matched against 24 reference views, again at 45°), and one SSR
/// iteration beside a SoftRas iteration timed in the same run, at SSR's width and the
/// baseline's.
module Reconstruct.Bench.SsrBench

open System
open System.Diagnostics
open Reconstruct.Torch
open Reconstruct.Stages
open Reconstruct.Bench.Report

module Pipeline = Reconstruct.Pipelines.Ssr

let private views = 24

/// A labelled part of a step: `objects` random RGBA pairs with random view ids and cameras.
let private labelled (g: Generator) (objects: int) : Pipeline.Labelled =
    let rng = SplitMix64(uint64 objects)
    let ids () = Array.init objects (fun _ -> rng.Int(0, views - 1))
    let idsA, idsB = ids (), ids ()
    let viewsOf (ids: int[]) = Render.View.ofDegrees (ids |> Array.map (fun v -> -15.0 * float v)) (Array.create objects 30.0) (Array.create objects 2.732)
    { Pairs = { ImagesA = Tensor.rand ([ objects; 4; 64; 64 ], g); ImagesB = Tensor.rand ([ objects; 4; 64; 64 ], g); ViewA = viewsOf idsA; ViewB = viewsOf idsB }
      ViewIdsA = idsA
      ViewIdsB = idsB }

let private measure (width: int) =
    use scope = DisposalScope.Open()
    use g = new Generator(3UL)
    let unlabelledCount = 10
    let config = { Pipeline.Config.Defaults with SiamWidth = width; PseudoBatch = 8 }
    let model = Pipeline.create g config unlabelledCount views
    let parameters = Pipeline.parameters model
    use optimizer = Optim.adam { Optim.Adam.Defaults with Lr = 1e-4 } parameters
    let batch = labelled g 16
    let pool = Tensor.rand ([ unlabelledCount * views; 4; 64; 64 ], g)
    let unlabelled: Pipeline.Unlabelled =
        { Count = unlabelledCount
          Views = views
          Images = fun objects vs -> pool.indexSelect (0, Tensor.ofArray (Array.map2 (fun o v -> int64 (o * views + v)) objects vs)) }
    let referenceViews = Tensor.rand ([ views; 4; 64; 64 ], g)
    let references: Pipeline.References =
        { Images = referenceViews
          Cameras = Array.init views (fun v -> -15.0 * float v * Math.PI / 180.0, Math.PI / 6.0, 2.732)
          Labelled = referenceViews
          LabelledViewIds = Array.init views id }
    let step (terms: unit -> (string * Tensor) list) () =
        optimizer.ZeroGrad()
        (terms () |> List.find (fst >> (=) "total") |> snd).backward ()
        optimizer.Step()
    let siamUpdate =
        medianOf 5 (timed (step (fun () -> [ "total", (SiamVP.pairLoss model.Siam (SplitMix64 1UL) 32 (SiamVP.rgbOf batch.Pairs.ImagesA) batch.ViewIdsA).Loss ])))
    let siamForward =
        medianOf 5 (timed (fun () ->
            use _ = Autograd.noGrad ()
            SiamVP.embed model.Siam (SiamVP.rgbOf batch.Pairs.ImagesA) |> ignore))
    let labelMs = medianOf 3 (timed (fun () -> Pipeline.labelRound model references unlabelled (Array.init unlabelledCount id) |> ignore))
    // Labels on every unlabelled image, so the iteration's mesh batch holds 8 pseudo pairs.
    model.PseudoLabels.copy_ (Tensor.ofArray (Array.init (unlabelledCount * views) (fun k -> int64 (k % views)), [ unlabelledCount; views ])) |> ignore
    let iteration =
        medianOf 5 (timed (fun () ->
            for phase in 0 .. Pipeline.phases config - 1 do
                step (fun () -> Pipeline.losses model 1e-4 1 phase (SplitMix64 2UL) batch unlabelled references) ()))
    let softRas =
        medianOf 5 (timed (step (fun () -> Reconstruct.Pipelines.SoftRas.losses model.SoftRas 1e-4 batch.Pairs)))
    Pipeline.dispose model
    siamUpdate, siamForward, labelMs, float (unlabelledCount * views) / (labelMs / 1000.0), iteration, softRas

let all () : Figure list =
    Runtime.initDefaults.Force()
    let referenceMs =
        use _ = DisposalScope.Open()
        use g = new Generator(1UL)
        let a, b = Tensor.rand ([ 512; 512 ], g), Tensor.rand ([ 512; 512 ], g)
        medianOf 7 (timed (fun () -> a.matmul b |> ignore))
    let pairs = 16 * 15 / 2
    [ for width, label in [ 32, "the baseline's width 32"; 64, "SSR's width 64" ] do
          let siamUpdate, siamForward, labelMs, labelRate, iteration, softRas = measure width
          let suffix = if width = 64 then "_w64" else ""
          yield figure ("siamvp_pairs_per_s" + suffix) (float pairs / (siamUpdate / 1000.0)) "pairs/s" (sprintf "SiamVP at %s: one training update (16 images, all %d pairs, hard mining, Adam) in %.0f ms, of which the 16 images' embedding forward %.0f ms" label pairs siamUpdate siamForward)
          yield figure ("pseudo_label_images_per_s" + suffix) labelRate "images/s" (sprintf "SiamVP at %s: 240 images matched against 24 reference views, again rotated 45° (%.0f ms)" label labelMs)
          yield figure ("ssr_iter_ms" + suffix) iteration "ms" (sprintf "SiamVP at %s: one SSR iteration at batch 16 (8 pseudo-labelled pairs): SoftRas' step and SiamVP's two updates; SoftRas' step alone %.0f ms in the same run (%.2fx)" label softRas (iteration / softRas))
          yield figure ("ssr_iter_in_matmuls" + suffix) (iteration / referenceMs) "x" (sprintf "ssr_iter_ms%s over a 512x512 float32 matmul timed in the same run (%.2f ms)" suffix referenceMs) ]
