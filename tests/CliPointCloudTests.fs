/// `reconstruct train pointcloud` end to end on a tiny procedural set (the run folder, the test
/// evaluation, the results file, exact resume), `reconstruct predict` writing PLY for its
/// models, and the pieces under them: the training samples, the batches, the PLY writer.
module Reconstruct.Tests.CliPointCloudTests

open System
open System.IO
open System.Text
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.App
open Reconstruct.Tests.TestHelpers

/// One training cache for these tests (10 procedural chairs, rendered once).
let private cache = lazy (tempDir ())

/// A tiny run on 1 thread: 10 chairs (7 train, one image each), batches of 4.
let private tinyRun (out: string) (extra: string list) =
    [ "--threads"; "1"; "train"; "pointcloud"; "--count"; "10"; "--batch"; "4"; "--cache"; cache.Value; "--out"; out ] @ extra

/// The header of a PLY file and the bytes after it.
let private readPly (path: string) =
    let bytes = File.ReadAllBytes path
    let marker = Encoding.ASCII.GetBytes "end_header\n"
    let stop = [ 0 .. bytes.Length - marker.Length ] |> List.find (fun i -> bytes.[i .. i + marker.Length - 1] = marker)
    Encoding.ASCII.GetString(bytes, 0, stop + marker.Length), bytes.[stop + marker.Length ..]

[<Tests>]
let tests =
    testList "CliPointCloud" [
        test "trainingSamples: the asked number of distinct views of every instance, the same for the same seed" {
            let samples = PointCloudExperiment.trainingSamples 5 24 3 7UL
            Expect.equal samples.Length 15 "3 views of 5 instances"
            for i in 0 .. 4 do
                let views = samples |> Array.filter (fst >> (=) i) |> Array.map snd
                Expect.equal (Array.distinct views).Length 3 (sprintf "instance %d: distinct views" i)
                Expect.isTrue (views |> Array.forall (fun v -> v >= 0 && v < 24)) "views in range"
            Expect.equal (PointCloudExperiment.trainingSamples 5 24 3 7UL) samples "deterministic"
            Expect.notEqual (PointCloudExperiment.trainingSamples 5 24 3 8UL) samples "another seed, other views"
            Expect.throwsT<ArgumentException> (fun () -> PointCloudExperiment.trainingSamples 5 24 25 7UL |> ignore) "more views than there are"
        }

        test "nearestByCode: each code's nearest others by brute force, nearest first, never itself" {
            let rng = SplitMix64(11UL)
            let codes = Array.init 40 (fun _ -> Array.init 6 (fun _ -> float32 (rng.Gaussian())))
            let distance (a: float32[]) (b: float32[]) = Array.fold2 (fun s (x: float32) (y: float32) -> s + (float x - float y) ** 2.0) 0.0 a b
            let lists = PointCloudExperiment.nearestByCode codes 5
            for i in 0 .. codes.Length - 1 do
                let list = lists.[i]
                Expect.equal list.Length 5 "5 neighbours"
                Expect.isFalse (Array.contains i list) "never itself"
                Expect.equal (Array.distinct list).Length 5 "distinct"
                let d = list |> Array.map (fun j -> distance codes.[i] codes.[j])
                Expect.equal d (Array.sort d) "nearest first"
                for j in 0 .. codes.Length - 1 do
                    if j <> i && not (Array.contains j list) then
                        Expect.isGreaterThanOrEqual (distance codes.[i] codes.[j]) (Array.last d) (sprintf "code %d: %d left out is no nearer" i j)
            // A copy of a code is its nearest neighbour.
            let withCopy = Array.append codes [| Array.copy codes.[7] |]
            Expect.equal (PointCloudExperiment.nearestByCode withCopy 1).[7] [| 40 |] "the copy"
            Expect.throwsT<ArgumentException> (fun () -> PointCloudExperiment.nearestByCode codes 40 |> ignore) "more neighbours than others"
        }

        test "writePointsPly writes a binary PLY of coloured points that reads back" {
            use dir = new TempDir()
            let path = dir.File "cloud.ply"
            let points = [| 0.5f; -1.0f; 2.0f; 0.0f; 0.25f; -0.125f |]
            let colours = [| 1.0f; 0.0f; 0.5f; 2.0f; -1.0f; 0.2f |]
            MeshIO.writePointsPly path points colours
            let header, body = readPly path
            Expect.stringContains header "format binary_little_endian 1.0" "binary"
            Expect.stringContains header "element vertex 2\n" "two points"
            Expect.stringContains header "property uchar red" "colours"
            Expect.isFalse (header.Contains "element face") "no faces"
            Expect.equal body.Length (2 * (12 + 3)) "3 floats and 3 bytes a point"
            Expect.equal (BitConverter.ToSingle(body, 4)) -1.0f "the first point's y"
            Expect.equal body.[12 .. 14] [| 255uy; 0uy; 128uy |] "its colour in bytes"
            Expect.equal body.[27 .. 29] [| 255uy; 0uy; 51uy |] "colours clamped to [0, 1]"
            Expect.throwsT<ArgumentException> (fun () -> MeshIO.writePointsPly path points colours.[.. 2]) "a colour per point"
        }

        test "a tiny run trains, evaluates CD, EMD and azimuths, writes the results file; predict writes PLY" {
            use dir = new TempDir()
            let out = dir.File "run"
            let results = dir.File "results"
            let run = runCliIn dir.Path 600 (tinyRun out [ "--iterations"; "3"; "--results"; results ])
            Expect.equal run.ExitCode 0 (sprintf "exit code (stderr: %s)" run.Stderr)
            let steps = File.ReadAllLines(Path.Combine(out, "metrics.jsonl")) |> Array.filter (fun l -> l.Contains "\"loss\"")
            Expect.equal steps.Length 3 "one metrics line per iteration"
            for term in [ "\"image\""; "\"mask\""; "\"silhouette\""; "\"geometric_cycle\""; "\"pose_cycle\""; "\"pose_mask\"" ] do
                Expect.stringContains steps.[0] term "every term is logged"
            let md = File.ReadAllText(Path.Combine(results, "pointcloud_chair.md"))
            for text in [ "| CD (×10³) | EMD |"; "iterations: 3"; "one global rotation fitted on the val split"; "pointcloud_chair_grid.png";
                      "- evaluated: the checkpoint of iteration 3, the best val_mask_iou" ] do
                Expect.stringContains md text "the results file"
            Expect.isTrue (File.Exists(Path.Combine(results, "pointcloud_chair.json"))) "and its JSON"
            let image = dir.File "chair.png"
            let rgba = Reconstruct.Data.MultiView.image (Reconstruct.Data.MultiView.load (Path.Combine(cache.Value, "procedural-10-seed42", "chair")) "test") 0 0
            Reconstruct.Data.Image.save image (rgba.narrow(1, 0, 3).squeeze 0)
            let predicted = runCliIn dir.Path 600 [ "--threads"; "1"; "predict"; "--model"; out; "--input"; image; "--out"; dir.File "out" ]
            Expect.equal predicted.ExitCode 0 (sprintf "predict: exit code (stderr: %s)" predicted.Stderr)
            let header, body = readPly (dir.File "out/chair.ply")
            Expect.stringContains header "element vertex 1024\n" "the model's 1,024 points"
            Expect.equal body.Length (1024 * 15) "each with its colour"
            Expect.isTrue (File.Exists(dir.File "out/chair.pose.json")) "the pose"
        }

        test "scoreMeshes: the true meshes score near zero and far below a sphere's, through the runs' rotation fit and scores" {
            use dir = new TempDir()
            let experiment =
                { PointCloudExperiment.baseline with
                    Name = "pointcloud_chair"
                    Method = { PointCloudExperiment.baseline.Method with Data = Experiments.Procedural("chair", 10); Cache = cache.Value } }
            let benchmark = Path.Combine(cache.Value, "procedural-10-seed42", "chair")
            // The images come as the val samples, then the test samples, each instance i in
            // order; this predictor knows that and answers with the true meshes.
            let truths () =
                let queue = Collections.Generic.Queue<string>()
                fun (images: Tensor) ->
                    if queue.Count = 0 then
                        for split in [ "val"; "test" ] do
                            let set = Reconstruct.Data.MultiView.load benchmark split
                            for i in 0 .. set.Count - 1 do queue.Enqueue(Reconstruct.Data.MultiView.meshPath set i)
                    [ for _ in 1 .. images.Size 0 ->
                          let mesh = MeshIO.readObj (queue.Dequeue())
                          mesh.Vertices, mesh.Faces ]
            let sphere (images: Tensor) =
                let mesh = Template.unicorn 0.4
                [ for _ in 1 .. images.Size 0 -> mesh.Vertices, mesh.Faces ]
            let score name predict =
                let files = PointCloudExperiment.scoreMeshes experiment name "a test predictor" 1.0 predict (dir.File "results") ignore
                Expect.equal (files |> List.map Path.GetFileName) [ name + ".md"; name + ".json" ] "the results files"
                use doc = Text.Json.JsonDocument.Parse(File.ReadAllText(List.item 1 files))
                let measured = doc.RootElement.GetProperty "measured"
                measured.GetProperty("chamfer_x1e3").GetDouble(), measured.GetProperty("emd").GetDouble()
            let (cdTrue, emdTrue), (cdSphere, emdSphere) = score "truth" (truths ()), score "sphere" sphere
            Expect.isLessThan cdTrue 1.0 (sprintf "the truth's CD x1e3 is only the two samplings' (%.3f)" cdTrue)
            Expect.isLessThan (cdTrue * 10.0) cdSphere (sprintf "a sphere's CD (%.3f) is far above the truth's (%.3f)" cdSphere cdTrue)
            Expect.isLessThan (emdTrue * 5.0) emdSphere (sprintf "and its EMD (%.4f against %.4f)" emdSphere emdTrue)
            Expect.stringContains (File.ReadAllText(dir.File "results/truth.md")) "| CD (×10³) | EMD |" "the table"
        }

        test "a run stopped at 2 iterations and resumed to 4 equals a straight run of 4, bitwise (1 thread)" {
            use dir = new TempDir()
            expectResumeEqualsStraight dir (fun out iterations -> tinyRun out [ "--iterations"; string iterations ]) |> ignore
        }

        test "OURS-NN (--neighbours) fine-tunes a run with the neighbour terms, and resumes exactly; without --init-from it is refused" {
            use dir = new TempDir()
            let cc = dir.File "cc"
            let first = runCliIn dir.Path 600 (tinyRun cc [ "--iterations"; "2" ])
            Expect.equal first.ExitCode 0 (sprintf "the CC run: exit code (stderr: %s)" first.Stderr)
            let straight, _ =
                expectResumeEqualsStraight dir (fun out iterations -> tinyRun out [ "--iterations"; string iterations; "--init-from"; cc; "--neighbours" ])
            let steps = File.ReadAllLines(Path.Combine(straight, "metrics.jsonl")) |> Array.filter (fun l -> l.Contains "\"loss\"")
            for term in [ "\"neighbour_mask\""; "\"neighbour_silhouette\""; "\"geometric_cycle\"" ] do
                Expect.stringContains steps.[0] term "the neighbour terms beside the others"
            Expect.stringContains (File.ReadAllText(Path.Combine(straight, "config.json"))) "pointcloud_chair_nn" "named _nn"
            let refused = runCliIn dir.Path 600 (tinyRun (dir.File "no") [ "--neighbours" ])
            Expect.equal refused.ExitCode 2 "a usage error"
            Expect.stringContains refused.Stderr "--init-from" "names what is missing"
        }
    ]
