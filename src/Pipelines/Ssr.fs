module Reconstruct.Pipelines.Ssr

open System
open Reconstruct.Torch
open Reconstruct.Torch.Layers
open Reconstruct.Stages

type Config =
    { SoftRas: SoftRas.Config
      SiamWidth: int
      PseudoBatch: int
      PairSamples: int
      RotationAugment: bool
      PseudoEvery: int
      PseudoAccuracy: float
      GateImages: int
      PseudoThreshold: float
      RotatedAgreement: bool
      PseudoObjectsPerRound: int }

    static member Defaults =
        { SoftRas = SoftRas.Config.Defaults
          SiamWidth = 64
          PseudoBatch = 8
          PairSamples = 32
          RotationAugment = true
          PseudoEvery = 400
          PseudoAccuracy = 0.99
          GateImages = 64
          PseudoThreshold = 0.8
          RotatedAgreement = true
          PseudoObjectsPerRound = 0 }

type Model =
    { Config: Config
      SoftRas: SoftRas.Model
      Siam: SiamVP.Network
      PseudoLabels: Tensor }

let create (generator: Generator) (config: Config) (unlabelled: int) (views: int) =
    if unlabelled < 1 then invalidArg "unlabelled" (sprintf "Ssr.create: at least one unlabelled object is needed, received %d" unlabelled)
    if views < 2 then invalidArg "views" (sprintf "Ssr.create: at least two views per object are needed, received %d" views)
    if config.PseudoBatch < 0 then invalidArg "config" (sprintf "Ssr.create: PseudoBatch must be at least 0, received %d" config.PseudoBatch)
    if config.PseudoEvery < 1 then invalidArg "config" (sprintf "Ssr.create: PseudoEvery must be at least 1, received %d" config.PseudoEvery)
    if config.PseudoObjectsPerRound < 0 then
        invalidArg "config" (sprintf "Ssr.create: PseudoObjectsPerRound must be at least 0 (0: all), received %d" config.PseudoObjectsPerRound)
    let softRas = SoftRas.create generator config.SoftRas
    let siam = SiamVP.create generator config.SoftRas.ImageSize config.SiamWidth
    let labels =
        use _ = Autograd.noGrad ()
        Tensor.full ([ unlabelled; views ], -1.0, Dtype.Int64)
    { Config = config; SoftRas = softRas; Siam = siam; PseudoLabels = labels }

let parameters (model: Model) : Named =
    let all = SoftRas.parameters model.SoftRas @ (SiamVP.parameters model.Siam |> Named.prefix "siamvp")
    Named.checkUnique all
    all

let buffers (model: Model) : Named = SoftRas.buffers model.SoftRas @ [ "pseudo_labels", model.PseudoLabels ]

let dispose (model: Model) =
    SoftRas.dispose model.SoftRas
    Named.dispose (SiamVP.parameters model.Siam |> Named.prefix "siamvp")
    (model.PseudoLabels :> IDisposable).Dispose()

type Labelled =
    { Pairs: SoftRas.Batch
      ViewIdsA: int[]
      ViewIdsB: int[] }

type Unlabelled =
    { Count: int
      Views: int
      Images: int[] -> int[] -> Tensor }

type References =
    { Images: Tensor
      Cameras: (float * float * float)[]
      Labelled: Tensor
      LabelledViewIds: int[] }

let phases (config: Config) = if config.RotationAugment then 2 else 1

let private unlabelledCount (model: Model) = model.PseudoLabels.Size 0
let private viewCount (model: Model) = model.PseudoLabels.Size 1

/// The labels as a host array, row-major (U·V).
let private labelsOf (model: Model) = model.PseudoLabels.ToInt64s()

/// Objects embedded together when labelling: bounds the memory of a round (V images each).
let [<Literal>] private ObjectsPerChunk = 8

let labelRound (model: Model) (references: References) (unlabelled: Unlabelled) (objects: int[]) =
    let v = viewCount model
    if references.Cameras.Length <> v || references.Images.Size 0 <> v then
        invalidArg "references" (sprintf "Ssr.labelRound: %d reference images and %d cameras for %d view ids" (references.Images.Size 0) references.Cameras.Length v)
    if unlabelled.Count <> unlabelledCount model || unlabelled.Views <> v then
        invalidArg "unlabelled" (sprintf "Ssr.labelRound: %d unlabelled objects of %d views, the model labels %d of %d" unlabelled.Count unlabelled.Views (unlabelledCount model) v)
    use _ = Autograd.noGrad ()
    use scope = DisposalScope.Open()
    let c = model.Config
    let siam = model.Siam
    let rgbRefs = SiamVP.rgbOf references.Images
    let refs = SiamVP.embed siam rgbRefs
    let rotatedRefs = if c.RotatedAgreement then Some(SiamVP.embed siam (SiamVP.rotate 45.0 rgbRefs)) else None
    let labels = labelsOf model
    let mutable written = 0
    for chunk in Array.chunkBySize ObjectsPerChunk objects do
        use _ = DisposalScope.Open()
        let which = chunk |> Array.collect (fun o -> Array.create v o)
        let views = chunk |> Array.collect (fun _ -> Array.init v id)
        let rgb = SiamVP.rgbOf (unlabelled.Images which views)
        let matches = SiamVP.bestMatches siam (SiamVP.embed siam rgb) refs
        let agreeing =
            match rotatedRefs with
            | Some rotated -> SiamVP.bestMatches siam (SiamVP.embed siam (SiamVP.rotate 45.0 rgb)) rotated |> Array.map fst |> Some
            | None -> None
        for k in 0 .. matches.Length - 1 do
            let best, p = matches.[k]
            let agrees = match agreeing with Some r -> r.[k] = best | None -> true
            if p > c.PseudoThreshold && agrees then
                labels.[which.[k] * v + views.[k]] <- int64 best
                written <- written + 1
    model.PseudoLabels.copy_ (Tensor.ofArray (labels, [ unlabelledCount model; v ])) |> ignore
    written

let roundObjects (model: Model) (iteration: int) =
    let u = unlabelledCount model
    let per = model.Config.PseudoObjectsPerRound
    if per = 0 || per >= u then Array.init u id
    else
        let round = max 0 (iteration / model.Config.PseudoEvery - 1)
        let start = int ((int64 round * int64 per) % int64 u)
        Array.init per (fun k -> (start + k) % u)

let pseudoPairs (model: Model) (rng: SplitMix64) (count: int) =
    let v = viewCount model
    let labels = labelsOf model
    let labelledViews o = [| for k in 0 .. v - 1 do if labels.[o * v + k] >= 0L then yield k |]
    let eligible = [| for o in 0 .. unlabelledCount model - 1 do if (labelledViews o).Length >= 2 then yield o |]
    // Without replacement (SSR draws with it): early on, when one or two objects have two
    // labels, they would otherwise fill the whole pseudo half of every batch.
    let chosen = Array.copy eligible
    for k in 0 .. min count chosen.Length - 1 do
        let j = rng.Int(k, chosen.Length - 1)
        let t = chosen.[k]
        chosen.[k] <- chosen.[j]
        chosen.[j] <- t
    chosen
    |> Array.truncate count
    |> Array.map (fun o ->
            let views = labelledViews o
            let a = rng.Int(0, views.Length - 1)
            let b = rng.Int(0, views.Length - 2)
            let va, vb = views.[a], views.[if b >= a then b + 1 else b]
            o, va, vb, int labels.[o * v + va], int labels.[o * v + vb])

let pseudoCoverage (model: Model) =
    let v = viewCount model
    let labels = labelsOf model
    let given = labels |> Array.indexed |> Array.filter (fun (_, l) -> l >= 0L)
    let coverage = float given.Length / float labels.Length
    let accuracy = if given.Length = 0 then nan else (given |> Array.filter (fun (k, l) -> int l = k % v) |> Array.length |> float) / float given.Length
    coverage, accuracy

let private siamTerms (model: Model) (rng: SplitMix64) (images: Tensor) (ids: int[]) =
    SiamVP.pairLoss model.Siam rng model.Config.PairSamples (SiamVP.rgbOf images) ids

/// The labelled pairs' first `keep` objects followed by the pseudo-labelled pairs, as one batch.
let private mixedBatch (labelled: Labelled) (keep: int) (unlabelled: Unlabelled) (references: References) (pairs: (int * int * int * int * int)[]) : SoftRas.Batch =
    let head (t: Tensor) = t.narrow (0, 0, keep)
    let objects = pairs |> Array.map (fun (o, _, _, _, _) -> o)
    let camera (pick: float * float * float -> float) (labels: int[]) = Tensor.ofArray (labels |> Array.map (fun l -> float32 (pick references.Cameras.[l])))
    let view (labels: int[]) (known: Render.View) : Render.View =
        let first (a, _, _) = a
        let second (_, b, _) = b
        let third (_, _, c) = c
        { Azimuth = Tensor.cat ([ head known.Azimuth; camera first labels ], 0)
          Elevation = Tensor.cat ([ head known.Elevation; camera second labels ], 0)
          Distance = Tensor.cat ([ head known.Distance; camera third labels ], 0) }
    let labelsA = pairs |> Array.map (fun (_, _, _, la, _) -> la)
    let labelsB = pairs |> Array.map (fun (_, _, _, _, lb) -> lb)
    { ImagesA = Tensor.cat ([ head labelled.Pairs.ImagesA; unlabelled.Images objects (pairs |> Array.map (fun (_, va, _, _, _) -> va)) ], 0)
      ImagesB = Tensor.cat ([ head labelled.Pairs.ImagesB; unlabelled.Images objects (pairs |> Array.map (fun (_, _, vb, _, _) -> vb)) ], 0)
      ViewA = view labelsA labelled.Pairs.ViewA
      ViewB = view labelsB labelled.Pairs.ViewB }

let gateAccuracy (model: Model) (rng: SplitMix64) (references: References) (batchAccuracy: float) =
    let n = model.Config.GateImages
    if n = 0 then batchAccuracy
    else
        let pool = references.LabelledViewIds.Length
        if pool < 2 || references.Labelled.Size 0 <> pool then
            invalidArg "references" (sprintf "Ssr.gateAccuracy: %d labelled images and %d view ids (at least 2 needed)" (references.Labelled.Size 0) pool)
        use _ = Autograd.noGrad ()
        use scope = DisposalScope.Open()
        let drawn = Array.init n (fun _ -> rng.Int(0, pool - 1))
        let images = references.Labelled.indexSelect (0, Tensor.ofArray (drawn |> Array.map int64))
        (siamTerms model rng images (drawn |> Array.map (fun k -> references.LabelledViewIds.[k]))).Accuracy

let losses (model: Model) (sigma: float) (iteration: int) (phase: int) (rng: SplitMix64) (labelled: Labelled) (unlabelled: Unlabelled) (references: References) =
    let c = model.Config
    let b = labelled.Pairs.ImagesA.Size 0
    if labelled.ViewIdsA.Length <> b || labelled.ViewIdsB.Length <> b then
        invalidArg "labelled" (sprintf "Ssr.losses: %d and %d view ids for %d labelled objects" labelled.ViewIdsA.Length labelled.ViewIdsB.Length b)
    if c.PseudoBatch > b then invalidArg "model" (sprintf "Ssr.losses: PseudoBatch %d is larger than the batch of %d" c.PseudoBatch b)
    // SSR trains SiamVP on the labelled batch's first views only.
    let images = labelled.Pairs.ImagesA
    let ids = labelled.ViewIdsA
    match phase with
    | 0 ->
        let siam = siamTerms model rng images ids
        if iteration > 0 && iteration % c.PseudoEvery = 0 && gateAccuracy model rng references siam.Accuracy > c.PseudoAccuracy then
            labelRound model references unlabelled (roundObjects model iteration) |> ignore
        let pairs = if c.PseudoBatch = 0 then [||] else pseudoPairs model rng c.PseudoBatch
        let batch = if pairs.Length = 0 then labelled.Pairs else mixedBatch labelled (b - pairs.Length) unlabelled references pairs
        let terms = SoftRas.losses model.SoftRas sigma batch
        let mesh = terms |> List.find (fst >> (=) "total") |> snd
        (terms |> List.filter (fst >> (<>) "total"))
        @ [ "mesh", mesh
            "pseudo_pairs", Tensor.scalar (float pairs.Length)
            "siam", siam.Loss
            "siam_accuracy", Tensor.scalar siam.Accuracy
            "total", mesh + siam.Loss ]
    | 1 when c.RotationAugment ->
        let rotated = SiamVP.rotate (float (rng.Int(0, 359))) images
        let siam = siamTerms model rng rotated ids
        [ "siam_rotated", siam.Loss; "siam_rotated_accuracy", Tensor.scalar siam.Accuracy; "total", siam.Loss ]
    | other -> invalidArg "phase" (sprintf "Ssr.losses: phase %d of %d" other (phases c))
