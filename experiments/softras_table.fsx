// experiments/results/softras.md, the table of issue 11, written from the results files the runs
// wrote (experiments/results/<name>.json): per category the run that counts beside its template
// and noisy-truth rows with the floor, then every furniture-chair run tried. A run not made yet
// is listed as missing.
// Run: dotnet fsi experiments/softras_table.fsx
#load "results_reader.fsx"

open System
open Results_reader

let metric (means: Map<string, float>) key = means.TryFind key

/// The method's row and the template's of a results file, with its budget.
let rowsOf (name: string) =
    read name
    |> Option.map (fun (table, _, minutes, iterations) ->
        let pick (p: string -> bool) = table |> List.find (fst >> p) |> snd
        pick (fun m -> not (m.StartsWith "reference:")), pick (fun m -> m.StartsWith "reference: template"), pick (fun m -> m.StartsWith "reference: true mesh"), minutes, iterations)

let header = [ "| run | training | 3D IoU | template IoU | gain (≥ 0.15) | Chamfer-L1 | template Chamfer-L1 | ratio (≤ 0.5) | F@1% | noisy truth IoU / Chamfer | floor |"; "|---|---|---|---|---|---|---|---|---|---|---|" ]

let line (label: string) (name: string) (training: string) =
    match rowsOf name with
    | None -> sprintf "| %s (`%s`) | not run yet | | | | | | | | | |" label name
    | Some (mine, template, noisy, minutes, iterations) ->
        let get (m: Map<string, float>) key = metric m key |> Option.defaultValue nan
        let gain = get mine "iou_3d" - get template "iou_3d"
        let ratio = get mine "chamfer_l1" / get template "chamfer_l1"
        let met = gain >= 0.15 && ratio <= 0.5
        String.Format(inv, "| {0} (`{1}`) | {2}; {3} it, {4:0} min | {5:0.000} | {6:0.000} | {7:+0.000;-0.000} | {8:0.000} | {9:0.000} | {10:0.00}× | {11:0.000} | {12:0.000} / {13:0.000} | {14} |",
                      label, name, training, iterations, minutes, get mine "iou_3d", get template "iou_3d", gain, get mine "chamfer_l1", get template "chamfer_l1", ratio,
                      get mine "fscore_1pct", get noisy "iou_3d", get noisy "chamfer_l1", (if met then "met" else "not met"))

let lines =
    [ yield "# SoftRas (issue 11)"
      yield ""
      yield "Written by `experiments/softras_table.fsx` from the runs' results files; each run's own file has its configuration, seed, curves and grid. Test split, input view 3; 3D IoU at 32³ without alignment (SoftRas' protocol), Chamfer-L1 and F@1% after ICP."
      yield "Floor: 3D IoU at least 0.15 above the template row and Chamfer-L1 at most half the template's, on every category, in at most 60 minutes of training."
      yield ""
      yield "## The run of each category"
      yield ""
      yield! header
      yield line "procedural chairs" "softras_chair_lr1e-4" "700 chairs"
      yield line "procedural cars" "softras_car" "700 cars"
      yield line "procedural airplanes" "softras_airplane" "700 airplanes"
      yield line "furniture chairs" "softras_furniture_chair_mixed_r4" "40 min on 700 procedural chairs, then 45 furniture ×4 with the 700"
      yield ""
      yield "## Furniture chairs: every run tried (45 training chairs, 13 test)"
      yield ""
      yield! header
      yield line "the 45 alone, from scratch" "softras_furniture_chair" "45 furniture"
      yield line "procedural model, not fine-tuned" "softras_furniture_chair_pretrained" "40 min on 700 procedural chairs"
      yield line "fine-tuned on the 45 alone" "softras_furniture_chair_finetune" "40 min procedural, then 45 furniture"
      yield line "fine-tuned on the 45 ×8 with the 700" "softras_furniture_chair_mixed" "40 min procedural, then 45 ×8 + 700"
      yield line "fine-tuned on the 45 ×4 with the 700" "softras_furniture_chair_mixed_r4" "40 min procedural, then 45 ×4 + 700"
      yield line "the 45 ×8 with the 700 from scratch" "softras_furniture_chair_mixed_scratch" "45 ×8 + 700" ]

writeTable "softras.md" lines
