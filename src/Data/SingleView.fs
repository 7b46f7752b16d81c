module Reconstruct.Data.SingleView

open System
open System.Collections.Generic
open System.Threading.Tasks
open Reconstruct.Torch

[<Sealed>]
type Set
    internal
    (
        index: string,
        split: string,
        height: int,
        width: int,
        ids: string[],
        meshes: string option[],
        // Per sample: (3, H, W) RGB bytes, its instance, its row among the instance's rows, its camera.
        pixels: byte[][],
        instances: int[],
        rowsWithinInstance: int[],
        views: DatasetRender.View option[],
        imagePaths: string[],
        failures: (string * string) list
    ) =
    member _.Index = index
    member _.Split = split
    member _.Count = pixels.Length
    member _.Instances = ids.Length
    member _.Height = height
    member _.Width = width
    member _.Failures = failures
    member _.HasTruth = meshes |> Array.forall Option.isSome
    member internal _.Ids = ids
    member internal _.Meshes = meshes
    member internal _.Pixels = pixels
    member internal _.InstanceOf = instances
    member internal _.RowWithinInstance = rowsWithinInstance
    member internal _.Views = views
    member internal _.ImagePaths = imagePaths

type Batch =
    { Images: Tensor
      Samples: int[]
      Epoch: int
      Index: int }

    interface IDisposable with
        member b.Dispose() = (b.Images :> IDisposable).Dispose()

let loadOver (background: byte) (protocolDir: string) (split: string) : Set =
    let indexPath, all = RenderedIndex.read protocolDir
    let rows = all |> Array.filter (fun r -> r.Split = split)
    if rows.Length = 0 then raise (RenderedIndex.noRowsOfSplit indexPath split all)
    let firstRows = Dictionary<string, RenderedIndex.Row>()
    let rowCounts = Dictionary<string, int>()
    let rowWithinInstance =
        rows
        |> Array.map (fun row ->
            match firstRows.TryGetValue row.Instance with
            | true, first -> RenderedIndex.checkSameInstance indexPath first row
            | _ -> firstRows.[row.Instance] <- row
            let k = match rowCounts.TryGetValue row.Instance with | true, k -> k | _ -> 0
            rowCounts.[row.Instance] <- k + 1
            k)
    // Composited as soon as decoded, so the RGBA bytes are never all held at once.
    let decoded = Array.zeroCreate<Result<int * int * byte[], string>> rows.Length
    Parallel.For(0, rows.Length, fun k ->
        decoded.[k] <-
            try
                let h, w, rgba = RenderedIndex.decodeRgba rows.[k].Image
                Ok(h, w, RenderedIndex.compositeOver background rgba)
            with :? ImageFileException as e -> Error e.Reason)
    |> ignore
    let h, w =
        match decoded |> Array.tryPick (function Ok (h, w, _) -> Some(h, w) | Error _ -> None) with
        | Some size -> size
        | None ->
            let reason = match decoded.[0] with Error reason -> reason | Ok _ -> ""
            raise (IndexFileException(indexPath, 0, sprintf "none of the %d images of split \"%s\" could be decoded (the first, %s: %s)" rows.Length split rows.[0].Image reason))
    let failures = List<string * string>()
    let kept = List<int>()
    for k in 0 .. rows.Length - 1 do
        match decoded.[k] with
        | Ok (hk, wk, _) when hk = h && wk = w -> kept.Add k
        | Ok (hk, wk, _) -> failures.Add(rows.[k].Image, sprintf "the image is %dx%d, the split's first image %dx%d" wk hk w h)
        | Error reason -> failures.Add(rows.[k].Image, reason)
    let instanceNumbers = Dictionary<string, int>()
    let ids = List<string>()
    let meshes = List<string option>()
    let instances =
        kept.ToArray()
        |> Array.map (fun k ->
            let row = rows.[k]
            match instanceNumbers.TryGetValue row.Instance with
            | true, i -> i
            | _ ->
                instanceNumbers.[row.Instance] <- ids.Count
                ids.Add row.Instance
                meshes.Add(row.Truth |> Option.map (fun t -> t.Mesh))
                ids.Count - 1)
    let pick (f: int -> 'T) = kept.ToArray() |> Array.map f
    Set(
        indexPath,
        split,
        h,
        w,
        ids.ToArray(),
        meshes.ToArray(),
        pick (fun k -> match decoded.[k] with Ok (_, _, rgb) -> rgb | Error _ -> failwith "unreachable: a kept image decoded"),
        instances,
        pick (fun k -> rowWithinInstance.[k]),
        pick (fun k -> rows.[k].Truth |> Option.map (fun t -> t.View)),
        pick (fun k -> rows.[k].Image),
        List.ofSeq failures
    )

let load (protocolDir: string) (split: string) : Set = loadOver 255uy protocolDir split

let batchesPerEpoch (set: Set) (batchSize: int) =
    RenderedIndex.checkBatchSize "SingleView.batchesPerEpoch" batchSize
    set.Count / batchSize

let private epochOrder (set: Set) (seed: uint64) (epoch: int) =
    let epochSeed = Seed.item (Seed.child seed "singleview/epochs") (uint64 epoch)
    (SplitMix64(Seed.child epochSeed "order")).Permutation set.Count

/// (B, 3, H, W) float32 in [0, 1] of the given samples.
let private images (set: Set) (samples: int[]) =
    let plane = 3 * set.Height * set.Width
    let data = Array.zeroCreate<float32> (samples.Length * plane)
    for k in 0 .. samples.Length - 1 do
        RenderedIndex.toUnit set.Pixels.[samples.[k]] 0 data (k * plane) plane
    Tensor.ofArray (data, [ samples.Length; 3; set.Height; set.Width ])

let private makeBatch (set: Set) (batchSize: int) (epoch: int) (order: int[]) (index: int) =
    let samples = Array.init batchSize (fun k -> order.[index * batchSize + k])
    { Images = images set samples
      Samples = samples
      Epoch = epoch
      Index = index }

let private checkEpoch (fn: string) (set: Set) (batchSize: int) (epoch: int) =
    RenderedIndex.checkEpoch ("SingleView." + fn) "samples" set.Count set.Split set.Index batchSize epoch

let batch (set: Set) (seed: uint64) (batchSize: int) (epoch: int) (index: int) : Batch =
    checkEpoch "batch" set batchSize epoch
    RenderedIndex.checkBatchIndex "SingleView.batch" (batchesPerEpoch set batchSize) batchSize index
    makeBatch set batchSize epoch (epochOrder set seed epoch) index

let epochFrom (set: Set) (seed: uint64) (batchSize: int) (epoch: int) (start: int) : seq<Batch> =
    checkEpoch "epochFrom" set batchSize epoch
    RenderedIndex.epochBatches "SingleView.epochFrom" (batchesPerEpoch set batchSize) batchSize start (fun () -> epochOrder set seed epoch) (makeBatch set batchSize epoch)

let prefetch (depth: int) (batches: seq<Batch>) : seq<Batch> =
    Loader.prefetchWith (fun (b: Batch) -> [ b.Images ]) depth batches

let private checkSample (fn: string) (set: Set) (sample: int) =
    if sample < 0 || sample >= set.Count then
        invalidArg "sample" (sprintf "SingleView.%s: sample must be in 0..%d, received %d" fn (set.Count - 1) sample)

let private checkInstance (fn: string) (set: Set) (instance: int) =
    if instance < 0 || instance >= set.Instances then
        invalidArg "instance" (sprintf "SingleView.%s: instance must be in 0..%d, received %d" fn (set.Instances - 1) instance)

/// Field `sample` of a per-sample table, checked.
let private ofSample (fn: string) (table: Set -> 'T[]) (set: Set) (sample: int) =
    checkSample fn set sample
    (table set).[sample]

/// Field `instance` of a per-instance table, checked.
let private ofInstance (fn: string) (table: Set -> 'T[]) (set: Set) (instance: int) =
    checkInstance fn set instance
    (table set).[instance]

/// A ground-truth field, or one line naming the index when its images have none.
let private known (fn: string) (set: Set) (value: 'T option) =
    match value with
    | Some v -> v
    | None -> raise (IndexFileException(set.Index, 0, sprintf "SingleView.%s: the images of split \"%s\" have no ground truth (photographs)" fn set.Split))

let view set sample = ofSample "view" (fun s -> s.Views) set sample |> known "view" set

let instanceOf set sample = ofSample "instanceOf" (fun s -> s.InstanceOf) set sample

let id set instance = ofInstance "id" (fun s -> s.Ids) set instance

let meshPath set instance = ofInstance "meshPath" (fun s -> s.Meshes) set instance |> known "meshPath" set

let image (set: Set) (sample: int) =
    checkSample "image" set sample
    images set [| sample |]

let imagePath set sample = ofSample "imagePath" (fun s -> s.ImagePaths) set sample

let samplesOfView (set: Set) (viewIndex: int) =
    if viewIndex < 0 then invalidArg "viewIndex" (sprintf "SingleView.samplesOfView: view index must be >= 0, received %d" viewIndex)
    Array.init set.Count (fun s -> s) |> Array.filter (fun s -> set.RowWithinInstance.[s] = viewIndex)
