/// Evaluation reports: per-instance scores of methods and reference rows, summarised per
/// category into Markdown, CSV and JSON (written atomically), with histograms of the
/// per-instance values as data (and as a simple image, or through a caller's renderer).
namespace Reconstruct.App

open System
open System.Globalization
open System.IO
open System.Text
open System.Text.Json
open Reconstruct.Torch
open Reconstruct.Eval

/// One method's scores on one object. Missing metrics are simply absent from Values.
type InstanceScores =
    { Method: string
      Category: string
      Instance: string
      Values: (string * float) list }

/// One method's object that has no scores, and why: no prediction file, a file that could not
/// be read, an evaluation that failed, a ground truth that could not be loaded.
type InstanceFailure =
    { Method: string
      Category: string
      Instance: string
      Reason: string }

/// Means and medians of each metric over one method's instances of one category. The
/// category `EvalReport.AllCategories` holds the unweighted mean over categories (as UNICORN
/// averages its ShapeNet categories) and the median over all instances.
type CategorySummary =
    { Method: string
      Category: string
      /// Instances scored.
      Count: int
      /// Instances of the method that have no scores (the report's Failures): the summary is
      /// over Count of Count + Failed.
      Failed: int
      /// Per metric, the mean over instances that have it (NaN when none does).
      Means: (string * float) list
      Medians: (string * float) list }

/// Counts of one method's per-instance values of one metric in equal bins over [Lo, Hi]
/// (the range of that metric over all methods, so histograms of one metric compare).
type Histogram =
    { Method: string
      Metric: string
      Lo: float
      Hi: float
      /// Bin k covers [Lo + k w, Lo + (k + 1) w), the last one closed; w = (Hi - Lo) / bins.
      Counts: int[]
      /// Values that are NaN or infinite (e.g. the PSNR of identical images), not binned.
      NonFinite: int }

type EvalReport =
    { Title: string
      /// Metric names, in column order.
      Metrics: string list
      /// Method names in row order: the methods, then the reference rows.
      Methods: string list
      Rows: InstanceScores list
      /// The instances that have no scores, per method, with the reason (`withFailures`).
      Failures: InstanceFailure list }

module EvalReport =

    /// Method name of the reference row "template ellipsoid in the true pose".
    [<Literal>]
    let TemplateReference = "reference: template ellipsoid in the true pose"

    /// Method name of the reference row "true mesh with small noise".
    [<Literal>]
    let NoisyTruthReference = "reference: true mesh with small noise"

    /// The category name of the summary over all categories.
    [<Literal>]
    let AllCategories = "mean"

    let private inv = CultureInfo.InvariantCulture

    /// A report of `rows` (any number of methods) plus the two reference rows every report
    /// carries, relabelled with the reference names. Fails when a reference is missing or a
    /// row names a metric not in `metrics`.
    let create (title: string) (metrics: string list) (rows: InstanceScores list) (templateRows: InstanceScores list) (noisyRows: InstanceScores list) =
        if metrics.IsEmpty then invalidArg "metrics" "EvalReport.create: no metrics"
        if List.distinct metrics <> metrics then invalidArg "metrics" (sprintf "EvalReport.create: metric names repeat: %A" metrics)
        if templateRows.IsEmpty then invalidArg "templateRows" "EvalReport.create: the reference row 'template ellipsoid in the true pose' has no instances"
        if noisyRows.IsEmpty then invalidArg "noisyRows" "EvalReport.create: the reference row 'true mesh with small noise' has no instances"
        let known = Set.ofList metrics
        let all =
            rows
            @ (templateRows |> List.map (fun r -> { r with Method = TemplateReference }))
            @ (noisyRows |> List.map (fun r -> { r with Method = NoisyTruthReference }))
        for r in all do
            for name, _ in r.Values do
                if not (known.Contains name) then
                    invalidArg "rows" (sprintf "EvalReport.create: %s / %s / %s has metric '%s', not among %A" r.Method r.Category r.Instance name metrics)
        let methods = (rows |> List.map (fun r -> r.Method) |> List.distinct) @ [ TemplateReference; NoisyTruthReference ]
        { Title = title; Metrics = metrics; Methods = methods; Rows = all; Failures = [] }

    /// The report with `failures` added: instances a method has no scores for, which its
    /// summaries count (Failed) and every file lists. A method that has only failures gets a
    /// row too (placed before the reference rows). Fails when a failure has no reason or names
    /// an instance the method has scores for.
    let withFailures (failures: InstanceFailure list) (report: EvalReport) =
        let scored = report.Rows |> List.map (fun r -> r.Method, r.Category, r.Instance) |> Set.ofList
        for f in failures do
            if String.IsNullOrWhiteSpace f.Reason then
                invalidArg "failures" (sprintf "EvalReport.withFailures: %s / %s / %s has no reason" f.Method f.Category f.Instance)
            if scored.Contains(f.Method, f.Category, f.Instance) then
                invalidArg "failures" (sprintf "EvalReport.withFailures: %s / %s / %s has scores and a failure" f.Method f.Category f.Instance)
        let references = [ TemplateReference; NoisyTruthReference ]
        let methods =
            (report.Methods |> List.filter (fun m -> not (List.contains m references)))
            @ (failures |> List.map (fun f -> f.Method))
            |> List.distinct
            |> List.filter (fun m -> not (List.contains m references))
        { report with Methods = methods @ references; Failures = report.Failures @ failures }

    let private mean (values: float list) = if values.IsEmpty then nan else List.average values

    let private median (values: float list) =
        if values.IsEmpty then nan
        else
            let v = List.sort values |> Array.ofList
            let n = v.Length
            if n % 2 = 1 then v.[n / 2] else 0.5 * (v.[n / 2 - 1] + v.[n / 2])

    let private valuesOf (metric: string) (rows: InstanceScores list) =
        rows |> List.choose (fun r -> r.Values |> List.tryFind (fun (n, _) -> n = metric) |> Option.map snd) |> List.filter (Double.IsNaN >> not)

    let private categories (report: EvalReport) =
        (report.Rows |> List.map (fun r -> r.Category)) @ (report.Failures |> List.map (fun f -> f.Category))
        |> List.distinct |> List.sortWith (fun a b -> String.CompareOrdinal(a, b))

    /// Per method (in report order), one summary per category (ordinal order), then the
    /// summary over all categories.
    let summarize (report: EvalReport) : CategorySummary list =
        let cats = categories report
        [ for m in report.Methods do
              let mine = report.Rows |> List.filter (fun r -> r.Method = m)
              let failed = report.Failures |> List.filter (fun f -> f.Method = m)
              let perCategory =
                  [ for c in cats do
                        let rows = mine |> List.filter (fun r -> r.Category = c)
                        let failedHere = failed |> List.filter (fun f -> f.Category = c) |> List.length
                        if not rows.IsEmpty || failedHere > 0 then
                            { Method = m
                              Category = c
                              Count = rows.Length
                              Failed = failedHere
                              Means = report.Metrics |> List.map (fun k -> k, mean (valuesOf k rows))
                              Medians = report.Metrics |> List.map (fun k -> k, median (valuesOf k rows)) } ]
              yield! perCategory
              if not perCategory.IsEmpty then
                  { Method = m
                    Category = AllCategories
                    Count = mine.Length
                    Failed = failed.Length
                    Means =
                      report.Metrics
                      |> List.map (fun k ->
                          k, perCategory |> List.map (fun s -> List.find (fun (n, _) -> n = k) s.Means |> snd) |> List.filter (Double.IsNaN >> not) |> mean)
                    Medians = report.Metrics |> List.map (fun k -> k, median (valuesOf k mine)) } ]

    /// Histograms of every (method, metric) with `bins` bins.
    let histograms (bins: int) (report: EvalReport) : Histogram list =
        if bins <= 0 then invalidArg "bins" (sprintf "EvalReport.histograms: bins must be positive, received %d" bins)
        [ for k in report.Metrics do
              let finite = valuesOf k report.Rows |> List.filter Double.IsFinite
              let lo, hi = if finite.IsEmpty then 0.0, 1.0 else List.min finite, List.max finite
              let hi = if hi > lo then hi else lo + 1.0
              for m in report.Methods do
                  let values = valuesOf k (report.Rows |> List.filter (fun r -> r.Method = m))
                  let counts = Array.zeroCreate<int> bins
                  let mutable nonFinite = 0
                  for v in values do
                      if Double.IsFinite v then
                          let b = int (floor ((v - lo) / (hi - lo) * float bins))
                          counts.[max 0 (min (bins - 1) b)] <- counts.[max 0 (min (bins - 1) b)] + 1
                      else nonFinite <- nonFinite + 1
                  if not values.IsEmpty then
                      { Method = m; Metric = k; Lo = lo; Hi = hi; Counts = counts; NonFinite = nonFinite } ]

    let private number (v: float) =
        if Double.IsNaN v then "" elif Double.IsPositiveInfinity v then "inf" elif Double.IsNegativeInfinity v then "-inf"
        else v.ToString("R", inv)

    let private markdownNumber (v: float) =
        if Double.IsNaN v then "–" elif Double.IsInfinity v then (if v > 0.0 then "∞" else "-∞")
        else v.ToString("0.0000", inv)

    let private markdownCell (s: string) = s.Replace("|", "\\|").Replace("\n", " ")

    /// The count of a summary as the tables show it: "13", or "12 of 13" when some of the
    /// method's instances have no scores.
    let scoredOf (s: CategorySummary) =
        if s.Failed = 0 then string s.Count else sprintf "%d of %d" s.Count (s.Count + s.Failed)

    /// The category means as a Markdown table (methods, then reference rows), plus the
    /// instance counts; a line naming the metrics scored instances lack (per method: metric,
    /// how many of its instances), when some do; then the instances that have no scores with
    /// their reasons.
    let toMarkdown (report: EvalReport) =
        let sb = StringBuilder()
        let line (s: string) = sb.Append(s).Append('\n') |> ignore
        line ("# " + report.Title)
        line ""
        line "Means per category; `mean` is the unweighted mean over categories."
        if not report.Failures.IsEmpty then
            line "`n` counts the instances scored: \"12 of 13\" when one could not be (see \"Not scored\" below)."
        line ""
        line ("| method | category | n | " + String.Join(" | ", report.Metrics |> List.map markdownCell) + " |")
        line ("|---|---|---:|" + String.replicate report.Metrics.Length "---:|")
        for s in summarize report do
            let cells = s.Means |> List.map (snd >> markdownNumber)
            line (sprintf "| %s | %s | %s | %s |" (markdownCell s.Method) (markdownCell s.Category) (scoredOf s) (String.Join(" | ", cells)))
        // A scored instance without a metric (a point cloud has no 3D IoU) would otherwise
        // leave a mean over fewer instances than `n` says, or a `–` a reader takes for a bug.
        let missing =
            [ for m in report.Methods do
                  let mine = report.Rows |> List.filter (fun r -> r.Method = m)
                  for k in report.Metrics do
                      let lacking = (mine |> List.length) - (valuesOf k mine |> List.length)
                      if lacking > 0 then yield sprintf "%s: %s (%d of %d)" m k lacking mine.Length ]
        if not missing.IsEmpty then
            line ""
            line ("Missing values, left out of the means rather than counted as 0 (`–`: no instance has one): " + String.Join("; ", missing) + ".")
        if not report.Failures.IsEmpty then
            line ""
            line "## Not scored"
            line ""
            line (sprintf "%d instances have no scores; the means above leave them out." report.Failures.Length)
            line ""
            line "| method | category | instance | reason |"
            line "|---|---|---|---|"
            for f in report.Failures do
                line (sprintf "| %s | %s | %s | %s |" (markdownCell f.Method) (markdownCell f.Category) (markdownCell f.Instance) (markdownCell f.Reason))
        sb.ToString()

    let private csvField (s: string) =
        if s.IndexOfAny([| ','; '"'; '\n'; '\r' |]) >= 0 then "\"" + s.Replace("\"", "\"\"") + "\"" else s

    /// The category summaries as CSV: method, category, count (instances scored), failed
    /// (instances without scores), then <metric>_mean and <metric>_median per metric. Empty
    /// cells are missing values.
    let toCsv (report: EvalReport) =
        let sb = StringBuilder()
        let header = [ "method"; "category"; "count"; "failed" ] @ (report.Metrics |> List.collect (fun k -> [ k + "_mean"; k + "_median" ]))
        sb.Append(String.Join(",", header |> List.map csvField)).Append('\n') |> ignore
        for s in summarize report do
            let cells =
                [ s.Method; s.Category; string s.Count; string s.Failed ]
                @ (List.zip s.Means s.Medians |> List.collect (fun ((_, a), (_, b)) -> [ number a; number b ]))
            sb.Append(String.Join(",", cells |> List.map csvField)).Append('\n') |> ignore
        sb.ToString()

    /// Every instance as CSV: method, category, instance, one column per metric, and the reason
    /// it has no scores (empty for the scored rows, which come first).
    let instancesCsv (report: EvalReport) =
        let sb = StringBuilder()
        let row (cells: string list) = sb.Append(String.Join(",", cells |> List.map csvField)).Append('\n') |> ignore
        row ([ "method"; "category"; "instance" ] @ report.Metrics @ [ "reason" ])
        for r in report.Rows do
            let value k = r.Values |> List.tryFind (fun (n, _) -> n = k) |> Option.map (snd >> number) |> Option.defaultValue ""
            row ([ r.Method; r.Category; r.Instance ] @ (report.Metrics |> List.map value) @ [ "" ])
        for f in report.Failures do
            row ([ f.Method; f.Category; f.Instance ] @ (report.Metrics |> List.map (fun _ -> "")) @ [ f.Reason ])
        sb.ToString()

    /// Bins of the histograms in `toJson` and `write`.
    [<Literal>]
    let HistogramBins = 20

    /// Everything as JSON: title, metrics, methods, summaries (with count and failed),
    /// instances, failures (method, category, instance, reason) and histograms.
    /// Non-finite numbers are written as null, or "inf" / "-inf" strings for infinities.
    let toJson (report: EvalReport) =
        use stream = new MemoryStream()
        do
            use w = new Utf8JsonWriter(stream, JsonWriterOptions(Indented = true))
            let num (name: string) (v: float) =
                if Double.IsFinite v then w.WriteNumber(name, v)
                elif Double.IsNaN v then w.WriteNull name
                else w.WriteString(name, (if v > 0.0 then "inf" else "-inf"))
            w.WriteStartObject()
            w.WriteString("title", report.Title)
            w.WriteStartArray "metrics"
            for k in report.Metrics do w.WriteStringValue k
            w.WriteEndArray()
            w.WriteStartArray "methods"
            for m in report.Methods do w.WriteStringValue m
            w.WriteEndArray()
            w.WriteStartArray "summary"
            for s in summarize report do
                w.WriteStartObject()
                w.WriteString("method", s.Method)
                w.WriteString("category", s.Category)
                w.WriteNumber("count", s.Count)
                w.WriteNumber("failed", s.Failed)
                w.WriteStartObject "mean"
                for k, v in s.Means do num k v
                w.WriteEndObject()
                w.WriteStartObject "median"
                for k, v in s.Medians do num k v
                w.WriteEndObject()
                w.WriteEndObject()
            w.WriteEndArray()
            w.WriteStartArray "instances"
            for r in report.Rows do
                w.WriteStartObject()
                w.WriteString("method", r.Method)
                w.WriteString("category", r.Category)
                w.WriteString("instance", r.Instance)
                w.WriteStartObject "values"
                for k, v in r.Values do num k v
                w.WriteEndObject()
                w.WriteEndObject()
            w.WriteEndArray()
            w.WriteStartArray "failures"
            for f in report.Failures do
                w.WriteStartObject()
                w.WriteString("method", f.Method)
                w.WriteString("category", f.Category)
                w.WriteString("instance", f.Instance)
                w.WriteString("reason", f.Reason)
                w.WriteEndObject()
            w.WriteEndArray()
            w.WriteStartArray "histograms"
            for h in histograms HistogramBins report do
                w.WriteStartObject()
                w.WriteString("method", h.Method)
                w.WriteString("metric", h.Metric)
                num "lo" h.Lo
                num "hi" h.Hi
                w.WriteStartArray "counts"
                for c in h.Counts do w.WriteNumberValue c
                w.WriteEndArray()
                w.WriteNumber("non_finite", h.NonFinite)
                w.WriteEndObject()
            w.WriteEndArray()
            w.WriteEndObject()
        Encoding.UTF8.GetString(stream.ToArray())

    /// A histogram drawn as bars on white: (3, height, width) float32 in [0, 1], row 0 at the
    /// top, for an image writer to save.
    let histogramImage (height: int) (width: int) (h: Histogram) : Tensor =
        if height < 2 || width < h.Counts.Length then
            invalidArg "width" (sprintf "EvalReport.histogramImage: need height >= 2 and width >= %d bins, received %dx%d" h.Counts.Length height width)
        let img = Array.create (3 * height * width) 1.0f
        let peak = max 1 (Array.max h.Counts)
        let colour = [| 0.2f; 0.35f; 0.7f |]
        let bins = h.Counts.Length
        for x in 0 .. width - 1 do
            let b = x * bins / width
            // A one-pixel gap between bars when they are wide enough to spare it.
            let gap = width / bins >= 3 && (x + 1) * bins / width <> b
            let bar = int (Math.Round(float h.Counts.[b] / float peak * float (height - 1)))
            if not gap then
                for y in height - bar .. height - 1 do
                    for c in 0 .. 2 do
                        img.[(c * height + y) * width + x] <- colour.[c]
        Tensor.ofArray (img, [ 3; height; width ])

    let private writeText (path: string) (text: string) =
        Files.writeAtomically path (fun stream ->
            let bytes = UTF8Encoding(false).GetBytes(text)
            stream.Write(bytes, 0, bytes.Length))

    let private fileSafe (s: string) =
        String(s.ToCharArray() |> Array.map (fun c -> if Char.IsLetterOrDigit c || c = '-' || c = '_' then c else '_'))

    /// Writes <name>.md, <name>.csv (category summary), <name>_instances.csv and <name>.json
    /// into `directory` (created if needed), each atomically (temporary file, then rename).
    /// Returns the paths written.
    let write (directory: string) (name: string) (report: EvalReport) =
        if String.IsNullOrWhiteSpace name then invalidArg "name" "EvalReport.write: name is empty"
        Directory.CreateDirectory directory |> ignore
        let files =
            [ ".md", toMarkdown report
              ".csv", toCsv report
              "_instances.csv", instancesCsv report
              ".json", toJson report ]
            |> List.map (fun (suffix, text) -> Path.Combine(directory, name + suffix), text)
        for p, text in files do
            writeText p text
        files |> List.map fst

    /// As `write`, then hands each histogram to `renderFigure` with the path
    /// figures/<name>_<method>_<metric>.png it should write (the image module renders PNGs; see
    /// also `histogramImage`), beside the other figures of a report. Returns the report files,
    /// then the figure paths.
    /// Files of an earlier report in `directory` stay; `ReportFolder.replace` gives a report
    /// folder that holds one run's files.
    let writeWithFigures (directory: string) (name: string) (report: EvalReport) (renderFigure: Histogram -> string -> unit) =
        let files = write directory name report
        let figureDir = Path.Combine(directory, "figures")
        Directory.CreateDirectory figureDir |> ignore
        let figures =
            [ for h in histograms HistogramBins report do
                  let p = Path.Combine(figureDir, sprintf "%s_%s_%s.png" name (fileSafe h.Method) (fileSafe h.Metric))
                  renderFigure h p
                  yield p ]
        files @ figures

    /// Per-sample rows of pose errors, for `create`: rot_error_deg, azimuth_error_deg, and the
    /// indicators acc_15deg / acc_30deg (1 below the threshold, else 0) whose means are the
    /// accuracies.
    let poseValues (e: PoseMetrics.PoseErrors) : (string * float) list[] =
        Array.map2
            (fun g a ->
                [ "rot_error_deg", g
                  "azimuth_error_deg", a
                  "acc_15deg", (if g < 15.0 then 1.0 else 0.0)
                  "acc_30deg", (if g < 30.0 then 1.0 else 0.0) ])
            e.GeodesicDeg e.AzimuthDeg

/// A report folder holds one run's files. A run writes its whole report into a temporary
/// sibling folder and swaps it in at the end (renames), so figures of an earlier run (of
/// methods or categories this run does not have) never sit beside the new tables, and a run
/// that fails or is interrupted leaves the earlier report as it was. Only a report folder (it
/// holds the marker file every run writes) or an empty one is ever replaced: a folder with
/// other files is refused, never deleted.
module ReportFolder =

    /// The marker file in every report folder `replace` writes.
    [<Literal>]
    let Marker = ".reconstruct-report"

    let private markerText =
        "This folder is a report written by reconstruct. The next run into it replaces the whole folder;\n"
        + "a folder without this file is never replaced.\n"

    let private fullPath (folder: string) = Path.TrimEndingDirectorySeparator(Path.GetFullPath folder)

    /// Why `folder` cannot take a report (None when it can): it is a file, the root of a file
    /// system, or a folder that holds other files than a report. A folder that does not exist
    /// yet can.
    let problem (folder: string) : string option =
        let full = fullPath folder
        if File.Exists full then Some "is a file, not a folder"
        elif isNull (Path.GetDirectoryName full) then Some "is the root of a file system, not a report folder"
        elif Directory.Exists full
             && not (File.Exists(Path.Combine(full, Marker)))
             && not (Seq.isEmpty (Directory.EnumerateFileSystemEntries full)) then
            Some(sprintf "holds files that are not a report (no %s marker); give a new or empty folder, or a previous report's" Marker)
        else None

    /// Writes a report as the whole content of `folder` (`Files.replaceFolder`): `write` fills
    /// a fresh temporary folder (its argument) and returns the paths it wrote; the marker is
    /// added and the contents swapped in. Returns the written paths as they are under `folder`.
    /// Fails (before calling `write`) when `problem folder` has one.
    let replace (folder: string) (write: string -> string list) : string list =
        let refuse () =
            match problem folder with
            | Some p -> invalidArg "folder" (sprintf "ReportFolder.replace: %s %s" folder p)
            | None -> ()
        refuse ()
        let full = fullPath folder
        Files.replaceFolder full (fun fresh ->
            let written = write fresh
            Files.writeTextAtomically (Path.Combine(fresh, Marker)) markerText
            // The folder may have changed while the report was computed.
            refuse ()
            written |> List.map (fun p -> Path.Combine(full, Path.GetRelativePath(fresh, p))))
