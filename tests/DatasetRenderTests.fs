/// Dataset renders: determinism for a seed, the JSONL index read back by the loader, the
/// multi-view protocol's RGBA images, and the fused render against the composed one.
module Reconstruct.Tests.DatasetRenderTests

open System
open System.IO
open Expecto
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Tests.TestHelpers

let private instances () = DatasetRender.proceduralInstances "chair" 3UL 2

/// Writes a benchmark of one protocol into `dir`; returns the number of images.
let private renderDataset (dir: string) (protocol: DatasetRender.Protocol) (seed: uint64) (views: int) (instances: seq<DatasetRender.Instance>) =
    let summary = DatasetRender.writeBenchmark dir { Protocols = [ protocol ]; Seed = seed; WildViews = views } Threading.CancellationToken.None ignore instances
    summary.Images |> List.sumBy snd

[<Tests>]
let tests =
    testList "DatasetRender" [
        test "wild renders are deterministic for a seed and differ for another" {
            let a, b, c = tempDir (), tempDir (), tempDir ()
            try
                let render dir seed = renderDataset dir (DatasetRender.Wild 64) seed 3 (instances ())
                Expect.equal (render a 5UL) 6 "render a 5UL"
                Expect.equal (render b 5UL) 6 "render b 5UL"
                Expect.equal (render c 6UL) 6 "render c 6UL"
                let sa, sb, sc = snapshot a, snapshot b, snapshot c
                Expect.equal sb.Length sa.Length "sb.Length"
                for (na, ba), (nb, bb) in Array.zip sa sb do
                    Expect.equal nb na "nb"
                    Expect.isTrue (ba = bb) (sprintf "%s differs between two renders with the same seed" na)
                let differing = Array.zip sa sc |> Array.filter (fun ((_, x), (_, y)) -> x <> y)
                Expect.isNonEmpty differing "differing"
            finally
                for d in [ a; b; c ] do Directory.Delete(d, true)
        }

        test "writeOnce writes a missing benchmark once, under the lock beside it, and skips a complete one" {
            use dir = new TempDir()
            let root = dir.File "cache/chair"
            let mutable writes = 0
            let write () =
                writes <- writes + 1
                renderDataset root DatasetRender.MultiView 3UL 1 (instances ()) |> ignore
            DatasetRender.writeOnce root ignore write
            Expect.equal writes 1 "a missing benchmark is written"
            DatasetRender.writeOnce root ignore write
            Expect.equal writes 1 "a complete one (its benchmark.json) is not written again"
            File.Delete(Path.Combine(root, "benchmark.json"))
            // While another holder has the lock, the write waits for it.
            let mutable waited = false
            use entered = new Threading.ManualResetEventSlim()
            let holder =
                Threading.Tasks.Task.Run(fun () ->
                    Files.withLock (dir.File "cache/.chair.lock") ignore (fun () ->
                        entered.Set()
                        Threading.Thread.Sleep 500))
            entered.Wait()
            DatasetRender.writeOnce root (fun () -> waited <- true) write
            holder.Wait()
            Expect.isTrue waited "the lock beside the benchmark was held: it said it waits"
            Expect.equal writes 2 "then wrote the incomplete benchmark"
        }

        test "the index reads back through the loader with the rendered views" {
            let dir = tempDir ()
            try
                let n = renderDataset dir (DatasetRender.Wild 64) 1UL 4 (instances ())
                let index = Path.Combine(dir, "wild64", "index.jsonl")
                let items = Loader.ofIndex index
                Expect.equal items.Length n "items.Length"
                for item in items do
                    let row = item.Row.Value.Json
                    let view = row.GetProperty "view"
                    let elevation = view.GetProperty("elevation").GetDouble()
                    Expect.isInRange elevation (-10.0) 40.0 "elevation"
                    Expect.isInRange (abs (view.GetProperty("roll").GetDouble())) 0.0 10.0 "abs (view.GetProperty(\"roll\").GetDouble())"
                    Expect.equal (row.GetProperty("category").GetString()) "chair" "row.GetProperty(\"category\").GetString()"
                    Expect.isTrue (File.Exists item.Path) item.Path
                let loader = Loader.create { LoaderOptions.Defaults with Height = 64; Width = 64; BatchSize = 4; Shuffle = false } items
                let batches = Loader.epoch 0 loader |> Seq.toList
                Expect.equal (batches |> List.sumBy (fun b -> b.Items.Length)) n "batches |> List.sumBy (fun b -> b.Items.Length)"
                Expect.isEmpty loader.Failures "loader.Failures"
                for b in batches do (b :> IDisposable).Dispose()
            finally
                Directory.Delete(dir, true)
        }

        test "multi-view renders 24 RGBA views with the object in the centre on white" {
            let dir = tempDir ()
            try
                let n = renderDataset dir DatasetRender.MultiView 0UL 0 (instances () |> Seq.truncate 1)
                Expect.equal n 24 "n"
                let files = Directory.GetFiles(Path.Combine(dir, "multiview"), "*.png", SearchOption.AllDirectories)
                Expect.equal files.Length 24 "files.Length"
                for f in files do
                    use scope = DisposalScope.Open()
                    let rgba = Image.loadRgba f
                    Expect.equal rgba.Shape [| 4; 64; 64 |] "rgba.Shape"
                    let alpha = rgba.[3]
                    Expect.equal (alpha.[0].[0].ToScalar()) 0.0 "alpha.[0].[0].ToScalar()"
                    Expect.isTrue (alpha.[32].[32].ToScalar() > 0.5) (sprintf "%s: no object at the centre" f)
                    // Background pixels are white.
                    Expect.equalRounded 2 (rgba.[0].[0].[0].ToScalar()) 1.0 "rgba.[0].[0].[0].ToScalar()"
            finally
                Directory.Delete(dir, true)
        }

        /// Both renders take their fragments from the same native traversal (rc_raster_topk's with

        /// K = 1), so coverage is identical and alpha must match bit for bit: no edge pixel can differ

        /// by a float tie. The colours differ only by float rounding (the kernel takes the face normal

        /// in float64, bilinear weights are formed in another order), an ulp or two of values in

        /// [0, 1] (1.5e-7 at most when written): bound 1e-6 per channel, 1e-8 on the mean.
        test "the fused render equals the composed render at several views, sizes and backgrounds" {
            let chair = Procedural.generate "chair" 5UL 1 |> List.head
            try
                let rng = SplitMix64 4UL
                let views = Array.append [| for az in [ 0.0; 75.0; 210.0 ] -> DatasetRender.nmrView az |] (Array.init 3 (fun _ -> DatasetRender.wildView rng))
                for size in [ 64; 128 ] do
                    use scope = DisposalScope.Open()
                    use g = generator (size + 1)
                    let background = Tensor.rand ([ views.Length; 3; size; size ], g)
                    let image, alpha = DatasetRender.render size chair views background
                    let imageRef, alphaRef = DatasetRender.renderComposed size chair views background
                    Expect.equal image.Shape [| views.Length; 3; size; size |] "image.Shape"
                    Expect.equal alpha.Shape [| views.Length; 1; size; size |] "alpha.Shape"
                    Expect.equal (alpha.ToFloat32s()) (alphaRef.ToFloat32s()) "alpha.ToFloat32s()"
                    let diff = (image - imageRef).abs ()
                    let worst, mean = diff.max().ToScalar(), diff.mean().ToScalar()
                    Expect.isTrue (worst < 1e-6 && mean < 1e-8) (sprintf "size %d: max |fused - composed| = %g, mean %g" size worst mean)
                    // the views exercise what the bound claims: covered, edge and background pixels,
                    // and the background shows through where nothing covers
                    let a = alphaRef.ToFloat32s()
                    Expect.isTrue (a |> Array.exists (fun x -> x = 1.0f)) "no covered pixel"
                    Expect.isTrue (a |> Array.exists (fun x -> x > 0.0f && x < 1.0f)) "no edge pixel"
                    let empty = (alphaRef.eq 0.0).expand [ views.Length; 3; size; size ]
                    Expect.isTrue ((image.maskedSelect(empty) - background.maskedSelect(empty)).abs().max().ToScalar() = 0.0) "(image.maskedSelect(empty) - background.maskedSelect(empty)).abs().ma..."
            finally
                (chair :> IDisposable).Dispose()
        }

        test "render names a background of the wrong shape" {
            let chair = Procedural.generate "chair" 5UL 1 |> List.head
            try
                use background = Tensor.ones [ 2; 3; 32; 32 ]
                let e = Expect.catchT<ArgumentException> (fun () -> DatasetRender.render 64 chair (Array.init 2 (fun k -> DatasetRender.nmrView (15.0 * float k))) background |> ignore) "DatasetRender.render 64 chair (Array.init 2 (fun k -> DatasetRender.n..."
                Expect.stringContains e.Message "background must have shape [2; 3; 64; 64]" "e.Message"
            finally
                (chair :> IDisposable).Dispose()
        }

        test "procedural instances split 70/10/20 and their index rows name ground truth that reads back" {
            let dir = tempDir ()
            try
                let splits =
                    [ for i in DatasetRender.proceduralInstances "car" 9UL 10 ->
                          (i.Mesh :> IDisposable).Dispose()
                          i.Mesh.Info.Id, i.Split ]
                let count split = splits |> List.filter (fun (_, s) -> s = split) |> List.length
                Expect.equal (count "train", count "val", count "test") (7, 1, 2) "(count \"train\", count \"val\", count \"test\")"
                // the same splits as the real models' rule, for the same ids and seed
                let expected = Splits.assign 9UL (splits |> List.map fst) |> Map.ofArray
                for id, split in splits do Expect.equal split expected.[id].Name "split"
                let n = renderDataset dir (DatasetRender.Wild 64) 3UL 2 (DatasetRender.proceduralInstances "car" 9UL 10)
                let root = Path.Combine(dir, "wild64")
                let items = Loader.ofIndex (Path.Combine(root, "index.jsonl"))
                Expect.equal items.Length n "items.Length"
                let index = Map.ofList [ for k in 0..9 -> Procedural.id "car" 9UL k, k ]
                for item in items do
                    let row = item.Row.Value.Json
                    let id = row.GetProperty("instance").GetString()
                    Expect.equal (row.GetProperty("split").GetString()) expected.[id].Name "split in the index"
                    let obj = Path.GetFullPath(Path.Combine(root, row.GetProperty("mesh").GetString()))
                    use mesh = Procedural.mesh "car" 9UL index.[id]
                    let back = TexturedMesh.readObjArrays obj
                    // the written ground truth is the rendered mesh: same faces, same vertices
                    Expect.equal (back.Faces.Length / 3) (mesh.Faces.Size 0) "back.Faces.Length / 3"
                    assertClose 1e-5 0.0 (mesh.Vertices.ToFloat32s() |> Array.map float) (back.Positions |> Array.map float)
            finally
                Directory.Delete(dir, true)
        }

        test "a view's shift moves the silhouette right (x) and down (y) by its projection" {
            use scope = DisposalScope.Open()
            let vase = Procedural.generate "vase" 4UL 1 |> List.head
            let centroid (view: DatasetRender.View) =
                let _, alpha = DatasetRender.render 64 vase [| view |] (Tensor.ones [ 1; 3; 64; 64 ])
                let a = alpha.ToFloat32s() |> Array.map float
                let total = Array.sum a
                let mean f = (a |> Array.mapi (fun k w -> w * f k) |> Array.sum) / total
                mean (fun k -> float (k % 64)), mean (fun k -> float (k / 64))
            let still = DatasetRender.nmrView 30.0
            let x0, y0 = centroid still
            let xr, yr = centroid { still with ShiftX = 0.1 }
            let xd, yd = centroid { still with ShiftY = 0.1 }
            // 0.1 at the object's depth (about the distance) spans 0.1 f / d pixels, f = 32 / tan 15°
            let expected = 0.1 * (32.0 / tan (DatasetRender.fovDegrees / 2.0 * Math.PI / 180.0)) / still.Distance
            Expect.isInRange (xr - x0) (0.85 * expected) (1.15 * expected) "xr - x0"
            Expect.isInRange (abs (yr - y0)) 0.0 0.3 "abs (yr - y0)"
            Expect.isInRange (yd - y0) (0.85 * expected) (1.15 * expected) "yd - y0"
            Expect.isInRange (abs (xd - x0)) 0.0 0.3 "abs (xd - x0)"
            (vase :> IDisposable).Dispose()
        }
    ]
