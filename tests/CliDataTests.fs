/// `reconstruct data` and `demo` under reruns and interruption: an interrupted rerun with other
/// options leaves the previous dataset whole, a smaller rerun leaves no orphans, Ctrl+C ends
/// with one line and 130, and instances stream (memory flat in the number of instances).
module Reconstruct.Tests.CliDataTests

open System
open System.IO
open System.Threading
open Expecto
open Reconstruct.Torch
open Reconstruct.Data
open Reconstruct.Tests.TestHelpers

/// The lines of stderr that are not blank.
let private errorLines (run: CliRun) =
    run.Stderr.Split('\n') |> Array.map (fun l -> l.TrimEnd()) |> Array.filter (fun l -> l <> "")

let private expectInterrupted (what: string) (run: CliRun) =
    Expect.equal run.ExitCode 130 (sprintf "%s: exit code (stderr: %s)" what run.Stderr)
    Expect.equal (errorLines run) [| "reconstruct: interrupted" |] (sprintf "%s: stderr" what)
    for text in [ "libtorch"; "aten"; "INTERNAL ASSERT"; "Unknown backend" ] do
        Expect.stringDoesNotContain run.Stderr text (sprintf "%s: stderr" what)

/// Image paths (relative to the protocol folder) listed by an index and found on disk.
let private listedAndPresent (protocolDir: string) =
    let listed =
        File.ReadAllLines(Path.Combine(protocolDir, "index.jsonl"))
        |> Array.map (fun line ->
            use row = Text.Json.JsonDocument.Parse line
            row.RootElement.GetProperty("image").GetString())
        |> Set.ofArray
    let present =
        Directory.GetFiles(protocolDir, "*.png", SearchOption.AllDirectories)
        |> Array.map (fun f -> Path.GetRelativePath(protocolDir, f))
        |> Set.ofArray
    listed, present

[<Tests>]
let tests =
    testList "CliData" [
        test "an interrupted rerun with other options leaves the previous dataset as it was" {
            use dir = new TempDir()
            let first = runCliIn dir.Path 300 [ "data"; "--procedural"; "chair"; "--count"; "40"; "--output"; "D" ]
            Expect.equal first.ExitCode 0 (sprintf "first run: %s" first.Stderr)
            let before = snapshot (dir.File "D")
            let rerun = runCliInterrupted dir.Path 120 "1/40 instances" [ "data"; "--procedural"; "chair"; "--count"; "40"; "--output"; "D"; "--wild-views"; "5" ]
            expectInterrupted "interrupted rerun" rerun
            let after = snapshot (dir.File "D")
            Expect.equal (Array.map fst after) (Array.map fst before) "the files of the dataset"
            for (name, x), (_, y) in Array.zip before after do
                Expect.isTrue (x = y) (sprintf "%s changed although the rerun was interrupted" name)
            // every image an index lists is there, and no other
            for protocol in [ "multiview"; "wild64"; "wild128" ] do
                let listed, present = listedAndPresent (Path.Combine(dir.File "D", "chair", protocol))
                Expect.equal listed.Count (if protocol = "multiview" then 40 * 24 else 40 * 10) protocol
                Expect.equal present listed protocol
        }

        test "a rerun with a smaller count leaves no orphan images or models" {
            use dir = new TempDir()
            let data count = runCliIn dir.Path 300 [ "data"; "--procedural"; "chair"; "--count"; string count; "--output"; "D"; "--wild-views"; "2" ]
            Expect.equal (data 12).ExitCode 0 "first run"
            let second = data 5
            Expect.equal second.ExitCode 0 (sprintf "second run: %s" second.Stderr)
            let root = Path.Combine(dir.File "D", "chair")
            Expect.equal (Directory.GetFiles(Path.Combine(root, "models"), "*.obj").Length) 5 "models"
            for protocol in [ "multiview"; "wild64"; "wild128" ] do
                let listed, present = listedAndPresent (Path.Combine(root, protocol))
                Expect.equal listed.Count (if protocol = "multiview" then 5 * 24 else 5 * 2) protocol
                Expect.equal present listed (sprintf "%s: images on disk" protocol)
                Expect.equal (Directory.GetDirectories(Path.Combine(root, protocol, "chair")).Length) 5 (sprintf "%s: instance folders" protocol)
            Expect.stringContains (File.ReadAllText(Path.Combine(root, "benchmark.json"))) "\"instances\": 5" "benchmark.json"
            // nothing left beside the dataset: no temporary or old folder
            Expect.equal (Directory.GetFileSystemEntries(dir.File "D") |> Array.map Path.GetFileName) [| "chair" |] "entries of D"
        }

        test "Ctrl+C during data or demo exits 130 with one line and no libtorch error, leaving no folder behind" {
            use dir = new TempDir()
            let data = runCliInterrupted dir.Path 120 "1/40 instances" [ "data"; "--procedural"; "chair"; "--count"; "40"; "--output"; "D" ]
            expectInterrupted "data" data
            // the dataset never completed: nothing of it is there
            Expect.equal (if Directory.Exists(dir.File "D") then Directory.GetFileSystemEntries(dir.File "D") else [||]) [||] "entries of D"
            let demo = runCliInterrupted dir.Path 120 "demo: rendering" [ "demo" ]
            expectInterrupted "demo" demo
            // The demo's test shapes are written as one benchmark, swapped in whole when every
            // instance is done: an interrupted demo leaves either none or all of it, and no report.
            let demoDir = Path.Combine(dir.Path, "artifacts", "demo")
            let benchmark = Path.Combine(demoDir, "benchmark", "chair")
            if Directory.Exists benchmark && not (Seq.isEmpty (Directory.EnumerateFileSystemEntries benchmark)) then
                Expect.isTrue (File.Exists(Path.Combine(benchmark, "benchmark.json"))) "a benchmark there is complete"
            let leftovers = if Directory.Exists(Path.Combine(demoDir, "benchmark")) then Directory.GetDirectories(Path.Combine(demoDir, "benchmark")) |> Array.filter (fun d -> Path.GetFileName(d).StartsWith ".") else [||]
            Expect.isEmpty leftovers "no temporary folder is left"
            Expect.isFalse (File.Exists(Path.Combine(demoDir, "report.html"))) "no report of an interrupted demo"
        }

        test "a benchmark is not written over a folder that holds other files" {
            use dir = new TempDir()
            let root = dir.File "chair"
            Directory.CreateDirectory root |> ignore
            File.WriteAllText(Path.Combine(root, "notes.txt"), "mine")
            let options: DatasetRender.BenchmarkOptions = { Protocols = [ DatasetRender.Wild 64 ]; Seed = 1UL; WildViews = 1 }
            match Expect.catchAnyT<exn> (fun () -> DatasetRender.writeBenchmark root options CancellationToken.None ignore (DatasetRender.proceduralInstances "chair" 1UL 1) |> ignore) "writeBenchmark" with
            | Files.FileWriteError (path, problem) ->
                Expect.equal path root "path"
                Expect.stringContains problem "'notes.txt'" "problem"
            | e -> failwithf "expected Files.FileWriteError, received %s: %s" (e.GetType().Name) e.Message
            Expect.equal (dir.Entries()) [| "chair" |] "entries"
            Expect.equal (Directory.GetFileSystemEntries root |> Array.map Path.GetFileName) [| "notes.txt" |] "entries of chair"
        }

        testSequenced <| test "data streams instances: live tensors do not grow with the number of instances" {
            let peak (count: int) =
                use dir = new TempDir()
                let baseline = settledLiveCount ()
                let mutable most = 0
                let options: DatasetRender.BenchmarkOptions = { Protocols = [ DatasetRender.MultiView; DatasetRender.Wild 64 ]; Seed = 1UL; WildViews = 1 }
                let progress _ = most <- max most (int (Tensor.LiveCount - baseline))
                let summary = DatasetRender.writeBenchmark (dir.File "vase") options CancellationToken.None progress (DatasetRender.proceduralInstances "vase" 1UL count)
                Expect.equal summary.Instances count "summary.Instances"
                most
            let few, many = peak 5, peak 50
            Expect.isTrue (many <= few) (sprintf "live tensors while writing: %d for 5 instances, %d for 50" few many)
        }
    ]
