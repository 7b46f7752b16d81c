/// A user's own photographs as a training set: `Photos.import` (squared, resized, reported,
/// split, written as a whole), the loaders' view of images without ground truth, and the
/// README's flow `reconstruct data --photos` -> `train unicorn --photos` -> `predict` -> `report`.
module Reconstruct.Tests.PhotosTests

open System
open System.IO
open System.Text.Json
open System.Threading
open Expecto
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Tests.TestHelpers

/// A photo of smooth colours, `width` × `height`, as PNG or JPEG.
let private writePhoto (path: string) (width: int) (height: int) (seed: uint64) =
    use _ = DisposalScope.Open()
    use g = new Generator(seed)
    let coarse = Tensor.rand ([ 1; 3; 4; 4 ], g)
    Image.save path (Image.resizeWith ResizeMode.Bilinear (height, width) coarse).[0]

/// `count` photos of several sizes and formats, and the files a real folder also holds.
let private photoFolder (dir: string) (count: int) =
    let folder = Directory.CreateDirectory(Path.Combine(dir, "my chairs é")).FullName
    for k in 0 .. count - 1 do
        let name = sprintf "photo %02d.%s" k (if k % 3 = 0 then "jpg" else "png")
        writePhoto (Path.Combine(folder, name)) (40 + 7 * k) (90 - 3 * k) (uint64 k)
    File.WriteAllText(Path.Combine(folder, "notes.txt"), "where I took them")
    File.WriteAllBytes(Path.Combine(folder, "cut.png"), (File.ReadAllBytes(Path.Combine(folder, "photo 01.png"))).[.. 50])
    writePhoto (Path.Combine(folder, "thumb.png")) 8 8 99UL
    File.WriteAllText(Path.Combine(folder, ".hidden.png"), "skipped")
    folder

let private rowsOf (dataset: string) =
    File.ReadAllLines(Path.Combine(dataset, "index.jsonl")) |> Array.map (fun l -> JsonDocument.Parse(l).RootElement)

[<Tests>]
let tests =
    testList "Photos" [
        test "import squares and resizes every photo, reports the files it cannot use, and splits 90/10" {
            use dir = new TempDir()
            let source = photoFolder dir.Path 12
            let out = dir.File "datasets/chairs"
            let s = Photos.import source out "chair" 64 42UL CancellationToken.None ignore
            Expect.equal (s.Train, s.Val) (11, 1) "12 photos: 11 train, 1 val"
            Expect.equal (s.Failures |> List.map (fst >> Path.GetFileName)) [ "cut.png"; "notes.txt"; "thumb.png" ] "the bad files, in name order"
            Expect.stringContains (snd s.Failures.[2]) "at least 16×16" "a photo too small says so"
            let rows = rowsOf out
            Expect.equal rows.Length 12 "a row per photo"
            for r in rows do
                Expect.isFalse (fst (r.TryGetProperty "mesh") || fst (r.TryGetProperty "view")) "no ground truth is made up"
                Expect.equal (r.GetProperty("category").GetString()) "chair" "the category"
                use _ = DisposalScope.Open()
                let image = Image.load (Path.Combine(out, r.GetProperty("image").GetString()))
                Expect.equal image.Shape [| 3; 64; 64 |] "64 × 64 RGB"
            // The same rule as predict: the PNG of a photo equals Photos.square, to 8-bit rounding.
            do
                use _ = DisposalScope.Open()
                let direct = Photos.square 64 (Path.Combine(source, "photo 03.jpg"))
                let stored = Image.load (Path.Combine(out, "images", "photo 03_jpg.png"))
                Expect.isLessThanOrEqual (((direct - stored).abs ()).max().ToFloat()) (0.5 / 255.0 + 1e-6) "stored as squared"
            Expect.stringContains (File.ReadAllText(Path.Combine(out, "failures.md"))) "notes.txt" "failures.md lists them"
            let again = dir.File "again"
            Photos.import source again "chair" 64 42UL CancellationToken.None ignore |> ignore
            Expect.equal (File.ReadAllBytes(Path.Combine(again, "index.jsonl"))) (File.ReadAllBytes(Path.Combine(out, "index.jsonl"))) "the split is a function of the seed"
            let taken = Directory.CreateDirectory(dir.File "taken")
            File.WriteAllText(Path.Combine(taken.FullName, "thesis.tex"), "")
            let e = Expect.catchT<ArgumentException> (fun () -> Photos.import source taken.FullName "chair" 64 42UL CancellationToken.None ignore |> ignore) "a folder of other files"
            Expect.stringContains e.Message taken.FullName "names it"
            Expect.isTrue (File.Exists(Path.Combine(taken.FullName, "thesis.tex"))) "and leaves it alone"
        }

        test "an interrupted import leaves the previous dataset as it was" {
            use dir = new TempDir()
            let source = photoFolder dir.Path 4
            let out = dir.File "chairs"
            Photos.import source out "chair" 64 1UL CancellationToken.None ignore |> ignore
            let before = File.ReadAllText(Path.Combine(out, "index.jsonl"))
            writePhoto (Path.Combine(source, "photo 99.png")) 50 50 5UL
            use stop = new CancellationTokenSource()
            Expect.throwsT<OperationCanceledException> (fun () -> Photos.import source out "chair" 64 1UL stop.Token (fun n -> if n = 2 then stop.Cancel()) |> ignore) "cancelled"
            Expect.equal (File.ReadAllText(Path.Combine(out, "index.jsonl"))) before "the index"
            Expect.equal (Directory.GetFiles(Path.Combine(out, "images")).Length) 4 "the images"
        }

        test "the single-view loader reads photos without ground truth; the multi-view loader and ground-truth accessors refuse them, naming the index" {
            use dir = new TempDir()
            let out = dir.File "chairs"
            Photos.import (photoFolder dir.Path 12) out "chair" 64 42UL CancellationToken.None ignore |> ignore
            let train = SingleView.load out "train"
            Expect.equal (train.Count, train.Instances, train.HasTruth) (11, 11, false) "11 photos, each its own instance, no truth"
            do
                use _ = DisposalScope.Open()
                Expect.equal (SingleView.image train 0).Shape [| 1; 3; 64; 64 |] "an image as in a batch"
            let e = Expect.catchT<IndexFileException> (fun () -> SingleView.view train 0 |> ignore) "no camera"
            Expect.stringContains e.Message "index.jsonl" "names the index"
            let root = Directory.CreateDirectory(dir.File "as multiview")
            Directory.Move(out, Path.Combine(root.FullName, "multiview"))
            let e = Expect.catchT<IndexFileException> (fun () -> MultiView.load root.FullName "train" |> ignore) "multi-view needs truth"
            Expect.stringContains e.Message "no ground truth" "says why"
        }

        test "the README's flow on a folder of photos: data --photos, train unicorn --photos, predict with the run, report" {
            use dir = new TempDir()
            let source = photoFolder dir.Path 12
            let imported = runCliIn dir.Path 600 [ "data"; "--photos"; source; "--name"; "chairs"; "--output"; dir.File "datasets" ]
            Expect.equal imported.ExitCode 0 (sprintf "data: exit code (stderr: %s)" imported.Stderr)
            Expect.stringContains imported.Stdout "12 imported" "says how many"
            Expect.stringContains imported.Stderr "notes.txt" "and which files it left out"
            let dataset = dir.File "datasets/chairs"
            let run = dir.File "run"
            let trained = runCliIn dir.Path 600 [ "--threads"; "1"; "train"; "unicorn"; "--photos"; dataset; "--iterations"; "2"; "--batch"; "4"; "--out"; run ]
            Expect.equal trained.ExitCode 0 (sprintf "train: exit code (stderr: %s)" trained.Stderr)
            Expect.stringContains trained.Stdout "val photographs re-rendered: val_psnr" "validated by the re-render"
            let metrics = File.ReadAllText(Path.Combine(run, "metrics.jsonl"))
            Expect.stringContains metrics "val_ssim" "the validation line"
            let predicted = runCliIn dir.Path 600 [ "--threads"; "1"; "predict"; "--model"; run; "--input"; source; "--out"; dir.File "out" ]
            Expect.equal predicted.ExitCode 1 (sprintf "predict: exit code 1, the folder's three bad files (stderr: %s)" predicted.Stderr)
            Expect.isTrue (File.Exists(dir.File "out/photo 00.obj")) "a mesh per photo"
            let report = runCliIn dir.Path 600 [ "report"; dir.File "out" ]
            Expect.equal report.ExitCode 0 (sprintf "report: exit code (stderr: %s)" report.Stderr)
            let softras = runCliIn dir.Path 60 [ "train"; "softras"; "--photos"; dataset ]
            Expect.equal softras.ExitCode 2 "softras cannot train on photos"
            Expect.stringContains softras.Stderr "--photos trains unicorn" "and says why"
        }
    ]
