module Reconstruct.App.Report

open System
open System.Globalization
open System.IO
open System.Net
open System.Text
open System.Text.Json
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Data
open Reconstruct.Train

exception ReportError of path: string * problem: string
    with override this.Message = sprintf "%s: %s" this.path this.problem

[<Literal>]
let PageFile = "index.html"

[<Literal>]
let ViewerFile = "viewer.js"

[<Literal>]
let MaxPredictViews = 48

[<Literal>]
let MaxRunViews = 12

let private inv = CultureInfo.InvariantCulture

/// Text from a folder, safe in HTML content and in quoted attributes.
let private html (s: string) = WebUtility.HtmlEncode s

let private firstLine (s: string) = s.Split('\n').[0].Trim()

let private number (v: float) = if Double.IsFinite v then v.ToString("0.0000", inv) else "–"

let private ordinal (files: string[]) = files |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))

// ------------------------------------------------------------------------------ the viewer

let viewerScript () =
    let rec above (dir: DirectoryInfo) =
        if isNull dir then [] else Path.Combine(dir.FullName, "viewer", "dist", ViewerFile) :: above dir.Parent
    let candidates = above (DirectoryInfo AppContext.BaseDirectory) @ above (DirectoryInfo(Directory.GetCurrentDirectory()))
    match candidates |> List.tryFind File.Exists with
    | Some path -> path
    | None ->
        raise (ReportError("viewer/dist/viewer.js", sprintf "the report's 3D viewer is not built: run `dotnet fsi build.fsx viewer` in the repository (searched the folders above %s and above the current folder)" AppContext.BaseDirectory))

// ------------------------------------------------------------------------------ reading the folder

let private readJson (path: string) =
    try JsonDocument.Parse(File.ReadAllText path)
    with
    | :? JsonException as e -> raise (ReportError(path, "not valid JSON: " + firstLine e.Message))
    | :? IOException
    | :? UnauthorizedAccessException as e -> raise (ReportError(path, firstLine e.Message))

let private prop (e: JsonElement) (name: string) =
    if e.ValueKind <> JsonValueKind.Object then None
    else
        match e.TryGetProperty name with
        | true, v -> Some v
        | _ -> None

let private str (e: JsonElement) (name: string) =
    prop e name |> Option.filter (fun v -> v.ValueKind = JsonValueKind.String) |> Option.map (fun v -> v.GetString())

let private num (e: JsonElement) (name: string) =
    prop e name |> Option.filter (fun v -> v.ValueKind = JsonValueKind.Number) |> Option.map (fun v -> v.GetDouble())

let private nums (e: JsonElement) (name: string) =
    prop e name
    |> Option.filter (fun v -> v.ValueKind = JsonValueKind.Array)
    |> Option.map (fun v -> [ for x in v.EnumerateArray() -> if x.ValueKind = JsonValueKind.Number then x.GetDouble() else nan ])

let private items (e: JsonElement) (name: string) =
    prop e name |> Option.filter (fun v -> v.ValueKind = JsonValueKind.Array) |> Option.map (fun v -> List.ofSeq (v.EnumerateArray()))

/// A PNG as a data URI: an <img> from file:// would load too, but the page then needs the
/// files beside it; inside, it can be moved or mailed alone with viewer.js.
let private pngUri (path: string) =
    try Some("data:image/png;base64," + Convert.ToBase64String(File.ReadAllBytes path))
    with
    | :? IOException
    | :? UnauthorizedAccessException -> None

/// The texture an OBJ names: the first map_Kd of its mtllib, when both files exist beside it.
let private textureOf (obj: string) =
    let dir = Path.GetDirectoryName(Path.GetFullPath obj)
    let statement (keyword: string) (path: string) =
        File.ReadLines path
        |> Seq.tryPick (fun line ->
            let t = line.Trim()
            if t.StartsWith(keyword + " ") then Some(t.Substring(keyword.Length).Trim()) else None)
    statement "mtllib" obj
    |> Option.map (fun mtl -> Path.Combine(dir, mtl))
    |> Option.filter File.Exists
    |> Option.bind (statement "map_Kd")
    |> Option.map (fun png -> Path.Combine(dir, png))
    |> Option.filter File.Exists

/// An OBJ as a GLB: textured (unlit) when it has UVs and its material names a texture, else
/// lit grey. Error: one line for the page, naming the file.
let private glbOf (obj: string) : Result<byte[], string> =
    use scope = DisposalScope.Open()
    try
        let mesh = MeshIO.readObj obj
        match mesh.UVs, textureOf obj with
        | Some _, Some png -> Ok(Gltf.glbBytes Image.encodePng (Image.load png) mesh)
        | _ -> Ok(Gltf.untexturedGlbBytes mesh)
    with
    | :? MeshFileException as e -> Error e.Message
    | :? ImageFileException as e -> Error e.Message
    | :? ArgumentException as e -> Error(sprintf "%s: %s" obj (firstLine e.Message))
    | :? IOException
    | :? UnauthorizedAccessException as e -> Error(sprintf "%s: %s" obj (firstLine e.Message))

// ------------------------------------------------------------------------------ HTML pieces

let private style =
    """body { font-family: system-ui, sans-serif; color: #222; margin: 1.5em auto; max-width: 1280px; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.6em; } h3 { font-size: 1.05em; margin: 0 0 0.5em; }
.meta, .hint, figcaption { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.failed, .problem, .viewer-error { color: #a00; }
.instance { border-top: 1px solid #ddd; padding: 1em 0; }
.row { display: flex; flex-wrap: wrap; gap: 1.2em; align-items: flex-start; }
.viewer { width: 320px; height: 320px; border: 1px solid #ccc; }
.viewer canvas { display: block; cursor: grab; touch-action: none; }
.viewers { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; } figure img { max-width: 100%; }
img.pixels { image-rendering: pixelated; }
pre { background: #f6f6f6; padding: 0.6em; overflow: auto; max-height: 24em; font-size: 0.85em; }
"""

let private page (title: string) (body: StringBuilder) =
    let sb = StringBuilder()
    sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
      .Append(html title)
      .Append("</title>\n<style>\n")
      .Append(style)
      .Append("</style>\n</head>\n<body>\n")
      .Append(body.ToString())
      // A classic script (not a module): Chromium runs it from file://.
      .Append("<script src=\"")
      .Append(ViewerFile)
      .Append("\"></script>\n</body>\n</html>\n")
    |> ignore
    sb.ToString()

let private viewerDiv (name: string) (glb: byte[]) =
    sprintf "<div class=\"viewer\" data-name=\"%s\" data-glb=\"%s\"></div>" (html name) (Convert.ToBase64String glb)

let private figure (path: string) (caption: string) (pixels: bool) =
    match pngUri path with
    | Some uri ->
        sprintf "<figure><img%s src=\"%s\" alt=\"%s\"><figcaption>%s</figcaption></figure>"
            (if pixels then " class=\"pixels\"" else "") uri (html caption) (html caption)
    | None -> sprintf "<p class=\"problem\">%s could not be read</p>" (html path)

let private hint = "<p class=\"hint\">Drag to turn a mesh, right-drag to move it, scroll to zoom.</p>\n"

// ------------------------------------------------------------------------------ predict folders

let private poseTable (pose: JsonElement) =
    let sb = StringBuilder("<table class=\"pose\">")
    let row (label: string) (value: string) =
        sb.Append("<tr><th>").Append(html label).Append("</th><td class=\"num\">").Append(html value).Append("</td></tr>") |> ignore
    let degrees (name: string) = num pose name |> Option.map (fun v -> v.ToString("0.0", inv) + "°") |> Option.defaultValue "–"
    let vector (name: string) =
        nums pose name |> Option.map (fun v -> String.Join(", ", v |> List.map (fun x -> x.ToString("0.000", inv)))) |> Option.defaultValue "–"
    row "azimuth" (degrees "azimuth_deg")
    row "elevation" (degrees "elevation_deg")
    row "roll" (degrees "roll_deg")
    row "scale" (vector "scale")
    row "translation" (vector "translation")
    match num pose "candidate", nums pose "probabilities" with
    | Some c, Some p when int c >= 0 && int c < p.Length ->
        row "pose candidate" (String.Format(inv, "{0} of {1} (p = {2:0.000})", int c + 1, p.Length, p.[int c]))
    | _ -> ()
    sb.Append("</table>").ToString()

let private predictBody (source: string) =
    let summaryPath = Path.Combine(source, "summary.json")
    use summary = readJson summaryPath
    let root = summary.RootElement
    let rows =
        match items root "items" with
        | Some rows -> rows
        | None -> raise (ReportError(summaryPath, "no \"items\" array (not the summary.json of reconstruct predict)"))
    let model = str root "model" |> Option.defaultValue "?"
    let count name = num root name |> Option.map int |> Option.defaultValue 0
    let perImage = num root "secondsPerImage"
    let body = StringBuilder()
    let line (s: string) = body.Append(s).Append('\n') |> ignore
    line (sprintf "<h1>Reconstructions of %s</h1>" (html (str root "input" |> Option.defaultValue source)))
    line (sprintf "<p class=\"meta\">Model: %s<br>%d reconstructed, %d skipped (already complete), %d failed; %s per image, %s in all.</p>"
              (html model) (count "reconstructed") (count "skipped") (count "failed")
              (perImage |> Option.map (fun s -> (1000.0 * s).ToString("0.0", inv) + " ms") |> Option.defaultValue "–")
              (num root "seconds" |> Option.map (fun s -> s.ToString("0.0", inv) + " s") |> Option.defaultValue "–"))
    line "<h2>Summary</h2>"
    line "<table class=\"summary\"><tr><th>input</th><th>outcome</th><th class=\"num\">seconds</th></tr>"
    for item in rows do
        let input = str item "input" |> Option.defaultValue "?"
        let status = str item "status" |> Option.defaultValue "?"
        let outcome, cls =
            match status with
            | "failed" -> "failed: " + (str item "reason" |> Option.defaultValue "no reason given"), " class=\"failed\""
            | "skipped" -> "skipped (outputs already complete)", ""
            | s -> s, ""
        let seconds = num item "seconds" |> Option.map (fun s -> s.ToString("0.000", inv)) |> Option.defaultValue ""
        line (sprintf "<tr%s><td>%s</td><td>%s</td><td class=\"num\">%s</td></tr>" cls (html (Path.GetFileName input)) (html outcome) seconds)
    line "</table>"
    // The images done: pose.json is the last file predict writes for one.
    let names =
        Directory.GetFiles(source, "*.pose.json")
        |> ordinal
        |> Array.map (fun f -> let n = Path.GetFileName f in n.Substring(0, n.Length - ".pose.json".Length))
    line (sprintf "<h2>Meshes (%d)</h2>" names.Length)
    if names.Length > MaxPredictViews then
        line (sprintf "<p class=\"hint\">The first %d have a 3D view; the others their figure and pose.</p>" MaxPredictViews)
    line hint
    for i, name in Array.indexed names do
        let file (suffix: string) = Path.Combine(source, name + suffix)
        line (sprintf "<section class=\"instance\" id=\"%s\">" (html name))
        let pose =
            try
                use doc = JsonDocument.Parse(File.ReadAllText(file ".pose.json"))
                Ok(doc.RootElement.Clone())
            with
            | :? JsonException
            | :? IOException as e -> Error(sprintf "%s: %s" (file ".pose.json") (firstLine e.Message))
        let input = match pose with Ok p -> str p "input" | Error _ -> None
        line (sprintf "<h3>%s%s</h3>" (html name) (input |> Option.map (fun i -> sprintf " <span class=\"meta\">(%s)</span>" (html i)) |> Option.defaultValue ""))
        line "<div class=\"row\">"
        if i < MaxPredictViews then
            if File.Exists(file ".obj") then
                match glbOf (file ".obj") with
                | Ok glb -> line (viewerDiv name glb)
                | Error problem -> line (sprintf "<p class=\"problem\">No 3D view: %s</p>" (html problem))
            else line (sprintf "<p class=\"problem\">No 3D view: %s is missing</p>" (html (file ".obj")))
        match pose with
        | Ok p -> line (poseTable p)
        | Error problem -> line (sprintf "<p class=\"problem\">%s</p>" (html problem))
        line "</div>"
        if File.Exists(file ".png") then
            line (figure (file ".png") "input | reconstruction over its background | three novel views (+90°, +180°, +270° azimuth)" true)
        line "</section>"
    sprintf "Reconstructions: %s" (str root "input" |> Option.defaultValue source), body

// ------------------------------------------------------------------------------ run folders

let private isReference (m: string) = m = EvalReport.TemplateReference || m = EvalReport.NoisyTruthReference

/// An eval/*.json that EvalReport.toJson wrote: title, metrics, summaries, instances, failures.
type private EvalFile =
    { Name: string
      Title: string
      Metrics: string list
      Summary: JsonElement list
      Instances: JsonElement list
      Failures: JsonElement list }

let private evalFiles (source: string) =
    let dir = Path.Combine(source, Trainer.EvalFolder)
    if not (Directory.Exists dir) then []
    else
        let rootOf (path: string) =
            use doc = readJson path
            doc.RootElement.Clone()
        [ for path in ordinal (Directory.GetFiles(dir, "*.json")) do
              let root = rootOf path
              match items root "metrics", items root "summary" with
              | Some metrics, Some summary ->
                  yield
                      { Name = Path.GetFileNameWithoutExtension path
                        Title = str root "title" |> Option.defaultValue (Path.GetFileName path)
                        Metrics = metrics |> List.map (fun m -> m.GetString())
                        Summary = summary
                        Instances = items root "instances" |> Option.defaultValue []
                        Failures = items root "failures" |> Option.defaultValue [] }
              | _ -> () ]

let private evalTable (e: EvalFile) =
    let sb = StringBuilder()
    let line (s: string) = sb.Append(s).Append('\n') |> ignore
    line (sprintf "<h3>%s <span class=\"meta\">(eval/%s.json, means per category)</span></h3>" (html e.Title) (html e.Name))
    line "<table class=\"eval\"><tr><th>method</th><th>category</th><th class=\"num\">n</th><th class=\"num\">failed</th>"
    for m in e.Metrics do
        line (sprintf "<th class=\"num\">%s</th>" (html m))
    line "</tr>"
    for s in e.Summary do
        let means = prop s "mean"
        let cells =
            [ for m in e.Metrics ->
                  match means |> Option.bind (fun v -> num v m) with
                  | Some v -> number v
                  | None -> "–" ]
        line (
            sprintf "<tr><td>%s</td><td>%s</td><td class=\"num\">%d</td><td class=\"num\">%d</td>%s</tr>"
                (html (str s "method" |> Option.defaultValue "?"))
                (html (str s "category" |> Option.defaultValue "?"))
                (num s "count" |> Option.map int |> Option.defaultValue 0)
                (num s "failed" |> Option.map int |> Option.defaultValue 0)
                (String.Join("", cells |> List.map (sprintf "<td class=\"num\">%s</td>")))
        )
    line "</table>"
    if not e.Failures.IsEmpty then
        line (sprintf "<details><summary class=\"failed\">%d instances without scores</summary><ul>" e.Failures.Length)
        for f in e.Failures do
            line (
                sprintf "<li>%s / %s: %s</li>"
                    (html (str f "method" |> Option.defaultValue "?"))
                    (html (str f "instance" |> Option.defaultValue "?"))
                    (html (str f "reason" |> Option.defaultValue "?"))
            )
        line "</ul></details>"
    sb.ToString()

/// A figure's caption: the first Markdown heading of its .md beside it, else its file name.
let private captionOf (png: string) =
    let md = Path.ChangeExtension(png, ".md")
    let heading =
        if File.Exists md then File.ReadLines md |> Seq.tryFind (fun l -> l.StartsWith "# ") |> Option.map (fun l -> l.Substring(2).Trim())
        else None
    heading |> Option.defaultValue (Path.GetFileName png)

let private runBody (source: string) =
    let configPath = Path.Combine(source, Trainer.ConfigFile)
    use config = readJson configPath
    let name = str config.RootElement "Name" |> Option.defaultValue (Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath source)))
    let pipeline = str config.RootElement "Pipeline" |> Option.defaultValue "?"
    let body = StringBuilder()
    let line (s: string) = body.Append(s).Append('\n') |> ignore
    line (sprintf "<h1>Training run %s</h1>" (html name))
    let metricsPath = Path.Combine(source, Metrics.FileName)
    let progress =
        if not (File.Exists metricsPath) then "no metrics.jsonl yet"
        else
            let lines =
                try Metrics.read metricsPath
                with
                | :? InvalidDataException as e -> raise (ReportError(metricsPath, firstLine e.Message))
                | :? IOException as e -> raise (ReportError(metricsPath, firstLine e.Message))
            let steps = lines |> List.choose (function Step s -> Some s | _ -> None)
            match List.tryLast steps with
            | Some last -> String.Format(inv, "{0} steps logged, {1:0.0} min of training", last.Iteration + 1, last.ElapsedS / 60.0)
            | None -> "no training step logged yet"
    line (sprintf "<p class=\"meta\">Pipeline %s; %s. Folder: %s</p>" (html pipeline) (html progress) (html (Path.GetFullPath source)))
    let curves = Path.Combine(source, Curves.FileName)
    if File.Exists curves then
        line "<h2>Training curves</h2>"
        line (figure curves "losses and validation metrics over the iterations (curves.png)" false)
    let evals = evalFiles source
    if not evals.IsEmpty then
        line "<h2>Evaluation</h2>"
        for e in evals do
            line (evalTable e)
    let figures = Path.Combine(source, Trainer.EvalFolder, "figures")
    if Directory.Exists figures then
        let pngs = ordinal (Directory.GetFiles(figures, "*.png"))
        // EvalReport names its histograms "<report>_<method>_<metric>.png".
        let isHistogram (png: string) = evals |> List.exists (fun e -> Path.GetFileName(png).StartsWith(e.Name + "_"))
        let main, histograms = pngs |> Array.partition (isHistogram >> not)
        for png in main do
            line (figure png (captionOf png) false)
        if histograms.Length > 0 then
            line (sprintf "<details><summary>Histograms of the per-instance values (%d)</summary><div class=\"viewers\">" histograms.Length)
            for png in histograms do
                line (figure png (Path.GetFileNameWithoutExtension png) false)
            line "</div></details>"
    let predictions = Path.Combine(source, "predictions")
    let objs = if Directory.Exists predictions then ordinal (Directory.GetFiles(predictions, "*.obj")) else [||]
    if objs.Length > 0 then
        // The run's own method (not the reference rows) scores each instance.
        let scored =
            [ for e in evals do
                  for i in e.Instances do
                      match str i "method", str i "instance", prop i "values" with
                      | Some m, Some id, Some values when not (isReference m) ->
                          yield Benchmark.predictionStem id, (m, e.Metrics |> List.choose (fun k -> num values k |> Option.map (fun v -> k, v)))
                      | _ -> () ]
        let byStem = scored |> List.groupBy fst |> List.map (fun (k, v) -> k, List.map snd v) |> Map.ofList
        let stems = objs |> Array.map Path.GetFileNameWithoutExtension
        // In the evaluation's order when there is one, the files' order otherwise.
        let order =
            (scored |> List.map fst |> List.distinct |> List.filter (fun s -> Array.contains s stems)) @ List.ofArray stems
            |> List.distinct
            |> List.truncate MaxRunViews
        line (sprintf "<h2>Test predictions (%d of %d)</h2>" order.Length objs.Length)
        line hint
        line "<div class=\"viewers\">"
        for stem in order do
            line "<div class=\"instance\">"
            line (sprintf "<h3>%s</h3>" (html stem))
            match glbOf (Path.Combine(predictions, stem + ".obj")) with
            | Ok glb -> line (viewerDiv stem glb)
            | Error problem -> line (sprintf "<p class=\"problem\">No 3D view: %s</p>" (html problem))
            match byStem.TryFind stem with
            | Some scores ->
                line "<table class=\"scores\">"
                for m, values in scores do
                    for k, v in values do
                        line (sprintf "<tr><th>%s</th><td class=\"num\">%s</td></tr>" (html (if scores.Length > 1 then m + " " + k else k)) (number v))
                line "</table>"
            | None -> ()
            line "</div>"
        line "</div>"
    line (sprintf "<details><summary>config.json</summary><pre>%s</pre></details>" (html (File.ReadAllText configPath)))
    sprintf "Training run %s" name, body

// ------------------------------------------------------------------------------ the page

let writePage (source: string) (out: string) (pageFile: string) =
    if String.IsNullOrWhiteSpace pageFile || Path.GetFileName pageFile <> pageFile then
        invalidArg "pageFile" (sprintf "Report.writePage: the page must be a plain file name, received '%s'" pageFile)
    if not (Directory.Exists source) then raise (ReportError(source, "no such folder"))
    let isPredict = File.Exists(Path.Combine(source, "summary.json"))
    let isRun = File.Exists(Path.Combine(source, Trainer.ConfigFile))
    if not isPredict && not isRun then
        raise (ReportError(source, "neither a predict output folder (no summary.json) nor a training run folder (no config.json)"))
    // Before the work: a report without its viewer is no use.
    let viewer = viewerScript ()
    let title, body = if isPredict then predictBody source else runBody source
    // A predict folder scored against ground truth (the demo) shows its tables first.
    if isPredict then
        let evals = evalFiles source
        if not evals.IsEmpty then
            let tables = StringBuilder("<h2>Evaluation against the ground truth</h2>\n")
            for e in evals do
                tables.Append(evalTable e) |> ignore
            let at = body.ToString().IndexOf "<h2>Summary</h2>"
            body.Insert((if at >= 0 then at else body.Length), tables.ToString()) |> ignore
    try Directory.CreateDirectory out |> ignore
    with
    | :? IOException
    | :? UnauthorizedAccessException as e -> raise (Files.FileWriteError(out, "the report folder cannot be created: " + firstLine e.Message))
    let pagePath = Path.Combine(out, pageFile)
    Files.writeBytesAtomically (Path.Combine(out, ViewerFile)) (File.ReadAllBytes viewer)
    Files.writeTextAtomically pagePath (page title body)
    pagePath

let write (source: string) (out: string) = writePage source out PageFile
