/// Dataset renders: determinism for a seed, the JSONL index read back by the loader, and the
/// multi-view protocol's RGBA images.
module Reconstruct.Tests.DatasetRenderTests

open System
open System.IO
open Xunit
open Reconstruct.Torch
open Reconstruct.Data

let private tempDir () =
    let d = Path.Combine(Path.GetTempPath(), "rc-render-" + Guid.NewGuid().ToString("N"))
    Directory.CreateDirectory d |> ignore
    d

let private instances dir =
    Procedural.generate "chair" 3UL 2
    |> List.mapi (fun k m -> DatasetRender.instance m "chair" "train" (Path.Combine(dir, sprintf "gt%d.obj" k)))

/// Every file under `dir` with its bytes, by relative path.
let private snapshot (dir: string) =
    Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
    |> Array.sort
    |> Array.map (fun f -> Path.GetRelativePath(dir, f), File.ReadAllBytes f)

[<Fact>]
let ``wild renders are deterministic for a seed and differ for another`` () =
    let a, b, c = tempDir (), tempDir (), tempDir ()
    try
        let render dir seed = DatasetRender.renderDataset dir (DatasetRender.Wild 64) seed 3 (instances dir)
        Assert.Equal(6, render a 5)
        Assert.Equal(6, render b 5)
        Assert.Equal(6, render c 6)
        let sa, sb, sc = snapshot a, snapshot b, snapshot c
        Assert.Equal(sa.Length, sb.Length)
        for (na, ba), (nb, bb) in Array.zip sa sb do
            Assert.Equal(na, nb)
            Assert.True((ba = bb), sprintf "%s differs between two renders with the same seed" na)
        let differing = Array.zip sa sc |> Array.filter (fun ((_, x), (_, y)) -> x <> y)
        Assert.NotEmpty differing
    finally
        for d in [ a; b; c ] do Directory.Delete(d, true)

[<Fact>]
let ``the index reads back through the loader with the rendered views`` () =
    let dir = tempDir ()
    try
        let n = DatasetRender.renderDataset dir (DatasetRender.Wild 64) 1 4 (instances dir)
        let index = Path.Combine(dir, "wild64", "index.jsonl")
        let items = Loader.ofIndex index
        Assert.Equal(n, items.Length)
        for item in items do
            let row = item.Row.Value.Json
            let view = row.GetProperty "view"
            let elevation = view.GetProperty("elevation").GetDouble()
            Assert.InRange(elevation, -10.0, 40.0)
            Assert.InRange(abs (view.GetProperty("roll").GetDouble()), 0.0, 10.0)
            Assert.Equal("chair", row.GetProperty("category").GetString())
            Assert.True(File.Exists item.Path, item.Path)
        let loader = Loader.create { LoaderOptions.Defaults with Height = 64; Width = 64; BatchSize = 4; Shuffle = false } items
        let batches = Loader.epoch 0 loader |> Seq.toList
        Assert.Equal(n, batches |> List.sumBy (fun b -> b.Items.Length))
        Assert.Empty loader.Failures
        for b in batches do (b :> IDisposable).Dispose()
    finally
        Directory.Delete(dir, true)

[<Fact>]
let ``multi-view renders 24 RGBA views with the object in the centre on white`` () =
    let dir = tempDir ()
    try
        let n = DatasetRender.renderDataset dir DatasetRender.MultiView 0 0 (instances dir |> List.truncate 1)
        Assert.Equal(24, n)
        let files = Directory.GetFiles(Path.Combine(dir, "multiview"), "*.png", SearchOption.AllDirectories)
        Assert.Equal(24, files.Length)
        for f in files do
            use scope = DisposalScope.Open()
            let rgba = Image.loadRgba f
            Assert.Equal<int[]>([| 4; 64; 64 |], rgba.Shape)
            let alpha = rgba.[3]
            Assert.Equal(0.0, alpha.[0].[0].ToScalar())
            Assert.True(alpha.[32].[32].ToScalar() > 0.5, sprintf "%s: no object at the centre" f)
            // Background pixels are white.
            Assert.Equal(1.0, rgba.[0].[0].[0].ToScalar(), 2)
    finally
        Directory.Delete(dir, true)
