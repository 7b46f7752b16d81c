// experiments/results/unicorn.md, the table of issue 12, written from the results files the
// runs wrote (experiments/results/<name>.json): per category UNICORN beside the template and
// noisy-truth rows and SoftRas trained with ground truth for UNICORN's wall-clock time, then the
// ablations. A run not made yet is listed as missing.
// Run: dotnet fsi experiments/unicorn_table.fsx
#load "results_reader.fsx"

open System
open Results_reader

let mean (means: Map<string, float>) key = means.TryFind key

let row (label: string) (means: Map<string, float>) (measured: Map<string, float>) (budget: string) =
    sprintf "| %s | %s | %s | %s | %s | %s | %s |" label (cell "0.000" (mean means "chamfer_l1")) (cell "0.000" (mean means "fscore_1pct")) (cell "0.000" (mean means "iou_3d"))
        (cell "0%" (measured.TryFind "azimuth_acc30")) (cell "0.000" (measured.TryFind "mask_iou")) budget

let isReference (name: string) = name.StartsWith "reference:"

let section (title: string) (withReferences: bool) (entries: (string * string) list) =
    [ yield sprintf "## %s" title
      yield ""
      yield "| row | Chamfer-L1 | F@1% | 3D IoU | azimuth within 30° | mask IoU | budget |"
      yield "|---|---|---|---|---|---|---|"
      for label, name in entries do
          match read name with
          | None -> yield sprintf "| %s (`%s`) | not run yet | | | | | |" label name
          | Some (table, measured, minutes, iterations) ->
              let budget = String.Format(inv, "{0} it, {1:0} min", iterations, minutes)
              for methodName, means in table do
                  if not (isReference methodName) then yield row (sprintf "%s (`%s`)" label name) means measured budget
              // The reference rows once per category, from UNICORN's own file.
              if withReferences && name.StartsWith "unicorn_" then
                  for methodName, means in table do
                      if isReference methodName then yield row ("  " + methodName) means Map.empty ""
      yield "" ]

let lines =
    [ yield "# UNICORN (issue 12)"
      yield ""
      yield "Written by `experiments/unicorn_table.fsx` from the runs' results files; each run's own file has its configuration, seed, curves and grid."
      yield "Floor: Chamfer-L1 ≤ 0.7× the template row, azimuth within 30° for ≥ 60% of test images, mask IoU ≥ 0.75 on procedural chairs and cars."
      yield ""
      yield! section "Procedural chairs" true [ "UNICORN", "unicorn_chair"; "SoftRas with ground truth, same wall-clock", "softras_chair_unicorn_budget" ]
      yield! section "Procedural cars" true [ ("UNICORN", "unicorn_car") ]
      yield! section "Furniture chairs" true [ ("UNICORN", "unicorn_furniture_chair") ]
      yield! section "Procedural chairs in the wild" true [ ("UNICORN", "unicorn_chair_wild") ]
      yield! section "Pose step and learning rate on procedural chairs (same budget)" false [ "the paper's Adam 1e-4 and pose step", "unicorn_chair_paper"; "every candidate's error in the pose step, stopped at 2,149 it (validation in its script)", "unicorn_chair_every"; "every candidate's error, lr 3e-4", "unicorn_chair_every_lr3e-4"; "every candidate's error, lr 1e-3", "unicorn_chair_every_lr1e-3"; "lr 1e-3 alone", "unicorn_chair_lr1e-3" ]
      yield! section "Ablations on procedural chairs (Unicorn.chair 6000, same budget)" false [ "UNICORN at 6,000 it", "unicorn_chair_every_lr1e-3"; "without neighbour reconstruction", "unicorn_chair_no_neighbours"; "without progressive conditioning", "unicorn_chair_no_progressive"; "plain MSE instead of the perceptual loss", "unicorn_chair_mse" ] ]

writeTable "unicorn.md" lines
