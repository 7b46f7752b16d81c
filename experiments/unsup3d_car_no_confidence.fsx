// Unsup3d on procedural cars, ablation (issue 15): plain masked losses, no confidence maps (Unsup3d Table 3: costs a little).
// Everything else as unsup3d_car.fsx; experiments/unsup3d_table.fsx gathers the table.
// Run: dotnet fsi build.fsx experiment unsup3d_car_no_confidence   (resume: ... --resume)
#load "load.fsx"

open Reconstruct.App

let b = Unsup3dExperiment.baseline

let experiment =
    { b with
        Name = "unsup3d_car_no_confidence"
        Method = { b.Method with Pipeline = { b.Method.Pipeline with Confidence = false } } }

exit (Unsup3dExperiment.script experiment (Array.tail fsi.CommandLineArgs))
