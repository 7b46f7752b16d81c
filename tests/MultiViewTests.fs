/// The multi-view training loader: batches against the index and the image files, replay from
/// (seed, epoch), random access, prefetch, bad indexes and images, flat memory.
module Reconstruct.Tests.MultiViewTests

open System
open System.IO
open System.Text.Json
open System.Text.Json.Nodes
open System.Threading
open Expecto
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Tests.TestHelpers

/// One small procedural benchmark for the whole file, removed when the process ends.
let private benchmark =
    lazy
        (let dir = processTempDir ()
         let root = Path.Combine(dir, "chair")
         let options: DatasetRender.BenchmarkOptions = { Protocols = [ DatasetRender.MultiView ]; Seed = 5UL; WildViews = 0 }
         DatasetRender.writeBenchmark root options CancellationToken.None ignore (DatasetRender.proceduralInstances "chair" 5UL 10) |> ignore
         root)

let private train = lazy (MultiView.load benchmark.Value "train")

let private indexPath (root: string) = Path.Combine(root, "multiview", "index.jsonl")

/// The index rows as JSON objects, with their line numbers.
let private rows (root: string) =
    File.ReadAllLines(indexPath root) |> Array.map (fun l -> JsonNode.Parse(l).AsObject())

let private floats (t: Tensor) = t.ToFloat32s()

let private sameBatch (a: MultiView.Batch) (b: MultiView.Batch) (what: string) =
    Expect.equal (a.Instances, a.ViewsA, a.ViewsB, a.Epoch, a.Index) (b.Instances, b.ViewsA, b.ViewsB, b.Epoch, b.Index) (what + ": instances, views, position")
    List.iter2 (fun (x: Tensor) (y: Tensor) -> Expect.equal (floats x) (floats y) (what + ": tensors")) a.Tensors b.Tensors

/// A copy of the fixture's index under `dir/name`, its lines made by `rewrite` from the rows
/// (images and meshes made absolute so they still resolve).
let private rewrittenIndex (dir: TempDir) (name: string) (rewrite: JsonObject[] -> string[]) =
    let root = dir.File name
    Directory.CreateDirectory(Path.Combine(root, "multiview")) |> ignore
    let source = Path.Combine(benchmark.Value, "multiview")
    let absolute =
        rows benchmark.Value
        |> Array.map (fun row ->
            row.["image"] <- JsonValue.Create(Path.Combine(source, row.["image"].GetValue<string>()))
            row.["mesh"] <- JsonValue.Create(Path.GetFullPath(Path.Combine(source, row.["mesh"].GetValue<string>())))
            row)
    File.WriteAllLines(indexPath root, rewrite absolute)
    root

/// A copy of the fixture's index under a new root, rows changed by `edit` (row number,
/// object) -> text of the line.
let private editedIndex (dir: TempDir) (edit: int -> JsonObject -> string) =
    rewrittenIndex dir "edited" (Array.mapi edit)

let private loadError (root: string) =
    (Expect.catchT<IndexFileException> (fun () -> MultiView.load root "train" |> ignore) "load fails").Message

[<Tests>]
let tests =
    testList "MultiView" [
        test "batches: shapes, ranges, two different views of one object, cameras and images as in the index" {
            use _ = DisposalScope.Open()
            let set = train.Value
            Expect.isTrue (set.Count >= 4 && set.Views = 24 && set.Height = 64 && set.Width = 64) (sprintf "%d instances × %d views of %dx%d" set.Count set.Views set.Height set.Width)
            let index = rows benchmark.Value |> Array.filter (fun r -> r.["split"].GetValue<string>() = "train")
            let rowOf i v =
                let mine = index |> Array.filter (fun r -> r.["instance"].GetValue<string>() = MultiView.id set i)
                Expect.equal mine.Length 24 "rows of the instance"
                mine.[v]
            for b in MultiView.epoch set 7UL 2 0 do
                Expect.equal b.ImagesA.Shape [| 2; 4; 64; 64 |] "ImagesA shape"
                Expect.equal b.ImagesB.Shape [| 2; 4; 64; 64 |] "ImagesB shape"
                for t in [ b.AzimuthA; b.ElevationA; b.DistanceA; b.AzimuthB; b.ElevationB; b.DistanceB ] do
                    Expect.equal (t.Shape, t.Dtype) ([| 2 |], Float32) "camera tensors"
                let pixels = floats b.ImagesA
                Expect.isTrue (Array.forall (fun v -> v >= 0.0f && v <= 1.0f) pixels) "pixels in [0, 1]"
                Expect.isTrue (Array.exists (fun v -> v < 0.5f) pixels && Array.exists (fun v -> v = 1.0f) pixels) "an object on white"
                for k in 0 .. 1 do
                    let i, va, vb = b.Instances.[k], b.ViewsA.[k], b.ViewsB.[k]
                    Expect.notEqual va vb "two different views"
                    Expect.notEqual (floats b.ImagesA.[k]) (floats b.ImagesB.[k]) "two different images"
                    for v, az, el, d in [ va, b.AzimuthA, b.ElevationA, b.DistanceA; vb, b.AzimuthB, b.ElevationB, b.DistanceB ] do
                        let view = (rowOf i v).["view"]
                        let rad (name: string) = float32 (view.[name].GetValue<float>() * Math.PI / 180.0)
                        Expect.equal (floats az).[k] (rad "azimuth") "azimuth"
                        Expect.equal (floats el).[k] (rad "elevation") "elevation"
                        Expect.equal (floats d).[k] (float32 (view.["distance"].GetValue<float>())) "distance"
                        let deg (name: string) = view.[name].GetValue<float>() * Math.PI / 180.0
                        Expect.equal (MultiView.camera set i v) (deg "azimuth", deg "elevation", view.["distance"].GetValue<float>()) "camera"
                    // The batch's image is the file's RGBA, and the accessor's.
                    let file = Path.Combine(benchmark.Value, "multiview", (rowOf i va).["image"].GetValue<string>())
                    use raw = Image.readRaw Image.defaultMaxPixels false file
                    let expected = (raw.permute [| 2; 0; 1 |]).ToFloat32s() |> Array.map (fun x -> x / 255.0f)
                    Expect.equal (floats b.ImagesA.[k]) expected "pixels as in the file"
                    Expect.equal (floats (MultiView.image set i va)) expected "MultiView.image"
                Expect.equal (MultiView.meshPath set b.Instances.[0]) (Path.GetFullPath(Path.Combine(benchmark.Value, "models", DatasetRender.instanceStem (MultiView.id set b.Instances.[0]) + ".obj"))) "mesh path"
                Expect.isTrue (File.Exists(MultiView.meshPath set b.Instances.[0])) "the mesh exists"
                (b :> IDisposable).Dispose()
        }

        test "subsets, hidden cameras, and batches drawn with replacement from a set smaller than the batch" {
            use _ = DisposalScope.Open()
            let set = train.Value
            let pair = MultiView.subset set [| 3; 1 |]
            Expect.equal (pair.Count, MultiView.ids pair) (2, [| MultiView.id set 3; MultiView.id set 1 |]) "the chosen instances, in that order"
            Expect.equal (floats (MultiView.image pair 0 5)) (floats (MultiView.image set 3 5)) "the same images"
            Expect.equal (MultiView.camera pair 1 7) (MultiView.camera set 1 7) "the same cameras"
            let hidden = MultiView.withoutCameras pair
            for i in 0 .. 1 do
                for v in 0 .. pair.Views - 1 do
                    let az, el, d = MultiView.camera hidden i v
                    Expect.isTrue (Double.IsNaN az && Double.IsNaN el && Double.IsNaN d) "every camera hidden"
            Expect.equal (floats (MultiView.images hidden [| 1; 0 |] [| 2; 9 |])) (floats (Tensor.cat ([ MultiView.image set 1 2; MultiView.image set 3 9 ], 0))) "images still there"
            let drawn () = MultiView.drawnFrom pair 11UL 6 3 2 0 |> Array.ofSeq
            let first, again = drawn (), drawn ()
            Expect.equal first.Length 3 "the batches asked for"
            for b, c in Array.zip first again do
                sameBatch b c "replayed"
                Expect.isTrue (b.Instances |> Array.forall (fun i -> i = 0 || i = 1)) "instances of the set"
                Expect.isTrue (Array.forall2 (<>) b.ViewsA b.ViewsB) "two different views"
                Expect.equal (floats b.AzimuthA) (Array.map2 (fun i v -> let az, _, _ = MultiView.camera pair i v in float32 az) b.Instances b.ViewsA) "cameras of the drawn views"
            Expect.equal (first |> Array.collect (fun b -> b.Instances) |> Array.distinct |> Array.sort) [| 0; 1 |] "both objects drawn, with replacement"
            sameBatch (MultiView.drawnFrom pair 11UL 6 3 2 2 |> Seq.exactlyOne) first.[2] "batch 2 made alone"
            Expect.notEqual (MultiView.drawnFrom pair 11UL 6 3 3 0 |> Seq.head).ViewsA first.[0].ViewsA "another epoch draws anew"
        }

        test "concat: the sets one after the other, sharing images, cameras and meshes; another view count refused" {
            use _ = DisposalScope.Open()
            let set = train.Value
            let validation = MultiView.load benchmark.Value "val"
            let pair = MultiView.subset set [| 2; 0 |]
            let joined = MultiView.concat [ set; validation; pair ]
            let k, n = set.Count, validation.Count
            Expect.equal joined.Count (k + n + 2) "the counts add up"
            Expect.equal (MultiView.ids joined) (Array.concat [ MultiView.ids set; MultiView.ids validation; [| MultiView.id set 2; MultiView.id set 0 |] ]) "the ids in order"
            Expect.equal (floats (MultiView.image joined k 4)) (floats (MultiView.image validation 0 4)) "the second set's images"
            Expect.equal (MultiView.camera joined k 4) (MultiView.camera validation 0 4) "the second set's cameras"
            Expect.equal (MultiView.meshPath joined (k + n + 1)) (MultiView.meshPath set 0) "the third set's meshes"
            Expect.equal (MultiView.camera joined (k + n) 9) (MultiView.camera set 2 9) "the third set's cameras"
            Expect.equal (MultiView.batchesPerEpoch joined 2) ((k + n + 2) / 2) "batches over the whole"
            use dir = new TempDir()
            let fewerViews =
                rewrittenIndex dir "fewer" (fun all ->
                    all |> Array.filter (fun row -> not (row.["image"].GetValue<string>().EndsWith "view_23.png")) |> Array.map (fun row -> row.ToJsonString()))
            let other = MultiView.load fewerViews "train"
            Expect.equal other.Views 23 "the edited index has 23 views"
            let error = Expect.catchT<ArgumentException> (fun () -> MultiView.concat [ set; other ] |> ignore) "other views refused"
            Expect.stringContains error.Message "23 views" "names the count"
            Expect.stringContains error.Message (indexPath fewerViews) "names the index"
        }

        test "the order and the views are a function of (seed, epoch); batch k of an epoch can be made alone" {
            use _ = DisposalScope.Open()
            let set = train.Value
            let n = MultiView.batchesPerEpoch set 2
            Expect.equal n (set.Count / 2) "the incomplete batch is dropped"
            let first = MultiView.epoch set 7UL 2 3 |> List.ofSeq
            let again = MultiView.epoch set 7UL 2 3 |> List.ofSeq
            Expect.equal first.Length n "batches per epoch"
            List.iter2 (fun a b -> sameBatch a b "replay") first again
            let instances (bs: MultiView.Batch list) = bs |> List.collect (fun b -> List.ofArray b.Instances)
            Expect.equal (instances first |> List.distinct).Length (2 * n) "each instance at most once per epoch"
            let next = MultiView.epoch set 7UL 2 4 |> List.ofSeq
            let views (bs: MultiView.Batch list) = bs |> List.collect (fun b -> List.ofArray b.ViewsA @ List.ofArray b.ViewsB)
            Expect.notEqual (instances next) (instances first) "another epoch, another order"
            Expect.notEqual (views next) (views first) "another epoch, other views"
            let otherSeed = MultiView.epoch set 8UL 2 3 |> List.ofSeq
            Expect.notEqual (views otherSeed) (views first) "another seed, other views"
            for k in 0 .. n - 1 do
                sameBatch (MultiView.batch set 7UL 2 3 k) first.[k] (sprintf "batch %d" k)
            let resumed = MultiView.epochFrom set 7UL 2 3 1 |> List.ofSeq
            Expect.equal resumed.Length (n - 1) "epochFrom 1: the rest of the epoch"
            List.iter2 (fun a b -> sameBatch a b "resumed") resumed (List.tail first)
            let e = Expect.catchT<ArgumentException> (fun () -> MultiView.batch set 7UL 2 3 n |> ignore) "index past the epoch"
            Expect.stringContains e.Message "MultiView.batch" "names the function"
            Expect.catchT<ArgumentException> (fun () -> MultiView.epoch set 7UL (set.Count + 1) 0 |> ignore) "batch larger than the split" |> ignore
        }

        testSequenced <| test "prefetch yields the same batches; memory stays flat over many batches" {
            let set = train.Value
            let live = settledLiveCount ()
            do
                use _ = DisposalScope.Open()
                let direct = MultiView.epoch set 1UL 2 0 |> List.ofSeq
                let fetched = MultiView.prefetch 2 (MultiView.epoch set 1UL 2 0) |> List.ofSeq
                Expect.equal fetched.Length direct.Length "as many batches"
                List.iter2 (fun a b -> sameBatch a b "prefetched") fetched direct
                // Leaving early frees what the worker made ahead.
                for _ in MultiView.prefetch 3 (MultiView.epoch set 1UL 2 1) |> Seq.truncate 1 do ()
            Expect.equal (settledLiveCount ()) live "the scope freed every batch"
            for epoch in 0 .. 30 do
                for b in MultiView.prefetch 2 (MultiView.epoch set 2UL 2 epoch) do
                    (b :> IDisposable).Dispose()
            Expect.equal (settledLiveCount ()) live "flat after 31 epochs of disposed batches"
        }

        test "a missing or malformed index, a row without a field, a missing image: one line naming the file and line" {
            use dir = new TempDir()
            let missing = loadError (dir.File "nothing")
            Expect.stringContains missing (indexPath (dir.File "nothing")) "names the index"
            Expect.stringContains missing "not found" "says what"
            let check (message: string) (root: string) (line: int) (what: string) =
                Expect.stringStarts message (sprintf "%s:%d: " (indexPath root) line) "file:line first"
                Expect.stringContains message what "says what is wrong"
                Expect.isFalse (message.Contains '\n') "one line"
            let broken = editedIndex dir (fun k row -> if k = 3 then "{ not json" else row.ToJsonString())
            check (loadError broken) broken 4 "not valid JSON"
            let noView = editedIndex dir (fun k row -> (if k = 5 then row.Remove "view" |> ignore); row.ToJsonString())
            check (loadError noView) noView 6 "\"mesh\" without \"view\""
            let noAzimuth = editedIndex dir (fun k row -> (if k = 2 then row.["view"].AsObject().Remove "azimuth" |> ignore); row.ToJsonString())
            check (loadError noAzimuth) noAzimuth 3 "\"view.azimuth\""
            let firstTrain = rows benchmark.Value |> Array.findIndex (fun r -> r.["split"].GetValue<string>() = "train")
            let lost = dir.File "lost.png"
            let noImage = editedIndex dir (fun k row -> (if k = firstTrain + 1 then row.["image"] <- JsonValue.Create lost); row.ToJsonString())
            let message = loadError noImage
            check message noImage (firstTrain + 2) lost
            let e = Expect.catchT<IndexFileException> (fun () -> MultiView.load benchmark.Value "nosuchsplit" |> ignore) "unknown split"
            Expect.stringContains e.Message "no rows of split \"nosuchsplit\"" "says which split"
        }
    ]
