/// The command line under bad arguments, help requests and Ctrl+C, run as a user would (each
/// test spawns the built host): a usage error is one line naming the option plus a hint, exit 2,
/// and nothing is written; help goes to stdout; an interrupted bench keeps the old results.
module Reconstruct.Tests.CliArgsTests

open System
open System.IO
open Expecto
open Reconstruct.Tests.TestHelpers

let private lines (text: string) =
    text.Split('\n', StringSplitOptions.RemoveEmptyEntries) |> Array.map (fun l -> l.TrimEnd '\r')

/// A usage error: exit 2, the error line naming every one of `mentions`, then a one-line hint
/// pointing at the command's help; nothing else.
let private expectUsageError (r: CliRun) (hint: string) (mentions: string list) =
    let err = lines r.Stderr
    Expect.equal r.ExitCode 2 (sprintf "exit code (stderr: %s)" r.Stderr)
    Expect.equal err.Length 2 (sprintf "an error line and a hint, received: %s" r.Stderr)
    for m in mentions do
        Expect.stringContains err.[0] m "the error line names what is wrong"
    Expect.stringContains err.[1] hint "the hint names the command's help"

/// Runs `args` in a fresh folder, expects a usage error and that the folder holds only `keep`
/// afterwards (no work started: nothing rendered, no report, no results file).
let private rejected (args: string list) (hint: string) (mentions: string list) (keep: string list) =
    use dir = new TempDir()
    for name in keep do File.WriteAllText(dir.File name, "earlier content")
    let r = runCliIn dir.Path 60 args
    expectUsageError r hint mentions
    Expect.sequenceEqual (dir.Entries()) (List.sort keep) "nothing written"
    for name in keep do Expect.equal (File.ReadAllText(dir.File name)) "earlier content" (name + " untouched")

let private procedural = String.Join(", ", Reconstruct.Data.Procedural.categories)

let private usageCases =
    [ // bench: a typo in a group name used to replace the results file with {} and exit 0.
      [ "bench"; "--only"; "rendr"; "-o"; "bench.json" ], "reconstruct bench --help", [ "--only"; "'rendr'"; "torch, render, eval, data" ], [ "bench.json" ]
      [ "bench"; "--only"; "-o"; "bench.json" ], "reconstruct bench --help", [ "--only"; "torch, render, eval, data" ], [ "bench.json" ]
      // --threads 0 reached libtorch and failed there with exit 1.
      [ "--threads"; "0"; "info" ], "reconstruct info --help", [ "--threads"; "0" ], []
      // data: every argument is checked before the first render.
      [ "data"; "--procedural"; "chair"; "dragon"; "--count"; "1"; "--output"; "out" ], "reconstruct data --help", [ "--procedural"; "'dragon'"; procedural ], []
      [ "data"; "--procedural"; "chair"; "--count"; "1"; "--wild-views"; "0"; "--output"; "out" ], "reconstruct data --help", [ "--wild-views"; "0" ], []
      [ "data"; "--procedural"; "chair"; "--count"; "0"; "--output"; "out" ], "reconstruct data --help", [ "--count"; "0" ], []
      [ "data"; "--procedural"; "chair"; "--count"; "1"; "--output"; "taken" ], "reconstruct data --help", [ "--output"; "taken"; "file" ], [ "taken" ]
      [ "data"; "--categories"; "chiar"; "--cache"; "cache" ], "reconstruct data --help", [ "--categories"; "'chiar'"; "chair" ], []
      [ "data"; "--procedural"; "car"; "--protocol"; "symetric"; "--output"; "out" ], "reconstruct data --help", [ "--protocol"; "'symetric'"; "symmetric" ], []
      [ "data"; "--categories"; "chair"; "--protocol"; "symmetric"; "--cache"; "cache" ], "reconstruct data --help", [ "--protocol"; "--procedural" ], []
      // eval: every argument is checked before the first instance (and before the cache).
      [ "eval"; "--split"; "bogus" ], "reconstruct eval --help", [ "--split"; "'bogus'"; "train, val, test" ], []
      [ "eval"; "--limit"; "-1" ], "reconstruct eval --help", [ "--limit"; "-1" ], []
      [ "eval"; "--points"; "0" ], "reconstruct eval --help", [ "--points"; "100000" ], []
      [ "eval"; "--grid-view"; "24" ], "reconstruct eval --help", [ "--grid-view"; "0..23" ], []
      [ "eval"; "--report"; "report.md" ], "reconstruct eval --help", [ "--report"; "report.md"; "file" ], [ "report.md" ]
      // Argu's own errors: one line and the hint, not the whole usage.
      [ "data"; "--bogus" ], "reconstruct data --help", [ "--bogus" ], []
      [ "data"; "--count"; "x" ], "reconstruct data --help", [ "--count"; "'x'" ], [] ]

/// `command --help`: exit 0, the command's own usage on stdout, nothing on stderr.
let private helpOf (command: string) (mentions: string list) (absent: string list) =
    let r = runCli [ command; "--help" ]
    Expect.equal r.ExitCode 0 (sprintf "exit code (stderr: %s)" r.Stderr)
    Expect.equal r.Stderr "" "nothing on stderr"
    Expect.stringContains r.Stdout (sprintf "reconstruct %s" command) "the usage line is the command's"
    for m in mentions do Expect.stringContains r.Stdout m "the command's own help"
    for a in absent do Expect.isFalse (r.Stdout.Contains a) (sprintf "not the top-level usage (%s): %s" a r.Stdout)

[<Tests>]
let tests =
    testList "CliArgs" [
        for args, hint, mentions, keep in usageCases do
            test (sprintf "reconstruct %s is a usage error" (String.Join(" ", args))) {
                rejected args hint mentions keep
            }

        test "reconstruct data --help prints data's options to stdout" {
            helpOf "data" [ "--wild-views"; "--procedural" ] [ "SUBCOMMANDS" ]
        }

        test "reconstruct info --help prints info's own help" {
            helpOf "info" [ "libtorch version"; "--threads" ] [ "SUBCOMMANDS"; "eval <options>" ]
        }

        test "reconstruct demo --help prints demo's own help and runs nothing" {
            helpOf "demo" [ "built-in default" ] [ "SUBCOMMANDS"; "eval <options>"; "engine:" ]
        }

        test "--threads above the core count is capped with one line" {
            let r = runCliIn (Path.GetTempPath()) 60 [ "--threads"; "100000"; "info" ]
            Expect.equal r.ExitCode 0 (sprintf "exit code (stderr: %s)" r.Stderr)
            let err = lines r.Stderr
            Expect.equal err.Length 1 (sprintf "one line about the cap: %s" r.Stderr)
            Expect.stringContains err.[0] "--threads" "names the option"
            Expect.stringContains err.[0] (string Environment.ProcessorCount) "says what it uses"
            Expect.stringContains r.Stdout (sprintf "\"threads\":%d" Environment.ProcessorCount) "runs with the core count"
        }

        test "Ctrl+C during bench exits 130 with one line and keeps the earlier results" {
            use dir = new TempDir()
            let earlier = "{\"earlier\": {\"value\": 1, \"unit\": \"x\", \"note\": \"\"}}"
            File.WriteAllText(dir.File "bench.json", earlier)
            let r = runCliInterrupted dir.Path 60 "running torch" [ "bench"; "--only"; "torch"; "-o"; "bench.json" ]
            Expect.equal r.ExitCode 130 (sprintf "exit code (stdout: %s; stderr: %s)" r.Stdout r.Stderr)
            Expect.sequenceEqual (lines r.Stderr) [| "reconstruct: interrupted" |] "exactly one line on stderr"
            Expect.equal (File.ReadAllText(dir.File "bench.json")) earlier "the earlier results are untouched"
            Expect.sequenceEqual (dir.Entries()) [| "bench.json" |] "nothing partial written"
        }
    ]
