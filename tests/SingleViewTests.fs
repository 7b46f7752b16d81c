/// The single-view training data of UNICORN: samples per protocol against the index, RGBA on
/// white, bad images skipped, batches without view information, replay from (seed, epoch).
module Reconstruct.Tests.SingleViewTests

open System
open System.IO
open System.Text.Json.Nodes
open System.Threading
open Microsoft.FSharp.Reflection
open Expecto
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Tests.TestHelpers

let private wildViews = 3

/// One small procedural benchmark (multi-view and wild 64 with three views per instance) for
/// the whole file, removed when the process ends.
let private benchmark =
    lazy
        (let dir = processTempDir ()
         let root = Path.Combine(dir, "chair")
         let options: DatasetRender.BenchmarkOptions = { Protocols = [ DatasetRender.MultiView; DatasetRender.Wild 64 ]; Seed = 3UL; WildViews = wildViews }
         DatasetRender.writeBenchmark root options CancellationToken.None ignore (DatasetRender.proceduralInstances "chair" 3UL 8) |> ignore
         root)

let private protocol (name: string) = Path.Combine(benchmark.Value, name)
let private multiTrain = lazy (SingleView.load (protocol "multiview") "train")
let private wildTrain = lazy (SingleView.load (protocol "wild64") "train")

/// The index rows of `split`, in file order.
let private rowsOf (name: string) (split: string) =
    File.ReadAllLines(Path.Combine(protocol name, "index.jsonl"))
    |> Array.map (fun l -> JsonNode.Parse(l).AsObject())
    |> Array.filter (fun r -> r.["split"].GetValue<string>() = split)

let private text (row: JsonObject) (name: string) = row.[name].GetValue<string>()
let private floats (t: Tensor) = t.ToFloat32s()

let private sameBatch (a: SingleView.Batch) (b: SingleView.Batch) (what: string) =
    Expect.equal (a.Samples, a.Epoch, a.Index) (b.Samples, b.Epoch, b.Index) (what + ": samples, position")
    Expect.equal (floats a.Images) (floats b.Images) (what + ": images")

[<Tests>]
let tests =
    testList "SingleView" [
        test "counts per protocol: every row of the split is a sample; instances, size, index" {
            for name, views in [ "multiview", 24; "wild64", wildViews ] do
                for split in [ "train"; "test" ] do
                    let rows = rowsOf name split
                    let set = SingleView.load (protocol name) split
                    let instances = rows |> Array.map (fun r -> text r "instance") |> Array.distinct
                    Expect.isTrue (instances.Length >= 1) (sprintf "%s %s: instances in the fixture" name split)
                    Expect.equal (set.Count, set.Instances) (views * instances.Length, instances.Length) (sprintf "%s %s: samples and instances" name split)
                    Expect.equal (set.Height, set.Width, set.Split, set.Failures) (64, 64, split, []) (sprintf "%s %s: size, split, no failures" name split)
                    Expect.equal set.Index (Path.GetFullPath(Path.Combine(protocol name, "index.jsonl"))) "the index read"
                    // Split filtering: the samples are the split's rows, in order.
                    Expect.equal (Array.init set.Instances (SingleView.id set)) instances (sprintf "%s %s: the split's instances" name split)
                    Expect.equal (Array.init set.Count (fun s -> SingleView.id set (SingleView.instanceOf set s))) (rows |> Array.map (fun r -> text r "instance")) "sample k is row k of the split"
            let e = Expect.catchT<IndexFileException> (fun () -> SingleView.load (protocol "multiview") "nosuchsplit" |> ignore) "unknown split"
            Expect.stringContains e.Message "no rows of split \"nosuchsplit\"" "says which split"
        }

        test "RGBA images are composited on white exactly; RGB images are the file's bytes" {
            use _ = DisposalScope.Open()
            let check (set: SingleView.Set) (name: string) (sample: int) =
                let file = Path.Combine(protocol name, text (rowsOf name "train").[sample] "image")
                use raw = Image.readRaw Image.defaultMaxPixels false file
                let h, w, c = raw.Shape.[0], raw.Shape.[1], raw.Shape.[2]
                let bytes = raw.ToArray<byte>()
                let expected =
                    Array.init (3 * h * w) (fun k ->
                        let channel, p = k / (h * w), k % (h * w)
                        let value = float bytes.[p * c + channel] / 255.0
                        let alpha = if c = 4 then float bytes.[p * c + 3] / 255.0 else 1.0
                        float32 (Math.Round((value * alpha + 1.0 - alpha) * 255.0)) / 255.0f)
                let image = SingleView.image set sample
                Expect.equal image.Shape [| 1; 3; 64; 64 |] "image shape"
                Expect.equal (floats image) expected (sprintf "%s sample %d: over white" name sample)
                c, bytes
            let c, bytes = check multiTrain.Value "multiview" 5
            Expect.equal c 4 "multi-view files are RGBA"
            let alphas = Array.init (bytes.Length / 4) (fun p -> bytes.[4 * p + 3])
            Expect.isTrue (Array.exists (fun a -> a = 0uy) alphas && Array.exists (fun a -> a > 0uy && a < 255uy) alphas) "empty and partly covered pixels, so the composite matters"
            let c, _ = check wildTrain.Value "wild64" 1
            Expect.equal c 3 "wild files are RGB"
        }

        test "a corrupt or missing image is reported and left out; the rest loads; a garbage index is one line" {
            use dir = new TempDir()
            let source = protocol "multiview"
            let root = dir.File "edited"
            Directory.CreateDirectory root |> ignore
            let rows = File.ReadAllLines(Path.Combine(source, "index.jsonl")) |> Array.map (fun l -> JsonNode.Parse(l).AsObject())
            let train = rows |> Array.indexed |> Array.filter (fun (_, r) -> text r "split" = "train") |> Array.map fst
            let corrupt, lost = dir.File "corrupt.png", dir.File "lost.png"
            let png = File.ReadAllBytes(Path.Combine(source, text rows.[train.[1]] "image"))
            File.WriteAllBytes(corrupt, Array.append png.[.. 40] (Array.create 64 0x5Auy))
            let lines =
                rows
                |> Array.mapi (fun k row ->
                    let image = if k = train.[1] then corrupt elif k = train.[4] then lost else Path.Combine(source, text row "image")
                    row.["image"] <- JsonValue.Create image
                    row.["mesh"] <- JsonValue.Create(Path.GetFullPath(Path.Combine(source, text row "mesh")))
                    row.ToJsonString())
            File.WriteAllLines(Path.Combine(root, "index.jsonl"), lines)
            let set = SingleView.load root "train"
            Expect.equal (set.Failures |> List.map fst) [ corrupt; lost ] "both reported, in index order"
            for _, reason in set.Failures do Expect.isFalse (String.IsNullOrWhiteSpace reason) "with a reason"
            Expect.equal set.Count (multiTrain.Value.Count - 2) "the rest loads"
            use _ = DisposalScope.Open()
            Expect.equal (floats (SingleView.image set 1)) (floats (SingleView.image multiTrain.Value 2)) "the sample after the corrupt one is the next image"
            Expect.equal (SingleView.samplesOfView set 1).Length (set.Instances - 1) "no view 1 for the instance whose image failed"
            File.WriteAllLines(Path.Combine(root, "index.jsonl"), Array.append lines.[.. 2] [| "{ not json" |])
            let e = Expect.catchT<IndexFileException> (fun () -> SingleView.load root "train" |> ignore) "garbage index"
            Expect.stringStarts e.Message (sprintf "%s:4: " (Path.GetFullPath(Path.Combine(root, "index.jsonl")))) "file:line"
            Expect.isFalse (e.Message.Contains '\n') "one line"
            let missing = Expect.catchT<IndexFileException> (fun () -> SingleView.load (dir.File "nothing") "train" |> ignore) "no index"
            Expect.stringContains missing.Message "not found" "says what"
        }

        test "a batch holds the images and nothing else the model could use" {
            use _ = DisposalScope.Open()
            let fields = FSharpType.GetRecordFields(typeof<SingleView.Batch>) |> Array.map (fun p -> p.Name)
            Expect.equal fields [| "Images"; "Samples"; "Epoch"; "Index" |] "exactly these fields"
            let set = multiTrain.Value
            let b = SingleView.batch set 7UL 5 2 1
            Expect.equal (b.Images.Shape, b.Images.Dtype, b.Epoch, b.Index) ([| 5; 3; 64; 64 |], Float32, 2, 1) "shape, dtype, position"
            for k in 0 .. 4 do
                Expect.equal (floats b.Images.[k]) (floats (SingleView.image set b.Samples.[k])) "the sample's image"
            let pixels = floats b.Images
            Expect.isTrue (Array.forall (fun v -> v >= 0.0f && v <= 1.0f) pixels) "in [0, 1]"
        }

        test "the epoch order is a function of (seed, epoch), every sample once; batch k and epochFrom replay it" {
            use _ = DisposalScope.Open()
            let set = multiTrain.Value
            let batchSize = 8
            let n = SingleView.batchesPerEpoch set batchSize
            Expect.equal n (set.Count / batchSize) "batches per epoch"
            let first = SingleView.epochFrom set 7UL batchSize 3 0 |> List.ofSeq
            let samples (bs: SingleView.Batch list) = bs |> List.collect (fun b -> List.ofArray b.Samples)
            Expect.equal (samples first |> List.sort) [ 0 .. set.Count - 1 ] "every sample once (the batch size divides the count)"
            List.iter2 (fun a b -> sameBatch a b "replay") first (SingleView.epochFrom set 7UL batchSize 3 0 |> List.ofSeq)
            Expect.notEqual (samples (SingleView.epochFrom set 7UL batchSize 4 0 |> List.ofSeq)) (samples first) "another epoch, another order"
            Expect.notEqual (samples (SingleView.epochFrom set 8UL batchSize 3 0 |> List.ofSeq)) (samples first) "another seed, another order"
            for k in [ 0; 5; n - 1 ] do
                sameBatch (SingleView.batch set 7UL batchSize 3 k) first.[k] (sprintf "batch %d alone" k)
            let resumed = SingleView.epochFrom set 7UL batchSize 3 2 |> List.ofSeq
            Expect.equal resumed.Length (n - 2) "the rest of the epoch"
            List.iter2 (fun a b -> sameBatch a b "resumed") resumed (List.skip 2 first)
            let odd = SingleView.epochFrom set 7UL 7 0 0 |> List.ofSeq
            Expect.equal (samples odd |> List.distinct).Length (7 * (set.Count / 7)) "the partial batch dropped, no sample twice"
            let e = Expect.catchT<ArgumentException> (fun () -> SingleView.batch set 7UL batchSize 3 n |> ignore) "index past the epoch"
            Expect.stringContains e.Message "SingleView.batch" "names the function"
            Expect.catchT<ArgumentException> (fun () -> SingleView.epochFrom set 7UL (set.Count + 1) 0 0 |> ignore) "batch larger than the split" |> ignore
        }

        test "view is the row's camera; samplesOfView picks one sample per instance" {
            let set = wildTrain.Value
            let rows = rowsOf "wild64" "train"
            for s in 0 .. set.Count - 1 do
                let v = rows.[s].["view"]
                let number (name: string) = v.[name].GetValue<float>()
                let expected: DatasetRender.View =
                    { Azimuth = number "azimuth"; Elevation = number "elevation"; Roll = number "roll"; Distance = number "distance"
                      Scale = number "scale"; ShiftX = v.["shift"].[0].GetValue<float>(); ShiftY = v.["shift"].[1].GetValue<float>() }
                Expect.equal (SingleView.view set s) expected (sprintf "sample %d" s)
                let i = SingleView.instanceOf set s
                Expect.equal (SingleView.meshPath set i) (Path.GetFullPath(Path.Combine(protocol "wild64", text rows.[s] "mesh"))) "mesh path"
            Expect.isTrue (Array.init set.Count (SingleView.view set) |> Array.distinctBy (fun v -> v.Azimuth) |> Array.length = set.Count) "random views"
            let multi = multiTrain.Value
            for set, viewIndex, azimuth in [ multi, 5, Some 75.0; multi, 23, Some 345.0; set, wildViews - 1, None ] do
                let picked = SingleView.samplesOfView set viewIndex
                Expect.equal (picked |> Array.map (SingleView.instanceOf set)) [| 0 .. set.Instances - 1 |] "one sample per instance, in instance order"
                match azimuth with
                | Some a -> for s in picked do Expect.floatClose Accuracy.high (SingleView.view set s).Azimuth a "the fixed view"
                | None -> ()
            Expect.equal (SingleView.samplesOfView multi 24) [||] "no 25th view"
        }

        testSequenced <| test "prefetch yields the same batches; memory stays flat" {
            let set = wildTrain.Value
            let live = settledLiveCount ()
            do
                use _ = DisposalScope.Open()
                let direct = SingleView.epochFrom set 1UL 2 0 0 |> List.ofSeq
                let fetched = SingleView.prefetch 2 (SingleView.epochFrom set 1UL 2 0 0) |> List.ofSeq
                List.iter2 (fun a b -> sameBatch a b "prefetched") fetched direct
                Expect.equal fetched.Length direct.Length "as many batches"
            for epoch in 0 .. 10 do
                for b in SingleView.prefetch 2 (SingleView.epochFrom set 2UL 2 epoch 0) do
                    (b :> IDisposable).Dispose()
            Expect.equal (settledLiveCount ()) live "flat"
        }
    ]
