/// `reconstruct report`: the HTML page of a predict folder and of a training run, opened from
/// file:// in Debian's Chromium (headless, through Playwright, software WebGL) to see that every
/// viewer draws its mesh with no error; the page's text escaped; folders of neither kind refused.
module Reconstruct.Tests.ReportTests

open System
open System.IO
open System.Text.RegularExpressions
open System.Threading.Tasks
open Expecto
open Microsoft.Playwright
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Pipelines
open Reconstruct.Train
open Reconstruct.App
open Reconstruct.Tests.TestHelpers

let private wait (t: Task<'T>) = t.GetAwaiter().GetResult()
let private waitUnit (t: Task) = t.GetAwaiter().GetResult()

/// The browser: Debian's, never one Playwright would download.
[<Literal>]
let private Chromium = "/usr/bin/chromium"

/// A predict output folder of two images, from a tiny UNICORN whose weights are moved off
/// their initialisation (so the texture is not uniform).
let private predictFolder (dir: TempDir) =
    let modelDir = Directory.CreateDirectory(dir.File "model")
    do
        use g = new Generator(11UL)
        let model = Unicorn.create g UnicornPipelineTests.small
        try
            do
                use _ = Autograd.noGrad ()
                for _, p in Unicorn.parameters model do
                    use _ = DisposalScope.Open()
                    p.add_ (Tensor.randn (p.Shape, g) * 0.05) |> ignore
            Predict.save model (Path.Combine(modelDir.FullName, Predict.ModelFile)) "tiny" 1L []
        finally
            Unicorn.dispose model
    let inputs = Directory.CreateDirectory(dir.File "inputs")
    for i, name in List.indexed [ "chair <1>.png"; "chair&2.png" ] do
        use _ = DisposalScope.Open()
        use g = new Generator(uint64 (20 + i))
        Image.save (Path.Combine(inputs.FullName, name)) (Image.resizeWith ResizeMode.Bilinear (32, 32) (Tensor.rand ([ 1; 3; 4; 4 ], g))).[0]
    File.WriteAllText(Path.Combine(inputs.FullName, "notes.txt"), "not an image")
    let out = dir.File "predicted out"
    let options = { Predict.Options.Defaults with Model = modelDir.FullName; Input = inputs.FullName; Out = out; BatchSize = 2 }
    Predict.run options Threading.CancellationToken.None ignore |> ignore
    out

/// A training run folder as the trainer and the evaluation leave it: config.json,
/// metrics.jsonl, curves.png, eval/shapes.* and predictions/<instance>.obj (untextured).
let private runFolder (dir: TempDir) =
    let run = Directory.CreateDirectory(dir.File "run dir").FullName
    File.WriteAllText(Path.Combine(run, Trainer.ConfigFile), "{\"Pipeline\": \"softras\", \"Name\": \"tiny <run>\", \"Seed\": 1}")
    do
        use w = new Metrics.Writer(Path.Combine(run, Metrics.FileName))
        for i in 0..2 do
            w.Append(Step { Iteration = i; Epoch = 0; Batch = i; Losses = [ "total", 1.0 / float (i + 1) ]; Lr = 1e-4; ItPerS = 2.0; MemoryMb = 100.0; ElapsedS = float i })
        w.Append(Validation(3, [ "val_iou", 0.5 ]))
    do
        use _ = DisposalScope.Open()
        Image.save (Path.Combine(run, Curves.FileName)) (Tensor.full ([ 3; 20; 30 ], 0.5))
    let predictions = Directory.CreateDirectory(Path.Combine(run, "predictions")).FullName
    let ids = [ "procedural/chair/7/0"; "procedural/chair/7/1" ]
    for k, id in List.indexed ids do
        use _ = DisposalScope.Open()
        let sphere = Mesh.icosphere 3
        let mesh = { sphere with Vertices = Mesh.scaleAxes (0.3, 0.5 - 0.1 * float k, 0.3) sphere.Vertices }
        let path = Path.Combine(predictions, Benchmark.predictionStem id + ".obj")
        if k = 0 then
            // Textured: the upper half of the texture red, the lower half blue.
            let texture = Tensor.zeros [ 3; 16; 32 ]
            texture.narrow(1, 0, 8).narrow(0, 0, 1).fill_ 1.0 |> ignore
            texture.narrow(1, 8, 8).narrow(0, 2, 1).fill_ 1.0 |> ignore
            MeshIO.writeObjTextured path Image.encodePng texture (Mesh.withUVs (UVMap.spherical sphere.Vertices sphere.Faces) mesh)
        else MeshIO.writeObj path mesh
    let rows method (value: float) =
        [ for id in ids -> { Method = method; Category = "chair"; Instance = id; Values = [ "chamfer_l1", value; "iou_3d", 0.25 ] } : InstanceScores ]
    let report = EvalReport.create "Shape <reconstruction>" [ "chamfer_l1"; "iou_3d" ] (rows "soft<ras>" 0.125) (rows "t" 0.5) (rows "n" 0.0625)
    let eval = Directory.CreateDirectory(Path.Combine(run, Trainer.EvalFolder)).FullName
    EvalReport.write eval "shapes" report |> ignore
    run

/// Opens `page` (a file) in headless Chromium, waits for every viewer's first frame and
/// returns (every viewer canvas as PNG bytes, the first after a drag across it, console
/// errors, page errors).
let private openPage (page: string) (screenshot: string option) =
    if not (File.Exists Chromium) then failtestf "%s is missing: Debian's chromium (`dotnet fsi build.fsx setup` installs it)" Chromium
    use playwright = wait (Playwright.CreateAsync())
    let options =
        BrowserTypeLaunchOptions(
            ExecutablePath = Chromium,
            Headless = true,
            // No GPU here: WebGL runs on SwiftShader, which Chromium now enables only on request.
            Args = [| "--no-sandbox"; "--enable-unsafe-swiftshader"; "--use-angle=swiftshader" |]
        )
    let browser = wait (playwright.Chromium.LaunchAsync options)
    try
        let tab = wait (browser.NewPageAsync(BrowserNewPageOptions(ViewportSize = ViewportSize(Width = 1280, Height = 1000))))
        let errors = Collections.Concurrent.ConcurrentQueue<string>()
        let pageErrors = Collections.Concurrent.ConcurrentQueue<string>()
        tab.Console.Add(fun m -> if m.Type = "error" then errors.Enqueue m.Text)
        tab.PageError.Add(fun e -> pageErrors.Enqueue e)
        wait (tab.GotoAsync((Uri page).AbsoluteUri)) |> ignore
        wait (tab.WaitForFunctionAsync("() => window.viewerReady === true", null, PageWaitForFunctionOptions(Timeout = 60000.0f))) |> ignore
        let canvases = wait (tab.Locator(".viewer canvas").AllAsync())
        let shots = [ for c in canvases -> wait (c.ScreenshotAsync()) ]
        let first = tab.Locator(".viewer canvas").First
        // A drag turns the mesh (OrbitControls), redrawn at the next animation frame.
        let box = wait (first.BoundingBoxAsync())
        let x, y = box.X + box.Width / 2.0f, box.Y + box.Height / 2.0f
        waitUnit (tab.Mouse.MoveAsync(x, y))
        waitUnit (tab.Mouse.DownAsync())
        waitUnit (tab.Mouse.MoveAsync(x + 90.0f, y + 20.0f, MouseMoveOptions(Steps = 6)))
        waitUnit (tab.Mouse.UpAsync())
        wait (tab.EvaluateAsync("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")) |> ignore
        let turned = wait (first.ScreenshotAsync())
        screenshot |> Option.iter (fun path -> wait (tab.ScreenshotAsync(PageScreenshotOptions(Path = path, FullPage = true))) |> ignore)
        shots, turned, List.ofSeq errors, List.ofSeq pageErrors
    finally
        waitUnit (browser.CloseAsync())

/// The share of the image's pixels that are not white (some channel below 0.9).
let private drawnShare (png: byte[]) =
    use _ = DisposalScope.Open()
    let image = Image.decode "screenshot.png" png
    let h, w = image.Size 1, image.Size 2
    let v = image.ToFloat32s()
    let notWhite = Seq.init (h * w) (fun i -> v.[i] < 0.9f || v.[h * w + i] < 0.9f || v.[2 * h * w + i] < 0.9f) |> Seq.filter id |> Seq.length
    float notWhite / float (h * w)

/// The share of pixels that differ (by more than 0.05 in some channel) between two images.
let private changedShare (a: byte[]) (b: byte[]) =
    use _ = DisposalScope.Open()
    let x, y = Image.decode "a.png" a, Image.decode "b.png" b
    Expect.equal x.Shape y.Shape "same size"
    let n = x.Size 1 * x.Size 2
    let u, v = x.ToFloat32s(), y.ToFloat32s()
    let changed = Seq.init n (fun i -> [ 0..2 ] |> List.exists (fun c -> abs (u.[c * n + i] - v.[c * n + i]) > 0.05f)) |> Seq.filter id |> Seq.length
    float changed / float n

/// The mean RGB of the drawn (not white) pixels in the top and the bottom fifth of the rows
/// the drawing spans.
let private bandColours (png: byte[]) =
    use _ = DisposalScope.Open()
    let image = Image.decode "screenshot.png" png
    let h, w = image.Size 1, image.Size 2
    let v = image.ToFloat32s()
    let drawn y x = [ 0..2 ] |> List.exists (fun c -> v.[c * h * w + y * w + x] < 0.9f)
    let rows = [ for y in 0 .. h - 1 do if [ 0 .. w - 1 ] |> List.exists (drawn y) then y ]
    let r0, r1 = List.min rows, List.max rows
    let band = max 1 ((r1 - r0) / 5)
    let mean (ys: int list) =
        let pixels = [ for y in ys do for x in 0 .. w - 1 do if drawn y x then y, x ]
        Array.init 3 (fun c -> pixels |> List.averageBy (fun (y, x) -> float v.[c * h * w + y * w + x]))
    mean [ r0 .. r0 + band ], mean [ r1 - band .. r1 ]

/// Where the page's screenshot goes, for a person to look at: RECONSTRUCT_REPORT_SHOT=<file>.
let private screenshotPath () =
    match Environment.GetEnvironmentVariable "RECONSTRUCT_REPORT_SHOT" with
    | null
    | "" -> None
    | p -> Some p

[<Tests>]
let tests =
    testList "Report" [
        test "a predict folder's page draws every mesh in Chromium from file://, with no console or page error" {
            use dir = new TempDir()
            let source = predictFolder dir
            let page = Report.write source (Path.Combine(source, "report"))
            Expect.equal page (Path.Combine(source, "report", Report.PageFile)) "the page's path"
            Expect.isTrue (File.Exists(Path.Combine(source, "report", Report.ViewerFile))) "viewer.js beside the page"
            let text = File.ReadAllText page
            Expect.stringContains text "chair &lt;1&gt;" "a file name is escaped"
            Expect.isFalse (text.Contains "chair <1>") "never raw"
            Expect.stringContains text "notes.txt" "the summary lists the failed input"
            let shots, turned, errors, pageErrors = openPage page (screenshotPath ())
            Expect.equal shots.Length 2 "one viewer per reconstructed image"
            let shot = shots.[0]
            Expect.isEmpty errors "no console error"
            Expect.isEmpty pageErrors "no page error"
            let share = drawnShare shot
            Expect.isGreaterThan share 0.05 (sprintf "the mesh is drawn: %.1f%% of the first viewer is not white background" (100.0 * share))
            let changed = changedShare shot turned
            Expect.isGreaterThan changed 0.01 (sprintf "a drag turns the mesh: %.1f%% of the pixels changed" (100.0 * changed))
        }

        test "a training run's page: curves, the eval table escaped, textured and grey meshes drawn (v = 0 at the top), scores per instance" {
            use dir = new TempDir()
            let source = runFolder dir
            let page = Report.write source (dir.File "report out")
            let text = File.ReadAllText page
            Expect.stringContains text "Shape &lt;reconstruction&gt;" "the eval table's title, escaped"
            Expect.stringContains text "soft&lt;ras&gt;" "the method, escaped"
            Expect.stringContains text "0.1250" "the method's mean"
            Expect.stringContains text "tiny &lt;run&gt;" "the run's name"
            Expect.equal (Regex.Matches(text, "class=\"viewer\"").Count) 2 "a viewer per prediction"
            Expect.equal (Regex.Matches(text, "class=\"scores\"").Count) 2 "the run's scores under each"
            Expect.stringContains text "data:image/png;base64," "curves.png inside the page"
            let shots, _, errors, pageErrors = openPage page None
            Expect.equal shots.Length 2 "both drawn"
            Expect.isEmpty errors "no console error"
            Expect.isEmpty pageErrors "no page error"
            for shot in shots do
                Expect.isGreaterThan (drawnShare shot) 0.05 "the mesh is drawn"
            // The textured sphere's texture is red above blue: v = 0 is the top row from the
            // texture through OBJ, GLB and three.js to the screen (edges blend with the white).
            let top, bottom = bandColours shots.[0]
            Expect.isTrue (top.[0] > top.[2] + 0.4) (sprintf "the top of the sphere is red: %A" top)
            Expect.isTrue (bottom.[2] > bottom.[0] + 0.4) (sprintf "the bottom of the sphere is blue: %A" bottom)
            let grey = bandColours shots.[1] |> fst
            Expect.isTrue (abs (grey.[0] - grey.[2]) < 0.05 && grey.[0] < 0.95) (sprintf "the untextured mesh is grey: %A" grey)
        }

        test "a folder of neither kind, or none, is one line naming it; the CLI exits 2" {
            use dir = new TempDir()
            File.WriteAllText(dir.File "notes.txt", "hello")
            let e = Expect.catchT<Report.ReportError> (fun () -> Report.write dir.Path (dir.File "out") |> ignore) "neither kind"
            Expect.equal e.Message (sprintf "%s: neither a predict output folder (no summary.json) nor a training run folder (no config.json)" dir.Path) "the message"
            Expect.isFalse (Directory.Exists(dir.File "out")) "nothing written"
            let missing = Expect.catchT<Report.ReportError> (fun () -> Report.write (dir.File "absent") (dir.File "out") |> ignore) "missing"
            Expect.stringContains missing.Message "absent: no such folder" "names the folder"
            File.WriteAllText(dir.File "summary.json", "{ not json")
            let bad = Expect.catchT<Report.ReportError> (fun () -> Report.write dir.Path (dir.File "out") |> ignore) "bad summary"
            Expect.stringStarts bad.Message (dir.File "summary.json" + ": not valid JSON") "names the file"
            Expect.isFalse (bad.Message.Contains "\n") "one line"
            let run = runCli [ "report"; dir.File "absent" ]
            Expect.equal run.ExitCode 2 (sprintf "exit code (stderr: %s)" run.Stderr)
            Expect.equal (run.Stderr.Trim()) (sprintf "reconstruct: %s: no such folder" (dir.File "absent")) "one line"
        }
    ]
