// experiments/results/unsup3d.md, the table of issue 15, written from the results files the runs
// wrote (experiments/results/unsup3d_<name>.json): per category the test-split SIDE and MAD of
// the view depth beside the two reference rows, then the car's ablations, and the floor (SIDE
// and MAD at most 0.6× the mean-ground-truth-depth row on procedural cars). A run not made yet
// is listed as missing. Run: dotnet fsi experiments/unsup3d_table.fsx
#load "results_reader.fsx"

open System
open System.IO
open System.Text.Json
open Results_reader

type Row = { Label: string; Side: float; SideStd: float; Mad: float; MadStd: float }

/// The rows, iterations and training minutes of a run's results file.
let readRun (name: string) =
    let path = Path.Combine(results, name + ".json")
    if not (File.Exists path) then None
    else
        use doc = JsonDocument.Parse(File.ReadAllText path)
        let root = doc.RootElement
        let rows =
            [ for r in root.GetProperty("rows").EnumerateArray() ->
                  { Label = r.GetProperty("depth").GetString()
                    Side = r.GetProperty("side").GetDouble()
                    SideStd = r.GetProperty("side_std").GetDouble()
                    Mad = r.GetProperty("mad").GetDouble()
                    MadStd = r.GetProperty("mad_std").GetDouble() } ]
        Some(rows, root.GetProperty("iterations").GetInt32(), root.GetProperty("training_minutes").GetDouble())

let rowLine (label: string) (r: Row) =
    String.Format(inv, "| {0} | {1:0.000} ± {2:0.000} | {3:0.00} ± {4:0.00} |", label, r.Side * 100.0, r.SideStd * 100.0, r.Mad, r.MadStd)

let categories = [ "car", "procedural cars"; "chair", "procedural chairs"; "vase", "procedural vases" ]

let ablations =
    [ "no_albedo_flip", "no albedo flip"
      "no_depth_flip", "no depth flip"
      "no_light", "no lighting"
      "no_perceptual", "λ_p = 0 (no perceptual loss; the full model's is 0.01)"
      "confidence", "with the faces' confidence maps" ]

let section (category: string, title: string) =
    let name = sprintf "unsup3d_%s" category
    [ yield sprintf "## %s (`%s`)" title name
      yield ""
      match readRun name with
      | None -> yield "not run yet"
      | Some (rows, iterations, minutes) ->
          yield String.Format(inv, "{0} iterations, {1:0} min of training.", iterations, minutes)
          yield ""
          yield "| depth | SIDE (×10⁻²) | MAD (°) |"
          yield "|---|---|---|"
          for r in rows do yield rowLine r.Label r
      yield "" ]

let floor =
    match readRun "unsup3d_car" with
    | Some (rows, _, _) ->
        let model = rows |> List.find (fun r -> r.Label = "unsup3d")
        let mean = rows |> List.find (fun r -> r.Label = "mean ground-truth depth")
        let s, m = model.Side / mean.Side, model.Mad / mean.Mad
        String.Format(inv, "SIDE {0:0.00}×, MAD {1:0.00}× the mean-ground-truth-depth row: {2}", s, m, (if s <= 0.6 && m <= 0.6 then "met" else "NOT met"))
    | None -> "not run yet"

let lines =
    [ yield "# Unsup3d (issue 15)"
      yield ""
      yield "Written by `experiments/unsup3d_table.fsx` from the runs' results files; each run's own file (`unsup3d_<name>.md`) has its configuration, seed, curves and the figure of the factors (input, reconstruction, canonical image, albedo, shading, canonical depth, view depth, true depth, confidence)."
      yield "SIDE and MAD of the view depth against the rendered depth on the test split (masks eroded by one pixel), mean ± std over images; SIDE ×10⁻² as the paper reports it. Reference rows: a constant depth, and the mean of the training images' depth maps (each normalised to its mean)."
      yield ""
      yield! categories |> List.collect section
      yield "## Ablations on procedural cars"
      yield ""
      yield "| run | SIDE (×10⁻²) | MAD (°) |"
      yield "|---|---|---|"
      for suffix, label in ("", "full model") :: ablations do
          let name = "unsup3d_car" + (if suffix = "" then "" else "_" + suffix)
          match readRun name with
          | Some (rows, _, _) -> yield rowLine (sprintf "%s (`%s`)" label name) (rows |> List.find (fun r -> r.Label = "unsup3d"))
          | None -> yield sprintf "| %s (`%s`) | not run yet | |" label name
      yield ""
      yield "## Floor"
      yield ""
      yield sprintf "Procedural cars: %s. The paper's mark (synthetic faces): SIDE 0.793 against 1.99 for the mean depth; MAD 16.5° against 23.3°." floor ]

writeTable "unsup3d.md" lines
