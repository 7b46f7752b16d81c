namespace Reconstruct.Data

open System
open System.Collections.Concurrent
open System.Collections.Generic
open System.IO
open System.Runtime.ExceptionServices
open System.Text.Json
open System.Threading
open Reconstruct.Torch
open Reconstruct.Geometry

/// An index file could not be read: `Message` is one line, "file:line: what is wrong"
/// ("file: ..." when the whole file is at fault).
type IndexFileException(file: string, line: int, detail: string) =
    inherit Exception(if line > 0 then sprintf "%s:%d: %s" file line detail else sprintf "%s: %s" file detail)
    member _.File = file
    /// 1-based line number, 0 when the error concerns the whole file.
    member _.Line = line
    member _.Detail = detail

/// One row of a JSONL index: a JSON object per line with at least `"image": "<path>"`.
type IndexRow =
    { /// The index file the row comes from.
      IndexFile: string
      /// 1-based line number in the index file.
      Line: int
      /// The whole object (detached from the parser), for the caller's own fields
      /// (`row.Json.GetProperty("azimuth").GetDouble()`).
      Json: JsonElement }

/// One sample: an image file, with the index row that named it, if any.
type Item = { Path: string; Row: IndexRow option }

/// A file the loader could not use, and why; the loader went on without it.
type LoadFailure = { File: string; Reason: string }

/// How an image of another aspect ratio becomes the batch size.
[<RequireQualifiedAccess>]
type Fit =
    /// Resize the whole image (the aspect ratio changes).
    | Stretch
    /// Keep the largest centred region of the target's aspect ratio, then resize.
    | CenterCrop

type LoaderOptions =
    { /// Output height and width of every image in a batch.
      Height: int
      Width: int
      BatchSize: int
      /// Visit the items in a random order, a new one each epoch, drawn from `Seed`.
      Shuffle: bool
      Seed: uint64
      /// Drop the last, smaller batch of an epoch.
      DropLast: bool
      Fit: Fit
      Resize: ResizeMode
      /// Alpha handling and the pixel limit.
      Image: ImageOptions }

    /// 64 × 64, batches of 8, shuffled from seed 0, last batch kept, stretched, area/bilinear,
    /// alpha dropped, at most 8192 × 8192 pixels per file.
    static member Defaults =
        { Height = 64
          Width = 64
          BatchSize = 8
          Shuffle = true
          Seed = 0UL
          DropLast = false
          Fit = Fit.Stretch
          Resize = ResizeMode.Auto
          Image = ImageOptions.Defaults }

/// A batch of images and where they came from. It owns `Images`: dispose the batch (or let
/// the disposal scope that was current when it was produced free it).
type Batch =
    { /// (B, 3, H, W) float32 RGB in [0, 1].
      Images: Tensor
      /// The B sources, in batch order.
      Items: Item[]
      /// Positions of the B sources in the loader's item list.
      Positions: int[]
      Epoch: int
      /// 0-based number of the batch within its epoch.
      Index: int }

    interface IDisposable with
        member b.Dispose() = (b.Images :> IDisposable).Dispose()

/// Items and options, plus the files found bad so far (shared by every epoch, thread-safe, so
/// a prefetching worker can record failures while the caller reads them).
[<Sealed>]
type ImageLoader(items: Item[], options: LoaderOptions) =
    let failures = List<LoadFailure>()
    let bad = HashSet<string>(StringComparer.Ordinal)

    member _.Items = items
    member _.Options = options

    /// Every file that could not be loaded so far, each once, in the order found.
    member _.Failures = lock failures (fun () -> failures.ToArray())

    member internal _.IsBad(path: string) = lock failures (fun () -> bad.Contains path)

    member internal _.Fail(path: string, reason: string) =
        lock failures (fun () -> if bad.Add path then failures.Add { File = path; Reason = reason })

/// Images from a folder, a list of files or a JSONL index, in fixed-size batches
/// (B, 3, H, W) float32, shuffled per epoch from a seed, with optional background prefetch.
///
/// Bad files — unreadable, empty, truncated, corrupt, too large — are recorded in
/// `loader.Failures` with the reason and skipped; every batch but an epoch's last still has
/// `BatchSize` images. Grey, grey + alpha, RGBA and 16-bit files are converted to RGB.
///
/// Ownership: a batch's tensor is created when the batch sequence is advanced, in the disposal
/// scope current on the consuming thread at that moment (if any); dispose each batch or let
/// that scope free it. `prefetch` keeps exactly this rule although it decodes on another thread.
[<RequireQualifiedAccess>]
module Loader =

    /// The file extensions `ofFolder` picks up (compared case-insensitively).
    let imageExtensions = [ ".png"; ".jpg"; ".jpeg"; ".bmp"; ".tga" ]

    /// Whether the file's extension is one of `imageExtensions`.
    let isImageFile (path: string) = imageExtensions |> List.contains (Path.GetExtension(path).ToLowerInvariant())

    /// Every file directly in `directory` except hidden ones (names starting with '.'), sorted by
    /// name (ordinal), whatever its extension: for commands that report what they cannot read.
    let filesIn (directory: string) : string[] =
        Directory.GetFiles directory
        |> Array.filter (fun f -> not (Path.GetFileName(f).StartsWith "."))
        |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))

    /// Items for the given image paths, in order.
    let ofFiles (paths: seq<string>) : Item[] = paths |> Seq.map (fun p -> { Path = p; Row = None }) |> Array.ofSeq

    /// Items for the image files directly in `directory` (by `imageExtensions`), sorted by name
    /// (ordinal) so the order does not depend on the file system.
    let ofFolder (directory: string) : Item[] =
        if not (Directory.Exists directory) then
            raise (DirectoryNotFoundException(sprintf "Loader.ofFolder: directory not found: %s" directory))
        Directory.GetFiles directory
        |> Array.filter isImageFile
        |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))
        |> ofFiles

    /// Items from a JSONL index: one JSON object per non-blank line with a string field "image",
    /// a path relative to the index's directory (or absolute); the whole row rides along. A
    /// missing file, invalid JSON, a missing or non-string "image", or an index without rows
    /// raises one `IndexFileException` naming the file and line.
    let ofIndex (indexPath: string) : Item[] =
        if not (File.Exists indexPath) then raise (IndexFileException(indexPath, 0, "index file not found"))
        let dir = Path.GetDirectoryName(Path.GetFullPath indexPath)
        let items = List<Item>()
        let mutable line = 0
        let lines =
            try File.ReadAllLines indexPath
            with :? IOException | :? UnauthorizedAccessException as e -> raise (IndexFileException(indexPath, 0, "cannot read: " + e.Message))
        for text in lines do
            line <- line + 1
            if not (String.IsNullOrWhiteSpace text) then
                let at = line
                let fail detail = raise (IndexFileException(indexPath, at, detail))
                use doc =
                    try JsonDocument.Parse text
                    with :? JsonException as e -> fail ("not valid JSON: " + e.Message)
                let root = doc.RootElement
                if root.ValueKind <> JsonValueKind.Object then
                    fail (sprintf "expected a JSON object, found %s" (string root.ValueKind))
                match root.TryGetProperty "image" with
                | true, v when v.ValueKind = JsonValueKind.String && not (String.IsNullOrWhiteSpace(v.GetString())) ->
                    let p = v.GetString()
                    let path = if Path.IsPathRooted p then p else Path.Combine(dir, p)
                    items.Add
                        { Path = path
                          Row = Some { IndexFile = indexPath; Line = at; Json = root.Clone() } }
                | true, v -> fail (sprintf "field \"image\" must be a non-empty string, found %s" (string v.ValueKind))
                | _ -> fail "missing field \"image\""
        if items.Count = 0 then raise (IndexFileException(indexPath, 0, "the index has no rows"))
        items.ToArray()

    /// A loader over `items`; checks the options.
    let create (options: LoaderOptions) (items: Item[]) : ImageLoader =
        let bad what (value: int) = invalidArg "options" (sprintf "Loader.create: %s must be positive, received %d" what value)
        if options.Height < 1 then bad "Height" options.Height
        if options.Width < 1 then bad "Width" options.Width
        if options.BatchSize < 1 then bad "BatchSize" options.BatchSize
        if options.Image.MaxPixels < 1L then
            invalidArg "options" (sprintf "Loader.create: Image.MaxPixels must be positive, received %d" options.Image.MaxPixels)
        if isNull items || items.Length = 0 then invalidArg "items" "Loader.create: no images to load (the item list is empty)"
        ImageLoader(Array.copy items, options)

    /// The order in which epoch `epoch` visits the items: positions in `loader.Items`. Shuffled
    /// orders come from a generator seeded by (Seed, epoch) alone, so any epoch can be replayed
    /// (e.g. after resuming) without running the ones before it.
    let order (epoch: int) (loader: ImageLoader) : int[] =
        if epoch < 0 then invalidArg "epoch" (sprintf "Loader.order: epoch must be >= 0, received %d" epoch)
        let n = loader.Items.Length
        if not loader.Options.Shuffle then Array.init n id
        else
            use g = new Generator(SplitMix64.Mix(loader.Options.Seed ^^^ SplitMix64.Mix(uint64 epoch)))
            use p = Tensor.randperm (n, g)
            p.ToInt64s() |> Array.map int

    /// One image at the loader's size: (3, Height, Width) float32 in [0, 1]. Raises
    /// `ImageFileException` for a bad file.
    let loadItem (options: LoaderOptions) (path: string) : Tensor =
        Scoped.run (fun () ->
            let image = Image.loadWith options.Image path
            let fitted =
                match options.Fit with
                | Fit.CenterCrop -> Image.centerCrop (options.Height, options.Width) image
                | Fit.Stretch -> image
            Image.resizeWith options.Resize (options.Height, options.Width) fitted)

    /// The batches of epoch `epoch`, lazily: files are decoded as the sequence advances, bad
    /// ones recorded in `loader.Failures` and skipped (files found bad in an earlier epoch are
    /// skipped without another attempt). Each good item appears exactly once per epoch.
    let epoch (epoch: int) (loader: ImageLoader) : seq<Batch> =
        seq {
            let options = loader.Options
            let visit = order epoch loader
            let images = List<Tensor>()
            let positions = List<int>()
            let index = ref 0
            let take () =
                let batch =
                    { Images = Tensor.stack (images, 0)
                      Items = positions |> Seq.map (fun p -> loader.Items.[p]) |> Array.ofSeq
                      Positions = positions.ToArray()
                      Epoch = epoch
                      Index = index.Value }
                for t in images do (t :> IDisposable).Dispose()
                images.Clear()
                positions.Clear()
                index.Value <- index.Value + 1
                batch
            try
                for position in visit do
                    let path = loader.Items.[position].Path
                    if not (loader.IsBad path) then
                        let loaded =
                            try Ok(loadItem options path)
                            with :? ImageFileException as e -> Error e.Reason
                        match loaded with
                        | Ok image ->
                            images.Add image
                            positions.Add position
                        | Error reason -> loader.Fail(path, reason)
                        if images.Count = options.BatchSize then yield take ()
                if images.Count > 0 && not options.DropLast then yield take ()
            finally
                // Reached when the consumer stops early: images of an unfinished batch.
                for t in images do (t :> IDisposable).Dispose()
        }

    /// Hands the scope-less tensors of a batch made on the worker to the scope current on this
    /// thread, the scope they would have been created in without prefetching.
    let private adopt (tensors: Tensor list) =
        let scope = DisposalScope.Current
        if not (isNull scope) then
            for t in tensors do
                if isNull t.Owner then scope.Adopt t

    /// Runs `batches` on a background thread, at most `depth` batches ahead, and yields them in
    /// the same order: any batch type that owns its tensors (`Batch`, `MultiView.Batch`), with
    /// `tensorsOf` listing them. Decoding thus overlaps the caller's work on the previous batch.
    ///
    /// Disposal scopes are per thread and the worker opens none around the batches, so their
    /// tensors belong to no scope until handed over; each is then adopted by the scope current on
    /// the consuming thread (as in synchronous use), or owned by the caller if there is none.
    /// Stopping early (leaving a `for` loop) cancels the worker and frees the batches it had
    /// made but not delivered. An exception on the worker is raised here, at the batch where it
    /// happened.
    let prefetchWith<'T when 'T :> IDisposable> (tensorsOf: 'T -> Tensor list) (depth: int) (batches: seq<'T>) : seq<'T> =
        if depth < 1 then invalidArg "depth" (sprintf "Loader.prefetch: depth must be positive, received %d" depth)
        seq {
            use queue = new BlockingCollection<Choice<'T, ExceptionDispatchInfo>>(depth)
            use cancel = new CancellationTokenSource()
            let work () =
                try
                    try
                        use e = batches.GetEnumerator()
                        while not cancel.IsCancellationRequested && e.MoveNext() do
                            let batch = e.Current
                            try queue.Add(Choice1Of2 batch, cancel.Token)
                            with :? OperationCanceledException ->
                                batch.Dispose()
                                reraise ()
                    with
                    | :? OperationCanceledException when cancel.IsCancellationRequested -> ()
                    | ex ->
                        try queue.Add(Choice2Of2(ExceptionDispatchInfo.Capture ex), cancel.Token)
                        with :? OperationCanceledException -> ()
                finally
                    queue.CompleteAdding()
            let worker = Thread(ThreadStart work, IsBackground = true, Name = "Loader.prefetch")
            worker.Start()
            try
                for item in queue.GetConsumingEnumerable() do
                    match item with
                    | Choice1Of2 batch ->
                        adopt (tensorsOf batch)
                        yield batch
                    | Choice2Of2 error -> error.Throw()
            finally
                cancel.Cancel()
                worker.Join()
                let mutable left = Unchecked.defaultof<Choice<'T, ExceptionDispatchInfo>>
                while queue.TryTake(&left) do
                    match left with
                    | Choice1Of2 batch -> batch.Dispose()
                    | Choice2Of2 _ -> ()
        }

    /// `prefetchWith` for the loader's own batches.
    let prefetch (depth: int) (batches: seq<Batch>) : seq<Batch> = prefetchWith (fun b -> [ b.Images ]) depth batches
