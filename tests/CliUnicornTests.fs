/// `reconstruct train unicorn` end to end on a tiny procedural set: the run folder, the test
/// evaluation with poses and re-renders, the results file, and exact resume.
module Reconstruct.Tests.CliUnicornTests

open System
open System.IO
open Expecto
open Reconstruct.Torch
open Reconstruct.Tests.TestHelpers

/// One training cache for these tests (10 procedural chairs, rendered once).
let private cache = lazy (tempDir ())

/// A tiny run on 1 thread: 10 chairs (7 train = 168 single images), batches of 4.
let private tinyRun (out: string) (extra: string list) =
    [ "--threads"; "1"; "train"; "unicorn"; "--count"; "10"; "--batch"; "4"; "--cache"; cache.Value; "--out"; out ] @ extra

[<Tests>]
let tests =
    testList "CliUnicorn" [
        test "a tiny run trains both steps, evaluates shapes, poses and re-renders, and writes the results file" {
            use dir = new TempDir()
            let out = dir.File "run"
            let results = dir.File "results"
            let run = runCliIn dir.Path 600 (tinyRun out [ "--iterations"; "3"; "--results"; results ])
            Expect.equal run.ExitCode 0 (sprintf "exit code (stderr: %s)" run.Stderr)
            let steps = File.ReadAllLines(Path.Combine(out, "metrics.jsonl")) |> Array.filter (fun l -> l.Contains "\"loss\"")
            Expect.equal steps.Length 3 "one metrics line per iteration"
            for term in [ "phase0.rec"; "phase0.prior"; "phase1.rec"; "phase1.normal"; "phase1.shape_swap" ] do
                Expect.stringContains steps.[0] term "both steps' terms are logged"
            Expect.isNonEmpty (Directory.GetFiles(Path.Combine(out, "predictions"), "*.obj")) "test predictions written"
            let md = File.ReadAllText(Path.Combine(results, "unicorn_chair.md"))
            for text in [ "| unicorn |"; "reference: template"; "azimuth within 30°"; "mask IoU"; "Floor of issue 12"; "training instances: 7"; "iterations: 3"; "- data: 10 procedural chairs (recipe revision 1)" ] do
                Expect.stringContains md text "the results table"
        }

        test "SIGTERM stops a run after the step with a checkpoint, as Ctrl+C does; --resume continues it" {
            use dir = new TempDir()
            let out = dir.File "run"
            let stopped = runCliSignalled "TERM" dir.Path 600 "iteration 1/" (tinyRun out [ "--iterations"; "100000" ])
            Expect.equal stopped.ExitCode 130 (sprintf "exit code 130 (stderr: %s)" stopped.Stderr)
            Expect.stringContains stopped.Stderr "interrupted after iteration" "says where it stopped"
            let steps = runLosses out |> Array.length
            Expect.isGreaterThanOrEqual steps 1 "at least one step was logged"
            Expect.isTrue (File.Exists(Path.Combine(out, "checkpoints", "last.safetensors"))) "a checkpoint of the last step"
            let resumed = runCliIn dir.Path 600 [ "--threads"; "1"; "train"; "--resume"; out; "--iterations"; string (steps + 1) ]
            Expect.equal resumed.ExitCode 0 (sprintf "resume: exit code (stderr: %s)" resumed.Stderr)
            Expect.equal (runLosses out |> Array.length) (steps + 1) "one more step"
        }

        test "a run stopped at 2 iterations and resumed to 4 equals a straight run of 4, bitwise (1 thread)" {
            use dir = new TempDir()
            let _, split = expectResumeEqualsStraight dir (fun out iterations -> tinyRun out [ "--iterations"; string iterations ])
            use last = Checkpoint.load (Path.Combine(split, "checkpoints", "last.safetensors"))
            Expect.isTrue (last.Tensors |> List.exists (fun (n, _) -> n.Contains "neighbours.")) "the neighbour memory is checkpointed"
        }
    ]
