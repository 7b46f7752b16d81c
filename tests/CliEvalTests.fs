/// `reconstruct eval` under bad input and interruption, run as a user would (the built host on a
/// tiny prepared cache of procedural chairs), plus the same rules checked in-process where
/// that is cheaper: failed and missing predictions are rows of the report and fail the run, a
/// report folder holds one run's files and is never a folder of other files, Ctrl+C stops
/// between instances without inventing failures, a damaged manifest is named.
module Reconstruct.Tests.CliEvalTests

open System
open System.IO
open System.Text.Json
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.App
open Reconstruct.Tests.TestHelpers

/// Writes a cache of `n` procedural chairs under dir/cache and, in dir/pred, the true mesh of
/// each instance in `predicted` as its prediction; returns the instance ids.
let private prepare (dir: TempDir) (n: int) (predicted: int list) =
    use scope = DisposalScope.Open()
    let models = Procedural.generate "chair" 11UL n
    EvalFigureTests.writeCache (dir.File "cache") models
    Directory.CreateDirectory(dir.File "pred") |> ignore
    for k in predicted do
        let m = models.[k]
        MeshIO.writeObj (Path.Combine(dir.File "pred", DatasetRender.instanceStem m.Info.Id + ".obj")) { TexturedMesh.toMesh m with UVs = None }
    models |> List.map (fun m -> m.Info.Id)

/// `eval` on dir/cache, fast settings, method "pred".
let private evalArgs (dir: TempDir) (more: string list) =
    [ "eval"; "--cache"; dir.File "cache"; "--points"; "500"; "--grid"; "0"; "--method"; "pred" ] @ more

let private lines (s: string) = s.Split('\n', StringSplitOptions.RemoveEmptyEntries ||| StringSplitOptions.TrimEntries)

/// Every file under `folder`, relative, sorted.
let private filesUnder (folder: string) =
    Directory.GetFiles(folder, "*", SearchOption.AllDirectories) |> Array.map (fun f -> Path.GetRelativePath(folder, f)) |> Array.sort

let private expectExit (code: int) (run: CliRun) (what: string) =
    if run.ExitCode <> code then
        failtestf "%s: exit %d, expected %d\nstdout: %s\nstderr: %s" what run.ExitCode code run.Stdout run.Stderr

/// `Benchmark.run` options for dir/cache (fast: 500 points, no figure), predictions in dir/pred.
let private options (dir: TempDir) : Benchmark.Options =
    { CacheDir = dir.File "cache"; Categories = [ "chair" ]; Split = "test"; Predictions = Some(dir.File "pred"); MethodName = "pred"
      Shape = { Reconstruct.Eval.ShapeEvalOptions.Defaults with Points = 500 }
      Benchmarks = None; Seed = 0; NoiseSigma = 0.005; Limit = 0; GridInstances = 0; GridView = 3; Grid = GridOptions.Defaults }

let private noCancel = Threading.CancellationToken.None

[<Tests>]
let tests =
    testList "CliEval" [
        test "Benchmark.run: a method with every prediction missing is a row of 0 of N; a ground truth that cannot be loaded fails every method of its instance" {
            use dir = new TempDir()
            let ids = prepare dir 3 []
            File.WriteAllText(Path.Combine(dir.File "pred", "unrelated.obj"), "v 0 0 0\n")
            // The third instance's ground truth is gone.
            let manifest = Furniture.manifestPath (dir.File "cache") "chair"
            File.Delete(Path.Combine(Path.GetDirectoryName manifest, "m2", "model.obj"))
            let report, grids = Benchmark.run (options dir) noCancel ignore
            Expect.isEmpty grids "no figure"
            Expect.equal report.Methods [ "pred"; EvalReport.TemplateReference; EvalReport.NoisyTruthReference ] "the method has a row"
            let pred = report.Failures |> List.filter (fun f -> f.Method = "pred")
            Expect.equal (pred |> List.map (fun f -> f.Instance)) ids "every instance is a failure of the method"
            for f in pred |> List.truncate 2 do Expect.stringContains f.Reason "no prediction" "the missing file's reason"
            let lost = report.Failures |> List.filter (fun f -> f.Instance = ids.[2])
            Expect.equal (lost |> List.map (fun f -> f.Method)) [ "pred"; EvalReport.TemplateReference; EvalReport.NoisyTruthReference ] "the lost truth fails every method"
            let all = EvalReport.summarize report |> List.filter (fun s -> s.Category = EvalReport.AllCategories)
            Expect.equal [ for s in all -> s.Method, EvalReport.scoredOf s ] [ "pred", "0 of 3"; EvalReport.TemplateReference, "2 of 3"; EvalReport.NoisyTruthReference, "2 of 3" ] "n of N"
            Expect.stringContains (EvalReport.toMarkdown report) "| pred | chair | 0 of 3 | – |" "the Markdown row of a method without scores"
            let e = Expect.catchT<ArgumentException> (fun () -> EvalReport.withFailures [ { Method = EvalReport.TemplateReference; Category = "chair"; Instance = ids.[0]; Reason = "x" } ] report |> ignore) "a failure of a scored instance"
            Expect.stringContains e.Message ids.[0] "names the instance"
            // A folder that is not one of predictions: the library refuses it too.
            let e = Expect.catchT<ArgumentException> (fun () -> Benchmark.run { options dir with Predictions = Some(dir.File "nowhere") } noCancel ignore |> ignore) "no such folder"
            Expect.stringContains e.Message (dir.File "nowhere") "names the folder"
        }

        test "Benchmark.run: cancelled during an instance, it finishes that one and stops before the next, logging no failure" {
            use dir = new TempDir()
            let ids = prepare dir 3 [ 0; 1; 2 ]
            use cts = new Threading.CancellationTokenSource()
            let logged = Collections.Generic.List<string>()
            let log (line: string) =
                logged.Add line
                // Ctrl+C arrives while the first instance is in progress.
                cts.Cancel()
            Expect.throwsT<OperationCanceledException> (fun () -> Benchmark.run (options dir) cts.Token log |> ignore) "the run ends cancelled"
            Expect.equal logged.Count 1 (sprintf "only the instance in progress is logged: %A" logged)
            Expect.stringContains logged.[0] ids.[0] "the first instance"
            Expect.stringDoesNotContain logged.[0] "failed" "and not as a failure"
        }

        test "ReportFolder.replace: a failed write leaves the previous report as it was and no temporary folder" {
            use dir = new TempDir()
            let report = dir.File "report"
            let first = ReportFolder.replace report (fun d -> File.WriteAllText(Path.Combine(d, "a.md"), "first"); [ Path.Combine(d, "a.md") ])
            Expect.equal first [ Path.Combine(report, "a.md") ] "the paths as they are in the report folder"
            Expect.throwsT<InvalidOperationException> (fun () ->
                ReportFolder.replace report (fun d -> File.WriteAllText(Path.Combine(d, "b.md"), "half"); invalidOp "disk full") |> ignore) "the write fails"
            Expect.equal (filesUnder report) [| ReportFolder.Marker; "a.md" |] "the previous report is untouched"
            Expect.equal (dir.Entries()) [| "report" |] "no temporary folder"
            ReportFolder.replace report (fun d -> File.WriteAllText(Path.Combine(d, "b.md"), "second"); []) |> ignore
            Expect.equal (filesUnder report) [| ReportFolder.Marker; "b.md" |] "the next report replaces it wholly"
            Expect.equal (dir.Entries()) [| "report" |] "no folder aside"
            File.WriteAllText(dir.File "file", "")
            Expect.isSome (ReportFolder.problem (dir.File "file")) "a file is no report folder"
            Expect.isSome (ReportFolder.problem "/") "nor is the root"
        }

        test "a missing or empty predictions folder is a usage error naming the option and the folder" {
            use dir = new TempDir()
            prepare dir 2 [] |> ignore
            let missing = dir.File "no-such-folder"
            let run = runCliIn dir.Path 120 (evalArgs dir [ "--predictions"; missing; "--report"; dir.File "report" ])
            expectExit 2 run "missing folder"
            Expect.stringContains run.Stderr "--predictions" "the message names the option"
            Expect.stringContains run.Stderr missing "the message names the folder"
            Expect.isFalse (Directory.Exists(dir.File "report")) "no report is written"
            // dir/pred exists and holds no mesh
            File.WriteAllText(Path.Combine(dir.File "pred", "notes.txt"), "not a mesh")
            let run = runCliIn dir.Path 120 (evalArgs dir [ "--predictions"; dir.File "pred"; "--report"; dir.File "report" ])
            expectExit 2 run "empty folder"
            Expect.stringContains run.Stderr "--predictions" "the message names the option"
            Expect.stringContains run.Stderr (dir.File "pred") "the message names the folder"
        }

        test "failed and missing predictions are rows of the report with their reason, the method row says n of N, the run exits 1 unless --allow-missing" {
            use dir = new TempDir()
            let ids = prepare dir 3 [ 0 ]
            // The second instance's prediction is not a mesh; the third has none.
            File.WriteAllText(Path.Combine(dir.File "pred", DatasetRender.instanceStem ids.[1] + ".obj"), "v 0 0 zero\n")
            let report = dir.File "report"
            let run = runCliIn dir.Path 120 (evalArgs dir [ "--predictions"; dir.File "pred"; "--report"; report ])
            expectExit 1 run "2 of 3 predictions broken or missing"
            Expect.stringContains run.Stderr "1 of 3" "stderr says how many were scored"
            let md = File.ReadAllText(Path.Combine(report, "shapes.md"))
            Expect.stringContains md "| pred | chair | 1 of 3 |" "the method row says 1 of 3"
            Expect.stringContains md (sprintf "| %s | chair | 3 |" EvalReport.TemplateReference) "the reference rows have all 3"
            for id in [ ids.[1]; ids.[2] ] do Expect.stringContains md id "each failure is listed in the Markdown"
            Expect.stringContains md "zero" "the broken prediction's reason"
            let csv = lines (File.ReadAllText(Path.Combine(report, "shapes_instances.csv")))
            let failed = csv |> Array.filter (fun l -> l.StartsWith "pred,chair," && not (l.StartsWith(sprintf "pred,chair,%s," ids.[0])))
            Expect.equal failed.Length 2 "the two failures are rows of the instances CSV"
            for l in failed do Expect.isTrue (l.Split(',') |> Array.last |> String.IsNullOrWhiteSpace |> not) (sprintf "the row gives a reason: %s" l)
            let summary = lines (File.ReadAllText(Path.Combine(report, "shapes.csv")))
            Expect.isTrue (summary |> Array.exists (fun l -> l.StartsWith "pred,chair,1,2,")) "the summary CSV: 1 scored, 2 failed"
            use doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "shapes.json")))
            let failures = [ for f in doc.RootElement.GetProperty("failures").EnumerateArray() -> f.GetProperty("method").GetString(), f.GetProperty("instance").GetString(), f.GetProperty("reason").GetString() ]
            Expect.equal (failures |> List.map (fun (m, i, _) -> m, i)) [ "pred", ids.[1]; "pred", ids.[2] ] "the JSON lists the failures"
            let _, _, missing = failures.[1]
            Expect.stringContains missing "no prediction" "the missing prediction's reason"
            // Said otherwise: the same report, exit 0.
            let run = runCliIn dir.Path 120 (evalArgs dir [ "--predictions"; dir.File "pred"; "--report"; report; "--allow-missing" ])
            expectExit 0 run "--allow-missing"
            Expect.stringContains (File.ReadAllText(Path.Combine(report, "shapes.md"))) "| pred | chair | 1 of 3 |" "the report still says 1 of 3"
        }

        test "point clouds are scored beside meshes: near the truth, without 3D IoU ('–', not 0); an empty or unreadable cloud is a failure naming its file" {
            use dir = new TempDir()
            let ids = prepare dir 4 [ 1 ]
            let ply k = Path.Combine(dir.File "pred", DatasetRender.instanceStem ids.[k] + ".ply")
            do
                use _ = DisposalScope.Open()
                use g = new Generator(7UL)
                let truth = TexturedMesh.toMesh (Procedural.generate "chair" 11UL 1).Head
                // The first instance: 1,024 coloured points of its true surface, as `predict` writes a point-cloud model's.
                let cloud = Reconstruct.Eval.Nearest.ofTensor (Sampling.surfacePoints g 1024 truth.Vertices truth.Faces).Points
                MeshIO.writePointsPly (ply 0) cloud (Array.create cloud.Length 0.5f)
            // The third: a cloud of no points; the fourth: a cloud cut short.
            MeshIO.writePointsPly (ply 2) [||] [||]
            let whole = File.ReadAllBytes(ply 0)
            File.WriteAllBytes(ply 3, whole.[.. whole.Length / 2])
            let report = dir.File "report"
            let run = runCliIn dir.Path 120 (evalArgs dir [ "--predictions"; dir.File "pred"; "--report"; report; "--grid"; "2" ])
            expectExit 1 run "two clouds unreadable"
            Expect.stringContains run.Stdout (sprintf "%s: pred: a point cloud of 1024 points (no 3D IoU)" ids.[0]) "the log says the prediction is a cloud"
            Expect.stringDoesNotContain run.Stdout "no figure row" "the cloud is drawn in the figure"
            Expect.contains (filesUnder report) (Path.Combine("figures", "grid_chair.png")) "the figure"
            Expect.stringContains run.Stderr "2 of 4" "stderr says how many were scored"
            let instances = lines (File.ReadAllText(Path.Combine(report, "shapes_instances.csv"))) |> Array.map (fun l -> l.Split(','))
            let header = instances.[0]
            let rowOf (methodName: string) (id: string) = instances |> Array.find (fun r -> r.[0] = methodName && r.[2] = id)
            let column (name: string) (r: string[]) = r.[Array.findIndex ((=) name) header]
            let cloudRow, meshRow = rowOf "pred" ids.[0], rowOf "pred" ids.[1]
            Expect.equal (column "iou_3d" cloudRow) "" "the cloud's 3D IoU is missing, not 0"
            Expect.equal (column "reason" cloudRow) "" "and the cloud is scored"
            // Thinned to the truth's 500 points, the cloud is another sampling of the true surface:
            // it scores as the true mesh with a little noise does, far better than the template.
            let l1 r = float (column "chamfer_l1" r)
            let f2 r = float (column "fscore_2pct" r)
            let template, noisy = rowOf EvalReport.TemplateReference ids.[0], rowOf EvalReport.NoisyTruthReference ids.[0]
            Expect.isTrue (l1 cloudRow < 1.25 * l1 noisy && l1 cloudRow < 0.4 * l1 template) (sprintf "Chamfer-L1: the cloud's %g, the noisy truth's %g, the template's %g" (l1 cloudRow) (l1 noisy) (l1 template))
            Expect.isTrue (f2 cloudRow > 0.8 * f2 noisy) (sprintf "F-score at 2%%: the cloud's %g, the noisy truth's %g" (f2 cloudRow) (f2 noisy))
            // The method's 3D IoU is the mesh's alone.
            let summary = lines (File.ReadAllText(Path.Combine(report, "shapes.csv"))) |> Array.map (fun l -> l.Split(','))
            let pred = summary |> Array.find (fun r -> r.[0] = "pred" && r.[1] = "chair")
            Expect.equal pred.[Array.findIndex ((=) "iou_3d_mean") summary.[0]] (column "iou_3d" meshRow) "the mean 3D IoU is over the mesh alone"
            Expect.equal (pred.[2], pred.[3]) ("2", "2") "2 scored, 2 failed"
            // Reasons may hold commas (quoted): read as whole lines.
            let failure k = lines (File.ReadAllText(Path.Combine(report, "shapes_instances.csv"))) |> Array.find (fun l -> l.StartsWith(sprintf "pred,chair,%s," ids.[k]))
            for k, why in [ 2, "no vertices"; 3, "data ends" ] do
                Expect.stringContains (failure k) (ply k) (sprintf "the failure of instance %d names the file" k)
                Expect.stringContains (failure k) why (sprintf "and says what is wrong with it (instance %d)" k)
            // Clouds alone: the method's 3D IoU is '–' in the Markdown, with the reason.
            let run = runCliIn dir.Path 120 (evalArgs dir [ "--predictions"; dir.File "pred"; "--report"; report; "--limit"; "1" ])
            expectExit 0 run "the cloud alone"
            let md = File.ReadAllText(Path.Combine(report, "shapes.md"))
            let row = lines md |> Array.find (fun l -> l.StartsWith "| pred | chair | 1 |")
            Expect.isTrue (row.EndsWith "| – |") (sprintf "the 3D IoU cell: %s" row)
            Expect.stringContains md "pred: iou_3d (1 of 1)" "the report says it is missing"
        }

        test "a report folder holds one run's files: a rerun leaves none of the previous run's figures; a folder of other files is refused" {
            use dir = new TempDir()
            prepare dir 2 [ 0; 1 ] |> ignore
            let report = dir.File "report"
            let first = runCliIn dir.Path 120 (evalArgs dir [ "--predictions"; dir.File "pred"; "--report"; report; "--grid"; "1" ])
            expectExit 0 first "first run"
            let before = filesUnder report
            Expect.contains before (Path.Combine("figures", "grid_chair.png")) "the first run draws the grid"
            Expect.isTrue (before |> Array.exists (fun f -> f.Contains "shapes_pred_")) "and the prediction's histograms"
            let second = runCliIn dir.Path 120 (evalArgs dir [ "--report"; report ])
            expectExit 0 second "second run"
            let after = filesUnder report
            Expect.isFalse (after |> Array.exists (fun f -> f.Contains "grid_chair" || f.Contains "shapes_pred_")) (sprintf "no figure of the first run is left: %A" after)
            Expect.contains after "shapes.md" "the second run's report"
            Expect.equal (dir.Entries()) [| "cache"; "pred"; "report" |] "no temporary folder is left beside the report"
            // A folder with other files is not a report: refused before any work, untouched.
            let notes = dir.File "notes"
            Directory.CreateDirectory notes |> ignore
            File.WriteAllText(Path.Combine(notes, "todo.txt"), "keep me")
            let refused = runCliIn dir.Path 120 (evalArgs dir [ "--report"; notes ])
            expectExit 2 refused "a folder of other files"
            Expect.stringContains refused.Stderr "--report" "the message names the option"
            Expect.stringContains refused.Stderr notes "the message names the folder"
            Expect.equal (filesUnder notes) [| "todo.txt" |] "the folder is untouched"
            // `--report .` in a folder of other files: the same.
            let here = runCliIn notes 120 (evalArgs dir [ "--report"; "." ])
            expectExit 2 here "--report ."
            Expect.equal (filesUnder notes) [| "todo.txt" |] "the current folder is untouched"
            // An empty folder is fine.
            let empty = dir.File "empty"
            Directory.CreateDirectory empty |> ignore
            expectExit 0 (runCliIn dir.Path 120 (evalArgs dir [ "--report"; empty ])) "an empty folder"
            Expect.contains (filesUnder empty) "shapes.md" "the report is written into the empty folder"
        }

        test "Ctrl+C during eval stops between instances: one line, exit 130, no invented failure, the previous report untouched" {
            use dir = new TempDir()
            prepare dir 30 [] |> ignore
            let report = dir.File "report"
            expectExit 0 (runCliIn dir.Path 120 (evalArgs dir [ "--report"; report; "--limit"; "1" ])) "the previous run"
            let before = filesUnder report |> Array.map (fun f -> f, File.ReadAllBytes(Path.Combine(report, f)))
            let run = runCliInterrupted dir.Path 120 "template CD-L1" (evalArgs dir [ "--report"; report; "--points"; "5000" ])
            expectExit 130 run "interrupted"
            Expect.equal (lines run.Stderr) [| "reconstruct: interrupted" |] "one line on stderr"
            Expect.stringDoesNotContain run.Stdout "failed" "the instance in progress is not a failure"
            let after = filesUnder report |> Array.map (fun f -> f, File.ReadAllBytes(Path.Combine(report, f)))
            Expect.equal after before "the previous report is untouched"
            Expect.equal (dir.Entries()) [| "cache"; "pred"; "report" |] "no temporary folder is left beside the report"
        }

        test "a truncated or malformed manifest is one line naming the file" {
            use dir = new TempDir()
            prepare dir 2 [] |> ignore
            let manifest = Furniture.manifestPath (dir.File "cache") "chair"
            let text = File.ReadAllText manifest
            File.WriteAllText(manifest, text.Substring(0, text.Length / 2))
            let e = Expect.catchT<InvalidDataException> (fun () -> FurnitureManifest.read manifest |> ignore) "truncated"
            Expect.stringStarts e.Message (manifest + ": not a valid manifest (") "the message names the file"
            Expect.equal (lines e.Message).Length 1 "one line"
            let run = runCliIn dir.Path 120 (evalArgs dir [ "--report"; dir.File "report" ])
            expectExit 1 run "eval on a truncated manifest"
            Expect.equal (lines run.Stderr).Length 1 (sprintf "one line: %s" run.Stderr)
            Expect.stringContains run.Stderr (manifest + ": not a valid manifest (") "the line names the file"
            // Valid JSON without the fields a manifest has.
            File.WriteAllText(manifest, """{ "category": "chair", "models": [ { "id": "x" } ], "failures": [] }""")
            let e = Expect.catchT<InvalidDataException> (fun () -> FurnitureManifest.read manifest |> ignore) "a model without fields"
            Expect.stringStarts e.Message (manifest + ": not a valid manifest (") "the message names the file"
            Expect.stringContains e.Message "models[0]: 'sizeCm'" "and the field"
            File.WriteAllText(manifest, text.Replace("\"split\": \"test\"", "\"split\": \"exam\""))
            let e = Expect.catchT<InvalidDataException> (fun () -> FurnitureManifest.read manifest |> ignore) "an unknown split"
            Expect.stringContains e.Message "'exam'" "names the value"
        }
    ]
