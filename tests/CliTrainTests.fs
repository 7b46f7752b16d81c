/// `reconstruct train` end to end on a tiny procedural set: the run folder it writes, its
/// evaluation and results file, Ctrl+C with a checkpoint and --resume, and bad input (arguments,
/// a damaged dataset index, a checkpoint of another shape, a folder that is not a new run):
/// one line naming what is wrong, exit code 2, nothing overwritten.
module Reconstruct.Tests.CliTrainTests

open System
open System.IO
open Expecto
open Reconstruct.Torch
open Reconstruct.Tests.TestHelpers

/// The lines of stderr that are not blank.
let private errorLines (run: CliRun) =
    run.Stderr.Split('\n') |> Array.map (fun l -> l.TrimEnd()) |> Array.filter (fun l -> l <> "")

/// One training cache for the tests that need data (10 procedural chairs, rendered once).
let private cache = lazy (tempDir ())

/// A tiny run: 10 chairs (7 train), batches of 2, a few iterations, a small evaluation.
let private tinyRun (out: string) (extra: string list) =
    [ "--threads"; "1"; "train"; "softras"; "--count"; "10"; "--batch"; "2"; "--cache"; cache.Value; "--out"; out ] @ extra

let private expectUsage (what: string) (run: CliRun) (fragment: string) =
    Expect.equal run.ExitCode 2 (sprintf "%s: exit code (stderr: %s)" what run.Stderr)
    let lines = errorLines run
    Expect.isGreaterThanOrEqual lines.Length 1 (sprintf "%s: a message" what)
    Expect.isLessThanOrEqual lines.Length 2 (sprintf "%s: one line (and a hint): %A" what lines)
    Expect.stringContains lines.[0] fragment (sprintf "%s: the message names the problem" what)

/// Every file under `dir` with its bytes, to show nothing changed.
let private snapshotFiles (dir: string) =
    Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
    |> Array.sort
    |> Array.map (fun f -> Path.GetRelativePath(dir, f), File.ReadAllBytes f)

[<Tests>]
let tests =
    testList "CliTrain" [
        test "bad arguments are refused before any work, one line and exit 2" {
            use dir = new TempDir()
            let file = dir.File "a-file"
            File.WriteAllText(file, "x")
            let cases =
                [ [ "train" ], "name the method"
                  [ "train"; "nerf" ], "unknown method 'nerf'"
                  [ "train"; "softras"; "--category"; "teapot" ], "unknown category 'teapot'"
                  [ "train"; "softras"; "--furniture"; "--count"; "20" ], "--count applies to procedural data"
                  [ "train"; "softras"; "--batch"; "0" ], "--batch must be at least 1"
                  [ "train"; "ssr"; "--labelled"; "0" ], "--labelled must be at least 1"
                  [ "train"; "unicorn"; "--labelled"; "2" ], "--labelled applies to ssr and softras"
                  [ "train"; "softras"; "--count"; "5" ], "--count must be at least 10"
                  [ "train"; "softras"; "--minutes"; "-1" ], "--minutes must be positive"
                  [ "train"; "softras"; "--out"; file ], "is a file"
                  [ "train"; "--resume"; dir.Path ], "no config.json there"
                  [ "train"; "--resume"; dir.Path; "--batch"; "4" ], "remove --batch"
                  [ "train"; "softras"; "--init-from"; dir.File "no such run" ], "--init-from"
                  [ "train"; "--resume"; dir.Path; "--init-from"; file ], "remove --init-from" ]
            for args, fragment in cases do
                expectUsage (String.Join(" ", args)) (runCliIn dir.Path 60 args) fragment
            Expect.equal (dir.Entries()) [| "a-file" |] "nothing was written"
        }

        test "a damaged dataset index: one line naming it, exit 2, no run folder" {
            use dir = new TempDir()
            let benchmark = Path.Combine(dir.Path, "cache", "procedural-10-seed42", "chair")
            Directory.CreateDirectory(Path.Combine(benchmark, "multiview")) |> ignore
            File.WriteAllText(Path.Combine(benchmark, "benchmark.json"), "{}")
            let index = Path.Combine(benchmark, "multiview", "index.jsonl")
            File.WriteAllText(index, "{\"image\": \"chair/x/view_00.png\"\n")
            let out = dir.File "run"
            let run = runCliIn dir.Path 120 [ "train"; "softras"; "--count"; "10"; "--cache"; dir.File "cache"; "--out"; out ]
            expectUsage "damaged index" run "index.jsonl"
            Expect.isFalse (Directory.Exists out && Directory.EnumerateFileSystemEntries(out) |> Seq.isEmpty |> not) "no run folder written"
        }

        test "a tiny run writes its folder, evaluates the test split and writes the results file" {
            use dir = new TempDir()
            let out = dir.File "run"
            let results = dir.File "results"
            let run = runCliIn dir.Path 600 (tinyRun out [ "--iterations"; "3"; "--results"; results ])
            Expect.equal run.ExitCode 0 (sprintf "exit code (stderr: %s)" run.Stderr)
            for name in [ "config.json"; "metrics.jsonl"; "curves.png"; Path.Combine("checkpoints", "last.safetensors"); Path.Combine("eval", "shapes.md") ] do
                Expect.isTrue (File.Exists(Path.Combine(out, name))) (sprintf "%s written" name)
            let steps = File.ReadAllLines(Path.Combine(out, "metrics.jsonl")) |> Array.filter (fun l -> l.Contains "\"loss\"")
            Expect.equal steps.Length 3 "one metrics line per iteration"
            Expect.isNonEmpty (Directory.GetFiles(Path.Combine(out, "predictions"), "*.obj")) "test predictions written"
            let md = File.ReadAllText(Path.Combine(results, "softras_chair.md"))
            for text in [ "| softras |"; "reference: template"; "reference: true mesh"; "training instances: 7"; "iterations: 3" ] do
                Expect.stringContains md text "the results table"
            // A finished run's folder is not a new run: refused, nothing in it changes.
            let before = snapshotFiles out
            let again = runCliIn dir.Path 120 (tinyRun out [ "--iterations"; "3" ])
            expectUsage "existing run folder" again out
            Expect.equal (snapshotFiles out) before "the run folder is unchanged"
        }

        test "train ssr --labelled 2: a tiny run names itself by N, records the pipeline and writes the pseudo-labels' table" {
            use dir = new TempDir()
            let out = dir.File "run"
            let results = dir.File "results"
            let run = runCliIn dir.Path 600 [ "--threads"; "1"; "train"; "ssr"; "--labelled"; "2"; "--count"; "10"; "--batch"; "8"; "--cache"; cache.Value; "--out"; out; "--iterations"; "2"; "--results"; results ]
            Expect.equal run.ExitCode 0 (sprintf "exit code (stderr: %s)" run.Stderr)
            Expect.stringContains (File.ReadAllText(Path.Combine(out, "config.json"))) "\"Pipeline\": \"ssr\"" "the pipeline recorded"
            let md = File.ReadAllText(Path.Combine(results, "ssr_chair_2.md"))
            for text in [ "| ssr |"; "labelled: the first 2 training objects"; "unlabelled: the other 5"; "| iteration | coverage | accuracy |" ] do
                Expect.stringContains md text "the results file"
        }

        test "train unsup3d: a tiny run on symmetric renders writes SIDE and MAD beside the reference rows, and --resume continues it" {
            use dir = new TempDir()
            let out = dir.File "run"
            let results = dir.File "results"
            let run = runCliIn dir.Path 600 [ "--threads"; "1"; "train"; "unsup3d"; "--category"; "car"; "--count"; "10"; "--batch"; "4"; "--cache"; cache.Value; "--out"; out; "--iterations"; "2"; "--results"; results ]
            Expect.equal run.ExitCode 0 (sprintf "exit code (stderr: %s)" run.Stderr)
            Expect.stringContains (File.ReadAllText(Path.Combine(out, "config.json"))) "\"Pipeline\": \"unsup3d\"" "the pipeline recorded"
            let md = File.ReadAllText(Path.Combine(results, "unsup3d_car.md"))
            for text in [ "| unsup3d |"; "| constant null depth |"; "| mean ground-truth depth |"; "Floor (issue 15" ] do
                Expect.stringContains md text "the results file"
            let resumed = runCliIn dir.Path 600 [ "--threads"; "1"; "train"; "--resume"; out; "--iterations"; "3" ]
            Expect.equal resumed.ExitCode 0 (sprintf "resume exit code (stderr: %s)" resumed.Stderr)
            // The third step (index 2) exists only if the resume trained on.
            Expect.stringContains (File.ReadAllText(Path.Combine(out, "metrics.jsonl"))) "{\"iteration\":2," "continued to a third step"
        }

        test "a run stopped at 2 iterations and resumed to 4 equals a straight run of 4, bitwise (1 thread)" {
            use dir = new TempDir()
            let args out iterations = [ "--threads"; "1" ] @ List.tail (List.tail (tinyRun out [ "--iterations"; string iterations ]))
            expectResumeEqualsStraight dir args |> ignore
        }

        test "Ctrl+C stops after the step with a checkpoint; --resume continues; a checkpoint of another shape is refused" {
            use dir = new TempDir()
            let out = dir.File "run"
            let interrupted = runCliInterrupted dir.Path 600 "iteration 1/" (tinyRun out [ "--iterations"; "100000" ])
            Expect.equal interrupted.ExitCode 130 (sprintf "exit code (stderr: %s)" interrupted.Stderr)
            Expect.stringContains interrupted.Stderr "interrupted after iteration" "says where it stopped"
            let last = Path.Combine(out, "checkpoints", "last.safetensors")
            Expect.isTrue (File.Exists last) "a checkpoint was written"
            let stepsOf () = File.ReadAllLines(Path.Combine(out, "metrics.jsonl")) |> Array.filter (fun l -> l.Contains "\"loss\"") |> Array.length
            let stepsDone = stepsOf ()
            Expect.isGreaterThanOrEqual stepsDone 1 "at least the first step was kept"
            let resumed = runCliIn dir.Path 600 [ "--threads"; "1"; "train"; "--resume"; out; "--iterations"; string (stepsDone + 2) ]
            Expect.equal resumed.ExitCode 0 (sprintf "resume: exit code (stderr: %s)" resumed.Stderr)
            Expect.equal (stepsOf ()) (stepsDone + 2) "two more iterations after the checkpoint"
            // Another shape: the checkpoint's first model tensor gets a different size.
            let before = snapshotFiles out
            let bad = dir.File "other.safetensors"
            do
                use contents = Checkpoint.load last
                use scope = DisposalScope.Open()
                let tensors = contents.Tensors |> List.mapi (fun k (n, t) -> if k = 0 then n, Tensor.zeros [ 3 ] else n, t)
                Checkpoint.save bad tensors contents.Metadata
            File.Copy(bad, last, true)
            let before = before |> Array.map (fun (n, b) -> if n = Path.Combine("checkpoints", "last.safetensors") then n, File.ReadAllBytes last else n, b)
            let refused = runCliIn dir.Path 120 [ "train"; "--resume"; out; "--iterations"; string (stepsDone + 4) ]
            expectUsage "checkpoint of another shape" refused "last.safetensors"
            Expect.equal (snapshotFiles out) before "nothing in the run folder changed"
        }
    ]
