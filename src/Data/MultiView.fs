module Reconstruct.Data.MultiView

open System
open System.Collections.Generic
open System.IO
open System.Threading.Tasks
open Reconstruct.Torch

[<Sealed>]
type Set
    internal
    (
        index: string,
        split: string,
        views: int,
        height: int,
        width: int,
        ids: string[],
        categories: string[],
        meshes: string[],
        // Per instance: (V, 4, H, W) bytes, and (V) cameras in radians / object units.
        pixels: byte[][],
        azimuths: float[][],
        elevations: float[][],
        distances: float[][]
    ) =
    member _.Index = index
    member _.Split = split
    member _.Count = ids.Length
    member _.Views = views
    member _.Height = height
    member _.Width = width
    member internal _.Ids = ids
    member internal _.Categories = categories
    member internal _.Meshes = meshes
    member internal _.Pixels = pixels
    member internal _.Azimuths = azimuths
    member internal _.Elevations = elevations
    member internal _.Distances = distances

type Batch =
    { ImagesA: Tensor
      ImagesB: Tensor
      AzimuthA: Tensor
      ElevationA: Tensor
      DistanceA: Tensor
      AzimuthB: Tensor
      ElevationB: Tensor
      DistanceB: Tensor
      Instances: int[]
      ViewsA: int[]
      ViewsB: int[]
      Epoch: int
      Index: int }

    member b.Tensors = [ b.ImagesA; b.ImagesB; b.AzimuthA; b.ElevationA; b.DistanceA; b.AzimuthB; b.ElevationB; b.DistanceB ]

    interface IDisposable with
        member b.Dispose() =
            for t in b.Tensors do (t :> IDisposable).Dispose()

let private radians (degrees: float) = degrees * Math.PI / 180.0

/// The image as (4, H, W) RGBA bytes; a bad file fails the whole load.
let private decode (indexFile: string) (row: RenderedIndex.Row) : int * int * byte[] =
    try RenderedIndex.decodeRgba row.Image
    with :? ImageFileException as e -> raise (IndexFileException(indexFile, row.Line, sprintf "image %s: %s" row.Image e.Reason))

type Entry =
    { Id: string
      Category: string
      Split: string
      Mesh: string }

/// The index of the benchmark at `root` and its rows, checked.
let private readRows (root: string) = RenderedIndex.read (Path.Combine(root, "multiview"))

let entries (root: string) : Entry[] =
    let indexPath, rows = readRows root
    rows
    |> Array.distinctBy (fun row -> row.Instance)
    |> Array.map (fun row -> { Id = row.Instance; Category = row.Category; Split = row.Split; Mesh = (RenderedIndex.truthOf indexPath row).Mesh })

let load (root: string) (split: string) : Set =
    let indexPath, rows = readRows root
    let order = List<string>()
    let groups = Dictionary<string, List<RenderedIndex.Row>>()
    for row in rows do
        if row.Split = split then
            match groups.TryGetValue row.Instance with
            | true, rows ->
                RenderedIndex.checkSameInstance indexPath rows.[0] row
                rows.Add row
            | _ ->
                order.Add row.Instance
                groups.[row.Instance] <- List<RenderedIndex.Row>([ row ])
    if order.Count = 0 then raise (RenderedIndex.noRowsOfSplit indexPath split rows)
    let instances = order |> Seq.map (fun id -> groups.[id].ToArray()) |> Array.ofSeq
    // Before anything else: the multi-view protocol is renders, and a photograph has no camera.
    let truths = instances |> Array.map (Array.map (RenderedIndex.truthOf indexPath))
    let views = instances.[0].Length
    for rows in instances do
        if rows.Length <> views then
            raise (IndexFileException(indexPath, rows.[0].Line, sprintf "instance %s has %d views, instance %s has %d" rows.[0].Instance rows.Length instances.[0].[0].Instance views))
    if views < 2 then
        raise (IndexFileException(indexPath, instances.[0].[0].Line, sprintf "instance %s has %d view; two views of each object are needed" instances.[0].[0].Instance views))
    let all = instances |> Array.concat
    let decoded = Array.zeroCreate<int * int * byte[]> all.Length
    let errors = Array.zeroCreate<exn> all.Length
    Parallel.For(0, all.Length, fun k ->
        try decoded.[k] <- decode indexPath all.[k]
        with e -> errors.[k] <- e)
    |> ignore
    // The first bad image in index order, whichever thread found it first.
    match errors |> Array.tryFind (isNull >> not) with
    | Some e -> Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e).Throw()
    | None -> ()
    let h, w, _ = decoded.[0]
    let plane = 4 * h * w
    let pixels =
        Array.init instances.Length (fun i ->
            let block = Array.zeroCreate<byte> (views * plane)
            for v in 0 .. views - 1 do
                let k = i * views + v
                let hk, wk, bytes = decoded.[k]
                if hk <> h || wk <> w then
                    raise (IndexFileException(indexPath, all.[k].Line, sprintf "image %s is %dx%d, the first image %dx%d" all.[k].Image wk hk w h))
                Buffer.BlockCopy(bytes, 0, block, v * plane, plane)
            block)
    let cameras (pick: RenderedIndex.Truth -> float) = truths |> Array.map (Array.map pick)
    Set(
        indexPath,
        split,
        views,
        h,
        w,
        instances |> Array.map (fun rows -> rows.[0].Instance),
        instances |> Array.map (fun rows -> rows.[0].Category),
        truths |> Array.map (fun views -> views.[0].Mesh),
        pixels,
        cameras (fun r -> radians r.View.Azimuth),
        cameras (fun r -> radians r.View.Elevation),
        cameras (fun r -> r.View.Distance)
    )

let batchesPerEpoch (set: Set) (batchSize: int) =
    RenderedIndex.checkBatchSize "MultiView.batchesPerEpoch" batchSize
    set.Count / batchSize

/// The seed of epoch `epoch`'s draws: the instance order, and below it each position's views.
let private epochSeed (seed: uint64) (epoch: int) = Seed.item (Seed.child seed "multiview/epochs") (uint64 epoch)

let private epochOrder (set: Set) (seed: uint64) (epoch: int) =
    (SplitMix64(Seed.child (epochSeed seed epoch) "order")).Permutation set.Count

/// Two different views of the object at `position` of the epoch's order.
let private viewPair (set: Set) (seed: uint64) (epoch: int) (position: int) =
    let rng = SplitMix64.Derive(Seed.child (epochSeed seed epoch) "views", uint64 position)
    let a = rng.Int(0, set.Views - 1)
    let b = rng.Int(0, set.Views - 2)
    a, (if b >= a then b + 1 else b)

/// (B, 4, H, W) float32 in [0, 1] of the given (instance, view) pairs.
let private imagesOf (set: Set) (instances: int[]) (views: int[]) =
    let plane = 4 * set.Height * set.Width
    let data = Array.zeroCreate<float32> (instances.Length * plane)
    for k in 0 .. instances.Length - 1 do
        RenderedIndex.toUnit set.Pixels.[instances.[k]] (views.[k] * plane) data (k * plane) plane
    Tensor.ofArray (data, [ instances.Length; 4; set.Height; set.Width ])

/// The batch of `instances` at `positions` of the epoch (each position draws its two views).
let private batchOf (set: Set) (seed: uint64) (epoch: int) (index: int) (positions: int[]) (instances: int[]) =
    let pairs = positions |> Array.map (viewPair set seed epoch)
    let viewsA, viewsB = Array.map fst pairs, Array.map snd pairs
    let cameras (table: float[][]) (views: int[]) = Tensor.ofArray (Array.map2 (fun i v -> float32 table.[i].[v]) instances views)
    // A failure half-way frees what was made.
    let made = List<Tensor>()
    let keep (t: Tensor) =
        made.Add t
        t
    try
        let batch =
            { ImagesA = keep (imagesOf set instances viewsA)
              ImagesB = keep (imagesOf set instances viewsB)
              AzimuthA = keep (cameras set.Azimuths viewsA)
              ElevationA = keep (cameras set.Elevations viewsA)
              DistanceA = keep (cameras set.Distances viewsA)
              AzimuthB = keep (cameras set.Azimuths viewsB)
              ElevationB = keep (cameras set.Elevations viewsB)
              DistanceB = keep (cameras set.Distances viewsB)
              Instances = instances
              ViewsA = viewsA
              ViewsB = viewsB
              Epoch = epoch
              Index = index }
        batch
    with _ ->
        for t in made do (t :> IDisposable).Dispose()
        reraise ()

let private makeBatch (set: Set) (seed: uint64) (batchSize: int) (epoch: int) (order: int[]) (index: int) =
    let positions = Array.init batchSize (fun k -> index * batchSize + k)
    batchOf set seed epoch index positions (positions |> Array.map (fun p -> order.[p]))

let private checkEpoch (fn: string) (set: Set) (batchSize: int) (epoch: int) =
    RenderedIndex.checkEpoch ("MultiView." + fn) "instances" set.Count set.Split set.Index batchSize epoch

let batch (set: Set) (seed: uint64) (batchSize: int) (epoch: int) (index: int) : Batch =
    checkEpoch "batch" set batchSize epoch
    RenderedIndex.checkBatchIndex "MultiView.batch" (batchesPerEpoch set batchSize) batchSize index
    makeBatch set seed batchSize epoch (epochOrder set seed epoch) index

let epochFrom (set: Set) (seed: uint64) (batchSize: int) (epoch: int) (start: int) : seq<Batch> =
    checkEpoch "epochFrom" set batchSize epoch
    RenderedIndex.epochBatches "MultiView.epochFrom" (batchesPerEpoch set batchSize) batchSize start (fun () -> epochOrder set seed epoch) (makeBatch set seed batchSize epoch)

let epoch (set: Set) (seed: uint64) (batchSize: int) (epoch: int) : seq<Batch> =
    checkEpoch "epoch" set batchSize epoch
    epochFrom set seed batchSize epoch 0

let drawnFrom (set: Set) (seed: uint64) (batchSize: int) (batches: int) (epoch: int) (start: int) : seq<Batch> =
    RenderedIndex.checkBatchSize "MultiView.drawnFrom" batchSize
    if batches < 1 then invalidArg "batches" (sprintf "MultiView.drawnFrom: batches per epoch must be at least 1, received %d" batches)
    if epoch < 0 then invalidArg "epoch" (sprintf "MultiView.drawnFrom: epoch must be at least 0, received %d" epoch)
    if start < 0 || start > batches then invalidArg "start" (sprintf "MultiView.drawnFrom: start must be in 0..%d, received %d" batches start)
    seq {
        for index in start .. batches - 1 do
            let rng = SplitMix64.Derive(Seed.child (epochSeed seed epoch) "drawn", uint64 index)
            let instances = Array.init batchSize (fun _ -> rng.Int(0, set.Count - 1))
            yield batchOf set seed epoch index (Array.init batchSize (fun k -> index * batchSize + k)) instances
    }

let prefetch (depth: int) (batches: seq<Batch>) : seq<Batch> =
    Loader.prefetchWith (fun (b: Batch) -> b.Tensors) depth batches

let private checkInstance (fn: string) (set: Set) (i: int) =
    if i < 0 || i >= set.Count then invalidArg "i" (sprintf "MultiView.%s: instance must be in 0..%d, received %d" fn (set.Count - 1) i)

let private checkView (fn: string) (set: Set) (v: int) =
    if v < 0 || v >= set.Views then invalidArg "v" (sprintf "MultiView.%s: view must be in 0..%d, received %d" fn (set.Views - 1) v)

let ids (set: Set) = Array.copy set.Ids

let id (set: Set) (i: int) =
    checkInstance "id" set i
    set.Ids.[i]

let category (set: Set) (i: int) =
    checkInstance "category" set i
    set.Categories.[i]

let meshPath (set: Set) (i: int) =
    checkInstance "meshPath" set i
    set.Meshes.[i]

let image (set: Set) (i: int) (v: int) =
    checkInstance "image" set i
    checkView "image" set v
    imagesOf set [| i |] [| v |]

let images (set: Set) (instances: int[]) (views: int[]) =
    if instances.Length <> views.Length then
        invalidArg "views" (sprintf "MultiView.images: %d instances and %d views" instances.Length views.Length)
    Array.iter (checkInstance "images" set) instances
    Array.iter (checkView "images" set) views
    imagesOf set instances views

let subset (set: Set) (instances: int[]) =
    if instances.Length = 0 then invalidArg "instances" (sprintf "MultiView.subset: no instance chosen of %s (%s)" set.Split set.Index)
    Array.iter (checkInstance "subset" set) instances
    let pick (table: 'a[]) = instances |> Array.map (fun i -> table.[i])
    Set(set.Index, set.Split, set.Views, set.Height, set.Width, pick set.Ids, pick set.Categories, pick set.Meshes, pick set.Pixels, pick set.Azimuths, pick set.Elevations, pick set.Distances)

/// Sets of one image size and view count, one after the other: a set's instance i is
/// instance (offset + i) of the whole. The index and split named are the first set's.
let concat (sets: Set list) =
    match sets with
    | [] -> invalidArg "sets" "MultiView.concat: no set given"
    | first :: _ ->
        for s in sets do
            if s.Views <> first.Views || s.Height <> first.Height || s.Width <> first.Width then
                invalidArg "sets" (sprintf "MultiView.concat: %s (%s) has %d views of %dx%d, %s (%s) %d of %dx%d" s.Index s.Split s.Views s.Height s.Width first.Index first.Split first.Views first.Height first.Width)
        let join (pick: Set -> 'a[]) = sets |> Array.ofList |> Array.collect pick
        Set(first.Index, first.Split, first.Views, first.Height, first.Width, join (fun s -> s.Ids), join (fun s -> s.Categories), join (fun s -> s.Meshes), join (fun s -> s.Pixels), join (fun s -> s.Azimuths), join (fun s -> s.Elevations), join (fun s -> s.Distances))

let withoutCameras (set: Set) =
    let hidden = Array.init set.Count (fun _ -> Array.create set.Views nan)
    Set(set.Index, set.Split, set.Views, set.Height, set.Width, set.Ids, set.Categories, set.Meshes, set.Pixels, hidden, hidden, hidden)

let camera (set: Set) (i: int) (v: int) =
    checkInstance "camera" set i
    checkView "camera" set v
    set.Azimuths.[i].[v], set.Elevations.[i].[v], set.Distances.[i].[v]
